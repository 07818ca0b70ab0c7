// DB parameter groups, DB subnet groups and option groups.
#include "emulator/service/group_service.h"

#include <algorithm>
#include <set>

#include "common/log.h"
#include "common/time_util.h"
#include "emulator/core/arn.h"
#include "emulator/core/group_kinds.h"
#include "emulator/core/instance_state.h"
#include "emulator/core/paging.h"
#include "emulator/core/regions.h"
#include "emulator/core/validation.h"

namespace localrds {
namespace {

// RDS's quotas per account and Region (DescribeAccountAttributes lists the same).
constexpr size_t kMaxParameterGroups = 50;
constexpr size_t kMaxSubnetGroups = 50;
constexpr size_t kMaxOptionGroups = 20;
constexpr size_t kMaxSubnetsPerGroup = 20;

uint64_t Fnv(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;
  for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  return h;
}

std::string Hex(uint64_t v, size_t digits) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < digits; ++i, v >>= 4) out.insert(out.begin(), kDigits[v & 15]);
  return out;
}

// A group name as RDS checks it: 1 to 255 letters, digits and hyphens (`extra` too), a letter
// first, no "--", no hyphen last.
Status ValidateGroupName(const std::string& param, const std::string& name,
                         const std::string& extra = "") {
  bool ok =
      !name.empty() && name.size() <= 255 && std::isalpha(static_cast<unsigned char>(name[0]));
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' &&
        extra.find(c) == std::string::npos)
      ok = false;
  }
  if (ok && (name.back() == '-' || name.find("--") != std::string::npos)) ok = false;
  if (ok) return Status::Ok();
  return Status::InvalidParameter(
      "The parameter " + param +
      " is not a valid identifier. Identifiers must begin with a letter;"
      " must contain only ASCII letters, digits, and hyphens; and must"
      " not end with a hyphen or contain two consecutive hyphens.");
}

Status Required(const nlohmann::json& req, const char* name) {
  if (ReqString(req, name)) return Status::Ok();
  return Status::Error(AwsError::kMissingParameter,
                       std::string("The request must contain the parameter ") + name);
}

nlohmann::json TagsOf(const nlohmann::json& req) {
  nlohmann::json tags = nlohmann::json::array();
  for (const auto& t : req.value("Tags", nlohmann::json::array())) {
    tags.push_back({{"Key", t.value("Key", "")}, {"Value", t.value("Value", "")}});
  }
  return tags;
}

Status CheckTags(const nlohmann::json& tags) {
  for (const auto& t : tags) {
    LOCALRDS_RETURN_IF_ERROR(ValidateTagKey(t.value("Key", "")));
    LOCALRDS_RETURN_IF_ERROR(ValidateTagValue(t.value("Value", "")));
  }
  return Status::Ok();
}

// The public shape of a group: its body without TagList (tags are read with
// ListTagsForResource) and without localrds' own fields.
nlohmann::json Public(const nlohmann::json& body) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : body.items()) {
    if (k != "TagList" && !k.empty() && k[0] != '_') j[k] = v;
  }
  return j;
}

// A source group named by name or ARN (Copy*): the name, or NotFound for an ARN of elsewhere.
Result<std::string> NameOrArn(const Scope& scope, const GroupKind& kind, const std::string& s) {
  if (s.rfind("arn:", 0) != 0) return s;
  auto arn = ParseArn(s);
  if (!arn || arn->type != kind.arn_type || !(arn->scope == scope))
    return GroupNotFound(kind, arn ? arn->name : s);
  return arn->name;
}

std::vector<std::string> InstalledMajors(PgRuntime& runtime) {
  std::vector<std::string> majors;
  for (const auto& v : runtime.InstalledVersions()) majors.push_back(v.major);
  return majors;
}

// Offset paging over an already built list.
Result<nlohmann::json> Page(const nlohmann::json& req, nlohmann::json all, const char* member,
                            int max_default = 100) {
  auto page = PageArgs(req, 20, 100, max_default);
  if (!page.ok()) return page.status();
  const auto [max_records, offset] = *page;
  nlohmann::json out = {{member, nlohmann::json::array()}};
  for (size_t i = static_cast<size_t>(offset);
       i < all.size() && out[member].size() < static_cast<size_t>(max_records); ++i) {
    out[member].push_back(std::move(all[i]));
  }
  if (static_cast<size_t>(offset) + out[member].size() < all.size()) {
    out["Marker"] = std::to_string(offset + static_cast<int64_t>(out[member].size()));
  }
  return out;
}

// --- parameter groups ---------------------------------------------------------------------

std::string DefaultParameterGroup(const std::string& family) { return "default." + family; }

nlohmann::json DefaultParameterGroupBody(const Scope& scope, const std::string& family) {
  const std::string name = DefaultParameterGroup(family);
  return {{"DBParameterGroupName", name},
          {"DBParameterGroupFamily", family},
          {"Description", "Default parameter group for " + family},
          {"DBParameterGroupArn", MakeArn(scope, "pg", name)}};
}

// A parameter group of `scope` by name: a stored one, or a default one of an installed major.
std::optional<nlohmann::json> FindParameterGroup(Registry::Locked& reg, PgRuntime& runtime,
                                                 const Scope& scope, const std::string& name) {
  if (const GroupRow* g = reg.FindGroup(kParameterGroup.kind, scope, name)) return g->body;
  for (const auto& major : InstalledMajors(runtime)) {
    if (ToLower(name) == DefaultParameterGroup("postgres" + major)) {
      return DefaultParameterGroupBody(scope, "postgres" + major);
    }
  }
  return std::nullopt;
}

std::string GroupOf(const InstanceRow& row) {
  const auto& groups = row.attrs.value("DBParameterGroups", nlohmann::json::array());
  if (groups.empty()) return "";
  return ToLower(groups[0].value("DBParameterGroupName", ""));
}

// The group's values (name → value).
std::map<std::string, std::string> GroupValues(const nlohmann::json& body) {
  std::map<std::string, std::string> out;
  const nlohmann::json params = body.value("Parameters", nlohmann::json::object());
  for (const auto& [name, p] : params.items()) {
    out[name] = p.value("ParameterValue", "");
  }
  return out;
}

std::string SubnetGroupOf(const InstanceRow& row) {
  return ToLower(
      row.attrs.value("DBSubnetGroup", nlohmann::json::object()).value("DBSubnetGroupName", ""));
}

std::string OptionGroupOf(const InstanceRow& row) {
  const auto& m = row.attrs.value("OptionGroupMemberships", nlohmann::json::array());
  return m.empty() ? std::string() : ToLower(m[0].value("OptionGroupName", ""));
}

// --- subnet groups --------------------------------------------------------------------------

