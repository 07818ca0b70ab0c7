// The read replica actions: CreateDBInstanceReadReplica and PromoteReadReplica, with RDS's rules
// (User Guide USER_ReadRepl, USER_PostgreSQL.Replication.ReadReplicas; API reference).
#include "emulator/service/replica_service.h"

#include "common/log.h"
#include "common/time_util.h"
#include "emulator/core/arn.h"
#include "emulator/core/instance_classes.h"
#include "emulator/core/instance_state.h"
#include "emulator/core/quotas.h"
#include "emulator/core/request.h"
#include "emulator/core/validation.h"
#include "emulator/engine/operation_engine.h"
#include "emulator/service/group_service.h"

namespace localrds {
namespace {

// "Up to 15 read replicas per source"; cascading from PostgreSQL 14.1: "a series of up to three
// read replicas in a chain", with 5 replicas per replica (User Guide, CHAP_Limits and
// USER_PostgreSQL.Replication.ReadReplicas.Cascading): emulator/core/quotas.h.

// Every check of the request that needs no registry, made before the source is looked at.
Status ValidateReplicaRequest(const nlohmann::json& req, const std::string& region) {
  const std::string raw_id = ReqString(req, "DBInstanceIdentifier").value_or("");
  LOCALRDS_RETURN_IF_ERROR(ValidateIdentifier("DBInstanceIdentifier", raw_id));
  if (!ReqString(req, "SourceDBInstanceIdentifier")) {
    if (auto cluster = ReqString(req, "SourceDBClusterIdentifier")) {
      return Status::Error(AwsError::kDBClusterNotFoundFault,
                           "DBCluster " + *cluster + " not found (localrds has no DB clusters).");
    }
    return Status::Error(AwsError::kMissingParameter,
                         "The request must contain the parameter SourceDBInstanceIdentifier.");
  }
  const bool multi_az = ReqBool(req, "MultiAZ").value_or(false);
  if (auto mode = ReqString(req, "ReplicaMode"); mode && *mode != "open-read-only") {
    return Status::Error(AwsError::kInvalidParameterCombination,
                         "ReplicaMode " + *mode +
                             " is only supported for Oracle; PostgreSQL "
                             "replicas are open-read-only.");
  }
  auto db_class = ReqString(req, "DBInstanceClass");
  if (db_class && !IsKnownInstanceClass(*db_class)) {
    return Status::Error(AwsError::kInvalidParameterCombination,
                         "RDS does not support creating a DB instance with the following "
                         "combination: DBInstanceClass=" +
                             *db_class + ", Engine=postgres.");
  }
  auto port_req = ReqInt(req, "Port");
  if (port_req) LOCALRDS_RETURN_IF_ERROR(ValidatePort(static_cast<int>(*port_req)));
  auto az = ReqString(req, "AvailabilityZone");
  if (az) LOCALRDS_RETURN_IF_ERROR(ValidateAvailabilityZone(region, *az));
  LOCALRDS_RETURN_IF_ERROR(ValidateMultiAzZone(multi_az, az.has_value()));
  auto storage_type = ReqString(req, "StorageType");
  if (storage_type) LOCALRDS_RETURN_IF_ERROR(ValidateStorageType(*storage_type));
  return ValidateTags(req.value("Tags", nlohmann::json::array()));
}

// The source must have automated backups, be idle and available, and have room for one more
// replica in its chain and among its siblings.
Status CheckReplicaSource(Registry::Locked& reg, const InstanceRow& source) {
  if (source.attrs.value("BackupRetentionPeriod", 0) <= 0) {
    return Status::Error(AwsError::kInvalidDBInstanceState,
                         "Automated backups are not enabled for this database instance. To enable "
                         "automated backups, use ModifyDBInstance to set the backup retention "
                         "period to a non-zero value.");
  }
  LOCALRDS_RETURN_IF_ERROR(reg.CheckIdle(source));
  LOCALRDS_RETURN_IF_ERROR(CheckInStatus(source, DbStatus::kAvailable));
  const int depth = reg.ReplicaDepth(source) + 1;
  if (depth > kMaxReplicaChain) {
    return Status::Error(AwsError::kInvalidDBInstanceState,
                         "Cannot create a read replica of " + source.identifier +
                             ": a chain of read replicas can have at most " +
                             std::to_string(kMaxReplicaChain) + " levels.");
  }
  const int siblings = static_cast<int>(reg.ReplicasOf(source.resource_id).size());
  const int max_replicas = depth == 1 ? kMaxReplicasOfPrimary : kMaxReplicasOfReplica;
  if (siblings >= max_replicas) {
    return Status::Error(AwsError::kInstanceQuotaExceeded,
                         "DB instance " + source.identifier + " already has " +
                             std::to_string(siblings) + " read replicas, the most RDS allows (" +
                             std::to_string(max_replicas) + ").");
  }
  return Status::Ok();
}

// The replica's row: its source's settings, changed by what the request gives (the storage and
// settings the request asks for are checked here, against what the replica gets).
Result<InstanceRow> NewReplicaRow(const nlohmann::json& req, const InstanceRow& source,
                                  const std::string& id, int port, const Scope& scope) {
  const std::string& region = scope.region;
  InstanceRow row;
  row.resource_id = NewResourceId();
  row.scope = scope;
  row.identifier = id;
  row.status = DbStatus::kCreating;
  row.desired_state = "running";
  row.port = port;
  row.password_verifier = source.password_verifier;  // the replica has the source's roles
  row.attrs = source.attrs;
  nlohmann::json& a = row.attrs;
  ForgetReplication(a);  // the source may itself be a replica
  a.erase("LatestRestorableTime");
  SetInstanceTiming(a, std::nullopt);  // a new instance follows the server's profile
  SetReplicaSource(a, source.resource_id);
  a["BackupRetentionPeriod"] = 0;  // RDS creates replicas with backups off
  a["PendingModifiedValues"] = nlohmann::json::object();
  a["TagList"] = req.value("Tags", nlohmann::json::array());
  if (auto db_class = ReqString(req, "DBInstanceClass")) a["DBInstanceClass"] = *db_class;
  const bool cross_region = source.scope.region != region;
  if (auto az = ReqString(req, "AvailabilityZone")) {
    a["AvailabilityZone"] = *az;
  } else if (cross_region) {  // one of this Region's zones
    a["AvailabilityZone"] = ZoneForNewInstance(region, row.resource_id);
  } else {  // another zone than the source's, as a user spreading replicas would pick
    std::string source_az = source.attrs.value("AvailabilityZone", region + "a");
    a["AvailabilityZone"] = NextAvailabilityZone(source_az);
  }
  ResetMultiAzFields(a, ReqBool(req, "MultiAZ").value_or(false));
  if (auto storage_type = ReqString(req, "StorageType")) a["StorageType"] = *storage_type;
  if (auto s = ReqInt(req, "AllocatedStorage")) {
    LOCALRDS_RETURN_IF_ERROR(
        ValidateAllocatedStorage(a.value("StorageType", "gp2"), static_cast<int>(*s)));
    if (*s < source.attrs.value("AllocatedStorage", 0)) {
      return Status::InvalidParameter(
          "The allocated storage of a read replica cannot be smaller "
          "than its source's (" +
          std::to_string(source.attrs.value("AllocatedStorage", 0)) + " GiB).");
    }
    a["AllocatedStorage"] = *s;
  }
  // Iops, StorageThroughput and MaxAllocatedStorage are checked against the storage the replica
  // gets (its source's, unless the request changes it).
  LOCALRDS_RETURN_IF_ERROR(
      ValidateInstanceSettings(req, a.value("StorageType", "gp2"), a.value("AllocatedStorage", 0)));
  ApplyRequestedSettings(req, a);
  if (auto v = ReqBool(req, "EnablePerformanceInsights")) a["PerformanceInsightsEnabled"] = *v;
  for (const char* k :
       {"MonitoringInterval", "MaxAllocatedStorage", "PerformanceInsightsRetentionPeriod"}) {
    if (auto v = ReqInt(req, k)) a[k] = *v;
  }
  // Settings of the source's that a replica does not inherit on RDS.
  a["DeletionProtection"] = ReqBool(req, "DeletionProtection").value_or(false);
  a["CopyTagsToSnapshot"] = ReqBool(req, "CopyTagsToSnapshot").value_or(false);
  return row;
}

}  // namespace

Result<Accepted> ReplicaService::CreateDBInstanceReadReplica(const nlohmann::json& req) {
  const Scope scope = ScopeOf(req);
  LOCALRDS_RETURN_IF_ERROR(ValidateReplicaRequest(req, scope.region));
  const std::string id = ToLower(ReqString(req, "DBInstanceIdentifier").value_or(""));
  const std::string source_ident = *ReqString(req, "SourceDBInstanceIdentifier");
  auto find_source = [&](Registry::Locked& reg) -> Result<InstanceRow> {
    // A source in another Region is given by its ARN (SourceRegion and the PreSignedUrl SDKs
    // derive from it are accepted, not needed); an instance of another account is never found.
    return reg.Find(SourceScope(scope, source_ident, "db"), source_ident);
  };
  // The port is allocated outside the registry's lock: first the one wanted (the request's, else
  // the source's), then the checks again in the lock.
  int wanted_port = 0;
  {
    Registry::Locked reg = registry_.Lock();
    auto source = find_source(reg);
    if (!source.ok()) return source.status();
    wanted_port = static_cast<int>(ReqInt(req, "Port").value_or(source->port));
  }
  auto port = servers_.AllocatePort(wanted_port, "");
  if (!port) {
    return Status::Error(AwsError::kInsufficientDBInstanceCapacity,
                         "No free port is left in localrds' port range for a new DB instance.");
  }

  Registry::Locked reg = registry_.Lock();
  auto found = find_source(reg);
  if (!found.ok()) return found.status();
  const InstanceRow source = *found;
  LOCALRDS_RETURN_IF_ERROR(CheckRoomForInstance(reg, ScopeOf(req), id));
  LOCALRDS_RETURN_IF_ERROR(CheckReplicaSource(reg, source));
  const Outages& outages = registry_.outages();
  if (PrimaryOut(outages, source)) {
    // Its pg_basebackup would wait on a server that answers nothing.
    return Status::Error(AwsError::kInvalidDBInstanceState,
                         "The source DB instance " + source.identifier +
                             " cannot be reached: its " + OutageTakingDown(outages, source, false) +
                             " is in an outage (localrds drill).");
  }
  auto row = NewReplicaRow(req, source, id, *port, scope);
  if (!row.ok()) return row.status();
  // A replica in its source's Region takes the source's groups unless the request names others;
  // one in another Region its Region's defaults.
  nlohmann::json groups_req = req;
  if (source.scope == scope) {
    const nlohmann::json& a = source.attrs;
    auto first = [&](const char* list, const char* member) -> std::string {
      const auto& l = a.value(list, nlohmann::json::array());
      return l.empty() ? std::string() : l[0].value(member, "");
    };
    const std::pair<const char*, std::string> inherited[] = {
        {"DBParameterGroupName", first("DBParameterGroups", "DBParameterGroupName")},
        {"OptionGroupName", first("OptionGroupMemberships", "OptionGroupName")},
        {"DBSubnetGroupName",
         a.value("DBSubnetGroup", nlohmann::json::object()).value("DBSubnetGroupName", "")}};
    for (const auto& [param, value] : inherited) {
      if (!ReqString(req, param) && !value.empty()) groups_req[param] = value;
    }
  }
  const std::string version = source.attrs.value("EngineVersion", "");
  LOCALRDS_RETURN_IF_ERROR(
      TakeGroups(reg, groups_req, scope, version.substr(0, version.find('.')), row->attrs));
  PlaceInSubnetGroup(row->resource_id, row->attrs);
  if (auto az = ReqString(req, "AvailabilityZone"); az && outages.ZoneOut(scope.region, *az)) {
    return ZoneOutError(*az);
  }
  PlaceInZonesUp(outages, scope.region, row->attrs, ReqString(req, "AvailabilityZone").has_value());
  row->created_ms = registry_.Now();
  return starter_.Start(
      reg, *row, OpKind::kCreateReplica,
      {{"source", source.resource_id}, {"slot", ReplicationSlotName(row->resource_id)}}, {});
}

Result<Accepted> ReplicaService::PromoteReadReplica(const nlohmann::json& req) {
  auto retention = ReqInt(req, "BackupRetentionPeriod");
  if (retention) LOCALRDS_RETURN_IF_ERROR(ValidateBackupRetention(static_cast<int>(*retention)));
  auto window = ReqString(req, "PreferredBackupWindow");
  if (window) LOCALRDS_RETURN_IF_ERROR(ValidateBackupWindow(*window));
  Registry::Locked reg = registry_.Lock();
  auto found = reg.Find(ScopeOf(req), ReqString(req, "DBInstanceIdentifier").value_or(""));
  if (!found.ok()) return found.status();
  const InstanceRow& row = *found;
  if (!IsReplica(row)) {
    return Status::Error(AwsError::kInvalidDBInstanceState, "DB Instance is not a read replica.");
  }
  LOCALRDS_RETURN_IF_ERROR(reg.CheckIdle(row));
  // Available only: backing-up included (API reference).
  LOCALRDS_RETURN_IF_ERROR(CheckInStatus(row, DbStatus::kAvailable));
  const int days = static_cast<int>(retention.value_or(1));  // "Default: 1"
  const bool has_replicas = !reg.ReplicasOf(row.resource_id).empty();
  if (days == 0 && has_replicas) {
    return Status::Error(AwsError::kInvalidParameterCombination,
                         "BackupRetentionPeriod can't be set to 0 for a DB instance that is a "
                         "source to read replicas.");
  }
  std::string bw = window.value_or(row.attrs.value("PreferredBackupWindow", ""));
  if (window && WindowsOverlap(bw, row.attrs.value("PreferredMaintenanceWindow", ""))) {
    return Status::InvalidParameter("The backup window and maintenance window must not overlap.");
  }
  nlohmann::json params = {{"retention", days}};
  if (window) params["backup_window"] = *window;
  return starter_.StartPromotion(reg, row, std::move(params));
}

}  // namespace localrds
