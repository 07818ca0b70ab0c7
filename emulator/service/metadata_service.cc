// Tags, events, engine versions and orderable options.
#include "emulator/service/metadata_service.h"

#include <algorithm>
#include <set>

#include "common/time_util.h"
#include "emulator/core/arn.h"
#include "emulator/core/group_kinds.h"
#include "emulator/core/instance_classes.h"
#include "emulator/core/instance_state.h"
#include "emulator/core/paging.h"
#include "emulator/core/quotas.h"
#include "emulator/core/regions.h"
#include "emulator/core/request.h"
#include "emulator/core/validation.h"

namespace localrds {
Result<std::string> ServiceBase::ResolveArn(Registry::Locked& reg, const Scope& scope,
                                            const std::string& arn) const {
  auto parsed = ParseArn(arn);
  if (!parsed) {
    return Status::InvalidParameter("The specified resource name " + arn +
                                    " is not a valid Amazon RDS ARN.");
  }
  if (parsed->type != "db") {
    return Status::InvalidParameter("localrds has no resource of type " + parsed->type + " (" +
                                    arn + ").");
  }
  auto row = reg.Find(scope, arn);
  if (!row.ok()) {
    return Status::Error(AwsError::kDBInstanceNotFound,
                         "DBInstance " + parsed->name + " not found.");
  }
  return row->resource_id;
}

Result<MetadataService::TaggedResource> MetadataService::FindTagged(Registry::Locked& reg,
                                                                    const Scope& scope,
                                                                    const std::string& arn) const {
  auto parsed = ParseArn(arn);
  for (const GroupKind& kind : kGroupKinds) {
    if (!parsed || parsed->type != kind.arn_type) continue;
    const GroupRow* group =
        parsed->scope == scope ? reg.FindGroup(kind.kind, scope, parsed->name) : nullptr;
    if (!group) return GroupNotFound(kind, parsed->name);
    return TaggedResource{group->body.value("TagList", nlohmann::json::array()),
                          [row = *group](Mutation& m, const nlohmann::json& tags) mutable {
                            row.body["TagList"] = tags;
                            m.put_groups.push_back(row);
                          }};
  }
  if (parsed && parsed->type == "auto-backup") {
    // The automated backups of a live instance, or retained ones (also replicated here).
    auto matches = [&](const InstanceRow& row) {
      const std::string from = ReplicatedFrom(row);
      return row.scope == scope &&
             ToLower(Registry::AutomatedBackupsArn(
                 row.scope, from.empty() ? row.resource_id : from)) == ToLower(arn);
    };
    auto tags_of = [](const InstanceRow& row) {
      return row.attrs.value(kAutomatedBackupTags, nlohmann::json::array());
    };
    for (const auto& [rid, row] : reg.instances()) {
      if (!matches(row) || row.attrs.value("BackupRetentionPeriod", 0) <= 0) continue;
      return TaggedResource{tags_of(row),
                            [copy = row](Mutation& m, const nlohmann::json& t) mutable {
                              copy.attrs[kAutomatedBackupTags] = t;
                              m.put.push_back(copy);
                            }};
    }
    for (const auto& [rid, ret] : reg.retained()) {
      if (!matches(ret.instance)) continue;
      return TaggedResource{tags_of(ret.instance),
                            [copy = ret](Mutation& m, const nlohmann::json& t) mutable {
                              copy.instance.attrs[kAutomatedBackupTags] = t;
                              m.put_retained.push_back(copy);
                            }};
    }
    return Status::Error(AwsError::kDBInstanceAutomatedBackupNotFound,
                         "No automated backup found for " + arn + ".");
  }
  if (parsed && parsed->type == "snapshot") {
    auto snap = reg.FindSnapshot(scope, arn);
    if (!snap.ok()) {
      return Status::Error(AwsError::kDBSnapshotNotFound,
                           "DBSnapshot " + parsed->name + " not found.");
    }
    return TaggedResource{snap->attrs.value("TagList", nlohmann::json::array()),
                          [row = *snap](Mutation& m, const nlohmann::json& tags) mutable {
                            row.attrs["TagList"] = tags;
                            m.put_snapshots.push_back(row);
                          }};
  }
  auto rid = ResolveArn(reg, scope, arn);
  if (!rid.ok()) return rid.status();
  const InstanceRow& row = reg.instances().at(*rid);
  return TaggedResource{row.attrs.value("TagList", nlohmann::json::array()),
                        [copy = row](Mutation& m, const nlohmann::json& tags) mutable {
                          copy.attrs["TagList"] = tags;
                          m.put.push_back(copy);
                        }};
}

Status MetadataService::AddTagsToResource(const nlohmann::json& req) {
  nlohmann::json tags = req.value("Tags", nlohmann::json::array());
  for (const auto& t : tags) {
    LOCALRDS_RETURN_IF_ERROR(ValidateTagKey(t.value("Key", "")));
    LOCALRDS_RETURN_IF_ERROR(ValidateTagValue(t.value("Value", "")));
  }
  Registry::Locked reg = registry_.Lock();
  auto found = FindTagged(reg, ScopeOf(req), ReqString(req, "ResourceName").value_or(""));
  if (!found.ok()) return found.status();
  nlohmann::json list = found->tags.is_array() ? found->tags : nlohmann::json::array();
  for (const auto& t : tags) {
    std::string key = t.value("Key", "");
    auto it = std::find_if(list.begin(), list.end(),
                           [&](const nlohmann::json& x) { return x.value("Key", "") == key; });
    nlohmann::json tag = {{"Key", key}, {"Value", t.value("Value", "")}};
    if (it != list.end()) {
      *it = tag;
    } else {
      list.push_back(tag);
    }
  }
  if (list.size() > 50) return Status::InvalidParameter("A resource can have at most 50 tags.");
  Mutation m;
  found->put(m, list);
  return reg.Commit(m);
}

Status MetadataService::RemoveTagsFromResource(const nlohmann::json& req) {
  std::set<std::string> keys;
  for (const auto& k : req.value("TagKeys", nlohmann::json::array()))
    keys.insert(k.get<std::string>());
  Registry::Locked reg = registry_.Lock();
  auto found = FindTagged(reg, ScopeOf(req), ReqString(req, "ResourceName").value_or(""));
  if (!found.ok()) return found.status();
  nlohmann::json kept = nlohmann::json::array();
  for (const auto& t : found->tags) {
    if (!keys.count(t.value("Key", ""))) kept.push_back(t);
  }
  Mutation m;
  found->put(m, kept);
  return reg.Commit(m);
}

Result<nlohmann::json> MetadataService::ListTagsForResource(const nlohmann::json& req) {
  Registry::Locked reg = registry_.Lock();
  auto found = FindTagged(reg, ScopeOf(req), ReqString(req, "ResourceName").value_or(""));
  if (!found.ok()) return found.status();
  return nlohmann::json{{"TagList", found->tags}};
}

Result<nlohmann::json> MetadataService::DescribeAccountAttributes(const nlohmann::json& req) {
  const Scope scope = ScopeOf(req);
  int instances = 0, storage = 0, manual = 0, replicas = 0;
  Registry::Locked reg = registry_.Lock();
  for (const auto& [rid, row] : reg.instances()) {
    if (row.scope != scope) continue;
    ++instances;
    storage += row.attrs.value("AllocatedStorage", 0);
    replicas = std::max(replicas, static_cast<int>(reg.ReplicasOf(rid).size()));
  }
  for (const auto& [id, snap] : reg.snapshots()) {
    if (snap.scope == scope && snap.type == "manual") ++manual;
  }
  // RDS's list and order; what localrds has no such thing of (security groups, clusters, roles,
  // reservations, and until the control-plane groups land, user groups) is used 0 times.
  const std::pair<const char*, std::pair<int, int>> quotas[] = {
      {"DBInstances", {instances, config_.max_instances}},
      {"ReservedDBInstances", {0, 40}},
      {"AllocatedStorage", {storage, kAllocatedStorageQuotaGiB}},
      {"DBSecurityGroups", {0, 25}},
      {"AuthorizationsPerDBSecurityGroup", {0, 20}},
      {"DBParameterGroups", {0, 50}},
      {"ManualSnapshots", {manual, kManualSnapshotQuota}},
      {"EventSubscriptions", {0, 20}},
      {"DBSubnetGroups", {0, 50}},
      {"OptionGroups", {0, 20}},
      {"SubnetsPerDBSubnetGroup", {0, 20}},
      {"ReadReplicasPerMaster", {replicas, kMaxReplicasOfPrimary}},
      {"DBClusters", {0, 40}},
      {"DBClusterParameterGroups", {0, 50}},
      {"DBClusterRoles", {0, 5}},
  };
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [name, used_max] : quotas) {
    list.push_back(
        {{"AccountQuotaName", name}, {"Used", used_max.first}, {"Max", used_max.second}});
  }
  return nlohmann::json{{"AccountQuotas", list}};
}