std::string VpcIdOf(const Scope& scope) {
  return "vpc-" + Hex(Fnv(scope.account + "/" + scope.region + "/vpc"), 17);
}

nlohmann::json SubnetEntry(const std::string& id, const std::string& zone) {
  return {{"SubnetIdentifier", id},
          {"SubnetAvailabilityZone", {{"Name", zone}}},
          {"SubnetOutpost", nlohmann::json::object()},
          {"SubnetStatus", "Active"}};
}

nlohmann::json SubnetGroupBody(const Scope& scope, const std::string& name,
                               const std::string& description, const nlohmann::json& subnets) {
  return {{"DBSubnetGroupName", name},
          {"DBSubnetGroupDescription", description},
          {"VpcId", VpcIdOf(scope)},
          {"SubnetGroupStatus", "Complete"},
          {"Subnets", subnets},
          {"DBSubnetGroupArn", MakeArn(scope, "subgrp", name)},
          {"SupportedNetworkTypes", {"IPV4"}}};
}

// The Region's default subnet group: one subnet in each of its zones.
nlohmann::json DefaultSubnetGroupBody(const Scope& scope) {
  nlohmann::json subnets = nlohmann::json::array();
  if (const RegionInfo* region = FindRegion(scope.region)) {
    for (const auto& zone : region->zones) {
      subnets.push_back(SubnetEntry("subnet-" + Hex(Fnv(scope.account + "/" + zone), 17), zone));
    }
  }
  return SubnetGroupBody(scope, "default", "default", subnets);
}

std::optional<nlohmann::json> FindSubnetGroup(Registry::Locked& reg, const Scope& scope,
                                              const std::string& name) {
  if (ToLower(name) == "default") return DefaultSubnetGroupBody(scope);
  if (const GroupRow* g = reg.FindGroup(kSubnetGroup.kind, scope, name)) return g->body;
  return std::nullopt;
}

std::vector<std::string> ZonesOf(const nlohmann::json& subnet_group) {
  std::set<std::string> zones;
  for (const auto& s : subnet_group.value("Subnets", nlohmann::json::array())) {
    zones.insert(s["SubnetAvailabilityZone"].value("Name", ""));
  }
  return {zones.begin(), zones.end()};
}

// The subnets of a create or modify: each keeps the zone it has in another group of the scope
// (a subnet is in one zone), a new one takes the first zone of the Region this group does not
// cover yet (so that two new subnets cover two zones, as two subnets of a real VPC would be
// chosen). DBSubnetGroupDoesNotCoverEnoughAZs under two zones.
Result<nlohmann::json> PlaceSubnets(Registry::Locked& reg, const Scope& scope,
                                    const nlohmann::json& ids) {
  const RegionInfo* region = FindRegion(scope.region);
  if (ids.empty()) {
    return Status::Error(AwsError::kMissingParameter,
                         "The request must contain the parameter SubnetIds");
  }
  if (ids.size() > kMaxSubnetsPerGroup) {
    return Status::Error(AwsError::kDBSubnetQuotaExceededFault,
                         "The request would result in the user exceeding the allowed number of "
                         "subnets in a DB subnet groups.");
  }
  std::map<std::string, std::string> known;
  for (const GroupRow* g : reg.GroupsIn(kSubnetGroup.kind, scope)) {
    for (const auto& s : g->body.value("Subnets", nlohmann::json::array())) {
      known[s.value("SubnetIdentifier", "")] = s["SubnetAvailabilityZone"].value("Name", "");
    }
  }
  std::vector<std::string> order;
  for (const auto& id : ids) {
    const std::string s = id.is_string() ? id.get<std::string>() : "";
    if (s.rfind("subnet-", 0) != 0 || s.size() < 8) {
      return Status::Error(AwsError::kInvalidSubnet, "The requested subnet " + s +
                                                         " is invalid: subnet ids look like "
                                                         "subnet-0123456789abcdef0.");
    }
    if (std::find(order.begin(), order.end(), s) == order.end()) order.push_back(s);
  }
  std::set<std::string> covered;
  for (const auto& s : order) {
    if (auto it = known.find(s); it != known.end()) covered.insert(it->second);
  }
  nlohmann::json subnets = nlohmann::json::array();
  size_t next = 0;
  for (const auto& s : order) {
    std::string zone;
    if (auto it = known.find(s); it != known.end()) {
      zone = it->second;
    } else if (region && !region->zones.empty()) {
      // The first zone not covered yet, else round the zones again.
      for (size_t i = 0; i < region->zones.size() && zone.empty(); ++i) {
        if (!covered.count(region->zones[i])) zone = region->zones[i];
      }
      if (zone.empty()) zone = region->zones[next++ % region->zones.size()];
      covered.insert(zone);
    }
    subnets.push_back(SubnetEntry(s, zone));
  }
  std::set<std::string> zones;
  for (const auto& s : subnets) zones.insert(s["SubnetAvailabilityZone"].value("Name", ""));
  if (zones.size() < 2 && region && region->zones.size() > 1) {
    return Status::Error(AwsError::kDBSubnetGroupDoesNotCoverEnoughAZs,
                         "The DB subnet group doesn't meet Availability Zone (AZ) coverage "
                         "requirement. Current AZ coverage: " +
                             *zones.begin() + ". Add subnets to cover at least 2 AZs.");
  }
  return subnets;
}

// --- option groups --------------------------------------------------------------------------

std::string DefaultOptionGroup(const std::string& major) { return "default:postgres-" + major; }

nlohmann::json OptionGroupBody(const Scope& scope, const std::string& name,
                               const std::string& description, const std::string& major) {
  return {{"OptionGroupName", name},
          {"OptionGroupDescription", description},
          {"EngineName", "postgres"},
          {"MajorEngineVersion", major},
          {"Options", nlohmann::json::array()},
          {"AllowsVpcAndNonVpcInstanceMemberships", true},
          {"OptionGroupArn", MakeArn(scope, "og", name)},
          {"OptionGroupCreateTime", FormatIso8601(0)}};
}

std::optional<nlohmann::json> FindOptionGroup(Registry::Locked& reg, PgRuntime& runtime,
                                              const Scope& scope, const std::string& name) {
  if (const GroupRow* g = reg.FindGroup(kOptionGroup.kind, scope, name)) return g->body;
  for (const auto& major : InstalledMajors(runtime)) {
    if (ToLower(name) == DefaultOptionGroup(major)) {
      return OptionGroupBody(scope, DefaultOptionGroup(major),
                             "Default option group for postgres " + major, major);
    }
  }
  return std::nullopt;
}

