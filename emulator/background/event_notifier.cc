#include "emulator/background/event_notifier.h"

#include <algorithm>
#include <vector>

#include "common/log.h"
#include "emulator/core/event_subscriptions.h"
#include "emulator/core/group_kinds.h"

namespace localrds {
namespace {

//! Set (to 1) once the cursor has been placed on a catalog: a cursor of 0 then means "before
//! the first event", not "never placed".
constexpr const char* kCursorPlaced = "sns-notifications-placed";
constexpr int kBatch = 100;

}  // namespace

void EventNotifier::SetStatus(const GroupKey& key, const std::string& status) {
  Registry::Locked reg = registry_.Lock();
  auto it = reg.groups().find(key);
  if (it == reg.groups().end() || it->second.body.value("Status", "") == status) return;
  GroupRow row = it->second;
  row.body["Status"] = status;
  Mutation m;
  m.put_groups.push_back(row);
  LogIfFailed(reg.Commit(m), "notifications", "set the status of subscription " + key.name);
}

std::string EventNotifier::ActivateSubscriptions() {
  Registry::Locked reg = registry_.Lock();
  Mutation m;
  for (const auto& [key, row] : reg.groups()) {
    if (key.kind != kEventSubscription.kind) continue;
    const std::string status = row.body.value("Status", "");
    if (status != "creating" && status != "modifying") continue;
    GroupRow active = row;
    active.body["Status"] = "active";
    m.put_groups.push_back(active);
  }
  if (m.put_groups.empty()) return "";
  Status st = reg.Commit(m);
  if (!st.ok()) return "cannot activate event subscriptions: " + st.ToString();
  return std::to_string(m.put_groups.size()) + " event subscription(s) active.";
}

nlohmann::json EventNotifier::SourceTags(const EventRow& e) {
  Registry::Locked reg = registry_.Lock();
  if (e.source_type == "db-instance") {
    auto row = reg.Find(e.scope, e.source_identifier);
    if (row.ok()) return row->attrs.value("TagList", nlohmann::json::array());
  } else if (e.source_type == "db-snapshot") {
    auto snap = reg.FindSnapshot(e.scope, e.source_identifier);
    if (snap.ok()) return snap->attrs.value("TagList", nlohmann::json::array());
  }
  return nlohmann::json::array();
}

std::string EventNotifier::NotifyOnce() {
  std::string did = ActivateSubscriptions();
  auto say = [&did](const std::string& s) { did += (did.empty() ? "" : " ") + s; };

  auto placed = catalog_.LoadCursor(kCursorPlaced);
  auto cursor = catalog_.LoadCursor(kCursor);
  if (!placed.ok() || !cursor.ok()) {
    say("cannot read the notification cursor.");
    return did;
  }
  int64_t at = *cursor;
  if (*placed == 0) {
    // First pass over this catalog: start after the newest event.
    for (;;) {
      EventQuery q;
      q.after_seq = at;
      q.limit = 1000;
      auto events = catalog_.QueryEvents(q);
      if (!events.ok() || events->empty()) break;
      at = events->back().seq;
    }
    Status st = catalog_.Transact([&](CatalogTxn& txn) {
      LOCALRDS_RETURN_IF_ERROR(txn.SetCursor(kCursor, at));
      return txn.SetCursor(kCursorPlaced, 1);
    });
    if (!st.ok()) say("cannot place the notification cursor: " + st.ToString());
    return did;
  }

  const int64_t now = clock_.NowMs();
  if (retry_seq_ != 0 && now < retry_at_ms_) return did;  // backing off

  EventQuery q;
  q.after_seq = at;
  q.limit = kBatch;
  auto events = catalog_.QueryEvents(q);
  if (!events.ok()) {
    say("cannot read the events: " + events.status().ToString());
    return did;
  }
  int sent = 0;
  const int64_t start = at;
  for (const EventRow& e : *events) {
    std::vector<GroupRow> targets;
    if (publisher_) {
      for (GroupRow& g : registry_.Groups(kEventSubscription.kind)) {
        if (g.scope == e.scope && SubscriptionMatches(g.body, g.created_ms, e))
          targets.push_back(std::move(g));
      }
    }
    if (retry_seq_ != e.seq) delivered_.clear();
    bool failed = false;
    std::string failure;
    nlohmann::json tags;
    bool have_tags = false;
    for (const GroupRow& g : targets) {
      if (delivered_.count(KeyOf(g))) continue;
      if (!have_tags) {
        tags = SourceTags(e);
        have_tags = true;
      }
      SnsMessage msg;
      msg.topic_arn = g.body.value("SnsTopicArn", "");
      msg.subject = kRdsNotificationSubject;
      msg.message = RdsNotificationMessage(e, tags);
      if (!e.event_id.empty()) msg.attributes["EventID"] = e.event_id;
      msg.attributes["Resource"] = e.source_arn;
      const PublishResult r = publisher_->Publish(msg);
      switch (r.outcome) {
        case PublishOutcome::kDelivered:
          delivered_.insert(KeyOf(g));
          ++sent;
          break;
        case PublishOutcome::kTopicNotFound:
        case PublishOutcome::kNoPermission: {
          const bool missing = r.outcome == PublishOutcome::kTopicNotFound;
          SetStatus(KeyOf(g), missing ? "topic-not-exist" : "no-permission");
          delivered_.insert(KeyOf(g));  // given up on: the subscription is broken
          say("event subscription " + g.name + " is " +
              (missing ? "topic-not-exist" : "no-permission") + " (" + msg.topic_arn +
              "): " + r.detail);
          break;
        }
        case PublishOutcome::kFailed:
          failed = true;
          failure = "publishing event " + std::to_string(e.seq) + " to " + msg.topic_arn +
                    " failed: " + r.detail;
          break;
      }
      if (failed) break;
    }
    if (failed) {
      if (retry_seq_ != e.seq) {
        retry_seq_ = e.seq;
        retry_since_ms_ = now;
        backoff_ = config_.first_backoff;
      }
      if (now - retry_since_ms_ < config_.give_up_after.count()) {
        retry_at_ms_ = now + backoff_.count();
        say(failure + "; retrying in " + std::to_string(backoff_.count()) + " ms.");
        backoff_ = std::min(backoff_ * 2, config_.max_backoff);
        break;
      }
      say(failure + "; given up after " + std::to_string((now - retry_since_ms_) / 1000) +
          " s: event " + std::to_string(e.seq) + " (" + e.message + ") is not delivered.");
    }
    retry_seq_ = 0;
    delivered_.clear();
    at = e.seq;
  }
  if (at != start) {
    Status st = catalog_.Transact([&](CatalogTxn& txn) { return txn.SetCursor(kCursor, at); });
    if (!st.ok()) say("cannot move the notification cursor: " + st.ToString());
  }
  if (sent > 0) say(std::to_string(sent) + " event notification(s) published.");
  return did;
}

}  // namespace localrds
