// SnapshotService's automated-backup actions: point-in-time restore from an instance's (or a
// retained) automated backups, and DescribeDBInstanceAutomatedBackups /
// DeleteDBInstanceAutomatedBackup.
#include <cstdint>
#include <optional>
#include <set>

#include "common/time_util.h"
#include "emulator/core/arn.h"
#include "emulator/core/instance_state.h"
#include "emulator/core/paging.h"
#include "emulator/core/request.h"
#include "emulator/core/validation.h"
#include "emulator/service/snapshot_service.h"

namespace localrds {
namespace {

Status AutomatedBackupNotFound(const std::string& what) {
  return Status::Error(AwsError::kDBInstanceAutomatedBackupNotFound,
                       "No automated backup found for " + what + ".");
}

// The DbiResourceId named by a DBInstanceAutomatedBackupsArn, whose last part is
// "ab-" + the resource id without "db-", in lower case (RenderAutomatedBackup writes it).
std::string ResourceIdOfAutomatedBackupArn(const std::string& arn) {
  std::string ab = FromArn(arn, "auto-backup");
  std::string rid = "db-" + (ab.rfind("ab-", 0) == 0 ? ab.substr(3) : ab);
  for (size_t i = 3; i < rid.size(); ++i) {
    rid[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(rid[i])));
  }
  return rid;
}

// The retained automated backups of `scope` that show `dbi_resource_id`: those of a deleted
// instance, or the copies replicated into this region of an instance elsewhere.
const RetainedBackupRow* RetainedIn(Registry::Locked& reg, const Scope& scope,
                                    const std::string& dbi_resource_id) {
  for (const auto& [key, ret] : reg.retained()) {
    if (ret.instance.scope != scope) continue;
    const std::string from = ReplicatedFrom(ret.instance);
    if ((from.empty() ? key : from) == dbi_resource_id) return &ret;
  }
  return nullptr;
}

// The target of a point-in-time restore: RestoreTime, or nullopt for UseLatestRestorableTime
// (exactly one of the two must be given).
Result<std::optional<int64_t>> RequestedRestoreTime(const nlohmann::json& req) {
  auto restore_time = ReqString(req, "RestoreTime");
  const bool latest = ReqBool(req, "UseLatestRestorableTime").value_or(false);
  if (restore_time && latest) {
    return Status::Error(AwsError::kInvalidParameterCombination,
                         "Cannot specify both RestoreTime and UseLatestRestorableTime.");
  }
  if (!restore_time && !latest) {
    return Status::Error(AwsError::kInvalidParameterCombination,
                         "Either RestoreTime or UseLatestRestorableTime must be specified.");
  }
  std::optional<int64_t> target_ms;
  if (restore_time) {
    target_ms = ParseIso8601(*restore_time);
    if (!target_ms) return Status::InvalidParameter("Invalid RestoreTime: " + *restore_time);
  }
  return target_ms;
}

// The instance whose automated backups a point-in-time restore uses: a live one by name, or by
// resource id or automated-backups ARN a live or a retained (deleted) one.
// Only the request's own account and region are looked at.
Result<InstanceRow> PointInTimeSource(Registry::Locked& reg, const Scope& scope,
                                      const std::optional<std::string>& source_name,
                                      const std::optional<std::string>& source_dbi,
                                      const std::optional<std::string>& source_arn) {
  if (source_name) return reg.Find(scope, *source_name);
  const std::string wanted = source_arn ? ResourceIdOfAutomatedBackupArn(*source_arn) : *source_dbi;
  auto live = reg.instances().find(wanted);
  if (live != reg.instances().end() && live->second.scope == scope) return live->second;
  if (const RetainedBackupRow* retained = RetainedIn(reg, scope, wanted)) {
    InstanceRow source = retained->instance;  // the restore's defaults: not a replicated backup
    ForgetBackupReplication(source.attrs);
    return source;
  }
  return AutomatedBackupNotFound(source_arn.value_or(wanted));
}

// The restore's target time (`target_ms`, or the latest restorable time when nullopt), which
// must be inside the source's restorable window.
Result<int64_t> TimeInRestoreWindow(Registry::Locked& reg, const InstanceRow& source,
                                    std::optional<int64_t> target_ms) {
  const bool live = reg.instances().count(source.resource_id) > 0;
  if (live && source.attrs.value("BackupRetentionPeriod", 0) <= 0) {
    return Status::Error(AwsError::kPointInTimeRestoreNotEnabled,
                         "Point-in-time restore is not enabled for DB instance " +
                             source.identifier + ": its BackupRetentionPeriod is 0.");
  }
  auto window = reg.Window(source.resource_id);
  if (!window) {
    return Status::Error(
        AwsError::kInvalidRestoreFault,
        "DB instance " + source.identifier + " has no automated backup yet to restore from.");
  }
  const auto [earliest, latest_ms] = *window;
  const int64_t target = target_ms.value_or(latest_ms);
  if (target < earliest || target > latest_ms) {
    return Status::Error(AwsError::kInvalidRestoreFault,
                         "The restore time " + FormatIso8601(target) +
                             " is outside the restorable window of " + source.identifier + " (" +
                             FormatIso8601(earliest) + " to " + FormatIso8601(latest_ms) + ").");
  }
  return target;
}

// The newest base backup consistent by the target: automated, or a manual snapshot of the
// same instance (also a base backup on the same WAL history; the archive keeps the WAL after
// the oldest automated one, which is older than any target in the window).
Result<const SnapshotRow*> NewestBaseBackupBy(Registry::Locked& reg, const InstanceRow& source,
                                              int64_t target) {
  const SnapshotRow* base = nullptr;
  for (const auto& [id, snap] : reg.snapshots()) {
    if (snap.dbi_resource_id != source.resource_id || !snap.attrs.contains("_start_wal") ||
        snap.status != "available" || snap.attrs.value("_consistent_ms", INT64_MAX) > target) {
      continue;
    }
    if (!base ||
        snap.attrs.value("_consistent_ms", 0LL) > base->attrs.value("_consistent_ms", 0LL)) {
      base = &snap;
    }
  }
  if (!base) {
    return Status::Error(AwsError::kInvalidRestoreFault, "No automated backup of " +
                                                             source.identifier + " is older than " +
                                                             FormatIso8601(target) + ".");
  }
  return base;
}

}  // namespace

