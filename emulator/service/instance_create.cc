// CreateDBInstance: the request validated as RDS does (engine, version, class, credentials,
// storage, windows, zone), the new instance's row with RDS's defaults, and the "create" operation
// (with the first automated backup unless BackupRetentionPeriod is 0).
#include <algorithm>
#include <set>

#include "common/scram.h"
#include "common/time_util.h"
#include "emulator/core/arn.h"
#include "emulator/core/instance_classes.h"
#include "emulator/core/instance_state.h"
#include "emulator/core/request.h"
#include "emulator/core/validation.h"
#include "emulator/service/group_service.h"
#include "emulator/service/instance_service.h"

namespace localrds {
namespace {

// What a CreateDBInstance request asks for, validated, with RDS's defaults filled in.
struct CreateInstanceArgs {
  std::string id;  //!< lower case
  EngineVersionInfo version;
  std::string db_class;
  std::string master;
  std::string password;
  std::optional<std::string> db_name;
  std::string storage_type;
  int storage = 0;
  int retention = 0;
  std::optional<int64_t> port;  //!< as asked (the default port when absent)
  std::string resource_id;
  std::string backup_window;
  std::string maint_window;
  bool multi_az = false;
  std::string az;
  nlohmann::json tags;
};

// The engine must be postgres; the version is the installed major matching what was asked (RDS
// minor versions map to the installed minor of the same major).
Result<EngineVersionInfo> RequestedEngineVersion(const nlohmann::json& req, PgRuntime& runtime) {
  std::string engine = ToLower(ReqString(req, "Engine").value_or(""));
  if (engine != "postgres") {
    static const std::set<std::string> kOtherRdsEngines = {
        "mysql",         "mariadb",           "oracle-ee",        "oracle-se2",
        "oracle-ee-cdb", "oracle-se2-cdb",    "sqlserver-ee",     "sqlserver-se",
        "sqlserver-ex",  "sqlserver-web",     "db2-se",           "db2-ae",
        "aurora-mysql",  "aurora-postgresql", "custom-oracle-ee", "custom-sqlserver-ee"};
    if (kOtherRdsEngines.count(engine)) {
      return Status::InvalidParameter("Engine " + engine +
                                      " is not available in localrds, which runs only the "
                                      "postgres engine.");
    }
    return Status::InvalidParameter("Invalid DB engine: " + ReqString(req, "Engine").value_or(""));
  }
  auto versions = runtime.InstalledVersions();
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
  return version;
}

// The backup and maintenance windows: the request's, else defaults in the region's block
// (seeded by the resource id); they must not overlap.
Status ChooseWindows(const nlohmann::json& req, const std::string& region,
                     CreateInstanceArgs& args) {
  args.backup_window = ReqString(req, "PreferredBackupWindow").value_or("");
  if (!args.backup_window.empty()) {
    LOCALRDS_RETURN_IF_ERROR(ValidateBackupWindow(args.backup_window));
  } else {
    args.backup_window = DefaultBackupWindow(region, args.resource_id);
  }
  args.maint_window = ToLower(ReqString(req, "PreferredMaintenanceWindow").value_or(""));
  if (!args.maint_window.empty()) {
    LOCALRDS_RETURN_IF_ERROR(ValidateMaintenanceWindow(args.maint_window));
  } else {
    args.maint_window = DefaultMaintenanceWindow(region, args.resource_id, args.backup_window);
  }
  if (WindowsOverlap(args.backup_window, args.maint_window)) {
    return Status::InvalidParameter("The backup window and maintenance window must not overlap.");
  }
  return Status::Ok();
}

// Every check of CreateDBInstance that needs no registry, in RDS's order (the first refusal is
// the one reported).
Result<CreateInstanceArgs> ValidateCreateRequest(const nlohmann::json& req, PgRuntime& runtime,
                                                 const std::string& region) {
  CreateInstanceArgs args;
  const std::string raw_id = ReqString(req, "DBInstanceIdentifier").value_or("");
  LOCALRDS_RETURN_IF_ERROR(ValidateIdentifier("DBInstanceIdentifier", raw_id));
  args.id = ToLower(raw_id);
  auto version = RequestedEngineVersion(req, runtime);
  if (!version.ok()) return version.status();
  args.version = *version;
  if (ReqString(req, "KmsKeyId") && !ReqBool(req, "StorageEncrypted").value_or(false)) {
    return Status::Error(AwsError::kInvalidParameterCombination,
                         "You must enable StorageEncrypted when you specify KmsKeyId for DB "
                         "engine postgres");
  }

  args.db_class = ReqString(req, "DBInstanceClass").value_or("");
  if (!IsKnownInstanceClass(args.db_class)) {
    return Status::Error(
        AwsError::kInvalidParameterCombination,
        "RDS does not support creating a DB instance with the following combination: "
        "DBInstanceClass=" +
            args.db_class + ", Engine=postgres, EngineVersion=" + args.version.full +
            ", LicenseModel=postgresql-license. For supported combinations of instance class and "
            "database engine version, see the documentation.");
  }
  if (ReqBool(req, "ManageMasterUserPassword").value_or(false)) {
    return Status::Error(AwsError::kInvalidParameterCombination,
                         "localrds cannot manage master passwords in AWS Secrets Manager; pass "
                         "MasterUserPassword instead.");
  }
  args.master = ReqString(req, "MasterUsername").value_or("");
  LOCALRDS_RETURN_IF_ERROR(ValidateMasterUsername(args.master));
  args.password = ReqString(req, "MasterUserPassword").value_or("");
  LOCALRDS_RETURN_IF_ERROR(ValidateMasterPassword(args.password));
  args.db_name = ReqString(req, "DBName");
  if (args.db_name) LOCALRDS_RETURN_IF_ERROR(ValidateDBName(*args.db_name));

  args.storage_type = ReqString(req, "StorageType").value_or("gp2");
  LOCALRDS_RETURN_IF_ERROR(ValidateStorageType(args.storage_type));
  args.storage = static_cast<int>(ReqInt(req, "AllocatedStorage").value_or(20));
  LOCALRDS_RETURN_IF_ERROR(ValidateAllocatedStorage(args.storage_type, args.storage));
  LOCALRDS_RETURN_IF_ERROR(ValidateInstanceSettings(req, args.storage_type, args.storage));
  args.retention = static_cast<int>(ReqInt(req, "BackupRetentionPeriod").value_or(1));
  LOCALRDS_RETURN_IF_ERROR(ValidateBackupRetention(args.retention));
  args.port = ReqInt(req, "Port");
  if (args.port) LOCALRDS_RETURN_IF_ERROR(ValidatePort(static_cast<int>(*args.port)));

  args.resource_id = NewResourceId();
  LOCALRDS_RETURN_IF_ERROR(ChooseWindows(req, region, args));
  args.multi_az = ReqBool(req, "MultiAZ").value_or(false);
  args.az = ReqString(req, "AvailabilityZone").value_or("");
  LOCALRDS_RETURN_IF_ERROR(ValidateMultiAzZone(args.multi_az, !args.az.empty()));
  if (!args.az.empty()) {
    LOCALRDS_RETURN_IF_ERROR(ValidateAvailabilityZone(region, args.az));
  } else {
    args.az = ZoneForNewInstance(region, args.resource_id);
  }
  args.tags = req.value("Tags", nlohmann::json::array());
  LOCALRDS_RETURN_IF_ERROR(ValidateTags(args.tags));
  return args;
}

// The new instance's row: `args`, the rest of the request, and RDS's defaults for every
// DBInstance field localrds reports, created at `now_ms`.
InstanceRow NewInstanceRow(const nlohmann::json& req, const CreateInstanceArgs& args, int port,
                           int64_t now_ms) {
  InstanceRow row;
  row.resource_id = args.resource_id;
  row.identifier = args.id;
  row.status = DbStatus::kCreating;
  row.desired_state = "running";
  row.port = port;
  row.password_verifier = ScramSha256Verifier(args.password);
  row.created_ms = now_ms;
  nlohmann::json& a = row.attrs;
  a = nlohmann::json::object();
  a["DBInstanceClass"] = args.db_class;
  a["Engine"] = "postgres";
  a["MasterUsername"] = args.master;
  if (args.db_name) a["DBName"] = *args.db_name;
  a["AllocatedStorage"] = args.storage;
  a["PreferredBackupWindow"] = args.backup_window;
  a["BackupRetentionPeriod"] = args.retention;
  a["DBSecurityGroups"] = nlohmann::json::array();
  nlohmann::json vpc_sgs = nlohmann::json::array();
  for (const auto& sg : req.value("VpcSecurityGroupIds", nlohmann::json::array())) {
    vpc_sgs.push_back({{"VpcSecurityGroupId", sg}, {"Status", "active"}});
  }
  if (vpc_sgs.empty())
    vpc_sgs.push_back({{"VpcSecurityGroupId", "sg-00000000"}, {"Status", "active"}});
  a["VpcSecurityGroups"] = vpc_sgs;
  a["AvailabilityZone"] = args.az;
  a["PreferredMaintenanceWindow"] = args.maint_window;
  a["PendingModifiedValues"] = nlohmann::json::object();
  ResetMultiAzFields(a, args.multi_az);
  a["EngineVersion"] = args.version.full;
  a["AutoMinorVersionUpgrade"] = ReqBool(req, "AutoMinorVersionUpgrade").value_or(true);
  a["ReadReplicaDBInstanceIdentifiers"] = nlohmann::json::array();
  a["LicenseModel"] = "postgresql-license";
  if (auto iops = ReqInt(req, "Iops")) a["Iops"] = *iops;
  a["StorageThroughput"] = ReqInt(req, "StorageThroughput").value_or(0);
  a["PubliclyAccessible"] = ReqBool(req, "PubliclyAccessible").value_or(false);
  a["StorageType"] = args.storage_type;
  a["DbInstancePort"] = 0;
  a["StorageEncrypted"] = ReqBool(req, "StorageEncrypted").value_or(false);
  a["CACertificateIdentifier"] =
      ReqString(req, "CACertificateIdentifier").value_or("rds-ca-rsa2048-g1");
  a["DomainMemberships"] = nlohmann::json::array();
  a["CopyTagsToSnapshot"] = ReqBool(req, "CopyTagsToSnapshot").value_or(false);
  a["MonitoringInterval"] = ReqInt(req, "MonitoringInterval").value_or(0);
  a["PromotionTier"] = ReqInt(req, "PromotionTier").value_or(1);
  a["IAMDatabaseAuthenticationEnabled"] =
      ReqBool(req, "EnableIAMDatabaseAuthentication").value_or(false);
  a["PerformanceInsightsEnabled"] = ReqBool(req, "EnablePerformanceInsights").value_or(false);
  if (auto days = ReqInt(req, "PerformanceInsightsRetentionPeriod")) {
    a["PerformanceInsightsRetentionPeriod"] = *days;
  }
  a["DeletionProtection"] = ReqBool(req, "DeletionProtection").value_or(false);
  a["AssociatedRoles"] = nlohmann::json::array();
  if (auto max = ReqInt(req, "MaxAllocatedStorage")) a["MaxAllocatedStorage"] = *max;
  a["TagList"] = args.tags;
  a["CustomerOwnedIpEnabled"] = false;
  a["BackupTarget"] = "region";
  a["NetworkType"] = ReqString(req, "NetworkType").value_or("IPV4");
  a["CertificateDetails"] = {
      {"CAIdentifier", a["CACertificateIdentifier"]},
      {"ValidTill", FormatIso8601(NowMs() + kServerCertificateLifetimeMs, false)}};
  a["DedicatedLogVolume"] = false;
  a["IsStorageConfigUpgradeAvailable"] = false;
  a["EngineLifecycleSupport"] =
      ReqString(req, "EngineLifecycleSupport").value_or("open-source-rds-extended-support");
  return row;
}

}  // namespace

Result<Accepted> InstanceService::CreateDBInstance(const nlohmann::json& req) {
  const Scope scope = ScopeOf(req);
  auto args = ValidateCreateRequest(req, runtime_, scope.region);
  if (!args.ok()) return args.status();
  auto port =
      servers_.AllocatePort(static_cast<int>(args->port.value_or(config_.default_port)), "");
  if (!port) {
    return Status::Error(AwsError::kInsufficientDBInstanceCapacity,
                         "No free port is left in localrds' port range for a new DB instance.");
  }
  InstanceRow row = NewInstanceRow(req, *args, *port, registry_.Now());
  row.scope = scope;
  if (row.attrs.value("StorageEncrypted", false)) {  // reported; nothing is encrypted on disk
    row.attrs["KmsKeyId"] = KmsKeyArn(scope, ReqString(req, "KmsKeyId").value_or(""));
  }
  // An outage drill: a zone that is out has no capacity; a zone localrds picked moves to one up.
  const bool az_given = ReqString(req, "AvailabilityZone").has_value();
  if (az_given && registry_.outages().ZoneOut(scope.region, args->az)) {
    return ZoneOutError(args->az);
  }

  Registry::Locked reg = registry_.Lock();
  LOCALRDS_RETURN_IF_ERROR(CheckRoomForInstance(reg, scope, args->id));
  LOCALRDS_RETURN_IF_ERROR(TakeGroups(reg, req, scope, args->version.major, row.attrs));
  PlaceInSubnetGroup(row.resource_id, row.attrs);
  PlaceInZonesUp(registry_.outages(), scope.region, row.attrs, az_given);
  if (args->retention == 0) {
    return starter_.Start(reg, row, OpKind::kCreate, nlohmann::json::object(), {});
  }
  // The first automated backup is taken at creation (the instance shows backing-up).
  SnapshotRow snap = reg.NewAutomatedSnapshot(row);
  return starter_.Start(reg, row, OpKind::kCreate, {{"snapshot_id", snap.id}}, {}, {snap});
}

}  // namespace localrds