Result<nlohmann::json> MetadataService::DescribeEvents(const nlohmann::json& req) {
  auto page = PageArgs(req, 20, 100, 100);
  if (!page.ok()) return page.status();
  EventQuery q;
  q.scope = ScopeOf(req);  // DescribeEvents is per account and region
  int64_t now = registry_.Now();
  auto parse_time = [](const nlohmann::json& r,
                       const char* name) -> Result<std::optional<int64_t>> {
    auto s = ReqString(r, name);
    if (!s) return std::optional<int64_t>();
    auto t = ParseIso8601(*s);
    if (!t) return Status::InvalidParameter("Invalid " + std::string(name) + ": " + *s);
    return std::optional<int64_t>(*t);
  };
  auto start = parse_time(req, "StartTime");
  if (!start.ok()) return start.status();
  auto end = parse_time(req, "EndTime");
  if (!end.ok()) return end.status();
  auto duration = ReqInt(req, "Duration");
  q.end_ms = end->value_or(now);
  if (start->has_value()) {
    q.start_ms = **start;
  } else if (duration) {
    q.start_ms = q.end_ms - *duration * 60 * 1000;
  } else {
    q.start_ms = q.end_ms - 60 * 60 * 1000;  // RDS's default: the past hour
  }
  static const std::set<std::string> kSourceTypes = {"db-instance",
                                                     "db-parameter-group",
                                                     "db-security-group",
                                                     "db-snapshot",
                                                     "db-cluster",
                                                     "db-cluster-snapshot",
                                                     "custom-engine-version",
                                                     "db-proxy",
                                                     "blue-green-deployment",
                                                     "db-shard-group",
                                                     "zero-etl"};
  q.source_type = ReqString(req, "SourceType").value_or("");
  if (!q.source_type.empty() && !kSourceTypes.count(q.source_type)) {
    return Status::InvalidParameter("Invalid value for SourceType: " + q.source_type);
  }
  if (auto sid = ReqString(req, "SourceIdentifier")) {
    if (q.source_type.empty()) {
      return Status::Error(AwsError::kInvalidParameterCombination,
                           "Cannot specify source identifier without source type");
    }
    q.source_identifier = q.source_type == "db-instance" ? ToLower(*sid) : *sid;
  }
  std::set<std::string> categories;
  for (const auto& c : req.value("EventCategories", nlohmann::json::array())) {
    categories.insert(c.get<std::string>());
  }
  q.after_seq = page->second;
  q.limit = 100000;
  nlohmann::json list = nlohmann::json::array();
  std::string marker;
  auto events = catalog_.QueryEvents(q);
  if (!events.ok()) return events.status();
  for (const auto& e : *events) {
    // localrds's own sources (an outage drill's Region or zone) are not RDS's: /_localrds/events
    // shows them.
    if (!kSourceTypes.count(e.source_type)) continue;
    if (!categories.empty() &&
        std::none_of(e.categories.begin(), e.categories.end(),
                     [&](const std::string& c) { return categories.count(c); })) {
      continue;
    }
    if (static_cast<int>(list.size()) == page->first) {
      break;
    }
    list.push_back({{"SourceIdentifier", e.source_identifier},
                    {"SourceType", e.source_type},
                    {"Message", e.message},
                    {"EventCategories", e.categories},
                    {"Date", FormatIso8601(e.date_ms)},
                    {"SourceArn", e.source_arn}});
    marker = std::to_string(e.seq);
  }
  nlohmann::json out = {{"Events", list}};
  if (static_cast<int>(list.size()) == page->first) out["Marker"] = marker;
  return out;
}

