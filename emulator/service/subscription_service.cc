// Event notification subscriptions and DescribeEventCategories.
#include "emulator/service/subscription_service.h"

#include <algorithm>
#include <string>

#include "common/time_util.h"
#include "emulator/core/arn.h"
#include "emulator/core/event_subscriptions.h"
#include "emulator/core/group_kinds.h"
#include "emulator/core/paging.h"
#include "emulator/core/request.h"
#include "emulator/core/validation.h"

namespace localrds {
namespace {

Status Missing(const char* param) {
  return Status::Error(AwsError::kMissingParameter,
                       std::string("The request must contain the parameter ") + param + ".");
}

//! SubscriptionName: 1 to 255 characters (RDS: "less than 255"), letters, digits and hyphens,
//! a letter first (RDS's console rule; the API documents only the length).
Status ValidateSubscriptionName(const std::string& name) {
  const bool ok =
      !name.empty() && name.size() < 256 && std::isalpha(static_cast<unsigned char>(name[0])) &&
      std::all_of(name.begin(), name.end(),
                  [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-'; });
  if (ok) return Status::Ok();
  return Status::InvalidParameter(
      "The parameter SubscriptionName is not a valid identifier. Identifiers must begin with a "
      "letter; must contain only ASCII letters, digits, and hyphens; and must be less than 255 "
      "characters.");
}

//! arn:aws:sns:<region>:<12-digit account>:<topic>; RDS takes no FIFO topic.
Status ValidateTopicArn(const std::string& arn) {
  static const std::string kPrefix = "arn:aws:sns:";
  bool ok = arn.rfind(kPrefix, 0) == 0;
  std::string region, account, topic;
  if (ok) {
    const size_t a = arn.find(':', kPrefix.size());
    const size_t b = a == std::string::npos ? a : arn.find(':', a + 1);
    ok = b != std::string::npos;
    if (ok) {
      region = arn.substr(kPrefix.size(), a - kPrefix.size());
      account = arn.substr(a + 1, b - a - 1);
      topic = arn.substr(b + 1);
      ok = !region.empty() && account.size() == 12 &&
           std::all_of(account.begin(), account.end(), ::isdigit) && !topic.empty() &&
           topic.size() <= 256 && topic.find(':') == std::string::npos;
    }
  }
  if (!ok) return Status::Error(AwsError::kSNSInvalidTopic, "Invalid SNS topic ARN: " + arn);
  if (topic.size() > 5 && topic.compare(topic.size() - 5, 5, ".fifo") == 0) {
    return Status::Error(AwsError::kSNSInvalidTopic,
                         "RDS does not support FIFO topics: " + arn + " is a FIFO topic.");
  }
  return Status::Ok();
}

Status ValidateSourceType(const std::string& source_type) {
  if (FindEventSourceType(source_type)) return Status::Ok();
  return Status::InvalidParameter("Invalid source type: " + source_type +
                                  ". Valid source types are db-instance, db-parameter-group, "
                                  "db-security-group and db-snapshot.");
}

//! Every category of `categories` must be one of `source_type`'s.
Status ValidateCategories(const std::string& source_type, const nlohmann::json& categories) {
  for (const auto& c : categories) {
    const std::string name = c.is_string() ? c.get<std::string>() : "";
    if (!IsEventCategory(source_type, name)) {
      return Status::Error(
          AwsError::kSubscriptionCategoryNotFound,
          "Category " + name + " not found" +
              (source_type.empty() ? "." : " for source type " + source_type + "."));
    }
  }
  return Status::Ok();
}

//! The categories of a request, lower-cased (RDS's are), without repeats, in the given order.
nlohmann::json Categories(const nlohmann::json& req) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : req.value("EventCategories", nlohmann::json::array())) {
    if (!c.is_string()) continue;
    const std::string lower = ToLower(c.get<std::string>());
    if (!ListHas(out, lower)) out.push_back(lower);
  }
  return out;
}

Result<GroupRow> FindSubscription(Registry::Locked& reg, const Scope& scope,
                                  const std::string& name) {
  const GroupRow* row = reg.FindGroup(kEventSubscription.kind, scope, name);
  if (!row) return GroupNotFound(kEventSubscription, name);
  return *row;
}

}  // namespace

nlohmann::json SubscriptionService::Render(const GroupRow& row) {
  std::string created = FormatIso8601(row.created_ms, true);  // as RDS: "2026-12-06 11:41:01.123"
  if (created.size() > 10) created[10] = ' ';
  if (!created.empty() && created.back() == 'Z') created.pop_back();
  nlohmann::json out = {
      {"CustomerAwsId", row.scope.account},
      {"CustSubscriptionId", row.body.value("CustSubscriptionId", row.name)},
      {"SnsTopicArn", row.body.value("SnsTopicArn", "")},
      {"Status", row.body.value("Status", "active")},
      {"SubscriptionCreationTime", created},
      {"Enabled", row.body.value("Enabled", true)},
      {"EventSubscriptionArn", MakeArn(row.scope, kEventSubscription.arn_type, row.name)},
  };
  if (auto t = row.body.value("SourceType", ""); !t.empty()) out["SourceType"] = t;
  for (const char* list : {"SourceIdsList", "EventCategoriesList"}) {
    const auto v = row.body.value(list, nlohmann::json::array());
    if (!v.empty()) out[list] = v;
  }
  return out;
}

Status SubscriptionService::CheckSourceExists(Registry::Locked& reg, const Scope& scope,
                                              const std::string& source_type,
                                              const std::string& id) const {
  bool found = false;
  if (source_type == "db-instance") {
    found = reg.Find(scope, id).ok();
  } else if (source_type == "db-snapshot") {
    found = reg.FindSnapshot(scope, id).ok();
  } else if (source_type == "db-parameter-group") {
    found = ToLower(id).rfind("default.", 0) == 0 ||
            reg.FindGroup(kParameterGroup.kind, scope, id) != nullptr;
  }  // db-security-group: localrds has none (EC2-Classic), so none is found.
  if (found) return Status::Ok();
  return Status::Error(AwsError::kSourceNotFound, "Source ID " + id + " not found.");
}

Result<nlohmann::json> SubscriptionService::CreateEventSubscription(const nlohmann::json& req) {
  const auto name = ReqString(req, "SubscriptionName");
  if (!name || name->empty()) return Missing("SubscriptionName");
  LOCALRDS_RETURN_IF_ERROR(ValidateSubscriptionName(*name));
  const auto topic = ReqString(req, "SnsTopicArn");
  if (!topic || topic->empty()) return Missing("SnsTopicArn");
  LOCALRDS_RETURN_IF_ERROR(ValidateTopicArn(*topic));
  const std::string source_type = ReqString(req, "SourceType").value_or("");
  if (!source_type.empty()) LOCALRDS_RETURN_IF_ERROR(ValidateSourceType(source_type));
  const nlohmann::json categories = Categories(req);
  LOCALRDS_RETURN_IF_ERROR(ValidateCategories(source_type, categories));
  nlohmann::json ids = nlohmann::json::array();
  for (const auto& id : req.value("SourceIds", nlohmann::json::array())) {
    if (id.is_string() && !ListHas(ids, ToLower(id.get<std::string>())))
      ids.push_back(ToLower(id.get<std::string>()));
  }
  if (!ids.empty() && source_type.empty()) {
    return Status::Error(AwsError::kInvalidParameterCombination,
                         "SourceType must be provided when SourceIds are supplied.");
  }
  const nlohmann::json tags = req.value("Tags", nlohmann::json::array());
  LOCALRDS_RETURN_IF_ERROR(ValidateTags(tags));

  const Scope scope = ScopeOf(req);
  Registry::Locked reg = registry_.Lock();
  if (reg.FindGroup(kEventSubscription.kind, scope, *name)) {
    return Status::Error(AwsError::kSubscriptionAlreadyExist,
                         "Subscription " + ToLower(*name) + " already exists.");
  }
  if (reg.GroupsIn(kEventSubscription.kind, scope).size() >= kEventSubscriptionQuota) {
    return Status::Error(AwsError::kEventSubscriptionQuotaExceeded,
                         "You have reached the maximum number of event subscriptions (" +
                             std::to_string(kEventSubscriptionQuota) + ").");
  }
  for (const auto& id : ids)
    LOCALRDS_RETURN_IF_ERROR(CheckSourceExists(reg, scope, source_type, id.get<std::string>()));
  GroupRow row;
  row.kind = kEventSubscription.kind;
  row.scope = scope;
  row.name = ToLower(*name);
  row.created_ms = registry_.Now();
  row.body = {{"CustSubscriptionId", row.name},
              {"SnsTopicArn", *topic},
              {"Status", "creating"},
              {"Enabled", ReqBool(req, "Enabled").value_or(true)},
              {"SourceType", source_type},
              {"SourceIdsList", ids},
              {"EventCategoriesList", categories},
              {"TagList", tags}};
  Mutation m;
  m.put_groups.push_back(row);
  LOCALRDS_RETURN_IF_ERROR(reg.Commit(m));
  return nlohmann::json{{"EventSubscription", Render(row)}};
}

Result<nlohmann::json> SubscriptionService::DescribeEventSubscriptions(const nlohmann::json& req) {
  auto page = PageArgs(req, 20, 100, 100);
  if (!page.ok()) return page.status();
  const Scope scope = ScopeOf(req);
  Registry::Locked reg = registry_.Lock();
  nlohmann::json list = nlohmann::json::array();
  if (auto name = ReqString(req, "SubscriptionName")) {
    auto row = FindSubscription(reg, scope, *name);
    if (!row.ok()) return row.status();
    list.push_back(Render(*row));
  } else {
    for (const GroupRow* row : reg.GroupsIn(kEventSubscription.kind, scope))
      list.push_back(Render(*row));
  }
  return OffsetPage(list, "EventSubscriptionsList", *page);
}

Result<nlohmann::json> SubscriptionService::ModifyEventSubscription(const nlohmann::json& req) {
  const auto name = ReqString(req, "SubscriptionName");
  if (!name || name->empty()) return Missing("SubscriptionName");
  const auto topic = ReqString(req, "SnsTopicArn");
  if (topic) LOCALRDS_RETURN_IF_ERROR(ValidateTopicArn(*topic));
  const auto source_type = ReqString(req, "SourceType");
  if (source_type && !source_type->empty())
    LOCALRDS_RETURN_IF_ERROR(ValidateSourceType(*source_type));
  Registry::Locked reg = registry_.Lock();
  auto row = FindSubscription(reg, ScopeOf(req), *name);
  if (!row.ok()) return row.status();
  nlohmann::json& body = row->body;
  const std::string old_type = body.value("SourceType", "");
  const std::string new_type = source_type.value_or(old_type);
  const nlohmann::json categories =
      req.contains("EventCategories") ? Categories(req)
                                      : body.value("EventCategoriesList", nlohmann::json::array());
  LOCALRDS_RETURN_IF_ERROR(ValidateCategories(new_type, categories));
  body["EventCategoriesList"] = categories;
  if (new_type != old_type) {
    body["SourceType"] = new_type;
    body["SourceIdsList"] = nlohmann::json::array();  // ids of the old type name nothing now
  }
  if (topic) body["SnsTopicArn"] = *topic;
  if (auto enabled = ReqBool(req, "Enabled")) body["Enabled"] = *enabled;
  body["Status"] = "modifying";
  Mutation m;
  m.put_groups.push_back(*row);
  LOCALRDS_RETURN_IF_ERROR(reg.Commit(m));
  return nlohmann::json{{"EventSubscription", Render(*row)}};
}

Result<nlohmann::json> SubscriptionService::DeleteEventSubscription(const nlohmann::json& req) {
  const auto name = ReqString(req, "SubscriptionName");
  if (!name || name->empty()) return Missing("SubscriptionName");
  Registry::Locked reg = registry_.Lock();
  auto row = FindSubscription(reg, ScopeOf(req), *name);
  if (!row.ok()) return row.status();
  Mutation m;
  m.remove_groups.push_back(KeyOf(*row));
  LOCALRDS_RETURN_IF_ERROR(reg.Commit(m));
  row->body["Status"] = "deleting";
  return nlohmann::json{{"EventSubscription", Render(*row)}};
}

Result<nlohmann::json> SubscriptionService::AddSourceIdentifierToSubscription(
    const nlohmann::json& req) {
  const auto name = ReqString(req, "SubscriptionName");
  if (!name || name->empty()) return Missing("SubscriptionName");
  const auto id = ReqString(req, "SourceIdentifier");
  if (!id || id->empty()) return Missing("SourceIdentifier");
  const Scope scope = ScopeOf(req);
  Registry::Locked reg = registry_.Lock();
  auto row = FindSubscription(reg, scope, *name);
  if (!row.ok()) return row.status();
  const std::string type = row->body.value("SourceType", "");
  if (type.empty()) {
    return Status::Error(AwsError::kInvalidParameterCombination,
                         "Subscription " + row->name +
                             " has no SourceType: give it one (ModifyEventSubscription) before "
                             "adding a source identifier.");
  }
  LOCALRDS_RETURN_IF_ERROR(CheckSourceExists(reg, scope, type, *id));
  nlohmann::json ids = row->body.value("SourceIdsList", nlohmann::json::array());
  if (!ListHas(ids, ToLower(*id))) {
    ids.push_back(ToLower(*id));
    row->body["SourceIdsList"] = ids;
    Mutation m;
    m.put_groups.push_back(*row);
    LOCALRDS_RETURN_IF_ERROR(reg.Commit(m));
  }
  return nlohmann::json{{"EventSubscription", Render(*row)}};
}

Result<nlohmann::json> SubscriptionService::RemoveSourceIdentifierFromSubscription(
    const nlohmann::json& req) {
  const auto name = ReqString(req, "SubscriptionName");
  if (!name || name->empty()) return Missing("SubscriptionName");
  const auto id = ReqString(req, "SourceIdentifier");
  if (!id || id->empty()) return Missing("SourceIdentifier");
  Registry::Locked reg = registry_.Lock();
  auto row = FindSubscription(reg, ScopeOf(req), *name);
  if (!row.ok()) return row.status();
  nlohmann::json ids = row->body.value("SourceIdsList", nlohmann::json::array());
  nlohmann::json kept = nlohmann::json::array();
  for (const auto& x : ids) {
    if (x != ToLower(*id)) kept.push_back(x);
  }
  if (kept.size() == ids.size())
    return Status::Error(AwsError::kSourceNotFound, "Source ID " + *id + " not found.");
  row->body["SourceIdsList"] = kept;
  Mutation m;
  m.put_groups.push_back(*row);
  LOCALRDS_RETURN_IF_ERROR(reg.Commit(m));
  return nlohmann::json{{"EventSubscription", Render(*row)}};
}

Result<nlohmann::json> SubscriptionService::DescribeEventCategories(const nlohmann::json& req) {
  const std::string source_type = ReqString(req, "SourceType").value_or("");
  if (!source_type.empty()) LOCALRDS_RETURN_IF_ERROR(ValidateSourceType(source_type));
  nlohmann::json maps = nlohmann::json::array();
  for (const auto& t : EventSourceTypes()) {
    if (!source_type.empty() && source_type != t.source_type) continue;
    nlohmann::json categories = nlohmann::json::array();
    for (const char* c : t.categories) categories.push_back(c);
    maps.push_back({{"SourceType", t.source_type}, {"EventCategories", categories}});
  }
  return nlohmann::json{{"EventCategoriesMapList", maps}};
}

}  // namespace localrds