// Who uses a group (by its lower-cased name): the first instance, else "".
std::string InstanceUsing(Registry::Locked& reg, const Scope& scope, const GroupKind& kind,
                          const std::string& name) {
  for (const auto& [rid, row] : reg.instances()) {
    if (!(row.scope == scope)) continue;
    std::string uses;
    if (kind.kind == kParameterGroup.kind) {
      uses = GroupOf(row);
    } else if (kind.kind == kSubnetGroup.kind) {
      uses = SubnetGroupOf(row);
    } else {
      uses = OptionGroupOf(row);
    }
    if (uses == name) return row.identifier;
  }
  return "";
}

Result<const GroupRow*> StoredGroup(Registry::Locked& reg, const GroupKind& kind,
                                    const Scope& scope, const std::string& name) {
  const GroupRow* g = reg.FindGroup(kind.kind, scope, name);
  if (!g) return GroupNotFound(kind, name);
  return g;
}

// Room for a new group of `kind` named `name` in `scope` (`taken`: a group of that name exists
// there, a default one included): RDS's already-exists and quota errors otherwise.
Status CheckRoomForGroup(Registry::Locked& reg, const GroupKind& kind, const Scope& scope,
                         const std::string& name, bool taken) {
  struct Rule {
    AwsError exists;
    std::string exists_message;
    AwsError quota;
    const char* noun;
    size_t max;
  };
  const std::string k = kind.kind;
  const Rule rule =
      k == kParameterGroup.kind ? Rule{AwsError::kDBParameterGroupAlreadyExists,
                                       "Parameter group " + name + " already exists",
                                       AwsError::kDBParameterGroupQuotaExceeded,
                                       "DB parameter groups", kMaxParameterGroups}
      : k == kSubnetGroup.kind
          ? Rule{AwsError::kDBSubnetGroupAlreadyExists,
                 "The DB subnet group '" + name + "' already exists.",
                 AwsError::kDBSubnetGroupQuotaExceeded, "DB subnet groups", kMaxSubnetGroups}
          : Rule{AwsError::kOptionGroupAlreadyExistsFault,
                 "Option Group " + name + " already exists.",
                 AwsError::kOptionGroupQuotaExceededFault, "option groups", kMaxOptionGroups};
  if (taken) return Status::Error(rule.exists, rule.exists_message);
  if (reg.GroupsIn(kind.kind, scope).size() < rule.max) return Status::Ok();
  return Status::Error(rule.quota,
                       std::string("The request would result in the user exceeding the allowed "
                                   "number of ") +
                           rule.noun + ".");
}

// Records a new group and answers its public shape.
Result<Accepted> CommitNewGroup(Registry::Locked& reg, const GroupRow& g) {
  Mutation m;
  m.put_groups.push_back(g);
  LOCALRDS_RETURN_IF_ERROR(reg.Commit(m));
  return Accepted{Public(g.body), 0};
}

}  // namespace

// === DB parameter groups =====================================================================

Result<Accepted> GroupService::CreateDBParameterGroup(const nlohmann::json& req) {
  LOCALRDS_RETURN_IF_ERROR(Required(req, "DBParameterGroupName"));
  LOCALRDS_RETURN_IF_ERROR(Required(req, "DBParameterGroupFamily"));
  LOCALRDS_RETURN_IF_ERROR(Required(req, "Description"));
  const std::string name = ToLower(*ReqString(req, "DBParameterGroupName"));
  LOCALRDS_RETURN_IF_ERROR(ValidateGroupName("DBParameterGroupName", name, "."));
  const std::string family = ToLower(*ReqString(req, "DBParameterGroupFamily"));
  auto catalog = parameters_.Family(family);
  if (!catalog.ok()) return catalog.status();
  const nlohmann::json tags = TagsOf(req);
  LOCALRDS_RETURN_IF_ERROR(CheckTags(tags));
  const Scope scope = ScopeOf(req);
  Registry::Locked reg = registry_.Lock();
  LOCALRDS_RETURN_IF_ERROR(
      CheckRoomForGroup(reg, kParameterGroup, scope, name,
                        FindParameterGroup(reg, runtime_, scope, name).has_value()));
  GroupRow g{kParameterGroup.kind,
             scope,
             name,
             registry_.Now(),
             {{"DBParameterGroupName", name},
              {"DBParameterGroupFamily", family},
              {"Description", *ReqString(req, "Description")},
              {"DBParameterGroupArn", MakeArn(scope, "pg", name)},
              {"TagList", tags},
              {"Parameters", nlohmann::json::object()}}};
  return CommitNewGroup(reg, g);
}

Result<Accepted> GroupService::CopyDBParameterGroup(const nlohmann::json& req) {
  LOCALRDS_RETURN_IF_ERROR(Required(req, "SourceDBParameterGroupIdentifier"));
  LOCALRDS_RETURN_IF_ERROR(Required(req, "TargetDBParameterGroupIdentifier"));
  LOCALRDS_RETURN_IF_ERROR(Required(req, "TargetDBParameterGroupDescription"));
  const Scope scope = ScopeOf(req);
  auto source_name =
      NameOrArn(scope, kParameterGroup, *ReqString(req, "SourceDBParameterGroupIdentifier"));
  if (!source_name.ok()) return source_name.status();
  const std::string name = ToLower(*ReqString(req, "TargetDBParameterGroupIdentifier"));
  LOCALRDS_RETURN_IF_ERROR(ValidateGroupName("TargetDBParameterGroupIdentifier", name, "."));
  const nlohmann::json tags = TagsOf(req);
  LOCALRDS_RETURN_IF_ERROR(CheckTags(tags));
  Registry::Locked reg = registry_.Lock();
  auto source = FindParameterGroup(reg, runtime_, scope, *source_name);
  if (!source) return GroupNotFound(kParameterGroup, *source_name);
  LOCALRDS_RETURN_IF_ERROR(
      CheckRoomForGroup(reg, kParameterGroup, scope, name,
                        FindParameterGroup(reg, runtime_, scope, name).has_value()));
  GroupRow g{kParameterGroup.kind, scope, name, registry_.Now(), *source};
  g.body["DBParameterGroupName"] = name;
  g.body["Description"] = *ReqString(req, "TargetDBParameterGroupDescription");
  g.body["DBParameterGroupArn"] = MakeArn(scope, "pg", name);
  g.body["TagList"] = tags;
  if (!g.body.contains("Parameters")) g.body["Parameters"] = nlohmann::json::object();
  return CommitNewGroup(reg, g);
}

Result<nlohmann::json> GroupService::DescribeDBParameterGroups(const nlohmann::json& req) {
  const Scope scope = ScopeOf(req);
  Registry::Locked reg = registry_.Lock();
  nlohmann::json all = nlohmann::json::array();
  if (auto name = ReqString(req, "DBParameterGroupName")) {
    auto g = FindParameterGroup(reg, runtime_, scope, *name);
    if (!g) return GroupNotFound(kParameterGroup, *name);
    all.push_back(Public(*g));
  } else {
    for (const auto& major : InstalledMajors(runtime_)) {
      all.push_back(DefaultParameterGroupBody(scope, "postgres" + major));
    }
    for (const GroupRow* g : reg.GroupsIn(kParameterGroup.kind, scope)) {
      all.push_back(Public(g->body));
    }
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
      return a.value("DBParameterGroupName", "") < b.value("DBParameterGroupName", "");
    });
  }
  return Page(req, std::move(all), "DBParameterGroups");
}

