// The Registry's renderings: the DBInstance, DBSnapshot and DBInstanceAutomatedBackup shapes, as
// DescribeDBInstances, DescribeDBSnapshots and DescribeDBInstanceAutomatedBackups return them.
#include "common/time_util.h"
#include "emulator/core/instance_state.h"
#include "emulator/core/regions.h"
#include "emulator/core/request.h"
#include "emulator/state/registry.h"

namespace localrds {
namespace {

// How an instance names the other end of its replication: by identifier in its own region and
// account, by ARN across regions (RDS: a cross-Region replica's source is its ARN, and the source
// lists the replica's ARN).
std::string NameSeenFrom(const Scope& viewer, const InstanceRow& other) {
  return other.scope == viewer ? other.identifier
                               : Registry::InstanceArn(other.scope, other.identifier);
}

}  // namespace

nlohmann::json Registry::Locked::RenderInstance(const InstanceRow& row) const {
  nlohmann::json j = nlohmann::json::object();
  for (auto& [k, v] : row.attrs.items()) {
    if (!k.empty() && k[0] != '_') j[k] = v;  // localrds' own bookkeeping (instance_state.h)
  }
  j["DBInstanceIdentifier"] = row.identifier;
  j["DBInstanceStatus"] = ToString(row.status);
  j["DbiResourceId"] = row.resource_id;
  j["DBInstanceArn"] = InstanceArn(row.scope, row.identifier);
  j["InstanceCreateTime"] = FormatIso8601(row.created_ms);
  if (row.status != DbStatus::kCreating) {
    j["Endpoint"] = {{"Address", r_->config_.endpoint_address}, {"Port", row.port}};
    // The region's Route 53 zone of RDS endpoints, where it is known (regions.cc).
    const RegionInfo* region = FindRegion(row.scope.region);
    if (region && !region->rds_hosted_zone_id.empty()) {
      j["Endpoint"]["HostedZoneId"] = region->rds_hosted_zone_id;
    }
  }
  if (!j.contains("TagList")) j["TagList"] = nlohmann::json::array();
  // Replication, as both sides see it now (renames included): read from the live rows.
  if (auto source = ReplicaSource(row)) {
    auto it = r_->instances_.find(*source);
    if (it != r_->instances_.end()) {
      j["ReadReplicaSourceDBInstanceIdentifier"] = NameSeenFrom(row.scope, it->second);
    }
  }
  nlohmann::json replicas = nlohmann::json::array();
  for (const InstanceRow* replica : ReplicasOf(row.resource_id)) {
    replicas.push_back(NameSeenFrom(row.scope, *replica));
  }
  j["ReadReplicaDBInstanceIdentifiers"] = std::move(replicas);
  if (auto copies = BackupReplications(row.resource_id); !copies.empty()) {
    j["DBInstanceAutomatedBackupsReplications"] = std::move(copies);
  }
  auto window = r_->restorable_.find(row.resource_id);
  if (window != r_->restorable_.end() && row.attrs.value("BackupRetentionPeriod", 0) > 0) {
    j["LatestRestorableTime"] = FormatIso8601(window->second.second);
  }
  return j;
}

nlohmann::json Registry::RenderSnapshot(const SnapshotRow& s) const {
  const nlohmann::json& inst =
      s.attrs.contains("_instance") ? s.attrs["_instance"] : nlohmann::json::object();
  const std::string& region = s.scope.region;
  const std::string version = inst.value("EngineVersion", "15");
  nlohmann::json j = nlohmann::json::object();
  j["DBSnapshotIdentifier"] = s.identifier;
  j["DBInstanceIdentifier"] = s.attrs.value("DBInstanceIdentifier", "");
  j["SnapshotCreateTime"] = FormatIso8601(s.created_ms);
  j["Engine"] = inst.value("Engine", "postgres");
  j["AllocatedStorage"] = s.attrs.value("AllocatedStorage", inst.value("AllocatedStorage", 20));
  j["Status"] = s.status;
  j["Port"] = s.attrs.value("_instance_port", 5432);
  j["AvailabilityZone"] = inst.value("AvailabilityZone", region + "a");
  j["VpcId"] = inst.value("DBSubnetGroup", nlohmann::json::object()).value("VpcId", "");
  j["InstanceCreateTime"] = FormatIso8601(s.attrs.value("_instance_created_ms", s.created_ms));
  j["MasterUsername"] = inst.value("MasterUsername", "");
  j["EngineVersion"] = inst.value("EngineVersion", "");
  j["LicenseModel"] = "postgresql-license";
  j["SnapshotType"] = s.type;
  if (inst.contains("Iops")) j["Iops"] = inst["Iops"];
  const auto& options = inst.value("OptionGroupMemberships", nlohmann::json::array());
  j["OptionGroupName"] = options.empty()
                             ? "default:postgres-" + version.substr(0, version.find('.'))
                             : options[0].value("OptionGroupName", "");
  j["PercentProgress"] = s.attrs.value("PercentProgress", 0);
  if (s.attrs.contains("SourceDBSnapshotIdentifier")) {
    j["SourceDBSnapshotIdentifier"] = s.attrs["SourceDBSnapshotIdentifier"];
    j["SourceRegion"] = s.attrs.value("_source_region", region);
  }
  j["StorageType"] = inst.value("StorageType", "gp2");
  j["Encrypted"] = inst.value("StorageEncrypted", false);
  if (j["Encrypted"] == true && inst.contains("KmsKeyId")) j["KmsKeyId"] = inst["KmsKeyId"];
  j["DBSnapshotArn"] = SnapshotArn(s.scope, s.identifier);
  j["IAMDatabaseAuthenticationEnabled"] = inst.value("IAMDatabaseAuthenticationEnabled", false);
  j["ProcessorFeatures"] = nlohmann::json::array();
  j["DbiResourceId"] = s.dbi_resource_id;
  j["TagList"] = s.attrs.value("TagList", nlohmann::json::array());
  j["OriginalSnapshotCreateTime"] =
      FormatIso8601(s.attrs.value("_original_created_ms", s.created_ms));
  j["SnapshotDatabaseTime"] = FormatIso8601(s.attrs.value("_consistent_ms", s.created_ms));
  j["SnapshotTarget"] = "region";
  j["StorageThroughput"] = inst.value("StorageThroughput", 0);
  j["DedicatedLogVolume"] = false;
  j["MultiTenant"] = false;
  return j;
}

nlohmann::json Registry::Locked::BackupReplications(const std::string& source_resource_id) const {
  nlohmann::json out = nlohmann::json::array();
  for (const RetainedBackupRow* copy : BackupReplicationsOf(source_resource_id)) {
    out.push_back({{"DBInstanceAutomatedBackupsArn",
                    AutomatedBackupsArn(copy->instance.scope, source_resource_id)}});
  }
  return out;
}

nlohmann::json Registry::Locked::RenderAutomatedBackup(const InstanceRow& row,
                                                       const std::string& status) const {
  const nlohmann::json& a = row.attrs;
  nlohmann::json j = nlohmann::json::object();
  j["DBInstanceArn"] = InstanceArn(row.scope, row.identifier);
  // A replicated backup shows its source's resource id (its own key files its copies).
  const std::string replicated_from = ReplicatedFrom(row);
  const std::string& shown_id = replicated_from.empty() ? row.resource_id : replicated_from;
  j["DbiResourceId"] = shown_id;
  j["Region"] = row.scope.region;
  j["DBInstanceIdentifier"] = row.identifier;
  auto window = r_->restorable_.find(row.resource_id);
  if (window != r_->restorable_.end()) {
    j["RestoreWindow"] = {{"EarliestTime", FormatIso8601(window->second.first)},
                          {"LatestTime", FormatIso8601(window->second.second)}};
  } else {
    j["RestoreWindow"] = nlohmann::json::object();
  }
  j["AllocatedStorage"] = a.value("AllocatedStorage", 20);
  j["Status"] = status;
  j["Port"] = row.port;
  j["AvailabilityZone"] = a.value("AvailabilityZone", "");
  j["VpcId"] = "vpc-00000000";
  j["InstanceCreateTime"] = FormatIso8601(row.created_ms);
  j["MasterUsername"] = a.value("MasterUsername", "");
  j["Engine"] = "postgres";
  j["EngineVersion"] = a.value("EngineVersion", "");
  j["LicenseModel"] = "postgresql-license";
  j["Encrypted"] = a.value("StorageEncrypted", false);
  j["StorageType"] = a.value("StorageType", "gp2");
  j["IAMDatabaseAuthenticationEnabled"] = a.value("IAMDatabaseAuthenticationEnabled", false);
  j["BackupRetentionPeriod"] = a.value("BackupRetentionPeriod", 0);
  j["PreferredBackupWindow"] = a.value("PreferredBackupWindow", "");
  j["DBInstanceAutomatedBackupsArn"] = AutomatedBackupsArn(row.scope, shown_id);
  j["DBInstanceAutomatedBackupsReplications"] = BackupReplications(row.resource_id);
  if (a.contains("_replica_kms_key_id")) j["KmsKeyId"] = a["_replica_kms_key_id"];
  j["BackupTarget"] = "region";
  j["StorageThroughput"] = a.value("StorageThroughput", 0);
  j["MultiTenant"] = false;
  j["DedicatedLogVolume"] = false;
  return j;
}

}  // namespace localrds
