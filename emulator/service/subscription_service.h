// SubscriptionService: RDS event notification subscriptions (CreateEventSubscription and the
// actions around it) and DescribeEventCategories. A subscription is a GroupRow of kind
// "subscription" whose body holds its EventSubscription fields (TagList included); the event
// notifier (emulator/background/event_notifier.h) moves it from creating or modifying to active
// and publishes the events it matches. See ServiceBase.
#pragma once

#include <nlohmann/json.hpp>

#include "emulator/service/service_base.h"

namespace localrds {

class SubscriptionService : public ServiceBase {
 public:
  using ServiceBase::ServiceBase;

  Result<nlohmann::json> CreateEventSubscription(const nlohmann::json& req);
  Result<nlohmann::json> DescribeEventSubscriptions(const nlohmann::json& req);
  Result<nlohmann::json> ModifyEventSubscription(const nlohmann::json& req);
  Result<nlohmann::json> DeleteEventSubscription(const nlohmann::json& req);
  Result<nlohmann::json> AddSourceIdentifierToSubscription(const nlohmann::json& req);
  Result<nlohmann::json> RemoveSourceIdentifierFromSubscription(const nlohmann::json& req);
  Result<nlohmann::json> DescribeEventCategories(const nlohmann::json& req);

  //! The EventSubscription shape of a subscription row.
  static nlohmann::json Render(const GroupRow& row);

 private:
  //! SourceNotFound unless a source of `source_type` named `id` exists in `scope`.
  Status CheckSourceExists(Registry::Locked& reg, const Scope& scope,
                           const std::string& source_type, const std::string& id) const;
};

}  // namespace localrds