Result<nlohmann::json> GroupService::ModifyDBParameterGroup(const nlohmann::json& req) {
  LOCALRDS_RETURN_IF_ERROR(Required(req, "DBParameterGroupName"));
  const std::string name = ToLower(*ReqString(req, "DBParameterGroupName"));
  const Scope scope = ScopeOf(req);
  const nlohmann::json params = req.value("Parameters", nlohmann::json::array());
  if (!params.is_array() || params.empty()) {
    return Status::Error(AwsError::kMissingParameter,
                         "The request must contain the parameter Parameters");
  }
  if (params.size() > 20) {
    return Status::InvalidParameter(
        "Too many parameters: at most 20 parameters can be modified in one request.");
  }
  std::string family;
  {
    Registry::Locked reg = registry_.Lock();
    auto g = FindParameterGroup(reg, runtime_, scope, name);
    if (!g) return GroupNotFound(kParameterGroup, name);
    if (!reg.FindGroup(kParameterGroup.kind, scope, name)) {
      return Status::InvalidParameter("Cannot modify a default parameter group.");
    }
    family = g->value("DBParameterGroupFamily", "");
  }
  auto catalog = parameters_.Family(family);
  if (!catalog.ok()) return catalog.status();
  // Checked outside the lock: PostgreSQL decides each value (a process each).
  std::map<std::string, ParameterSetting> changes;
  for (const auto& p : params) {
    const std::string pname = ToLower(p.value("ParameterName", ""));
    if (pname.empty()) {
      return Status::Error(AwsError::kMissingParameter,
                           "The request must contain the parameter ParameterName");
    }
    if (!p.contains("ParameterValue")) {
      return Status::InvalidParameter("The parameter value for parameter " + pname +
                                      " must be provided.");
    }
    ParameterSetting s{p.value("ParameterValue", ""), p.value("ApplyMethod", "")};
    if (s.apply_method.empty()) {
      return Status::InvalidParameter("The apply method for parameter " + pname +
                                      " must be provided.");
    }
    LOCALRDS_RETURN_IF_ERROR((*catalog)->Check(pname, s));
    changes[pname] = s;
  }
  std::vector<InstanceRow> reload;
  {
    Registry::Locked reg = registry_.Lock();
    auto stored = StoredGroup(reg, kParameterGroup, scope, name);  // deleted meanwhile?
    if (!stored.ok()) return stored.status();
    GroupRow g = **stored;
    Mutation m;
    bool now = false, later = false;
    for (const auto& [pname, s] : changes) {
      g.body["Parameters"][pname] = {{"ParameterValue", s.value}, {"ApplyMethod", s.apply_method}};
      (s.apply_method == "immediate" ? now : later) = true;
    }
    m.put_groups.push_back(g);
    for (const auto& [rid, row] : reg.instances()) {
      if (!(row.scope == scope) || GroupOf(row) != name) continue;
      InstanceRow copy = row;
      auto values = InstanceParameters(copy);
      for (const auto& [pname, s] : changes) {
        if (s.apply_method == "immediate") values[pname] = s.value;
      }
      SetInstanceParameters(copy.attrs, values);
      const char* after = later || ParametersPendingReboot(copy) ? "pending-reboot" : "in-sync";
      if (now) {
        StartApplying(copy, after);
        reload.push_back(copy);
      } else {
        SetParameterApplyStatus(copy, after);
      }
      m.put.push_back(copy);
    }
    LOCALRDS_RETURN_IF_ERROR(reg.Commit(m));
  }
  ApplyNow(reload);
  return nlohmann::json{{"DBParameterGroupName", name}};
}

// Dynamic values applied at once: the servers reload (a stopped or busy one reads them at its next
// start), then the group is in sync again on each instance (or still pending a reboot). A crash
// before the end leaves `applying` for the startup reconciliation (Reconciler::Recover).
void GroupService::ApplyNow(const std::vector<InstanceRow>& rows) {
  for (const auto& row : rows) {
    LogIfFailed(servers_.ReloadParameters(row), "parameters", "cannot apply to " + row.identifier);
    Registry::Locked reg = registry_.Lock();
    auto it = reg.instances().find(row.resource_id);
    if (it == reg.instances().end() || ParameterApplyStatus(it->second) != "applying") continue;
    InstanceRow copy = it->second;
    FinishApplying(copy);
    Mutation m;
    m.put.push_back(copy);
    LogIfFailed(reg.Commit(m), "parameters", "cannot record " + row.identifier);
  }
}

