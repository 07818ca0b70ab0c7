// EventNotifier: delivers RDS events to the SNS topics of the event subscriptions that match
// them, as RDS event notification does, and keeps the subscriptions' statuses.
//
// Each pass (NotifyOnce, on its own executor loop) first makes every "creating" or "modifying"
// subscription "active", then walks the catalog's events after its persisted cursor, in seq
// order. Each event is published (SnsPublisher) to every enabled subscription of its account
// and Region that matches it (emulator/core/event_subscriptions.h). The cursor moves past an
// event only when it was delivered to all of them, or given up on: a topic that does not exist
// or refuses localrds marks its subscription topic-not-exist or no-permission; a failing
// endpoint is retried with backoff (the pass stops at that event and the next pass retries
// once the backoff is over) until `give_up_after`, then the event is logged and skipped. So no
// event is lost across a restart of localrds (a restart may send one event twice to a topic
// that had it before a later topic of the same event failed). On the first pass over a catalog
// the cursor starts at the newest event: no flood of history. Without a publisher (no
// --sns-endpoint-url) subscriptions still become active and the cursor follows the events;
// nothing is sent.
//
// Thread-safety: NotifyOnce runs on one thread at a time (its executor loop, or a test);
// the publisher is called without any lock held. Borrows the catalog, registry, clock and
// publisher.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "common/clock.h"
#include "emulator/state/registry.h"
#include "storage/catalog.h"

namespace localrds {

//! One SNS Publish: topic, subject, message and String message attributes.
struct SnsMessage {
  std::string topic_arn;
  std::string subject;
  std::string message;
  std::map<std::string, std::string> attributes;
};

enum class PublishOutcome {
  kDelivered,
  kTopicNotFound,  //!< SNS NotFound: the subscription becomes topic-not-exist
  kNoPermission,   //!< SNS AuthorizationError: the subscription becomes no-permission
  kFailed,         //!< anything else (endpoint down, 5xx, timeout): retried with backoff
};

struct PublishResult {
  PublishOutcome outcome = PublishOutcome::kFailed;
  std::string detail;  //!< what the endpoint said, for the log
};

//! Sends a message to an SNS topic (api/sns_publisher.h over HTTP; a fake in tests). Called
//! from the notifier's thread only; must return within its own timeouts.
class SnsPublisher {
 public:
  virtual ~SnsPublisher() = default;
  virtual PublishResult Publish(const SnsMessage& message) = 0;
};

struct NotifierConfig {
  std::chrono::milliseconds first_backoff{250};  //!< wait after the first failed publish
  std::chrono::milliseconds max_backoff{5000};   //!< the backoff doubles up to this
  std::chrono::milliseconds give_up_after{std::chrono::minutes(30)};
};

class EventNotifier {
 public:
  //! The cursor's name in the catalog.
  static constexpr const char* kCursor = "sns-notifications";

  EventNotifier(Catalog& catalog, Registry& registry, SnsPublisher* publisher, const Clock& clock,
                NotifierConfig config)
      : catalog_(catalog),
        registry_(registry),
        publisher_(publisher),
        clock_(clock),
        config_(config) {}

  //! One pass; returns a sentence saying what it did ("" when nothing).
  std::string NotifyOnce();

 private:
  //! Makes creating/modifying subscriptions active.
  std::string ActivateSubscriptions();
  //! Sets a subscription's Status (when it still exists).
  void SetStatus(const GroupKey& key, const std::string& status);
  //! The TagList of an event's source, as it is now (empty when it is gone).
  nlohmann::json SourceTags(const EventRow& e);

  Catalog& catalog_;
  Registry& registry_;
  SnsPublisher* const publisher_;
  const Clock& clock_;
  const NotifierConfig config_;

  // The event being retried (only the notifier's thread touches these).
  int64_t retry_seq_ = 0;                 //!< the event whose delivery failed; 0: none
  int64_t retry_since_ms_ = 0;            //!< when its first delivery failed
  int64_t retry_at_ms_ = 0;               //!< not before this
  std::chrono::milliseconds backoff_{0};  //!< the next wait
  std::set<GroupKey> delivered_;          //!< subscriptions that already have retry_seq_
};

}  // namespace localrds