Result<Accepted> SnapshotService::RestoreDBInstanceToPointInTime(const nlohmann::json& req) {
  auto target_ms = RequestedRestoreTime(req);
  if (!target_ms.ok()) return target_ms.status();
  auto source_name = ReqString(req, "SourceDBInstanceIdentifier");
  auto source_dbi = ReqString(req, "SourceDbiResourceId");
  auto source_arn = ReqString(req, "SourceDBInstanceAutomatedBackupsArn");
  LOCALRDS_RETURN_IF_ERROR(ValidatePointInTimeSource(
      source_name.has_value(), source_dbi.has_value(), source_arn.has_value()));
  Registry::Locked reg = registry_.Lock();
  auto source = PointInTimeSource(reg, ScopeOf(req), source_name, source_dbi, source_arn);
  if (!source.ok()) return source.status();
  auto target = TimeInRestoreWindow(reg, *source, *target_ms);
  if (!target.ok()) return target.status();
  auto base = NewestBaseBackupBy(reg, *source, *target);
  if (!base.ok()) return base.status();
  auto row = NewRestoredInstance(
      reg, req, ReqString(req, "TargetDBInstanceIdentifier").value_or(""), *source);
  if (!row.ok()) return row.status();
  nlohmann::json params = {{"base_snapshot_id", (*base)->id},
                           {"pitr_source_resource_id", source->resource_id},
                           {"restore_time_ms", *target},
                           {"restored_from_instance", source->identifier}};
  std::vector<SnapshotRow> snapshots;
  if (row->attrs.value("BackupRetentionPeriod", 0) > 0) {
    snapshots.push_back(reg.NewAutomatedSnapshot(*row));
    params["snapshot_id"] = snapshots.back().id;
  }
  return starter_.Start(reg, *row, OpKind::kRestore, params, {}, snapshots);
}