Result<nlohmann::json> GroupService::ResetDBParameterGroup(const nlohmann::json& req) {
  LOCALRDS_RETURN_IF_ERROR(Required(req, "DBParameterGroupName"));
  const std::string name = ToLower(*ReqString(req, "DBParameterGroupName"));
  const Scope scope = ScopeOf(req);
  const bool all = ReqBool(req, "ResetAllParameters").value_or(false);
  const nlohmann::json params = req.value("Parameters", nlohmann::json::array());
  if (all && !params.empty()) {
    return Status::Error(AwsError::kInvalidParameterCombination,
                         "Cannot reset all parameters and specify a list of parameters to reset.");
  }
  if (!all && params.empty()) {
    return Status::Error(AwsError::kMissingParameter,
                         "The request must contain the parameter Parameters or ResetAllParameters");
  }
  std::string family;
  {
    Registry::Locked reg = registry_.Lock();
    auto g = FindParameterGroup(reg, runtime_, scope, name);
    if (!g) return GroupNotFound(kParameterGroup, name);
    if (!reg.FindGroup(kParameterGroup.kind, scope, name)) {
      return Status::InvalidParameter("Cannot modify a default parameter group.");
    }
    family = g->value("DBParameterGroupFamily", "");
  }
  auto catalog = parameters_.Family(family);  // outside the lock: the first use builds it
  if (!catalog.ok()) return catalog.status();
  std::vector<InstanceRow> reload;
  std::set<std::string> reset_names;
  bool any_static = false;
  {
    Registry::Locked reg = registry_.Lock();
    auto g = StoredGroup(reg, kParameterGroup, scope, name);  // deleted meanwhile?
    if (!g.ok()) return g.status();
    GroupRow row = **g;
    auto& stored = row.body["Parameters"];
    if (all) {
      for (const auto& [pname, v] : stored.items()) reset_names.insert(pname);
    } else {
      for (const auto& p : params) {
        const std::string pname = ToLower(p.value("ParameterName", ""));
        const ParameterInfo* info = (*catalog)->Find(pname);
        if (!info) return Status::InvalidParameter("Could not find parameter with name: " + pname);
        const std::string method = p.value("ApplyMethod", "pending-reboot");
        if (info->apply_type == "static" && method == "immediate") {
          return Status::Error(AwsError::kInvalidParameterCombination,
                               "cannot use immediate apply method for static parameter");
        }
        reset_names.insert(pname);
      }
    }
    for (const auto& pname : reset_names) {
      const ParameterInfo* info = (*catalog)->Find(pname);
      if (info && info->apply_type == "static") any_static = true;
      stored.erase(pname);
    }
    Mutation m;
    m.put_groups.push_back(row);
    for (const auto& [rid, inst] : reg.instances()) {
      if (!(inst.scope == scope) || GroupOf(inst) != name) continue;
      InstanceRow copy = inst;
      auto values = InstanceParameters(copy);
      bool changed = false;
      for (const auto& pname : reset_names) {
        const ParameterInfo* info = (*catalog)->Find(pname);
        if (info && info->apply_type == "dynamic") changed = values.erase(pname) > 0 || changed;
      }
      SetInstanceParameters(copy.attrs, values);
      const bool pending = any_static || ParametersPendingReboot(copy);
      if (changed) {
        StartApplying(copy, pending ? "pending-reboot" : "in-sync");
        reload.push_back(copy);
      } else if (any_static) {
        SetParameterApplyStatus(copy, "pending-reboot");
      }
      m.put.push_back(copy);
    }
    LOCALRDS_RETURN_IF_ERROR(reg.Commit(m));
  }
  ApplyNow(reload);
  return nlohmann::json{{"DBParameterGroupName", name}};
}

Status GroupService::DeleteDBParameterGroup(const nlohmann::json& req) {
  LOCALRDS_RETURN_IF_ERROR(Required(req, "DBParameterGroupName"));
  const std::string name = ToLower(*ReqString(req, "DBParameterGroupName"));
  const Scope scope = ScopeOf(req);
  Registry::Locked reg = registry_.Lock();
  if (!FindParameterGroup(reg, runtime_, scope, name)) return GroupNotFound(kParameterGroup, name);
  if (!reg.FindGroup(kParameterGroup.kind, scope, name)) {
    return Status::Error(AwsError::kInvalidDBParameterGroupState,
                         "Default DBParameterGroup cannot be deleted: " + name);
  }
  if (!InstanceUsing(reg, scope, kParameterGroup, name).empty()) {
    return Status::Error(AwsError::kInvalidDBParameterGroupState,
                         "One or more database instances are still members of this parameter "
                         "group " +
                             name + ", so the group cannot be deleted");
  }
  Mutation m;
  m.remove_groups.push_back({kParameterGroup.kind, scope, name});
  return reg.Commit(m);
}

namespace {

// One parameter as DescribeDBParameters shows it, with the group's value when it sets one.
nlohmann::json ParameterJson(const ParameterInfo& p, const nlohmann::json* user) {
  nlohmann::json j = {{"ParameterName", p.name},      {"Description", p.description},
                      {"ApplyType", p.apply_type},    {"DataType", p.data_type},
                      {"IsModifiable", p.modifiable}, {"ApplyMethod", "pending-reboot"},
                      {"Source", "engine-default"}};
  if (!p.allowed.empty()) j["AllowedValues"] = p.allowed;
  if (!p.system_value.empty()) {
    j["ParameterValue"] = p.system_value;
    j["Source"] = "system";
  }
  if (user) {
    j["ParameterValue"] = user->value("ParameterValue", "");
    j["ApplyMethod"] = user->value("ApplyMethod", "pending-reboot");
    j["Source"] = "user";
  }
  return j;
}

}  // namespace

Result<nlohmann::json> GroupService::DescribeDBParameters(const nlohmann::json& req) {
  LOCALRDS_RETURN_IF_ERROR(Required(req, "DBParameterGroupName"));
  const std::string name = ToLower(*ReqString(req, "DBParameterGroupName"));
  const std::string source = ReqString(req, "Source").value_or("");
  if (!source.empty() && source != "user" && source != "system" && source != "engine-default") {
    return Status::InvalidParameter("Invalid value for Source: " + source +
                                    ". Valid values are: user, system, engine-default");
  }
  const Scope scope = ScopeOf(req);
  nlohmann::json body;
  {
    Registry::Locked reg = registry_.Lock();
    auto g = FindParameterGroup(reg, runtime_, scope, name);
    if (!g) return GroupNotFound(kParameterGroup, name);
    body = *g;
  }
  auto catalog = parameters_.Family(body.value("DBParameterGroupFamily", ""));
  if (!catalog.ok()) return catalog.status();
  const nlohmann::json user = body.value("Parameters", nlohmann::json::object());
  nlohmann::json all = nlohmann::json::array();
  for (const auto& p : (*catalog)->All()) {
    const nlohmann::json* set = user.contains(p.name) ? &user[p.name] : nullptr;
    nlohmann::json j = ParameterJson(p, set);
    if (!source.empty() && j["Source"] != source) continue;
    all.push_back(std::move(j));
  }
  return Page(req, std::move(all), "Parameters");
}

Result<nlohmann::json> GroupService::DescribeEngineDefaultParameters(const nlohmann::json& req) {
  LOCALRDS_RETURN_IF_ERROR(Required(req, "DBParameterGroupFamily"));
  const std::string family = ToLower(*ReqString(req, "DBParameterGroupFamily"));
  auto catalog = parameters_.Family(family);
  if (!catalog.ok()) return catalog.status();
  nlohmann::json all = nlohmann::json::array();
  for (const auto& p : (*catalog)->All()) all.push_back(ParameterJson(p, nullptr));
  auto page = Page(req, std::move(all), "Parameters");
  if (!page.ok()) return page.status();
  nlohmann::json defaults = {{"DBParameterGroupFamily", family},
                             {"Parameters", (*page)["Parameters"]}};
  if (page->contains("Marker")) defaults["Marker"] = (*page)["Marker"];
  return nlohmann::json{{"EngineDefaults", defaults}};
}

// === DB subnet groups ========================================================================

