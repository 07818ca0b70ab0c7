// The DB snapshot actions (create, copy, delete, describe) and the restores' shared part: the
// new instance's checks and row, and RestoreDBInstanceFromDBSnapshot. Point-in-time restore and
// the automated backups are in automated_backups.cc.
#include "emulator/service/snapshot_service.h"

#include <algorithm>
#include <set>

#include "common/log.h"
#include "common/time_util.h"
#include "emulator/core/arn.h"
#include "emulator/core/instance_classes.h"
#include "emulator/core/instance_state.h"
#include "emulator/core/paging.h"
#include "emulator/core/quotas.h"
#include "emulator/core/regions.h"
#include "emulator/core/request.h"
#include "emulator/core/validation.h"
#include "emulator/engine/operation_engine.h"
#include "emulator/service/group_service.h"

namespace localrds {
namespace {

Status SnapshotNotFound(const std::string& id) {
  return Status::Error(AwsError::kDBSnapshotNotFound, "DBSnapshot " + id + " not found.");
}

// A restored instance's row: its source's settings (a snapshot's or a live instance's), changed
// by what the request gives, each checked as RDS does; created at `now_ms`.
Result<InstanceRow> RestoredInstanceRow(const nlohmann::json& req, const std::string& id,
                                        const InstanceRow& source, const Scope& scope,
                                        int64_t now_ms) {
  const std::string& region = scope.region;
  InstanceRow row;
  row.resource_id = NewResourceId();
  row.scope = scope;
  row.identifier = id;
  row.status = DbStatus::kCreating;
  row.desired_state = "running";
  row.password_verifier = source.password_verifier;
  row.created_ms = now_ms;
  row.attrs = source.attrs;
  nlohmann::json& a = row.attrs;
  // A restore of a read replica's data is a standalone instance.
  ForgetReplication(a);
  const std::string version = a.value("EngineVersion", "15");
  if (auto c = ReqString(req, "DBInstanceClass")) {
    if (!IsKnownInstanceClass(*c)) {
      return Status::Error(AwsError::kInvalidParameterCombination,
                           "RDS does not support creating a DB instance with the following "
                           "combination: DBInstanceClass=" +
                               *c + ", Engine=postgres, EngineVersion=" + version +
                               ", LicenseModel=postgresql-license.");
    }
    a["DBInstanceClass"] = *c;
  }
  if (auto p = ReqInt(req, "Port")) LOCALRDS_RETURN_IF_ERROR(ValidatePort(static_cast<int>(*p)));
  if (auto az = ReqString(req, "AvailabilityZone")) {
    LOCALRDS_RETURN_IF_ERROR(ValidateAvailabilityZone(region, *az));
    a["AvailabilityZone"] = *az;
  } else if (!ValidateAvailabilityZone(region, a.value("AvailabilityZone", "")).ok()) {
    // Data from another region (a cross-region copy): a zone of this one.
    a["AvailabilityZone"] = ZoneForNewInstance(region, row.resource_id);
  }
  if (auto st = ReqString(req, "StorageType")) {
    LOCALRDS_RETURN_IF_ERROR(ValidateStorageType(*st));
    a["StorageType"] = *st;
  }
  if (auto s = ReqInt(req, "AllocatedStorage")) {
    LOCALRDS_RETURN_IF_ERROR(
        ValidateAllocatedStorage(a.value("StorageType", "gp2"), static_cast<int>(*s)));
    if (*s < a.value("AllocatedStorage", 0)) {
      return Status::InvalidParameter(
          "The allocated storage of a restored instance cannot be "
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
  ResetMultiAzFields(a, ReqBool(req, "MultiAZ").value_or(false));
  a.erase("LatestRestorableTime");
  SetInstanceTiming(a, std::nullopt);  // a new instance follows the server's profile
  // The port: the request's, else the source's (RDS's default). The configure step moves it
  // when another server has it (AllocatePort cannot run in the registry's lock).
  row.port = static_cast<int>(ReqInt(req, "Port").value_or(source.port));
  return row;
}

}  // namespace

// --- snapshots ------------------------------------------------------------------------------

Result<Accepted> SnapshotService::CreateDBSnapshot(const nlohmann::json& req) {
  const std::string snap_id = ReqString(req, "DBSnapshotIdentifier").value_or("");
  // The request's own rules first, as RDS checks them before it looks for the instance.
  LOCALRDS_RETURN_IF_ERROR(ValidateSnapshotIdentifier("DBSnapshotIdentifier", snap_id));
  nlohmann::json tags = req.value("Tags", nlohmann::json::array());
  Registry::Locked reg = registry_.Lock();
  auto found = reg.Find(ScopeOf(req), ReqString(req, "DBInstanceIdentifier").value_or(""));
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
  auto accepted = starter_.Start(
      reg, row, OpKind::kSnapshot, {{"snapshot_id", snap->id}},
      {registry_.MakeSnapshotEvent(*snap, rds_events::kManualSnapshotCreating)}, {*snap});
  if (!accepted.ok()) return accepted.status();
  return Accepted{registry_.RenderSnapshot(*snap), accepted->operation_id};
}

Result<Accepted> SnapshotService::CopyDBSnapshot(const nlohmann::json& req) {
  const std::string source_id = ReqString(req, "SourceDBSnapshotIdentifier").value_or("");
  const std::string target_id = ReqString(req, "TargetDBSnapshotIdentifier").value_or("");
  LOCALRDS_RETURN_IF_ERROR(ValidateSnapshotIdentifier("TargetDBSnapshotIdentifier", target_id));
  // The source: by name in the caller's region, or by ARN in its own (a cross-region copy is
  // always given the source's ARN). SourceRegion and the PreSignedUrl that SDKs derive from it
  // say where the source is, which the ARN already says: they are accepted and not needed.
  const Scope scope = ScopeOf(req);
  const Scope source_scope = SourceScope(scope, source_id, "snapshot");
  if (!FindRegion(source_scope.region)) return SnapshotNotFound(source_id);
  const bool cross_region = source_scope.region != scope.region;
  Registry::Locked reg = registry_.Lock();
  auto source = reg.FindReadableSnapshot(source_scope, source_id);  // or another account's
  if (!source.ok()) return source.status();
  if (cross_region && registry_.outages().RegionOut(source_scope.region)) {
    // Its files are in a Region that does not answer.
    return Status::Error(AwsError::kInvalidDBSnapshotState,
                         "Snapshot " + source->identifier + " cannot be copied: its Region " +
                             source_scope.region + " is in an outage (localrds drill).");
  }
  if (source->status != "available") {
    return Status::Error(AwsError::kInvalidDBSnapshotState,
                         "Snapshot " + source->identifier + " is not in available state (it is " +
                             source->status + ").");
  }
  const std::string id = ToLower(target_id);
  if (reg.SnapshotIdentifierTaken(ScopeOf(req), id)) {
    return Status::Error(AwsError::kDBSnapshotAlreadyExists,
                         "Cannot create the snapshot because a snapshot with the identifier " + id +
                             " already exists.");
  }
  SnapshotRow target = *source;
  target.id = NewSnapshotId();
  target.scope = ScopeOf(req);
  target.identifier = id;
  target.type = "manual";
  target.status = "creating";
  target.created_ms = registry_.Now();
  target.attrs["PercentProgress"] = 0;
  target.attrs["SourceDBSnapshotIdentifier"] =
      Registry::SnapshotArn(source->scope, source->identifier);
  target.attrs["_original_created_ms"] =
      source->attrs.value("_original_created_ms", source->created_ms);
  target.attrs["_op_resource"] = target.id;
  SetRestoreAccounts(target.attrs, {});         // a copy is private to its account
  if (auto kms = ReqString(req, "KmsKeyId")) {  // an encrypted copy (reported, not on disk)
    nlohmann::json& inst = target.attrs["_instance"];
    if (inst.is_object()) {
      inst["StorageEncrypted"] = true;
      inst["KmsKeyId"] = KmsKeyArn(scope, *kms);
    }
  }
  if (cross_region) {
    target.attrs["_source_region"] = source_scope.region;
    // The instance it restores to lives in this region: one of its zones, not the source's.
    nlohmann::json& inst = target.attrs["_instance"];
    if (inst.is_object()) {
      inst["AvailabilityZone"] = ZoneForNewInstance(scope.region, id);
      inst.erase("SecondaryAvailabilityZone");
    }
  }
  nlohmann::json tags = ReqBool(req, "CopyTags").value_or(false)
                            ? source->attrs.value("TagList", nlohmann::json::array())
                            : nlohmann::json::array();
  for (const auto& t : req.value("Tags", nlohmann::json::array())) tags.push_back(t);
  target.attrs["TagList"] = tags;

  Mutation m;
  m.put_snapshots.push_back(target);
  m.events.push_back(registry_.MakeSnapshotEvent(target, rds_events::kManualSnapshotCreating));
  auto op_id = starter_.StartBare(
      reg, target.id, OpKind::kCopySnapshot,
      {{"source_snapshot_id", source->id}, {"cross_region", cross_region}}, std::move(m));
  if (!op_id.ok()) return op_id.status();
  return Accepted{registry_.RenderSnapshot(target), *op_id};
}

Result<Accepted> SnapshotService::DeleteDBSnapshot(const nlohmann::json& req) {
  Registry::Locked reg = registry_.Lock();
  auto found = reg.FindSnapshot(ScopeOf(req), ReqString(req, "DBSnapshotIdentifier").value_or(""));
  if (!found.ok()) return found.status();
  SnapshotRow snap = *found;
  if (snap.type != "manual") {
    return Status::Error(
        AwsError::kInvalidDBSnapshotState,
        "Only manual snapshots may be deleted; " + snap.identifier + " is an automated snapshot.");
  }
  if (snap.status == "creating") {
    return Status::Error(
        AwsError::kInvalidDBSnapshotState,
        "Cannot delete the snapshot " + snap.identifier + " because it is being created.");
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
  if (auto v = ReqString(req, "DBInstanceIdentifier"))
    instance_ids.insert(ToLower(FromArn(*v, "db")));
  if (auto v = ReqString(req, "DBSnapshotIdentifier")) snapshot_ids.insert(ToLower(*v));
  if (auto v = ReqString(req, "DbiResourceId")) dbi_ids.insert(*v);
  if (auto v = ReqString(req, "SnapshotType")) {
    static const std::set<std::string> kTypes = {"automated", "manual", "shared", "public",
                                                 "awsbackup"};
    if (!kTypes.count(*v)) return Status::InvalidParameter("Invalid snapshot type: " + *v);
    types.insert(*v);
  }
  for (const auto& f : req.value("Filters", nlohmann::json::array())) {
    const std::string name = f.value("Name", "");
    std::set<std::string>* target = name == "db-instance-id"    ? &instance_ids
                                    : name == "db-snapshot-id"  ? &snapshot_ids
                                    : name == "dbi-resource-id" ? &dbi_ids
                                    : name == "snapshot-type"   ? &types
                                    : name == "engine"          ? &engines
                                                                : nullptr;
    if (target == nullptr)
      return Status::InvalidParameter("Unrecognized filter name: " + name + ".");
    auto values = f.value("Values", nlohmann::json::array());
    if (values.empty()) {
      return Status::InvalidParameter("The filter " + name + " must have at least one value.");
    }
    for (const auto& v : values) {
      std::string s = v.get<std::string>();
      if (target == &instance_ids) s = ToLower(FromArn(s, "db"));
      if (target == &snapshot_ids) s = ToLower(s);
      target->insert(s);
    }
  }
  // Other accounts' manual snapshots of this region shared with the caller (IncludeShared or
  // SnapshotType shared) or public (IncludePublic or SnapshotType public): their identifier is
  // their ARN, their type what they are to the caller.
  const bool with_shared = ReqBool(req, "IncludeShared").value_or(false) || types.count("shared");
  const bool with_public = ReqBool(req, "IncludePublic").value_or(false) || types.count("public");
  const Scope scope = ScopeOf(req);
  std::vector<SnapshotRow> rows;
  {
    Registry::Locked reg = registry_.Lock();
    for (const auto& [id, snap] : reg.snapshots()) {
      // Replicated automated backups show as such (DescribeDBInstanceAutomatedBackups), not as
      // snapshots of this region.
      if (!ReplicatedSnapshotOf(snap).empty()) continue;
      if (snap.scope == scope) {
        rows.push_back(snap);
      } else if (snap.scope.region == scope.region && snap.type == "manual" &&
                 ((with_shared && IsSharedWith(snap, scope.account) && !IsPublic(snap)) ||
                  (with_public && IsPublic(snap)))) {
        rows.push_back(snap);
      }
    }
  }
  std::sort(rows.begin(), rows.end(), [](const SnapshotRow& a, const SnapshotRow& b) {
    return std::tie(a.created_ms, a.identifier) < std::tie(b.created_ms, b.identifier);
  });
  nlohmann::json list = nlohmann::json::array();
  for (const auto& snap : rows) {
    const bool own = snap.scope == scope;
    const std::string arn = Registry::SnapshotArn(snap.scope, snap.identifier);
    const std::string type = own ? snap.type : IsPublic(snap) ? "public" : "shared";
    if (!instance_ids.empty() && !instance_ids.count(snap.attrs.value("DBInstanceIdentifier", "")))
      continue;
    if (!snapshot_ids.empty() && !snapshot_ids.count(ToLower(arn)) &&
        !(own && snapshot_ids.count(snap.identifier))) {
      continue;
    }
    if (!dbi_ids.empty() && !dbi_ids.count(snap.dbi_resource_id)) continue;
    if (!types.empty() && !types.count(type)) continue;
    if (!engines.empty() && !engines.count("postgres")) continue;
    nlohmann::json j = registry_.RenderSnapshot(snap);
    if (!own) {
      j["DBSnapshotIdentifier"] = arn;
      j["SnapshotType"] = type;
    }
    list.push_back(std::move(j));
  }
  // Asking for one snapshot by name that does not exist is an error, as on RDS.
  if (ReqString(req, "DBSnapshotIdentifier") && list.empty()) {
    return SnapshotNotFound(*ReqString(req, "DBSnapshotIdentifier"));
  }
  return OffsetPage(list, "DBSnapshots", *page);
}

// --- sharing -------------------------------------------------------------------------------

namespace {

nlohmann::json SnapshotAttributesResult(const SnapshotRow& snap) {
  return {{"DBSnapshotAttributesResult",
           {{"DBSnapshotIdentifier", snap.identifier},
            {"DBSnapshotAttributes",
             {{{"AttributeName", "restore"}, {"AttributeValues", RestoreAccounts(snap)}}}}}}};
}

// The values of ValuesToAdd or ValuesToRemove: 12-digit account ids, or "all".
Result<std::vector<std::string>> AccountValues(const nlohmann::json& req, const char* name) {
  std::vector<std::string> out;
  for (const auto& v : req.value(name, nlohmann::json::array())) {
    const std::string s = v.is_string() ? v.get<std::string>() : v.dump();
    const bool account = s.size() == 12 && s.find_first_not_of("0123456789") == std::string::npos;
    if (!account && s != "all") {
      return Status::InvalidParameter("Invalid value " + s + " in " + name +
                                      ": an AWS account id (12 digits) or all.");
    }
    out.push_back(s);
  }
  return out;
}
}  // namespace

Result<nlohmann::json> SnapshotService::DescribeDBSnapshotAttributes(const nlohmann::json& req) {
  auto name = ReqString(req, "DBSnapshotIdentifier");
  if (!name) {
    return Status::Error(AwsError::kMissingParameter,
                         "The request must contain the parameter DBSnapshotIdentifier.");
  }
  Registry::Locked reg = registry_.Lock();
  auto snap = reg.FindSnapshot(ScopeOf(req), *name);
  if (!snap.ok()) return snap.status();
  return SnapshotAttributesResult(*snap);
}

Result<nlohmann::json> SnapshotService::ModifyDBSnapshotAttribute(const nlohmann::json& req) {
  const std::string name = ReqString(req, "DBSnapshotIdentifier").value_or("");
  if (name.rfind("arn:", 0) != 0) {
    // An automated snapshot's rds: name is refused as RDS refuses it: not a manual identifier.
    LOCALRDS_RETURN_IF_ERROR(ValidateIdentifier("DBSnapshotIdentifier", name, 255));
  }
  const std::string attribute = ReqString(req, "AttributeName").value_or("");
  if (attribute != "restore") {
    return Status::InvalidParameter("Invalid snapshot attribute " + attribute +
                                    ": the only attribute is restore.");
  }
  auto add = AccountValues(req, "ValuesToAdd");
  if (!add.ok()) return add.status();
  auto remove = AccountValues(req, "ValuesToRemove");
  if (!remove.ok()) return remove.status();
  for (const auto& v : *add) {
    if (std::find(remove->begin(), remove->end(), v) != remove->end()) {
      return Status::Error(
          AwsError::kInvalidParameterCombination,
          "A value may not appear in both the add list and remove list: " + v + ".");
    }
  }
  Registry::Locked reg = registry_.Lock();
  auto snap = reg.FindSnapshot(ScopeOf(req), name);
  if (!snap.ok()) return snap.status();
  if (snap->type != "manual") {  // named by its ARN
    return Status::InvalidParameter(
        "The parameter DBSnapshotIdentifier is not a valid "
        "identifier: automated snapshots cannot be shared.");
  }
  std::vector<std::string> accounts = RestoreAccounts(*snap);
  for (const auto& v : *add) {
    if (std::find(accounts.begin(), accounts.end(), v) == accounts.end()) accounts.push_back(v);
  }
  accounts.erase(std::remove_if(accounts.begin(), accounts.end(),
                                [&](const std::string& a) {
                                  return std::find(remove->begin(), remove->end(), a) !=
                                         remove->end();
                                }),
                 accounts.end());
  if (accounts.size() > static_cast<size_t>(kMaxSharedAccounts)) {
    return Status::Error(AwsError::kSharedSnapshotQuotaExceeded,
                         "The snapshot " + snap->identifier + " can be shared with at most " +
                             std::to_string(kMaxSharedAccounts) + " accounts.");
  }
  SnapshotRow updated = *snap;
  SetRestoreAccounts(updated.attrs, accounts);
  Mutation m;
  m.put_snapshots.push_back(updated);
  LOCALRDS_RETURN_IF_ERROR(reg.Commit(m));
  return SnapshotAttributesResult(updated);
}

// --- restores -------------------------------------------------------------------------------

Result<InstanceRow> SnapshotService::NewRestoredInstance(Registry::Locked& reg,
                                                         const nlohmann::json& req,
                                                         const std::string& target_identifier,
                                                         const InstanceRow& source) {
  LOCALRDS_RETURN_IF_ERROR(ValidateIdentifier(req.contains("TargetDBInstanceIdentifier")
                                                  ? "TargetDBInstanceIdentifier"
                                                  : "DBInstanceIdentifier",
                                              target_identifier));
  const std::string id = ToLower(target_identifier);
  LOCALRDS_RETURN_IF_ERROR(CheckRoomForInstance(reg, ScopeOf(req), id));
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
  auto row = RestoredInstanceRow(req, id, source, ScopeOf(req), registry_.Now());
  if (!row.ok()) return row;
  // The default parameter and subnet groups unless the request names others; the source's
  // option group while it exists (RDS keeps a snapshot's options).
  nlohmann::json groups_req = req;
  const auto& memberships = source.attrs.value("OptionGroupMemberships", nlohmann::json::array());
  if (!ReqString(req, "OptionGroupName") && !memberships.empty() &&
      reg.FindGroup("option", ScopeOf(req), memberships[0].value("OptionGroupName", ""))) {
    groups_req["OptionGroupName"] = memberships[0].value("OptionGroupName", "");
  }
  const std::string version = row->attrs.value("EngineVersion", "");
  LOCALRDS_RETURN_IF_ERROR(
      TakeGroups(reg, groups_req, ScopeOf(req), version.substr(0, version.find('.')), row->attrs));
  PlaceInSubnetGroup(row->resource_id, row->attrs);
  // An outage drill: a zone that is out has no capacity; the snapshot's zone moves to one up.
  const Scope scope = ScopeOf(req);
  auto az = ReqString(req, "AvailabilityZone");
  if (az && registry_.outages().ZoneOut(scope.region, *az)) return ZoneOutError(*az);
  PlaceInZonesUp(registry_.outages(), scope.region, row->attrs, az.has_value());
  return row;
}

Result<Accepted> SnapshotService::RestoreDBInstanceFromDBSnapshot(const nlohmann::json& req) {
  auto snap_id = ReqString(req, "DBSnapshotIdentifier");
  if (!snap_id) {
    return Status::Error(AwsError::kMissingParameter,
                         "The request must contain the parameter DBSnapshotIdentifier.");
  }
  Registry::Locked reg = registry_.Lock();
  auto snap = reg.FindReadableSnapshot(ScopeOf(req), *snap_id);  // or one shared with it
  if (!snap.ok()) return snap.status();
  if (snap->status != "available") {
    return Status::Error(
        AwsError::kInvalidDBSnapshotState,
        "Snapshot " + snap->identifier + " is not available (it is " + snap->status + ").");
  }
  InstanceRow source;
  source.attrs = snap->attrs.value("_instance", nlohmann::json::object());
  source.password_verifier = snap->attrs.value("_password_verifier", "");
  source.port = snap->attrs.value("_instance_port", config_.default_port);
  auto row =
      NewRestoredInstance(reg, req, ReqString(req, "DBInstanceIdentifier").value_or(""), source);
  if (!row.ok()) return row.status();
  nlohmann::json params = {{"base_snapshot_id", snap->id},
                           {"restored_from_snapshot", snap->identifier}};
  std::vector<SnapshotRow> snapshots;
  if (row->attrs.value("BackupRetentionPeriod", 0) > 0) {
    snapshots.push_back(reg.NewAutomatedSnapshot(*row));
    params["snapshot_id"] = snapshots.back().id;
  }
  return starter_.Start(reg, *row, OpKind::kRestore, params, {}, snapshots);
}

}  // namespace localrds