Result<nlohmann::json> MetadataService::DescribeDBEngineVersions(const nlohmann::json& req) {
  auto page = PageArgs(req, 20, 100, 100);
  if (!page.ok()) return page.status();
  std::string engine = ReqString(req, "Engine").value_or("postgres");
  auto wanted = ReqString(req, "EngineVersion");
  auto family = ReqString(req, "DBParameterGroupFamily");
  bool default_only = ReqBool(req, "DefaultOnly").value_or(false);
  nlohmann::json list = nlohmann::json::array();
  if (engine == "postgres") {
    for (const auto& v : runtime_.InstalledVersions()) {
      if (wanted && *wanted != v.full && *wanted != v.major) continue;
      if (family && *family != "postgres" + v.major) continue;
      list.push_back({{"Engine", "postgres"},
                      {"EngineVersion", v.full},
                      {"MajorEngineVersion", v.major},
                      {"DBParameterGroupFamily", "postgres" + v.major},
                      {"DBEngineDescription", "PostgreSQL"},
                      {"DBEngineVersionDescription", "PostgreSQL " + v.full + "-R1"},
                      {"ValidUpgradeTarget", nlohmann::json::array()},
                      {"ExportableLogTypes", {"postgresql", "upgrade"}},
                      {"SupportsLogExportsToCloudwatchLogs", true},
                      {"SupportsReadReplica", true},
                      {"SupportedEngineModes", {"provisioned"}},
                      {"SupportedFeatureNames", nlohmann::json::array()},
                      {"Status", "available"},
                      {"SupportsParallelQuery", false},
                      {"SupportsGlobalDatabases", false},
                      {"SupportsBabelfish", false},
                      {"SupportsLimitlessDatabase", false},
                      {"SupportsCertificateRotationWithoutRestart", true},
                      {"SupportsLocalWriteForwarding", false},
                      {"SupportsIntegrations", false},
                      {"SupportedCACertificateIdentifiers",
                       {"rds-ca-ecc384-g1", "rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1"}}});
      if (default_only) break;
    }
  }
  return OffsetPage(list, "DBEngineVersions", *page);
}

