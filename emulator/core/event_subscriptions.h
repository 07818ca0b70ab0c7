// RDS event notification subscriptions, the pure parts: the source types and event categories
// RDS offers (DescribeEventCategories), which events a subscription matches, and the SNS message
// RDS publishes for an event ("Amazon RDS event notification" in the User Guide). Header-only,
// pure, thread-safe.
#pragma once

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/time_util.h"
#include "storage/catalog.h"

namespace localrds {

//! "Event subscriptions" per account and Region (RDS's default quota).
inline constexpr int kEventSubscriptionQuota = 20;
//! The Subject of every notification RDS publishes.
inline constexpr const char* kRdsNotificationSubject = "RDS Notification Message";

struct EventSourceCategories {
  const char* source_type;
  std::vector<const char*> categories;
};

//! The source types localrds accepts and their categories, as DescribeEventCategories lists
//! them for RDS for PostgreSQL (localrds emits events of db-instance and db-snapshot only).
inline const std::vector<EventSourceCategories>& EventSourceTypes() {
  static const std::vector<EventSourceCategories> kTypes = {
      {"db-instance",
       {"availability", "backup", "configuration change", "creation", "deletion", "failover",
        "failure", "low storage", "maintenance", "notification", "read replica", "recovery",
        "restoration", "security", "security patching"}},
      {"db-parameter-group", {"configuration change"}},
      {"db-security-group", {"configuration change", "failure"}},
      {"db-snapshot", {"creation", "deletion", "failure", "notification", "restoration"}},
  };
  return kTypes;
}

//! The categories of `source_type`; every category of every type when it is empty. Null when
//! `source_type` is not one of EventSourceTypes.
inline const EventSourceCategories* FindEventSourceType(const std::string& source_type) {
  for (const auto& t : EventSourceTypes()) {
    if (source_type == t.source_type) return &t;
  }
  return nullptr;
}

//! True when `category` is one of `source_type`'s (of any type when `source_type` is empty).
inline bool IsEventCategory(const std::string& source_type, const std::string& category) {
  for (const auto& t : EventSourceTypes()) {
    if (!source_type.empty() && source_type != t.source_type) continue;
    for (const char* c : t.categories) {
      if (category == c) return true;
    }
  }
  return false;
}

inline bool ListHas(const nlohmann::json& list, const std::string& value) {
  if (!list.is_array()) return false;
  return std::any_of(list.begin(), list.end(), [&](const nlohmann::json& v) {
    return v.is_string() && v.get<std::string>() == value;
  });
}

//! True when the subscription whose body (EventSubscription fields) is `body`, created at
//! `created_ms`, wants the event `e`: enabled, not broken (status active, or just made), of the
//! event's scope (checked by the caller), its source type, one of its source ids and one of
//! its categories (each: any when the subscription names none), and not older than the
//! subscription.
inline bool SubscriptionMatches(const nlohmann::json& body, int64_t created_ms, const EventRow& e) {
  if (!body.value("Enabled", true)) return false;
  const std::string status = body.value("Status", "");
  if (status != "active" && status != "creating" && status != "modifying") return false;
  if (e.date_ms < created_ms) return false;
  const std::string type = body.value("SourceType", "");
  if (!type.empty() && type != e.source_type) return false;
  const nlohmann::json ids = body.value("SourceIdsList", nlohmann::json::array());
  if (!ids.empty() && !ListHas(ids, e.source_identifier)) return false;
  const nlohmann::json categories = body.value("EventCategoriesList", nlohmann::json::array());
  if (!categories.empty()) {
    return std::any_of(e.categories.begin(), e.categories.end(),
                       [&](const std::string& c) { return ListHas(categories, c); });
  }
  return true;
}

//! The console page RDS links an event's source to ("Identifier Link").
inline std::string EventIdentifierLink(const EventRow& e) {
  std::string link = "https://console.aws.amazon.com/rds/home?region=" + e.scope.region + "#";
  if (e.source_type == "db-instance") return link + "dbinstance:id=" + e.source_identifier;
  if (e.source_type == "db-snapshot") return link + "snapshot:id=" + e.source_identifier;
  if (e.source_type == "db-parameter-group")
    return link + "parameter-groups-detail:ids=" + e.source_identifier;
  return link;
}

//! The Message RDS publishes to SNS for `e`: a JSON object with "Event Source", "Event Time"
//! ("2026-12-06 11:41:01.123", UTC), "Identifier Link", "Source ID", "Source ARN", "Event ID"
//! (the User Guide's link to the event's id), "Event Message" and the source's "Tags".
inline std::string RdsNotificationMessage(const EventRow& e, const nlohmann::json& tag_list) {
  std::string time = FormatIso8601(e.date_ms, true);  // 2026-12-06T11:41:01.123Z
  if (time.size() > 10 && time[10] == 'T') time[10] = ' ';
  if (!time.empty() && time.back() == 'Z') time.pop_back();
  std::string event_id = "http://docs.amazonwebservices.com/AmazonRDS/latest/UserGuide/";
  event_id += "USER_Events.html";
  if (!e.event_id.empty()) event_id += "#" + e.event_id;
  nlohmann::json tags = nlohmann::json::object();
  if (tag_list.is_array()) {
    for (const auto& t : tag_list) tags[t.value("Key", "")] = t.value("Value", "");
  }
  nlohmann::ordered_json msg;
  msg["Event Source"] = e.source_type;
  msg["Event Time"] = time;
  msg["Identifier Link"] = EventIdentifierLink(e);
  msg["Source ID"] = e.source_identifier;
  msg["Source ARN"] = e.source_arn;
  msg["Event ID"] = event_id;
  msg["Event Message"] = e.message;
  msg["Tags"] = tags;
  return msg.dump();
}

}  // namespace localrds