Result<Accepted> GroupService::CreateDBSubnetGroup(const nlohmann::json& req) {
  LOCALRDS_RETURN_IF_ERROR(Required(req, "DBSubnetGroupName"));
  LOCALRDS_RETURN_IF_ERROR(Required(req, "DBSubnetGroupDescription"));
  const std::string name = ToLower(*ReqString(req, "DBSubnetGroupName"));
  if (name == "default") {
    return Status::InvalidParameter("The parameter DBSubnetGroupName must not be default.");
  }
  LOCALRDS_RETURN_IF_ERROR(ValidateGroupName("DBSubnetGroupName", name, "._ "));
  const nlohmann::json tags = TagsOf(req);
  LOCALRDS_RETURN_IF_ERROR(CheckTags(tags));
  const Scope scope = ScopeOf(req);
  Registry::Locked reg = registry_.Lock();
  LOCALRDS_RETURN_IF_ERROR(CheckRoomForGroup(
      reg, kSubnetGroup, scope, name, reg.FindGroup(kSubnetGroup.kind, scope, name) != nullptr));
  auto subnets = PlaceSubnets(reg, scope, req.value("SubnetIds", nlohmann::json::array()));
  if (!subnets.ok()) return subnets.status();
  GroupRow g{kSubnetGroup.kind, scope, name, registry_.Now(),
             SubnetGroupBody(scope, name, *ReqString(req, "DBSubnetGroupDescription"), *subnets)};
  g.body["TagList"] = tags;
  return CommitNewGroup(reg, g);
}

Result<Accepted> GroupService::ModifyDBSubnetGroup(const nlohmann::json& req) {
  LOCALRDS_RETURN_IF_ERROR(Required(req, "DBSubnetGroupName"));
  const std::string name = ToLower(*ReqString(req, "DBSubnetGroupName"));
  const Scope scope = ScopeOf(req);
  Registry::Locked reg = registry_.Lock();
  if (name == "default") {
    return Status::InvalidParameter("The default DB subnet group cannot be modified.");
  }
  auto stored = StoredGroup(reg, kSubnetGroup, scope, name);
  if (!stored.ok()) return stored.status();
  GroupRow g = **stored;
  auto subnets = PlaceSubnets(reg, scope, req.value("SubnetIds", nlohmann::json::array()));
  if (!subnets.ok()) return subnets.status();
  // An instance's zone must stay in its group.
  const std::vector<std::string> zones = ZonesOf({{"Subnets", *subnets}});
  Mutation m;
  for (const auto& [rid, row] : reg.instances()) {
    if (!(row.scope == scope) || SubnetGroupOf(row) != name) continue;
    const std::string az = row.attrs.value("AvailabilityZone", "");
    if (std::find(zones.begin(), zones.end(), az) == zones.end()) {
      return Status::Error(AwsError::kInvalidSubnet, "The DB subnet group must keep a subnet in " +
                                                         az + ", where DB instance " +
                                                         row.identifier + " runs.");
    }
  }
  g.body["Subnets"] = *subnets;
  if (auto d = ReqString(req, "DBSubnetGroupDescription")) g.body["DBSubnetGroupDescription"] = *d;
  m.put_groups.push_back(g);
  for (const auto& [rid, row] : reg.instances()) {
    if (!(row.scope == scope) || SubnetGroupOf(row) != name) continue;
    InstanceRow copy = row;
    copy.attrs["DBSubnetGroup"] = Public(g.body);
    copy.attrs["DBSubnetGroup"].erase("DBSubnetGroupArn");
    m.put.push_back(copy);
  }
  LOCALRDS_RETURN_IF_ERROR(reg.Commit(m));
  return Accepted{Public(g.body), 0};
}

Result<nlohmann::json> GroupService::DescribeDBSubnetGroups(const nlohmann::json& req) {
  const Scope scope = ScopeOf(req);
  Registry::Locked reg = registry_.Lock();
  nlohmann::json all = nlohmann::json::array();
  if (auto name = ReqString(req, "DBSubnetGroupName")) {
    auto g = FindSubnetGroup(reg, scope, *name);
    if (!g) return GroupNotFound(kSubnetGroup, *name);
    all.push_back(Public(*g));
  } else {
    all.push_back(DefaultSubnetGroupBody(scope));
    for (const GroupRow* g : reg.GroupsIn(kSubnetGroup.kind, scope)) all.push_back(Public(g->body));
  }
  return Page(req, std::move(all), "DBSubnetGroups");
}

Status GroupService::DeleteDBSubnetGroup(const nlohmann::json& req) {
  LOCALRDS_RETURN_IF_ERROR(Required(req, "DBSubnetGroupName"));
  const std::string name = ToLower(*ReqString(req, "DBSubnetGroupName"));
  const Scope scope = ScopeOf(req);
  Registry::Locked reg = registry_.Lock();
  if (name == "default") {
    return Status::Error(AwsError::kInvalidDBSubnetGroupStateFault,
                         "Cannot delete the default DB subnet group.");
  }
  auto stored = StoredGroup(reg, kSubnetGroup, scope, name);
  if (!stored.ok()) return stored.status();
  const std::string user = InstanceUsing(reg, scope, kSubnetGroup, name);
  if (!user.empty()) {
    return Status::Error(AwsError::kInvalidDBSubnetGroupStateFault,
                         "Cannot delete the subnet group '" + name +
                             "' because at least one database instance: " + user +
                             " is still using it.");
  }
  Mutation m;
  m.remove_groups.push_back({kSubnetGroup.kind, scope, name});
  return reg.Commit(m);
}

// === option groups ===========================================================================

Result<Accepted> GroupService::CreateOptionGroup(const nlohmann::json& req) {
  for (const char* p :
       {"OptionGroupName", "EngineName", "MajorEngineVersion", "OptionGroupDescription"}) {
    LOCALRDS_RETURN_IF_ERROR(Required(req, p));
  }
  const std::string name = ToLower(*ReqString(req, "OptionGroupName"));
  LOCALRDS_RETURN_IF_ERROR(ValidateGroupName("OptionGroupName", name));
  if (ToLower(*ReqString(req, "EngineName")) != "postgres") {
    return Status::InvalidParameter("Invalid DB engine: " + *ReqString(req, "EngineName") +
                                    ". localrds runs postgres.");
  }
  const std::string major = *ReqString(req, "MajorEngineVersion");
  const auto majors = InstalledMajors(runtime_);
  if (std::find(majors.begin(), majors.end(), major) == majors.end()) {
    return Status::InvalidParameter("Cannot find major version " + major + " for postgres");
  }
  const nlohmann::json tags = TagsOf(req);
  LOCALRDS_RETURN_IF_ERROR(CheckTags(tags));
  const Scope scope = ScopeOf(req);
  Registry::Locked reg = registry_.Lock();
  LOCALRDS_RETURN_IF_ERROR(CheckRoomForGroup(
      reg, kOptionGroup, scope, name, FindOptionGroup(reg, runtime_, scope, name).has_value()));
  GroupRow g{kOptionGroup.kind, scope, name, registry_.Now(),
             OptionGroupBody(scope, name, *ReqString(req, "OptionGroupDescription"), major)};
  g.body["OptionGroupCreateTime"] = FormatIso8601(g.created_ms);
  g.body["TagList"] = tags;
  return CommitNewGroup(reg, g);
}

