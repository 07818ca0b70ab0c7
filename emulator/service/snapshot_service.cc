// The backup actions: DB snapshots (create, copy, delete, describe), the two restores, and
// automated backups (describe, delete retained ones).
#include <algorithm>
#include <set>

#include "common/log.h"
#include "common/time_util.h"
#include "emulator/service/snapshot_service.h"
#include "emulator/core/instance_state.h"
#include "emulator/core/instance_classes.h"
#include "emulator/engine/operation_engine.h"
#include "emulator/core/paging.h"
#include "emulator/core/request.h"
#include "emulator/core/validation.h"

namespace localrds {
namespace {

Status SnapshotNotFound(const std::string& id) {
  return Status::Error(AwsError::kDBSnapshotNotFound, "DBSnapshot " + id + " not found.");
}

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

}  // namespace

// --- lookups and rendering ------------------------------------------------------------------






// --- snapshots ------------------------------------------------------------------------------

Result<Accepted> SnapshotService::CreateDBSnapshot(const nlohmann::json& req) {
  const std::string snap_id = ReqString(req, "DBSnapshotIdentifier").value_or("");
  nlohmann::json tags = req.value("Tags", nlohmann::json::array());
  Registry::Locked reg = registry_.Lock();
  auto found = reg.Find(ReqString(req, "DBInstanceIdentifier").value_or(""));
  if (!found.ok()) return found.status();
  InstanceRow row = *found;
  auto snap = reg.NewManualSnapshot(row, "DBSnapshotIdentifier", snap_id, tags);
  if (!snap.ok()) return snap.status();
  LOCALRDS_RETURN_IF_ERROR(reg.CheckIdle(row));
  if (row.status != DbStatus::kAvailable) {
    return Status::Error(AwsError::kInvalidDBInstanceState,
                         "Cannot create a snapshot because the database instance " +
                             row.identifier + " is not currently in the available state.");
  }
  row.status = DbStatus::kBackingUp;
  auto accepted = starter_.Start(reg, row, "snapshot", {{"snapshot_id", snap->id}},
                                       {registry_.MakeSnapshotEvent(*snap, rds_events::kManualSnapshotCreating)},
                                       {*snap});
  if (!accepted.ok()) return accepted.status();
  return Accepted{registry_.RenderSnapshot(*snap), accepted->operation_id};
}

Result<Accepted> SnapshotService::CopyDBSnapshot(const nlohmann::json& req) {
  const std::string source_id = ReqString(req, "SourceDBSnapshotIdentifier").value_or("");
  const std::string target_id = ReqString(req, "TargetDBSnapshotIdentifier").value_or("");
  LOCALRDS_RETURN_IF_ERROR(ValidateIdentifier("TargetDBSnapshotIdentifier", target_id, 255));
  if (auto kms = ReqString(req, "KmsKeyId")) {
    return Status::Error(AwsError::kInvalidParameterCombination,
                         "localrds does not encrypt snapshots; copy without KmsKeyId.");
  }
  Registry::Locked reg = registry_.Lock();
  auto source = reg.FindSnapshot(source_id);
  if (!source.ok()) return source.status();
  if (source->status != "available") {
    return Status::Error(AwsError::kInvalidDBSnapshotState,
                         "Snapshot " + source->identifier + " is not in available state (it is " +
                             source->status + ").");
  }
  const std::string id = ToLower(target_id);
  if (reg.SnapshotIdentifierTaken(id)) {
    return Status::Error(AwsError::kDBSnapshotAlreadyExists,
                         "Cannot create the snapshot because a snapshot with the identifier " + id +
                             " already exists.");
  }
  SnapshotRow target = *source;
  target.id = NewSnapshotId();
  target.identifier = id;
  target.type = "manual";
  target.status = "creating";
  target.created_ms = NowMs();
  target.attrs["PercentProgress"] = 0;
  target.attrs["SourceDBSnapshotIdentifier"] = registry_.SnapshotArn(source->identifier);
  target.attrs["_original_created_ms"] =
      source->attrs.value("_original_created_ms", source->created_ms);
  target.attrs["_op_resource"] = target.id;
  nlohmann::json tags = ReqBool(req, "CopyTags").value_or(false)
                            ? source->attrs.value("TagList", nlohmann::json::array())
                            : nlohmann::json::array();
  for (const auto& t : req.value("Tags", nlohmann::json::array())) tags.push_back(t);
  target.attrs["TagList"] = tags;

  Mutation m;
  m.put_snapshots.push_back(target);
  m.events.push_back(registry_.MakeSnapshotEvent(target, rds_events::kManualSnapshotCreating));
  auto op_id = starter_.StartBare(reg, target.id, "copy-snapshot",
                                  {{"source_snapshot_id", source->id}}, std::move(m));
  if (!op_id.ok()) return op_id.status();
  return Accepted{registry_.RenderSnapshot(target), *op_id};
}

Result<Accepted> SnapshotService::DeleteDBSnapshot(const nlohmann::json& req) {
  Registry::Locked reg = registry_.Lock();
  auto found = reg.FindSnapshot(ReqString(req, "DBSnapshotIdentifier").value_or(""));
  if (!found.ok()) return found.status();
  SnapshotRow snap = *found;
  if (snap.type != "manual") {
    return Status::Error(AwsError::kInvalidDBSnapshotState,
                         "Only manual snapshots may be deleted; " + snap.identifier +
                             " is an automated snapshot.");
  }
  if (snap.status == "creating") {
    return Status::Error(AwsError::kInvalidDBSnapshotState,
                         "Cannot delete the snapshot " + snap.identifier +
                             " because it is being created.");
  }
  Mutation m;
  m.remove_snapshots.push_back(snap.id);
  m.events.push_back(registry_.MakeSnapshotEvent(snap, rds_events::kSnapshotDeleted));
  LOCALRDS_RETURN_IF_ERROR(reg.Commit(m));
  // The row is gone first: a crash now leaves an orphan directory, removed at the next start.
  const auto dir = layout_.SnapshotDir(snap.id);
  const auto trash = layout_.TrashDir();
  background_.Post([dir, trash] { Layout::RemoveTree(dir, trash); });
  snap.status = "deleted";
  return Accepted{registry_.RenderSnapshot(snap), 0};
}

Result<nlohmann::json> SnapshotService::DescribeDBSnapshots(const nlohmann::json& req) {
  auto page = PageArgs(req, 20, 100, 100);
  if (!page.ok()) return page.status();
  std::set<std::string> instance_ids, snapshot_ids, dbi_ids, types, engines;
  if (auto v = ReqString(req, "DBInstanceIdentifier")) instance_ids.insert(ToLower(FromArn(*v, "db")));
  if (auto v = ReqString(req, "DBSnapshotIdentifier")) snapshot_ids.insert(ToLower(FromArn(*v, "snapshot")));
  if (auto v = ReqString(req, "DbiResourceId")) dbi_ids.insert(*v);
  if (auto v = ReqString(req, "SnapshotType")) {
    static const std::set<std::string> kTypes = {"automated", "manual", "shared", "public", "awsbackup"};
    if (!kTypes.count(*v)) return Status::InvalidParameter("Invalid snapshot type: " + *v);
    types.insert(*v);
  }
  for (const auto& f : req.value("Filters", nlohmann::json::array())) {
    const std::string name = f.value("Name", "");
    std::set<std::string>* target = name == "db-instance-id"     ? &instance_ids
                                    : name == "db-snapshot-id"   ? &snapshot_ids
                                    : name == "dbi-resource-id"  ? &dbi_ids
                                    : name == "snapshot-type"    ? &types
                                    : name == "engine"           ? &engines
                                                                 : nullptr;
    if (target == nullptr) return Status::InvalidParameter("Unrecognized filter name: " + name + ".");
    auto values = f.value("Values", nlohmann::json::array());
    if (values.empty()) {
      return Status::InvalidParameter("The filter " + name + " must have at least one value.");
    }
    for (const auto& v : values) {
      std::string s = v.get<std::string>();
      if (target == &instance_ids) s = ToLower(FromArn(s, "db"));
      if (target == &snapshot_ids) s = ToLower(FromArn(s, "snapshot"));
      target->insert(s);
    }
  }
  std::vector<SnapshotRow> rows;
  {
    Registry::Locked reg = registry_.Lock();
    for (const auto& [id, snap] : reg.snapshots()) rows.push_back(snap);
  }
  std::sort(rows.begin(), rows.end(), [](const SnapshotRow& a, const SnapshotRow& b) {
    return std::tie(a.created_ms, a.identifier) < std::tie(b.created_ms, b.identifier);
  });
  nlohmann::json list = nlohmann::json::array();
  for (const auto& snap : rows) {
    if (!instance_ids.empty() && !instance_ids.count(snap.attrs.value("DBInstanceIdentifier", ""))) continue;
    if (!snapshot_ids.empty() && !snapshot_ids.count(snap.identifier)) continue;
    if (!dbi_ids.empty() && !dbi_ids.count(snap.dbi_resource_id)) continue;
    if (!types.empty() && !types.count(snap.type)) continue;
    if (!engines.empty() && !engines.count("postgres")) continue;
    list.push_back(registry_.RenderSnapshot(snap));
  }
  // Asking for one snapshot by name that does not exist is an error, as on RDS.
  if (ReqString(req, "DBSnapshotIdentifier") && list.empty()) {
    return SnapshotNotFound(*ReqString(req, "DBSnapshotIdentifier"));
  }
  return OffsetPage(list, "DBSnapshots", *page);
}

// --- restores -------------------------------------------------------------------------------

Result<InstanceRow> SnapshotService::NewRestoredInstance(Registry::Locked& reg,
                                                      const nlohmann::json& req,
                                                      const std::string& target_identifier,
                                                      const InstanceRow& source) {
  LOCALRDS_RETURN_IF_ERROR(ValidateIdentifier(
      req.contains("TargetDBInstanceIdentifier") ? "TargetDBInstanceIdentifier" : "DBInstanceIdentifier",
      target_identifier));
  const std::string id = ToLower(target_identifier);
  if (reg.IdentifierTaken(id)) {
    return Status::Error(AwsError::kDBInstanceAlreadyExists, "DB instance already exists");
  }
  LOCALRDS_RETURN_IF_ERROR(CheckInstanceQuota(reg));
  const bool multi_az = ReqBool(req, "MultiAZ").value_or(false);
  LOCALRDS_RETURN_IF_ERROR(
      ValidateMultiAzZone(multi_az, ReqString(req, "AvailabilityZone").has_value()));
  if (ReqBool(req, "ManageMasterUserPassword").value_or(false)) {
    return Status::Error(AwsError::kInvalidParameterCombination,
                         "localrds cannot manage master passwords in AWS Secrets Manager.");
  }
  if (auto e = ReqString(req, "Engine"); e && ToLower(*e) != "postgres") {
    return Status::InvalidParameter("Invalid DB engine: " + *e);
  }
  InstanceRow row;
  row.resource_id = NewResourceId();
  row.identifier = id;
  row.status = DbStatus::kCreating;
  row.desired_state = "running";
  row.password_verifier = source.password_verifier;
  row.created_ms = NowMs();
  row.attrs = source.attrs;
  nlohmann::json& a = row.attrs;
  // A restore of a read replica's data is a standalone instance.
  ForgetReplication(a);
  const std::string version = a.value("EngineVersion", "15");
  if (auto c = ReqString(req, "DBInstanceClass")) {
    if (!IsKnownInstanceClass(*c)) {
      return Status::Error(AwsError::kInvalidParameterCombination,
                           "RDS does not support creating a DB instance with the following "
                           "combination: DBInstanceClass=" + *c + ", Engine=postgres, EngineVersion=" +
                               version + ", LicenseModel=postgresql-license.");
    }
    a["DBInstanceClass"] = *c;
  }
  if (auto p = ReqInt(req, "Port")) LOCALRDS_RETURN_IF_ERROR(ValidatePort(static_cast<int>(*p)));
  if (auto az = ReqString(req, "AvailabilityZone")) {
    LOCALRDS_RETURN_IF_ERROR(ValidateAvailabilityZone(registry_.config().region, *az));
    a["AvailabilityZone"] = *az;
  }
  if (auto st = ReqString(req, "StorageType")) {
    LOCALRDS_RETURN_IF_ERROR(ValidateStorageType(*st));
    a["StorageType"] = *st;
  }
  if (auto s = ReqInt(req, "AllocatedStorage")) {
    LOCALRDS_RETURN_IF_ERROR(ValidateAllocatedStorage(a.value("StorageType", "gp2"), static_cast<int>(*s)));
    if (*s < a.value("AllocatedStorage", 0)) {
      return Status::InvalidParameter("The allocated storage of a restored instance cannot be "
                                      "smaller than the source's (" +
                                      std::to_string(a.value("AllocatedStorage", 0)) + " GiB).");
    }
    a["AllocatedStorage"] = *s;
  }
  if (auto r = ReqInt(req, "BackupRetentionPeriod")) {
    LOCALRDS_RETURN_IF_ERROR(ValidateBackupRetention(static_cast<int>(*r)));
    a["BackupRetentionPeriod"] = *r;
  }
  if (auto w = ReqString(req, "PreferredBackupWindow")) {
    LOCALRDS_RETURN_IF_ERROR(ValidateBackupWindow(*w));
    a["PreferredBackupWindow"] = *w;
  }
  if (auto p = ReqString(req, "DBParameterGroupName")) {
    if (p->rfind("default.postgres", 0) != 0) {
      return Status::Error(AwsError::kDBParameterGroupNotFound, "DBParameterGroup not found: " + *p);
    }
    a["DBParameterGroups"] = {{{"DBParameterGroupName", *p}, {"ParameterApplyStatus", "in-sync"}}};
  }
  LOCALRDS_RETURN_IF_ERROR(
      ValidateInstanceSettings(req, a.value("StorageType", "gp2"), a.value("AllocatedStorage", 0)));
  ApplyRequestedSettings(req, a);
  if (auto max = ReqInt(req, "MaxAllocatedStorage")) a["MaxAllocatedStorage"] = *max;
  for (const char* k : {"DeletionProtection", "CopyTagsToSnapshot"}) {  // else the source's
    if (auto v = ReqBool(req, k)) a[k] = *v;
  }
  nlohmann::json tags = req.value("Tags", nlohmann::json::array());
  LOCALRDS_RETURN_IF_ERROR(ValidateTags(tags));
  a["TagList"] = tags;
  a["PendingModifiedValues"] = nlohmann::json::object();
  a["ReadReplicaDBInstanceIdentifiers"] = nlohmann::json::array();
  ResetMultiAzFields(a, multi_az);
  a.erase("LatestRestorableTime");
  // The port: the request's, else the source's (RDS's default). The configure step moves it
  // when another server has it (AllocatePort cannot run in the registry's lock).
  row.port = static_cast<int>(ReqInt(req, "Port").value_or(source.port));
  return row;
}

Result<Accepted> SnapshotService::RestoreDBInstanceFromDBSnapshot(const nlohmann::json& req) {
  auto snap_id = ReqString(req, "DBSnapshotIdentifier");
  if (!snap_id) {
    return Status::Error(AwsError::kMissingParameter,
                         "The request must contain the parameter DBSnapshotIdentifier.");
  }
  Registry::Locked reg = registry_.Lock();
  auto snap = reg.FindSnapshot(*snap_id);
  if (!snap.ok()) return snap.status();
  if (snap->status != "available") {
    return Status::Error(AwsError::kInvalidDBSnapshotState,
                         "Snapshot " + snap->identifier + " is not available (it is " +
                             snap->status + ").");
  }
  InstanceRow source;
  source.attrs = snap->attrs.value("_instance", nlohmann::json::object());
  source.password_verifier = snap->attrs.value("_password_verifier", "");
  source.port = snap->attrs.value("_instance_port", config_.default_port);
  auto row = NewRestoredInstance(reg, req, ReqString(req, "DBInstanceIdentifier").value_or(""), source);
  if (!row.ok()) return row.status();
  nlohmann::json params = {{"base_snapshot_id", snap->id}, {"restored_from_snapshot", snap->identifier}};
  std::vector<SnapshotRow> snapshots;
  if (row->attrs.value("BackupRetentionPeriod", 0) > 0) {
    snapshots.push_back(reg.NewAutomatedSnapshot(*row));
    params["snapshot_id"] = snapshots.back().id;
  }
  return starter_.Start(reg, *row, "restore", params, {}, snapshots);
}

Result<Accepted> SnapshotService::RestoreDBInstanceToPointInTime(const nlohmann::json& req) {
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
  auto source_name = ReqString(req, "SourceDBInstanceIdentifier");
  auto source_dbi = ReqString(req, "SourceDbiResourceId");
  auto source_arn = ReqString(req, "SourceDBInstanceAutomatedBackupsArn");
  LOCALRDS_RETURN_IF_ERROR(ValidatePointInTimeSource(
      source_name.has_value(), source_dbi.has_value(), source_arn.has_value()));
  Registry::Locked reg = registry_.Lock();
  InstanceRow source;
  if (source_name) {
    auto found = reg.Find(*source_name);
    if (!found.ok()) return found.status();
    source = *found;
  } else {
    const std::string wanted =
        source_arn ? ResourceIdOfAutomatedBackupArn(*source_arn) : *source_dbi;
    if (reg.instances().count(wanted)) {
      source = reg.instances().at(wanted);
    } else if (reg.retained().count(wanted)) {
      source = reg.retained().at(wanted).instance;
    } else {
      return AutomatedBackupNotFound(source_arn.value_or(wanted));
    }
  }
  const bool live = reg.instances().count(source.resource_id) > 0;
  if (live && source.attrs.value("BackupRetentionPeriod", 0) <= 0) {
    return Status::Error(AwsError::kPointInTimeRestoreNotEnabled,
                         "Point-in-time restore is not enabled for DB instance " + source.identifier +
                             ": its BackupRetentionPeriod is 0.");
  }
  auto window = reg.Window(source.resource_id);
  if (!window) {
    return Status::Error(AwsError::kInvalidRestoreFault,
                         "DB instance " + source.identifier +
                             " has no automated backup yet to restore from.");
  }
  const auto [earliest, latest_ms] = *window;
  const int64_t target = latest ? latest_ms : *target_ms;
  if (target < earliest || target > latest_ms) {
    return Status::Error(AwsError::kInvalidRestoreFault,
                         "The restore time " + FormatIso8601(target) +
                             " is outside the restorable window of " + source.identifier + " (" +
                             FormatIso8601(earliest) + " to " + FormatIso8601(latest_ms) + ").");
  }
  // The newest base backup consistent by the target: automated, or a manual snapshot of the
  // same instance (also a base backup on the same WAL history; the archive keeps the WAL after
  // the oldest automated one, which is older than any target in the window).
  const SnapshotRow* base = nullptr;
  for (const auto& [id, snap] : reg.snapshots()) {
    if (snap.dbi_resource_id != source.resource_id || !snap.attrs.contains("_start_wal") ||
        snap.status != "available" || snap.attrs.value("_consistent_ms", INT64_MAX) > target) {
      continue;
    }
    if (!base || snap.attrs.value("_consistent_ms", 0LL) > base->attrs.value("_consistent_ms", 0LL)) {
      base = &snap;
    }
  }
  if (!base) {
    return Status::Error(AwsError::kInvalidRestoreFault,
                         "No automated backup of " + source.identifier + " is older than " +
                             FormatIso8601(target) + ".");
  }
  auto row = NewRestoredInstance(reg, req, ReqString(req, "TargetDBInstanceIdentifier").value_or(""),
                                       source);
  if (!row.ok()) return row.status();
  nlohmann::json params = {{"base_snapshot_id", base->id},
                           {"pitr_source_resource_id", source.resource_id},
                           {"restore_time_ms", target},
                           {"restored_from_instance", source.identifier}};
  std::vector<SnapshotRow> snapshots;
  if (row->attrs.value("BackupRetentionPeriod", 0) > 0) {
    snapshots.push_back(reg.NewAutomatedSnapshot(*row));
    params["snapshot_id"] = snapshots.back().id;
  }
  return starter_.Start(reg, *row, "restore", params, {}, snapshots);
}

// --- automated backups ----------------------------------------------------------------------

Result<nlohmann::json> SnapshotService::DescribeDBInstanceAutomatedBackups(const nlohmann::json& req) {
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
    std::set<std::string>* target = name == "dbi-resource-id" ? &dbi_ids
                                    : name == "db-instance-id" ? &instance_ids
                                    : name == "status"         ? &statuses
                                                               : nullptr;
    if (target == nullptr) return Status::InvalidParameter("Unrecognized filter name: " + name + ".");
    for (const auto& v : f.value("Values", nlohmann::json::array())) target->insert(v.get<std::string>());
  }
  nlohmann::json list = nlohmann::json::array();
  Registry::Locked reg = registry_.Lock();
  auto consider = [&](const InstanceRow& row, const std::string& status) {
    if (!dbi_ids.empty() && !dbi_ids.count(row.resource_id)) return;
    if (!instance_ids.empty() && !instance_ids.count(row.identifier) &&
        !instance_ids.count(registry_.InstanceArn(row.identifier))) {
      return;
    }
    if (!statuses.empty() && !statuses.count(status)) return;
    list.push_back(reg.RenderAutomatedBackup(row, status));
  };
  for (const auto& [rid, row] : reg.instances()) {
    if (row.attrs.value("BackupRetentionPeriod", 0) > 0) {
      consider(row, reg.Window(rid) ? "active" : "creating");
    }
  }
  for (const auto& [rid, r] : reg.retained()) consider(r.instance, "retained");
  if (list.empty() && (ReqString(req, "DbiResourceId") || ReqString(req, "DBInstanceAutomatedBackupsArn"))) {
    return AutomatedBackupNotFound(ReqString(req, "DbiResourceId")
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
    return Status::Error(AwsError::kInvalidParameterCombination,
                         "Either DbiResourceId or DBInstanceAutomatedBackupsArn must be specified.");
  }
  Registry::Locked reg = registry_.Lock();
  if (reg.instances().count(rid)) {
    return Status::Error(AwsError::kInvalidDBInstanceAutomatedBackupState,
                         "The automated backups of " + reg.instances().at(rid).identifier +
                             " belong to a running DB instance; set its BackupRetentionPeriod to 0 "
                             "to delete them.");
  }
  auto it = reg.retained().find(rid);
  if (it == reg.retained().end()) return AutomatedBackupNotFound(rid);
  nlohmann::json body = reg.RenderAutomatedBackup(it->second.instance, "deleting");
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

}  // namespace localrds