Result<nlohmann::json> SnapshotService::DescribeDBInstanceAutomatedBackups(
    const nlohmann::json& req) {
  auto page = PageArgs(req, 20, 100, 100);
  if (!page.ok()) return page.status();
  std::set<std::string> dbi_ids, instance_ids, statuses;
  if (auto v = ReqString(req, "DbiResourceId")) dbi_ids.insert(*v);
  if (auto v = ReqString(req, "DBInstanceIdentifier")) instance_ids.insert(ToLower(*v));
  if (auto v = ReqString(req, "DBInstanceAutomatedBackupsArn")) {
    dbi_ids.insert(ResourceIdOfAutomatedBackupArn(*v));
  }
  for (const auto& f : req.value("Filters", nlohmann::json::array())) {
    const std::string name = f.value("Name", "");
    std::set<std::string>* target = name == "dbi-resource-id"  ? &dbi_ids
                                    : name == "db-instance-id" ? &instance_ids
                                    : name == "status"         ? &statuses
                                                               : nullptr;
    if (target == nullptr)
      return Status::InvalidParameter("Unrecognized filter name: " + name + ".");
    for (const auto& v : f.value("Values", nlohmann::json::array()))
      target->insert(v.get<std::string>());
  }
  nlohmann::json list = nlohmann::json::array();
  const Scope scope = ScopeOf(req);
  Registry::Locked reg = registry_.Lock();
  auto consider = [&](const InstanceRow& row, const std::string& status) {
    const std::string from = ReplicatedFrom(row);
    if (!dbi_ids.empty() && !dbi_ids.count(from.empty() ? row.resource_id : from)) return;
    if (!instance_ids.empty() && !instance_ids.count(row.identifier) &&
        !instance_ids.count(Registry::InstanceArn(row.scope, row.identifier))) {
      return;
    }
    if (row.scope != scope) return;
    if (!statuses.empty() && !statuses.count(status)) return;
    list.push_back(reg.RenderAutomatedBackup(row, status));
  };
  for (const auto& [rid, row] : reg.instances()) {
    if (row.attrs.value("BackupRetentionPeriod", 0) > 0) {
      consider(row, reg.Window(rid) ? "active" : "creating");
    }
  }
  for (const auto& [rid, r] : reg.retained()) {
    consider(r.instance, BackupReplicationStatus(r.instance));
  }
  if (list.empty() &&
      (ReqString(req, "DbiResourceId") || ReqString(req, "DBInstanceAutomatedBackupsArn"))) {
    return AutomatedBackupNotFound(
        ReqString(req, "DbiResourceId")
            .value_or(ReqString(req, "DBInstanceAutomatedBackupsArn").value_or("")));
  }
  return OffsetPage(list, "DBInstanceAutomatedBackups", *page);
}

Result<Accepted> SnapshotService::DeleteDBInstanceAutomatedBackup(const nlohmann::json& req) {
  std::string rid = ReqString(req, "DbiResourceId").value_or("");
  if (auto arn = ReqString(req, "DBInstanceAutomatedBackupsArn")) {
    rid = ResourceIdOfAutomatedBackupArn(*arn);
  }
  if (rid.empty()) {
    return Status::Error(
        AwsError::kInvalidParameterCombination,
        "Either DbiResourceId or DBInstanceAutomatedBackupsArn must be specified.");
  }
  Registry::Locked reg = registry_.Lock();
  const Scope scope = ScopeOf(req);
  if (reg.instances().count(rid) && reg.instances().at(rid).scope == scope) {
    return Status::Error(AwsError::kInvalidDBInstanceAutomatedBackupState,
                         "The automated backups of " + reg.instances().at(rid).identifier +
                             " belong to a running DB instance; set its BackupRetentionPeriod to 0 "
                             "to delete them.");
  }
  const RetainedBackupRow* retained = RetainedIn(reg, scope, rid);
  if (!retained) return AutomatedBackupNotFound(rid);
  if (BackupReplicationStatus(retained->instance) != "retained") {
    return Status::Error(AwsError::kInvalidDBInstanceAutomatedBackupState,
                         "The automated backups of " + retained->instance.identifier +
                             " are being replicated into " + scope.region +
                             "; stop the replication (StopDBInstanceAutomatedBackupsReplication) "
                             "before deleting them.");
  }
  nlohmann::json body = reg.RenderAutomatedBackup(retained->instance, "deleting");
  rid = retained->resource_id;  // its files' key (a replicated copy has one of its own)
  Mutation m;
  m.remove_retained.push_back(rid);
  std::vector<std::filesystem::path> dirs = {layout_.ArchiveDir(rid)};
  for (const auto& [id, snap] : reg.snapshots()) {
    if (snap.type == "automated" && snap.dbi_resource_id == rid) {
      m.remove_snapshots.push_back(id);
      dirs.push_back(layout_.SnapshotDir(id));
    }
  }
  LOCALRDS_RETURN_IF_ERROR(reg.Commit(m));
  const auto trash = layout_.TrashDir();
  background_.Post([dirs, trash] {
    for (const auto& d : dirs) Layout::RemoveTree(d, trash);
  });
  return Accepted{body, 0};
}