Result<Accepted> GroupService::CopyOptionGroup(const nlohmann::json& req) {
  for (const char* p : {"SourceOptionGroupIdentifier", "TargetOptionGroupIdentifier",
                        "TargetOptionGroupDescription"}) {
    LOCALRDS_RETURN_IF_ERROR(Required(req, p));
  }
  const Scope scope = ScopeOf(req);
  auto source_name = NameOrArn(scope, kOptionGroup, *ReqString(req, "SourceOptionGroupIdentifier"));
  if (!source_name.ok()) return source_name.status();
  const std::string name = ToLower(*ReqString(req, "TargetOptionGroupIdentifier"));
  LOCALRDS_RETURN_IF_ERROR(ValidateGroupName("TargetOptionGroupIdentifier", name));
  const nlohmann::json tags = TagsOf(req);
  LOCALRDS_RETURN_IF_ERROR(CheckTags(tags));
  Registry::Locked reg = registry_.Lock();
  auto source = FindOptionGroup(reg, runtime_, scope, *source_name);
  if (!source) return GroupNotFound(kOptionGroup, *source_name);
  if (ToLower(*source_name).rfind("default:", 0) == 0) {
    return Status::InvalidParameter("You can not copy default option groups.");
  }
  LOCALRDS_RETURN_IF_ERROR(CheckRoomForGroup(
      reg, kOptionGroup, scope, name, FindOptionGroup(reg, runtime_, scope, name).has_value()));
  GroupRow g{kOptionGroup.kind, scope, name, registry_.Now(), *source};
  g.body["OptionGroupName"] = name;
  g.body["OptionGroupDescription"] = *ReqString(req, "TargetOptionGroupDescription");
  g.body["OptionGroupArn"] = MakeArn(scope, "og", name);
  g.body["OptionGroupCreateTime"] = FormatIso8601(g.created_ms);
  g.body["TagList"] = tags;
  return CommitNewGroup(reg, g);
}

Result<Accepted> GroupService::ModifyOptionGroup(const nlohmann::json& req) {
  LOCALRDS_RETURN_IF_ERROR(Required(req, "OptionGroupName"));
  const std::string name = ToLower(*ReqString(req, "OptionGroupName"));
  const Scope scope = ScopeOf(req);
  Registry::Locked reg = registry_.Lock();
  if (!FindOptionGroup(reg, runtime_, scope, name)) return GroupNotFound(kOptionGroup, name);
  if (!reg.FindGroup(kOptionGroup.kind, scope, name)) {
    return Status::InvalidParameter("Default option groups cannot be modified.");
  }
  // RDS for PostgreSQL has no options (DescribeOptionGroupOptions lists none): any option named
  // is one the engine does not have; removing one the group does not hold is refused too.
  for (const auto& o : req.value("OptionsToInclude", nlohmann::json::array())) {
    return Status::InvalidParameter(
        "Option " + o.value("OptionName", "") + " is not valid for engine postgres " +
        reg.FindGroup(kOptionGroup.kind, scope, name)->body.value("MajorEngineVersion", "") +
        ": RDS for PostgreSQL has no options.");
  }
  for (const auto& o : req.value("OptionsToRemove", nlohmann::json::array())) {
    return Status::InvalidParameter("Option " + (o.is_string() ? o.get<std::string>() : "") +
                                    " is not in option group " + name + ".");
  }
  return Accepted{Public(reg.FindGroup(kOptionGroup.kind, scope, name)->body), 0};
}

Result<nlohmann::json> GroupService::DescribeOptionGroups(const nlohmann::json& req) {
  const Scope scope = ScopeOf(req);
  const std::string engine = ToLower(ReqString(req, "EngineName").value_or(""));
  const std::string major = ReqString(req, "MajorEngineVersion").value_or("");
  if (!major.empty() && engine.empty()) {
    return Status::InvalidParameter(
        "If MajorEngineVersion is supplied, EngineName must also be supplied.");
  }
  Registry::Locked reg = registry_.Lock();
  nlohmann::json all = nlohmann::json::array();
  if (auto name = ReqString(req, "OptionGroupName")) {
    auto g = FindOptionGroup(reg, runtime_, scope, *name);
    if (!g) return GroupNotFound(kOptionGroup, *name);
    all.push_back(Public(*g));
  } else {
    for (const auto& m : InstalledMajors(runtime_)) {
      all.push_back(*FindOptionGroup(reg, runtime_, scope, DefaultOptionGroup(m)));
    }
    for (const GroupRow* g : reg.GroupsIn(kOptionGroup.kind, scope)) all.push_back(Public(g->body));
  }
  nlohmann::json kept = nlohmann::json::array();
  for (auto& g : all) {
    if (!engine.empty() && g.value("EngineName", "") != engine) continue;
    if (!major.empty() && g.value("MajorEngineVersion", "") != major) continue;
    kept.push_back(std::move(g));
  }
  return Page(req, std::move(kept), "OptionGroupsList");
}

Result<nlohmann::json> GroupService::DescribeOptionGroupOptions(const nlohmann::json& req) {
  LOCALRDS_RETURN_IF_ERROR(Required(req, "EngineName"));
  if (ToLower(*ReqString(req, "EngineName")) != "postgres") {
    return Status::InvalidParameter("Invalid DB engine: " + *ReqString(req, "EngineName"));
  }
  return Page(req, nlohmann::json::array(), "OptionGroupOptions");
}

Status GroupService::DeleteOptionGroup(const nlohmann::json& req) {
  LOCALRDS_RETURN_IF_ERROR(Required(req, "OptionGroupName"));
  const std::string name = ToLower(*ReqString(req, "OptionGroupName"));
  const Scope scope = ScopeOf(req);
  Registry::Locked reg = registry_.Lock();
  if (!FindOptionGroup(reg, runtime_, scope, name)) return GroupNotFound(kOptionGroup, name);
  if (!reg.FindGroup(kOptionGroup.kind, scope, name)) {
    return Status::Error(AwsError::kInvalidOptionGroupStateFault,
                         "Default option group " + name + " cannot be deleted.");
  }
  bool in_use = !InstanceUsing(reg, scope, kOptionGroup, name).empty();
  for (const auto& [id, snap] : reg.snapshots()) {
    InstanceRow taken;  // the instance as the snapshot keeps it
    taken.attrs = snap.attrs.value("_instance", nlohmann::json::object());
    if (snap.scope == scope && OptionGroupOf(taken) == name) in_use = true;
  }
  if (in_use) {
    return Status::Error(AwsError::kInvalidOptionGroupStateFault,
                         "The option group '" + name + "' cannot be deleted because it is in use.");
  }
  Mutation m;
  m.remove_groups.push_back({kOptionGroup.kind, scope, name});
  return reg.Commit(m);
}