Result<nlohmann::json> MetadataService::DescribeOrderableDBInstanceOptions(
    const nlohmann::json& req) {
  auto page = PageArgs(req, 20, 10000, 100);
  if (!page.ok()) return page.status();
  std::string engine = ReqString(req, "Engine").value_or("");
  auto wanted_version = ReqString(req, "EngineVersion");
  auto wanted_class = ReqString(req, "DBInstanceClass");
  auto wanted_license = ReqString(req, "LicenseModel");
  auto vpc = ReqBool(req, "Vpc");
  nlohmann::json azs = nlohmann::json::array();
  if (const RegionInfo* region = FindRegion(ScopeOf(req).region)) {
    for (const auto& zone : region->zones) azs.push_back({{"Name", zone}});
  }
  nlohmann::json list = nlohmann::json::array();
  if (engine == "postgres" && (!wanted_license || *wanted_license == "postgresql-license") &&
      vpc.value_or(true)) {
    for (const auto& v : runtime_.InstalledVersions()) {
      if (wanted_version && *wanted_version != v.full && *wanted_version != v.major) continue;
      for (const auto& cls : AllInstanceClasses()) {
        if (wanted_class && *wanted_class != cls.name) continue;
        for (const char* storage : {"gp2", "gp3", "io1", "standard"}) {
          std::string st = storage;
          nlohmann::json o = {{"Engine", "postgres"},
                              {"EngineVersion", v.full},
                              {"DBInstanceClass", cls.name},
                              {"LicenseModel", "postgresql-license"},
                              {"AvailabilityZones", azs},
                              {"MultiAZCapable", true},
                              {"ReadReplicaCapable", true},
                              {"Vpc", true},
                              {"SupportsStorageEncryption", true},
                              {"StorageType", st},
                              {"SupportsIops", st == "io1" || st == "gp3"},
                              {"SupportsStorageThroughput", st == "gp3"},
                              {"SupportsEnhancedMonitoring", true},
                              {"SupportsIAMDatabaseAuthentication", true},
                              {"SupportsPerformanceInsights", true},
                              {"MinStorageSize", st == "io1" ? 100 : (st == "standard" ? 5 : 20)},
                              {"MaxStorageSize", st == "standard" ? 3072 : 65536},
                              {"SupportedEngineModes", {"provisioned"}},
                              {"SupportsStorageAutoscaling", true},
                              {"SupportsKerberosAuthentication", true},
                              {"OutpostCapable", false},
                              {"SupportsGlobalDatabases", false},
                              {"SupportedNetworkTypes", {"IPV4", "DUAL"}},
                              {"SupportsClusters", false},
                              {"SupportsDedicatedLogVolume", false},
                              {"SupportsHttpEndpoint", false}};
          list.push_back(std::move(o));
        }
      }
    }
  }
  return OffsetPage(list, "OrderableDBInstanceOptions", *page);
}

}  // namespace localrds
