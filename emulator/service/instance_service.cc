// The DB instance actions: Create, Describe, Modify, Delete, Reboot, Stop, Start.
#include <openssl/rand.h>

#include <algorithm>
#include <set>

#include "common/log.h"
#include "common/scram.h"
#include "common/time_util.h"
#include "emulator/service/instance_service.h"
#include "emulator/engine/operation_engine.h"
#include "emulator/core/instance_state.h"
#include "emulator/core/paging.h"
#include "emulator/core/request.h"
#include "emulator/core/validation.h"

namespace localrds {
namespace {

uint32_t Hash(const std::string& s) {
  uint32_t h = 2166136261u;
  for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
  return h;
}

std::string TwoDigits(int v) {
  char b[4];
  std::snprintf(b, sizeof b, "%02d", v);
  return b;
}

std::string HhMi(int minutes) {
  minutes = (minutes + 1440) % 1440;
  return TwoDigits(minutes / 60) + ":" + TwoDigits(minutes % 60);
}

// The region's 8-hour block for default windows (RDS User Guide, "Backup window").
int RegionBlockStartMinutes(const std::string& region) {
  if (region.rfind("us-west", 0) == 0) return 6 * 60;
  if (region.rfind("eu-", 0) == 0) return 22 * 60;
  if (region.rfind("ap-", 0) == 0) return 13 * 60;
  return 3 * 60;  // us-east-1, us-east-2 and the rest
}

std::string DefaultBackupWindow(const std::string& region, const std::string& seed) {
  int start = RegionBlockStartMinutes(region) + static_cast<int>(Hash(seed) % 15) * 30;
  return HhMi(start) + "-" + HhMi(start + 30);
}

std::string DefaultMaintenanceWindow(const std::string& region, const std::string& seed,
                                     const std::string& backup_window) {
  static const char* kDays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
  uint32_t h = Hash(seed + "maintenance");
  for (int i = 0; i < 16; ++i, h = h * 1103515245u + 12345u) {
    std::string day = kDays[h % 7];
    int start = RegionBlockStartMinutes(region) + static_cast<int>((h >> 8) % 15) * 30;
    std::string w = day + ":" + HhMi(start) + "-" + day + ":" + HhMi(start + 30);
    if (start + 30 >= 1440) w = day + ":" + HhMi(start) + "-" + kDays[(h % 7 + 1) % 7] + ":" + HhMi(start + 30);
    if (!WindowsOverlap(backup_window, w)) return w;
  }
  return "sun:05:00-sun:05:30";
}

Status NotFound(const std::string& id) {
  return Status::Error(AwsError::kDBInstanceNotFound, "DBInstance " + id + " not found.");
}

}  // namespace







Result<Accepted> InstanceService::CreateDBInstance(const nlohmann::json& req) {
  const std::string raw_id = ReqString(req, "DBInstanceIdentifier").value_or("");
  LOCALRDS_RETURN_IF_ERROR(ValidateIdentifier("DBInstanceIdentifier", raw_id));
  const std::string id = ToLower(raw_id);

  std::string engine = ToLower(ReqString(req, "Engine").value_or(""));
  if (engine != "postgres") {
    static const std::set<std::string> kOtherRdsEngines = {
        "mysql", "mariadb", "oracle-ee", "oracle-se2", "oracle-ee-cdb", "oracle-se2-cdb",
        "sqlserver-ee", "sqlserver-se", "sqlserver-ex", "sqlserver-web", "db2-se", "db2-ae",
        "aurora-mysql", "aurora-postgresql", "custom-oracle-ee", "custom-sqlserver-ee"};
    if (kOtherRdsEngines.count(engine)) {
      return Status::InvalidParameter("Engine " + engine +
                                      " is not available in localrds, which runs only the "
                                      "postgres engine.");
    }
    return Status::InvalidParameter("Invalid DB engine: " + ReqString(req, "Engine").value_or(""));
  }

  // Engine version: the installed major matching what was asked (RDS minor versions map to the
  // installed minor of the same major).
  auto versions = runtime_.InstalledVersions();
  if (versions.empty()) return Status::Internal("no PostgreSQL version is installed");
  EngineVersionInfo version = versions.front();
  if (auto asked = ReqString(req, "EngineVersion")) {
    std::string major = asked->substr(0, asked->find('.'));
    auto it = std::find_if(versions.begin(), versions.end(),
                           [&](const EngineVersionInfo& v) { return v.major == major; });
    if (it == versions.end()) {
      return Status::Error(AwsError::kInvalidParameterCombination,
                           "Cannot find version " + *asked + " for postgres");
    }
    version = *it;
  }

  const std::string db_class = ReqString(req, "DBInstanceClass").value_or("");
  if (!IsKnownInstanceClass(db_class)) {
    return Status::Error(
        AwsError::kInvalidParameterCombination,
        "RDS does not support creating a DB instance with the following combination: "
        "DBInstanceClass=" + db_class + ", Engine=postgres, EngineVersion=" + version.full +
            ", LicenseModel=postgresql-license. For supported combinations of instance class and "
            "database engine version, see the documentation.");
  }
  if (ReqBool(req, "ManageMasterUserPassword").value_or(false)) {
    return Status::Error(AwsError::kInvalidParameterCombination,
                         "localrds cannot manage master passwords in AWS Secrets Manager; pass "
                         "MasterUserPassword instead.");
  }
  const std::string master = ReqString(req, "MasterUsername").value_or("");
  LOCALRDS_RETURN_IF_ERROR(ValidateMasterUsername(master));
  const std::string password = ReqString(req, "MasterUserPassword").value_or("");
  LOCALRDS_RETURN_IF_ERROR(ValidateMasterPassword(password));
  auto db_name = ReqString(req, "DBName");
  if (db_name) LOCALRDS_RETURN_IF_ERROR(ValidateDBName(*db_name));

  const std::string storage_type = ReqString(req, "StorageType").value_or("gp2");
  LOCALRDS_RETURN_IF_ERROR(ValidateStorageType(storage_type));
  const int storage = static_cast<int>(ReqInt(req, "AllocatedStorage").value_or(20));
  LOCALRDS_RETURN_IF_ERROR(ValidateAllocatedStorage(storage_type, storage));
  LOCALRDS_RETURN_IF_ERROR(ValidateInstanceSettings(req, storage_type, storage));
  const int retention = static_cast<int>(ReqInt(req, "BackupRetentionPeriod").value_or(1));
  LOCALRDS_RETURN_IF_ERROR(ValidateBackupRetention(retention));
  auto port_req = ReqInt(req, "Port");
  if (port_req) LOCALRDS_RETURN_IF_ERROR(ValidatePort(static_cast<int>(*port_req)));

  const std::string resource_id = NewResourceId();
  std::string backup_window = ReqString(req, "PreferredBackupWindow").value_or("");
  if (!backup_window.empty()) {
    LOCALRDS_RETURN_IF_ERROR(ValidateBackupWindow(backup_window));
  } else {
    backup_window = DefaultBackupWindow(registry_.config().region, resource_id);
  }
  std::string maint_window = ToLower(ReqString(req, "PreferredMaintenanceWindow").value_or(""));
  if (!maint_window.empty()) {
    LOCALRDS_RETURN_IF_ERROR(ValidateMaintenanceWindow(maint_window));
  } else {
    maint_window = DefaultMaintenanceWindow(registry_.config().region, resource_id, backup_window);
  }
  if (WindowsOverlap(backup_window, maint_window)) {
    return Status::InvalidParameter("The backup window and maintenance window must not overlap.");
  }
  const bool multi_az = ReqBool(req, "MultiAZ").value_or(false);
  std::string az = ReqString(req, "AvailabilityZone").value_or("");
  LOCALRDS_RETURN_IF_ERROR(ValidateMultiAzZone(multi_az, !az.empty()));
  if (!az.empty()) {
    LOCALRDS_RETURN_IF_ERROR(ValidateAvailabilityZone(registry_.config().region, az));
  } else {
    az = registry_.config().region + static_cast<char>('a' + Hash(resource_id) % 3);
  }
  const std::string family = "postgres" + version.major;
  std::string param_group = ReqString(req, "DBParameterGroupName").value_or("default." + family);
  if (param_group != "default." + family) {
    return Status::Error(AwsError::kDBParameterGroupNotFound,
                         "DBParameterGroup not found: " + param_group);
  }
  nlohmann::json tags = req.value("Tags", nlohmann::json::array());
  LOCALRDS_RETURN_IF_ERROR(ValidateTags(tags));

  auto port = servers_.AllocatePort(static_cast<int>(port_req.value_or(config_.default_port)), "");
  if (!port) {
    return Status::Error(AwsError::kInsufficientDBInstanceCapacity,
                         "No free port is left in localrds' port range for a new DB instance.");
  }

  InstanceRow row;
  row.resource_id = resource_id;
  row.identifier = id;
  row.status = DbStatus::kCreating;
  row.desired_state = "running";
  row.port = *port;
  row.password_verifier = ScramSha256Verifier(password);
  row.created_ms = NowMs();
  nlohmann::json& a = row.attrs;
  a = nlohmann::json::object();
  a["DBInstanceClass"] = db_class;
  a["Engine"] = "postgres";
  a["MasterUsername"] = master;
  if (db_name) a["DBName"] = *db_name;
  a["AllocatedStorage"] = storage;
  a["PreferredBackupWindow"] = backup_window;
  a["BackupRetentionPeriod"] = retention;
  a["DBSecurityGroups"] = nlohmann::json::array();
  nlohmann::json vpc_sgs = nlohmann::json::array();
  for (const auto& sg : req.value("VpcSecurityGroupIds", nlohmann::json::array())) {
    vpc_sgs.push_back({{"VpcSecurityGroupId", sg}, {"Status", "active"}});
  }
  if (vpc_sgs.empty()) vpc_sgs.push_back({{"VpcSecurityGroupId", "sg-00000000"}, {"Status", "active"}});
  a["VpcSecurityGroups"] = vpc_sgs;
  a["DBParameterGroups"] = {{{"DBParameterGroupName", param_group}, {"ParameterApplyStatus", "in-sync"}}};
  a["AvailabilityZone"] = az;
  a["DBSubnetGroup"] = {{"DBSubnetGroupName", ReqString(req, "DBSubnetGroupName").value_or("default")},
                        {"DBSubnetGroupDescription", "default"},
                        {"VpcId", "vpc-00000000"},
                        {"SubnetGroupStatus", "Complete"},
                        {"Subnets", nlohmann::json::array()}};
  a["PreferredMaintenanceWindow"] = maint_window;
  a["PendingModifiedValues"] = nlohmann::json::object();
  ResetMultiAzFields(a, multi_az);
  a["EngineVersion"] = version.full;
  a["AutoMinorVersionUpgrade"] = ReqBool(req, "AutoMinorVersionUpgrade").value_or(true);
  a["ReadReplicaDBInstanceIdentifiers"] = nlohmann::json::array();
  a["LicenseModel"] = "postgresql-license";
  if (auto iops = ReqInt(req, "Iops")) a["Iops"] = *iops;
  a["StorageThroughput"] = ReqInt(req, "StorageThroughput").value_or(0);
  a["OptionGroupMemberships"] = {{{"OptionGroupName", "default:postgres-" + version.major},
                                  {"Status", "in-sync"}}};
  a["PubliclyAccessible"] = ReqBool(req, "PubliclyAccessible").value_or(false);
  a["StorageType"] = storage_type;
  a["DbInstancePort"] = 0;
  a["StorageEncrypted"] = ReqBool(req, "StorageEncrypted").value_or(false);
  a["CACertificateIdentifier"] = ReqString(req, "CACertificateIdentifier").value_or("rds-ca-rsa2048-g1");
  a["DomainMemberships"] = nlohmann::json::array();
  a["CopyTagsToSnapshot"] = ReqBool(req, "CopyTagsToSnapshot").value_or(false);
  a["MonitoringInterval"] = ReqInt(req, "MonitoringInterval").value_or(0);
  a["PromotionTier"] = ReqInt(req, "PromotionTier").value_or(1);
  a["IAMDatabaseAuthenticationEnabled"] = ReqBool(req, "EnableIAMDatabaseAuthentication").value_or(false);
  a["PerformanceInsightsEnabled"] = ReqBool(req, "EnablePerformanceInsights").value_or(false);
  if (auto days = ReqInt(req, "PerformanceInsightsRetentionPeriod")) {
    a["PerformanceInsightsRetentionPeriod"] = *days;
  }
  a["DeletionProtection"] = ReqBool(req, "DeletionProtection").value_or(false);
  a["AssociatedRoles"] = nlohmann::json::array();
  if (auto max = ReqInt(req, "MaxAllocatedStorage")) a["MaxAllocatedStorage"] = *max;
  a["TagList"] = tags;
  a["CustomerOwnedIpEnabled"] = false;
  a["BackupTarget"] = "region";
  a["NetworkType"] = ReqString(req, "NetworkType").value_or("IPV4");
  a["CertificateDetails"] = {{"CAIdentifier", a["CACertificateIdentifier"]},
                             {"ValidTill", "2061-01-01T00:00:00Z"}};
  a["DedicatedLogVolume"] = false;
  a["IsStorageConfigUpgradeAvailable"] = false;
  a["EngineLifecycleSupport"] =
      ReqString(req, "EngineLifecycleSupport").value_or("open-source-rds-extended-support");

  Registry::Locked reg = registry_.Lock();
  if (reg.IdentifierTaken(id)) {
    return Status::Error(AwsError::kDBInstanceAlreadyExists, "DB instance already exists");
  }
  LOCALRDS_RETURN_IF_ERROR(CheckInstanceQuota(reg));
  if (retention == 0) return starter_.Start(reg, row, "create", nlohmann::json::object(), {});
  // The first automated backup is taken at creation (the instance shows backing-up).
  SnapshotRow snap = reg.NewAutomatedSnapshot(row);
  return starter_.Start(reg, row, "create", {{"snapshot_id", snap.id}}, {}, {snap});
}

Result<InstancePage> InstanceService::ListDBInstances(const nlohmann::json& req) {
  auto max_records_arg = MaxRecordsArg(req, 20, 100, 100);
  if (!max_records_arg.ok()) return max_records_arg.status();
  const int max_records = *max_records_arg;
  std::set<std::string> ids, engines, resource_ids;
  bool match_nothing = false;
  for (const auto& f : req.value("Filters", nlohmann::json::array())) {
    std::string name = f.value("Name", "");
    std::set<std::string>* target = nullptr;
    if (name == "db-instance-id") {
      target = &ids;
    } else if (name == "engine") {
      target = &engines;
    } else if (name == "dbi-resource-id") {
      target = &resource_ids;
    } else if (name != "db-cluster-id" && name != "domain") {
      return Status::InvalidParameter("Unrecognized filter name: " + name + ".");
    }
    auto values = f.value("Values", nlohmann::json::array());
    if (values.empty()) {
      return Status::InvalidParameter("The filter " + name + " must have at least one value.");
    }
    if (target == nullptr) {
      match_nothing = true;  // localrds has no clusters or domains
      continue;
    }
    for (const auto& v : values) target->insert(v.get<std::string>());
  }
  const auto marker_arg = ReqString(req, "Marker");
  if (marker_arg) LOCALRDS_RETURN_IF_ERROR(CheckIdentifierMarker(*marker_arg));
  const std::string marker = ToLower(marker_arg.value_or(""));
  auto one = ReqString(req, "DBInstanceIdentifier");

  std::vector<std::shared_ptr<const nlohmann::json>> all;
  {
    Registry::Locked reg = registry_.Lock();
    if (one && one->rfind("arn:", 0) == 0) {  // "the identifier or the ARN" (API reference)
      auto rid = ResolveArn(reg, *one);
      if (!rid.ok()) return rid.status();
      all.push_back(reg.Rendered(*rid));
    } else if (one) {
      auto r = reg.Find(*one);
      if (!r.ok()) return r.status();
      all.push_back(reg.Rendered(r->resource_id));
    } else {
      for (const auto& [rid, rendered] : reg.rendered()) all.push_back(rendered);
    }
  }
  auto id_of = [](const std::shared_ptr<const nlohmann::json>& j) -> const std::string& {
    return (*j)["DBInstanceIdentifier"].get_ref<const std::string&>();
  };
  std::sort(all.begin(), all.end(), [&](const auto& a, const auto& b) { return id_of(a) < id_of(b); });
  InstancePage page;
  if (match_nothing) return page;
  for (const auto& j : all) {
    const std::string& id = id_of(j);
    if (!marker.empty() && id <= marker) continue;
    if (!ids.empty() && !ids.count(id) && !ids.count(registry_.InstanceArn(id))) continue;
    if (!engines.empty() && !engines.count((*j)["Engine"].get<std::string>())) continue;
    if (!resource_ids.empty() && !resource_ids.count((*j)["DbiResourceId"].get<std::string>())) continue;
    if (static_cast<int>(page.instances.size()) == max_records) {
      page.marker = id_of(page.instances.back());
      break;
    }
    page.instances.push_back(j);
  }
  return page;
}

Result<nlohmann::json> InstanceService::DescribeDBInstances(const nlohmann::json& req) {
  auto page = ListDBInstances(req);
  if (!page.ok()) return page.status();
  nlohmann::json list = nlohmann::json::array();
  for (const auto& j : page->instances) list.push_back(*j);
  nlohmann::json out = nlohmann::json::object();
  out["DBInstances"] = std::move(list);
  if (!page->marker.empty()) out["Marker"] = page->marker;
  return out;
}

Result<Accepted> InstanceService::ModifyDBInstance(const nlohmann::json& req) {
  const std::string ident = ReqString(req, "DBInstanceIdentifier").value_or("");
  const bool apply_now = ReqBool(req, "ApplyImmediately").value_or(false);

  // Validate everything before touching anything.
  auto password = ReqString(req, "MasterUserPassword");
  if (password) LOCALRDS_RETURN_IF_ERROR(ValidateMasterPassword(*password));
  auto new_class = ReqString(req, "DBInstanceClass");
  if (new_class && !IsKnownInstanceClass(*new_class)) {
    return Status::Error(AwsError::kInvalidParameterCombination,
                         "RDS does not support creating a DB instance with the following "
                         "combination: DBInstanceClass=" + *new_class + ", Engine=postgres.");
  }
  auto retention = ReqInt(req, "BackupRetentionPeriod");
  if (retention) LOCALRDS_RETURN_IF_ERROR(ValidateBackupRetention(static_cast<int>(*retention)));
  auto backup_window = ReqString(req, "PreferredBackupWindow");
  if (backup_window) LOCALRDS_RETURN_IF_ERROR(ValidateBackupWindow(*backup_window));
  auto maint_window = ReqString(req, "PreferredMaintenanceWindow");
  if (maint_window) {
    *maint_window = ToLower(*maint_window);
    LOCALRDS_RETURN_IF_ERROR(ValidateMaintenanceWindow(*maint_window));
  }
  auto new_port = ReqInt(req, "DBPortNumber");
  if (new_port) LOCALRDS_RETURN_IF_ERROR(ValidatePort(static_cast<int>(*new_port)));
  auto new_id = ReqString(req, "NewDBInstanceIdentifier");
  if (new_id) {
    LOCALRDS_RETURN_IF_ERROR(ValidateIdentifier("NewDBInstanceIdentifier", *new_id));
    *new_id = ToLower(*new_id);
  }
  const auto multi_az = ReqBool(req, "MultiAZ");
  if (ReqBool(req, "ManageMasterUserPassword").value_or(false)) {
    return Status::Error(AwsError::kInvalidParameterCombination,
                         "localrds cannot manage master passwords in AWS Secrets Manager.");
  }
  if (auto p = ReqString(req, "DBParameterGroupName")) {
    if (p->rfind("default.postgres", 0) != 0) {
      return Status::Error(AwsError::kDBParameterGroupNotFound, "DBParameterGroup not found: " + *p);
    }
  }

  std::optional<int> free_port;
  if (new_port) {
    free_port = servers_.AllocatePort(static_cast<int>(*new_port), "");
    if (!free_port || *free_port != *new_port) {
      Registry::Locked reg = registry_.Lock();
      auto r = reg.Find(ident);
      if (!r.ok()) return r.status();
      if (r->port != *new_port) {
        return Status::InvalidParameter("Port " + std::to_string(*new_port) +
                                        " is already in use on this machine.");
      }
    }
  }

  Registry::Locked reg = registry_.Lock();
  auto found = reg.Find(ident);
  if (!found.ok()) return found.status();
  InstanceRow row = *found;
  LOCALRDS_RETURN_IF_ERROR(reg.CheckIdle(row));
  if (row.status != DbStatus::kAvailable) {
    return Status::Error(AwsError::kInvalidDBInstanceState,
                         "Database instance is not in available state.");
  }
  if (new_id && *new_id != row.identifier && reg.IdentifierTaken(*new_id)) {
    return Status::Error(AwsError::kDBInstanceAlreadyExists, "DB instance already exists");
  }
  std::string storage_type = ReqString(req, "StorageType").value_or(row.attrs.value("StorageType", "gp2"));
  LOCALRDS_RETURN_IF_ERROR(ValidateStorageType(storage_type));
  auto storage = ReqInt(req, "AllocatedStorage");
  if (storage) {
    LOCALRDS_RETURN_IF_ERROR(ValidateAllocatedStorage(storage_type, static_cast<int>(*storage)));
    if (*storage < row.attrs.value("AllocatedStorage", 0)) {
      return Status::InvalidParameter(
          "Invalid storage size: allocated storage can only be increased (current " +
          std::to_string(row.attrs.value("AllocatedStorage", 0)) + " GiB).");
    }
  }
  {
    // The settings checked against the storage the instance has once this request is applied.
    const int64_t allocated = storage.value_or(row.attrs.value("AllocatedStorage", 0));
    LOCALRDS_RETURN_IF_ERROR(ValidateInstanceSettings(req, storage_type, allocated));
    const int64_t max_storage = row.attrs.value("MaxAllocatedStorage", 0);
    if (storage && !ReqInt(req, "MaxAllocatedStorage") && max_storage > 0) {
      LOCALRDS_RETURN_IF_ERROR(ValidateMaxAllocatedStorage(max_storage, allocated));
    }
  }
  {
    std::string bw = backup_window.value_or(row.attrs.value("PreferredBackupWindow", ""));
    std::string mw = maint_window.value_or(row.attrs.value("PreferredMaintenanceWindow", ""));
    if ((backup_window || maint_window) && WindowsOverlap(bw, mw)) {
      return Status::InvalidParameter("The backup window and maintenance window must not overlap.");
    }
  }

  // Fields RDS stores and reports without an outage: applied to the record at once.
  nlohmann::json& a = row.attrs;
  nlohmann::json& pending = a["PendingModifiedValues"];
  if (!pending.is_object()) pending = nlohmann::json::object();
  std::vector<EventRow> events;
  std::string backups_toggle;  // "on" / "off" when automated backups are switched now
  static const std::vector<std::pair<const char*, const char*>> kStoredBools = {
      {"AutoMinorVersionUpgrade", "AutoMinorVersionUpgrade"},
      {"DeletionProtection", "DeletionProtection"},
      {"CopyTagsToSnapshot", "CopyTagsToSnapshot"},
      {"PubliclyAccessible", "PubliclyAccessible"},
      {"EnableIAMDatabaseAuthentication", "IAMDatabaseAuthenticationEnabled"},
      {"EnablePerformanceInsights", "PerformanceInsightsEnabled"}};
  for (const auto& [in, out] : kStoredBools) {
    if (auto v = ReqBool(req, in)) a[out] = *v;
  }
  static const std::vector<const char*> kStoredInts = {
      "MonitoringInterval",  "PromotionTier",
      "MaxAllocatedStorage", "Iops",
      "StorageThroughput",   "PerformanceInsightsRetentionPeriod"};
  for (const char* k : kStoredInts) {
    if (auto v = ReqInt(req, k)) a[k] = *v;
  }
  if (auto v = ReqString(req, "CACertificateIdentifier")) {
    a["CACertificateIdentifier"] = *v;
    a["CertificateDetails"]["CAIdentifier"] = *v;
  }
  if (auto v = ReqString(req, "NetworkType")) a["NetworkType"] = *v;
  if (auto v = ReqString(req, "DBParameterGroupName")) {
    a["DBParameterGroups"] = {{{"DBParameterGroupName", *v}, {"ParameterApplyStatus", "in-sync"}}};
  }
  if (backup_window) a["PreferredBackupWindow"] = *backup_window;
  if (maint_window) a["PreferredMaintenanceWindow"] = *maint_window;
  if (retention && *retention == 0) {
    auto replicas = reg.ReplicasOf(row.resource_id);
    if (!replicas.empty()) {
      return Status::Error(AwsError::kInvalidParameterCombination,
                           "BackupRetentionPeriod can't be set to 0 for a DB instance that is a "
                           "source to read replicas (" + replicas.front()->identifier + ").");
    }
  }
  if (password && IsReplica(row)) {
    return Status::Error(AwsError::kInvalidParameterCombination,
                         "The master user password of a read replica is its source's: change it "
                         "on the source DB instance.");
  }
  if (retention) {
    int old = a.value("BackupRetentionPeriod", 0);
    bool toggles = (old == 0) != (*retention == 0);
    if (!toggles || apply_now) {
      a["BackupRetentionPeriod"] = *retention;
      pending.erase("BackupRetentionPeriod");
      if (toggles) {
        events.push_back(registry_.MakeEvent(row, *retention == 0 ? rds_events::kBackupsDisabled
                                                        : rds_events::kBackupsEnabled));
        backups_toggle = *retention == 0 ? "off" : "on";
      }
    } else {
      pending["BackupRetentionPeriod"] = *retention;
    }
  }

  // Changes with an outage or real work: now with ApplyImmediately, else pending (RDS applies
  // them in the maintenance window).
  nlohmann::json params = nlohmann::json::object();
  nlohmann::json apply = nlohmann::json::object();
  nlohmann::json clear = nlohmann::json::array();
  if (new_class && *new_class != a.value("DBInstanceClass", "")) {
    if (apply_now) {
      apply["DBInstanceClass"] = *new_class;
      pending["DBInstanceClass"] = *new_class;
      clear.push_back("DBInstanceClass");
      events.push_back(registry_.MakeEvent(row, rds_events::kClassChanging));
    } else {
      pending["DBInstanceClass"] = *new_class;
    }
  }
  if (storage && *storage != a.value("AllocatedStorage", 0)) {
    if (apply_now) {
      apply["AllocatedStorage"] = *storage;
      pending["AllocatedStorage"] = *storage;
      clear.push_back("AllocatedStorage");
    } else {
      pending["AllocatedStorage"] = *storage;
    }
  }
  if (ReqString(req, "StorageType") && storage_type != a.value("StorageType", "")) {
    if (apply_now) {
      apply["StorageType"] = storage_type;
    } else {
      pending["StorageType"] = storage_type;
    }
  }
  if (new_id && *new_id != row.identifier) {
    if (apply_now) {
      params["new_identifier"] = *new_id;
    } else {
      pending["DBInstanceIdentifier"] = *new_id;
    }
  }
  if (password) {
    // RDS changes the master password at once, whatever ApplyImmediately says.
    params["password_verifier"] = ScramSha256Verifier(*password);
    pending["MasterUserPassword"] = "****";
    clear.push_back("MasterUserPassword");
  }
  if (new_port && *new_port != row.port) {
    params["port"] = *new_port;  // RDS applies port changes at once, with a reboot
  }
  if (multi_az && *multi_az != IsMultiAz(row)) {
    if (apply_now) {
      params["multi_az"] = *multi_az;
      if (*multi_az) {
        params["secondary_az"] = NextAvailabilityZone(a.value("AvailabilityZone", ""));
      }
      pending["MultiAZ"] = *multi_az;
      clear.push_back("MultiAZ");
      events.push_back(registry_.MakeEvent(row, *multi_az ? rds_events::kConvertingToMultiAz
                                                : rds_events::kConvertingToSingleAz));
    } else {
      pending["MultiAZ"] = *multi_az;
    }
  }
  if (!apply.empty()) params["attrs"] = apply;
  if (!clear.empty()) params["clear_pending"] = clear;
  std::vector<SnapshotRow> snapshots;
  if (!backups_toggle.empty()) {
    params["backups"] = backups_toggle;
    if (backups_toggle == "on") {  // a new base backup starts the new restorable window
      snapshots.push_back(reg.NewAutomatedSnapshot(row));
      params["snapshot_id"] = snapshots.back().id;
    }
  }

  if (params.empty()) {
    Mutation m;
    m.put.push_back(row);
    m.events = events;
    LOCALRDS_RETURN_IF_ERROR(reg.Commit(m));
    return Accepted{reg.RenderInstance(row), 0};
  }
  row.status = params.contains("new_identifier") ? DbStatus::kRenaming : DbStatus::kModifying;
  auto accepted = starter_.Start(reg, row, "modify", params, events, snapshots);
  if (accepted.ok() && params.contains("new_identifier")) {
    reg.pending_renames()[row.resource_id] = params["new_identifier"].get<std::string>();
  }
  return accepted;
}

Result<Accepted> InstanceService::DeleteDBInstance(const nlohmann::json& req) {
  const std::string ident = ReqString(req, "DBInstanceIdentifier").value_or("");
  const bool skip_final = ReqBool(req, "SkipFinalSnapshot").value_or(false);
  auto final_id = ReqString(req, "FinalDBSnapshotIdentifier");
  if (skip_final && final_id) {
    return Status::Error(AwsError::kInvalidParameterCombination,
                         "Cannot specify both SkipFinalSnapshot and FinalDBSnapshotIdentifier.");
  }
  Registry::Locked reg = registry_.Lock();
  auto found = reg.Find(ident);
  if (!found.ok()) return found.status();
  InstanceRow row = *found;
  // A read replica has no final snapshot (its source holds the data).
  const bool replica = IsReplica(row);
  if (replica && final_id) {
    return Status::Error(AwsError::kInvalidParameterCombination,
                         "FinalDBSnapshotIdentifier can not be specified when deleting a replica "
                         "instance");
  }
  if (!replica && !skip_final && !final_id) {
    return Status::Error(AwsError::kInvalidParameterCombination,
                         "FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is "
                         "specified.");
  }
  if (row.status == DbStatus::kDeleting) {
    return Status::Error(AwsError::kInvalidDBInstanceState,
                         "Instance " + row.identifier + " is already being deleted.");
  }
  LOCALRDS_RETURN_IF_ERROR(reg.CheckIdle(row));
  if (row.attrs.value("DeletionProtection", false)) {
    return Status::Error(AwsError::kInvalidParameterCombination,
                         "Cannot delete protected DB Instance, please disable deletion protection "
                         "and try again.");
  }
  nlohmann::json params = {
      {"retain_automated_backups", !ReqBool(req, "DeleteAutomatedBackups").value_or(true)}};
  std::vector<SnapshotRow> snapshots;
  std::vector<EventRow> events;
  if (final_id) {
    auto snap = reg.NewManualSnapshot(row, "FinalDBSnapshotIdentifier", *final_id,
                                        nlohmann::json::array());
    if (!snap.ok()) return snap.status();
    params["snapshot_id"] = snap->id;
    events.push_back(registry_.MakeSnapshotEvent(*snap, rds_events::kManualSnapshotCreating));
    snapshots.push_back(*snap);
  }
  row.status = DbStatus::kDeleting;
  return starter_.Start(reg, row, "delete", params, events, snapshots);
}

Result<Accepted> InstanceService::Transition(
    Registry::Locked& reg, const std::string& identifier, DbStatus required, DbStatus next,
    const char* kind, const std::function<Status(const InstanceRow&)>& check) {
  auto found = reg.Find(identifier);
  if (!found.ok()) return found.status();
  InstanceRow row = *found;
  LOCALRDS_RETURN_IF_ERROR(reg.CheckIdle(row));
  if (check) LOCALRDS_RETURN_IF_ERROR(check(row));
  if (row.status != required) {
    return Status::Error(AwsError::kInvalidDBInstanceState,
                         "DB instance " + row.identifier + " is not in " + required +
                             " state (it is " + row.status + ").");
  }
  row.status = next;
  return starter_.Start(reg, row, kind, nlohmann::json::object(), {});
}

Result<Accepted> InstanceService::RebootDBInstance(const nlohmann::json& req) {
  const bool force_failover = ReqBool(req, "ForceFailover").value_or(false);
  Registry::Locked reg = registry_.Lock();
  const std::string ident = ReqString(req, "DBInstanceIdentifier").value_or("");
  auto check = [&](const InstanceRow& row) {
    if (force_failover && !IsMultiAz(row)) {
      return Status::Error(AwsError::kInvalidParameterCombination,
                           "Cannot force failover on a DB instance that is not Multi-AZ.");
    }
    return Status::Ok();
  };
  if (!force_failover) return Transition(reg, ident, DbStatus::kAvailable, DbStatus::kRebooting, "reboot", check);
  auto found = reg.Find(ident);
  if (!found.ok()) return found.status();
  LOCALRDS_RETURN_IF_ERROR(reg.CheckIdle(*found));
  LOCALRDS_RETURN_IF_ERROR(check(*found));
  if (found->status != DbStatus::kAvailable) {
    return Status::Error(AwsError::kInvalidDBInstanceState,
                         "DB instance " + found->identifier + " is not in available state (it is " +
                             found->status + ").");
  }
  if (StandbyState(*found) != "ready") {
    return Status::Error(AwsError::kInvalidDBInstanceState,
                         "The Multi-AZ standby of DB instance " + found->identifier +
                             " is not in sync yet; try the failover again once it is.");
  }
  return starter_.StartFailover(reg, *found, true, "RebootDBInstance with ForceFailover");
}

Status InstanceService::CheckStoppable(Registry::Locked& reg, const InstanceRow& row) {
  // "You can't stop a DB instance that has a read replica, or that is a read replica."
  if (IsReplica(row)) {
    return Status::Error(AwsError::kInvalidDBInstanceState,
                         "Cannot stop or start a Read-Replica instance");
  }
  auto replicas = reg.ReplicasOf(row.resource_id);
  if (!replicas.empty()) {
    return Status::Error(AwsError::kInvalidDBInstanceState,
                         "Cannot stop or start a DB instance that has read replicas (" +
                             replicas.front()->identifier + ").");
  }
  return Status::Ok();
}

Result<Accepted> InstanceService::StopDBInstance(const nlohmann::json& req) {
  const auto snapshot_id = ReqString(req, "DBSnapshotIdentifier");
  Registry::Locked reg = registry_.Lock();
  if (!snapshot_id) {
    return Transition(reg, ReqString(req, "DBInstanceIdentifier").value_or(""), DbStatus::kAvailable,
                    DbStatus::kStopping, "stop",
                            [&](const InstanceRow& row) { return CheckStoppable(reg, row); });
  }
  // With a snapshot first: the same checks, then the snapshot row in the same commit.
  auto found = reg.Find(ReqString(req, "DBInstanceIdentifier").value_or(""));
  if (!found.ok()) return found.status();
  InstanceRow row = *found;
  LOCALRDS_RETURN_IF_ERROR(reg.CheckIdle(row));
  LOCALRDS_RETURN_IF_ERROR(CheckStoppable(reg, row));
  if (row.status != DbStatus::kAvailable) {
    return Status::Error(AwsError::kInvalidDBInstanceState,
                         "DB instance " + row.identifier + " is not in available state (it is " +
                             row.status + ").");
  }
  auto snap = reg.NewManualSnapshot(row, "DBSnapshotIdentifier", *snapshot_id,
                                      nlohmann::json::array());
  if (!snap.ok()) return snap.status();
  row.status = DbStatus::kStopping;
  return starter_.Start(reg, row, "stop", {{"snapshot_id", snap->id}},
                              {registry_.MakeSnapshotEvent(*snap, rds_events::kManualSnapshotCreating)},
                              {*snap});
}

Result<Accepted> InstanceService::StartDBInstance(const nlohmann::json& req) {
  Registry::Locked reg = registry_.Lock();
  return Transition(reg, ReqString(req, "DBInstanceIdentifier").value_or(""), DbStatus::kStopped,
                    DbStatus::kStarting, "start", nullptr);
}

}  // namespace localrds