// --- automated backups replication -----------------------------------------------------------

Result<Accepted> SnapshotService::StartDBInstanceAutomatedBackupsReplication(
    const nlohmann::json& req) {
  auto source_arn = ReqString(req, "SourceDBInstanceArn");
  if (!source_arn) {
    return Status::Error(AwsError::kMissingParameter,
                         "The request must contain the parameter SourceDBInstanceArn.");
  }
  const int retention = static_cast<int>(ReqInt(req, "BackupRetentionPeriod").value_or(7));
  if (retention < 1 || retention > 35) {
    return Status::InvalidParameter(
        "The backup retention period of replicated automated backups must be between 1 and 35 "
        "days.");
  }
  const Scope scope = ScopeOf(req);
  const Scope source_scope = SourceScope(scope, *source_arn, "db");
  auto arn = ParseArn(*source_arn);
  if (!arn || arn->type != "db") {
    return Status::InvalidParameter(
        "The parameter SourceDBInstanceArn is not a valid DB instance "
        "ARN: " +
        *source_arn);
  }
  Registry::Locked reg = registry_.Lock();
  auto source = reg.Find(source_scope, *source_arn);  // another account's: not found
  if (!source.ok()) return source.status();
  if (source_scope.region == scope.region) {
    return Status::InvalidParameter("The source DB instance " + *source_arn + " is in " +
                                    scope.region +
                                    ": automated backups are replicated to another Region.");
  }
  if (source->attrs.value("BackupRetentionPeriod", 0) <= 0) {
    return Status::Error(AwsError::kInvalidDBInstanceState,
                         "Automated backups are not enabled for this database instance. To enable "
                         "automated backups, use ModifyDBInstance to set the backup retention "
                         "period to a non-zero value.");
  }
  if (!reg.BackupReplicationsOf(source->resource_id).empty()) {
    return Status::Error(
        AwsError::kInvalidDBInstanceAutomatedBackupState,
        "The automated backups of " + source->identifier + " are already replicated to a Region.");
  }
  RetainedBackupRow copy;
  copy.resource_id = NewResourceId();
  copy.instance = *source;
  copy.instance.resource_id = copy.resource_id;
  copy.instance.scope = scope;
  copy.instance.attrs["BackupRetentionPeriod"] = retention;
  copy.instance.attrs["TagList"] = req.value("Tags", nlohmann::json::array());
  if (auto kms = ReqString(req, "KmsKeyId")) copy.instance.attrs["_replica_kms_key_id"] = *kms;
  SetReplicatedFrom(copy.instance.attrs, source->resource_id);
  SetBackupReplicationStatus(copy.instance.attrs, "pending");
  Mutation m;
  m.put_retained.push_back(copy);
  LOCALRDS_RETURN_IF_ERROR(reg.Commit(m));
  return Accepted{reg.RenderAutomatedBackup(copy.instance, "pending"), 0};
}

Result<Accepted> SnapshotService::StopDBInstanceAutomatedBackupsReplication(
    const nlohmann::json& req) {
  auto source_arn = ReqString(req, "SourceDBInstanceArn");
  if (!source_arn) {
    return Status::Error(AwsError::kMissingParameter,
                         "The request must contain the parameter SourceDBInstanceArn.");
  }
  const Scope scope = ScopeOf(req);
  Registry::Locked reg = registry_.Lock();
  auto source = reg.Find(SourceScope(scope, *source_arn, "db"), *source_arn);
  if (!source.ok()) return source.status();
  for (const RetainedBackupRow* copy : reg.BackupReplicationsOf(source->resource_id)) {
    if (copy->instance.scope != scope) continue;
    RetainedBackupRow stopped = *copy;
    SetBackupReplicationStatus(stopped.instance.attrs, "retained");
    stopped.deleted_ms = registry_.Now();
    Mutation m;
    m.put_retained.push_back(stopped);
    LOCALRDS_RETURN_IF_ERROR(reg.Commit(m));
    return Accepted{reg.RenderAutomatedBackup(stopped.instance, "retained"), 0};
  }
  return Status::Error(AwsError::kInvalidDBInstanceState,
                       "The automated backups of " + source->identifier +
                           " are not being replicated to " + scope.region + ".");
}

}  // namespace localrds