// === what instances take from groups ========================================================

Status TakeGroups(Registry::Locked& reg, const nlohmann::json& req, const Scope& scope,
                  const std::string& major, nlohmann::json& attrs) {
  // The parameter group.
  const std::string family = "postgres" + major;
  std::string pg = ToLower(ReqString(req, "DBParameterGroupName").value_or(""));
  if (pg.empty()) pg = "default." + family;
  std::map<std::string, std::string> values;
  if (const GroupRow* g = reg.FindGroup(kParameterGroup.kind, scope, pg)) {
    if (g->body.value("DBParameterGroupFamily", "") != family) {
      return Status::Error(AwsError::kInvalidParameterCombination,
                           "The parameter group " + pg + " with DBParameterGroupFamily " +
                               g->body.value("DBParameterGroupFamily", "") +
                               " can't be used for this instance. Use a parameter group with "
                               "DBParameterGroupFamily " +
                               family + ".");
    }
    values = GroupValues(g->body);
  } else if (pg != "default." + family) {
    return GroupNotFound(kParameterGroup, pg);
  }
  attrs["DBParameterGroups"] = {
      {{"DBParameterGroupName", pg}, {"ParameterApplyStatus", "in-sync"}}};
  SetInstanceParameters(attrs, values);

  // The subnet group.
  const std::string sg = ToLower(ReqString(req, "DBSubnetGroupName").value_or("default"));
  auto subnet_group = FindSubnetGroup(reg, scope, sg);
  if (!subnet_group) return GroupNotFound(kSubnetGroup, sg);
  nlohmann::json shown = Public(*subnet_group);
  shown.erase("DBSubnetGroupArn");
  attrs["DBSubnetGroup"] = shown;
  if (auto az = ReqString(req, "AvailabilityZone")) {
    const auto zones = ZonesOf(*subnet_group);
    if (std::find(zones.begin(), zones.end(), *az) == zones.end()) {
      return Status::Error(
          AwsError::kInvalidParameterCombination,
          "The Availability Zone " + *az + " is not in DB subnet group " + sg + ", which covers " +
              [&] {
                std::string s;
                for (const auto& z : zones) s += (s.empty() ? "" : ", ") + z;
                return s;
              }() +
              ".");
    }
  }

  // The option group.
  const std::string og =
      ToLower(ReqString(req, "OptionGroupName").value_or(DefaultOptionGroup(major)));
  const GroupRow* option_group = reg.FindGroup(kOptionGroup.kind, scope, og);
  if (!option_group && og != DefaultOptionGroup(major)) return GroupNotFound(kOptionGroup, og);
  if (option_group && option_group->body.value("MajorEngineVersion", "") != major) {
    return Status::Error(AwsError::kInvalidParameterCombination,
                         "The option group " + og + " is for postgres " +
                             option_group->body.value("MajorEngineVersion", "") +
                             "; this instance runs postgres " + major + ".");
  }
  attrs["OptionGroupMemberships"] = {{{"OptionGroupName", og}, {"Status", "in-sync"}}};
  return Status::Ok();
}

Status ChangeGroups(Registry::Locked& reg, const nlohmann::json& req, InstanceRow& row) {
  auto pg = ReqString(req, "DBParameterGroupName");
  auto og = ReqString(req, "OptionGroupName");
  auto sg = ReqString(req, "DBSubnetGroupName");
  if (!pg && !og && !sg) return Status::Ok();
  const std::string version = row.attrs.value("EngineVersion", "");
  const std::string major = version.substr(0, version.find('.'));
  // The request's groups, the instance's own for the others.
  nlohmann::json groups_req = {
      {"DBParameterGroupName", pg.value_or(GroupOf(row))},
      {"OptionGroupName", og.value_or(OptionGroupOf(row))},
      {"DBSubnetGroupName",
       sg.value_or(SubnetGroupOf(row).empty() ? "default" : SubnetGroupOf(row))}};
  nlohmann::json attrs = row.attrs;
  LOCALRDS_RETURN_IF_ERROR(TakeGroups(reg, groups_req, row.scope, major, attrs));
  const auto zones = ZonesOf(attrs["DBSubnetGroup"]);
  const std::string az = row.attrs.value("AvailabilityZone", "");
  if (sg && std::find(zones.begin(), zones.end(), az) == zones.end()) {
    return Status::Error(AwsError::kInvalidVPCNetworkStateFault,
                         "The DB subnet group " + ToLower(*sg) + " has no subnet in " + az +
                             ", where DB instance " + row.identifier + " runs.");
  }
  row.attrs["DBSubnetGroup"] = attrs["DBSubnetGroup"];
  row.attrs["OptionGroupMemberships"] = attrs["OptionGroupMemberships"];
  if (pg && ToLower(*pg) != GroupOf(row)) {
    // Associated now; its values reach the servers at the next reboot.
    row.attrs["DBParameterGroups"] = attrs["DBParameterGroups"];
    SetParameterApplyStatus(row, "pending-reboot");
  }
  return Status::Ok();
}

void PlaceInSubnetGroup(const std::string& resource_id, nlohmann::json& attrs) {
  const auto zones = ZonesOf(attrs.value("DBSubnetGroup", nlohmann::json::object()));
  if (zones.empty()) return;
  auto in_group = [&](const std::string& z) {
    return std::find(zones.begin(), zones.end(), z) != zones.end();
  };
  const size_t seed = Fnv(resource_id) % zones.size();
  const std::string az = attrs.value("AvailabilityZone", "");
  if (!in_group(az)) attrs["AvailabilityZone"] = zones[seed];
  if (attrs.contains("SecondaryAvailabilityZone") && zones.size() > 1) {
    const std::string second = attrs.value("SecondaryAvailabilityZone", "");
    if (!in_group(second) || second == attrs["AvailabilityZone"]) {
      const std::string primary = attrs["AvailabilityZone"];
      for (size_t i = 1; i <= zones.size(); ++i) {
        const std::string& z = zones[(seed + i) % zones.size()];
        if (z != primary) {
          attrs["SecondaryAvailabilityZone"] = z;
          break;
        }
      }
    }
  }
}

void SyncParametersAtRestart(Registry::Locked& reg, InstanceRow& row) {
  const std::string name = GroupOf(row);
  const GroupRow* g = reg.FindGroup(kParameterGroup.kind, row.scope, name);
  SetInstanceParameters(row.attrs, g ? GroupValues(g->body) : std::map<std::string, std::string>{});
  FinishApplying(row);  // a restart applies everything
  SetParameterApplyStatus(row, "in-sync");
}

}  // namespace localrds
