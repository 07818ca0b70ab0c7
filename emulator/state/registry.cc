#include "emulator/state/registry.h"

#include <openssl/rand.h>

#include <algorithm>
#include <atomic>

#include "common/log.h"
#include "common/time_util.h"
#include "emulator/core/arn.h"
#include "emulator/core/instance_state.h"
#include "emulator/core/quotas.h"
#include "emulator/core/request.h"
#include "emulator/core/validation.h"
#include "emulator/postgres/backup_files.h"

namespace localrds {
namespace {

// The lower-cased identifier `name` gives in `scope`: `name` itself, or the identifier of an ARN
// of `type` that names `scope` (nullopt for an ARN of another account or region: a request never
// reaches beyond its own scope by naming an ARN).
std::optional<std::string> IdentifierIn(const Scope& scope, const std::string& name,
                                        const char* type) {
  if (name.rfind("arn:", 0) != 0) return ToLower(name);
  auto arn = ParseArn(name);
  if (!arn || arn->type != type || arn->scope != scope) return std::nullopt;
  return ToLower(arn->name);
}
}  // namespace

std::string NewResourceId() {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  unsigned char buf[26];
  RAND_bytes(buf, sizeof buf);
  std::string id = "db-";
  for (unsigned char b : buf) id += kAlphabet[b % 32];
  return id;
}

std::string NewSnapshotId() {
  static std::atomic<uint64_t> counter{0};
  return "snap-" + std::to_string(NowMs()) + "-" + std::to_string(counter.fetch_add(1));
}

Registry::Registry(Catalog& catalog, const Layout& layout, const Clock& clock,
                   RegistryConfig config)
    : catalog_(catalog),
      layout_(layout),
      clock_(clock),
      config_(std::move(config)),
      outages_(layout.OutagesPath()) {}

Status Registry::Load() {
  LOCALRDS_RETURN_IF_ERROR(outages_.Load());
  auto instances = catalog_.LoadInstances();
  if (!instances.ok()) return instances.status();
  auto snapshots = catalog_.LoadSnapshots();
  if (!snapshots.ok()) return snapshots.status();
  auto retained = catalog_.LoadRetainedBackups();
  if (!retained.ok()) return retained.status();
  auto groups = catalog_.LoadGroups();
  if (!groups.ok()) return groups.status();
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& row : *instances) instances_[row.resource_id] = std::move(row);
  for (auto& snap : *snapshots) snapshots_[snap.id] = std::move(snap);
  for (auto& r : *retained) retained_[r.resource_id] = std::move(r);
  for (auto& g : *groups) groups_[KeyOf(g)] = std::move(g);
  // Rendered once every row is in: a replica and its source show each other.
  Locked view(*this, Locked::Borrowed{});
  for (const auto& [rid, row] : instances_) {
    rendered_[rid] = std::make_shared<const nlohmann::json>(view.RenderInstance(row));
  }
  std::set<std::string> with_backups;
  for (const auto& [id, snap] : snapshots_) with_backups.insert(snap.dbi_resource_id);
  for (const auto& rid : with_backups) RefreshRestoreWindowLocked(rid);
  return Status::Ok();
}

// --- commits ------------------------------------------------------------------------------

Status Registry::Commit(Mutation m) {
  Locked view = Lock();
  // Rows staged outside the lock (operation steps, background loops) may predate a change of
  // the instance's own timing profile, which only the timing control makes (in the lock): they
  // keep the live one, so that a running step never undoes the control.
  for (auto& row : m.put) {
    auto it = instances_.find(row.resource_id);
    if (it != instances_.end()) SetInstanceTiming(row.attrs, InstanceTiming(it->second));
  }
  return view.Commit(m);
}

Status Registry::Locked::Commit(Mutation& m, int64_t* new_op_id) {
  Registry& r = *r_;
  int64_t op_id = 0;
  Status st = r.catalog_.Transact([&](CatalogTxn& txn) -> Status {
    for (const auto& row : m.put) LOCALRDS_RETURN_IF_ERROR(txn.PutInstance(row));
    for (const auto& rid : m.remove) LOCALRDS_RETURN_IF_ERROR(txn.DeleteInstance(rid));
    for (const auto& e : m.events) LOCALRDS_RETURN_IF_ERROR(txn.InsertEvent(e));
    for (const auto& snap : m.put_snapshots) LOCALRDS_RETURN_IF_ERROR(txn.PutSnapshot(snap));
    for (const auto& id : m.remove_snapshots) LOCALRDS_RETURN_IF_ERROR(txn.DeleteSnapshot(id));
    for (const auto& ret : m.put_retained) LOCALRDS_RETURN_IF_ERROR(txn.PutRetainedBackup(ret));
    for (const auto& rid : m.remove_retained) {
      LOCALRDS_RETURN_IF_ERROR(txn.DeleteRetainedBackup(rid));
    }
    for (const auto& g : m.put_groups) LOCALRDS_RETURN_IF_ERROR(txn.PutGroup(g));
    for (const auto& k : m.remove_groups) {
      LOCALRDS_RETURN_IF_ERROR(txn.DeleteGroup(k.kind, k.scope, k.name));
    }
    if (m.new_operation) {
      auto id = txn.InsertOperation(*m.new_operation);
      if (!id.ok()) return id.status();
      op_id = *id;
    }
    if (m.op_update) {
      LOCALRDS_RETURN_IF_ERROR(txn.UpdateOperation(m.op_update->id, m.op_update->step,
                                                   m.op_update->state, m.op_update->error));
    }
    return Status::Ok();
  });
  if (!st.ok()) return st;
  for (const auto& g : m.put_groups) r.groups_[KeyOf(g)] = g;
  for (const auto& k : m.remove_groups) r.groups_.erase(k);
  std::set<std::string> changed, old_sources;
  auto note_source = [&](const InstanceRow& row) {
    if (auto src = ReplicaSource(row)) old_sources.insert(*src);
  };
  for (auto& row : m.put) {
    auto old = r.instances_.find(row.resource_id);
    if (old != r.instances_.end()) note_source(old->second);
    r.instances_[row.resource_id] = row;
    changed.insert(row.resource_id);
  }
  for (const auto& rid : m.remove) {
    auto old = r.instances_.find(rid);
    if (old != r.instances_.end()) note_source(old->second);
    r.instances_.erase(rid);
    r.rendered_.erase(rid);
    changed.insert(rid);
  }
  for (const auto& row : m.put) {
    r.rendered_[row.resource_id] = std::make_shared<const nlohmann::json>(RenderInstance(row));
  }
  if (!changed.empty()) r.RerenderRelativesLocked(changed, old_sources);
  std::set<std::string> windows;  // instances whose restorable window may have moved
  for (const auto& snap : m.put_snapshots) {
    r.snapshots_[snap.id] = snap;
    windows.insert(snap.dbi_resource_id);
  }
  for (const auto& id : m.remove_snapshots) {
    auto it = r.snapshots_.find(id);
    if (it == r.snapshots_.end()) continue;
    windows.insert(it->second.dbi_resource_id);
    r.snapshots_.erase(it);
  }
  for (const auto& rid : windows) r.RefreshRestoreWindowLocked(rid);
  std::set<std::string> replicated;  // sources whose backup replications changed
  for (const auto& ret : m.put_retained) {
    if (!ReplicatedFrom(ret.instance).empty()) replicated.insert(ReplicatedFrom(ret.instance));
    r.retained_[ret.resource_id] = ret;
  }
  for (const auto& rid : m.remove_retained) {
    auto it = r.retained_.find(rid);
    if (it == r.retained_.end()) continue;
    if (!ReplicatedFrom(it->second.instance).empty()) {
      replicated.insert(ReplicatedFrom(it->second.instance));
    }
    r.retained_.erase(it);
  }
  for (const auto& rid : replicated) {
    auto it = r.instances_.find(rid);
    if (it != r.instances_.end()) {
      r.rendered_[rid] = std::make_shared<const nlohmann::json>(RenderInstance(it->second));
    }
  }
  for (const auto& e : m.events) {
    LogLine("event") << e.source_identifier << " " << (e.event_id.empty() ? "-" : e.event_id) << " "
                     << e.message;
  }
  if (m.new_operation) {
    r.active_ops_[m.new_operation->resource_id] = op_id;
    m.new_operation->id = op_id;
  }
  if (m.op_update && m.op_update->state != "running") {
    for (auto it = r.active_ops_.begin(); it != r.active_ops_.end(); ++it) {
      if (it->second == m.op_update->id) {
        r.pending_renames_.erase(it->first);
        r.active_ops_.erase(it);
        break;
      }
    }
  }
  if (new_op_id) *new_op_id = op_id;
  return Status::Ok();
}

void Registry::Locked::Clear() {
  r_->instances_.clear();
  r_->snapshots_.clear();
  r_->retained_.clear();
  r_->groups_.clear();
  r_->rendered_.clear();
  r_->active_ops_.clear();
  r_->pending_renames_.clear();
}

// --- lookups ------------------------------------------------------------------------------

Result<InstanceRow> Registry::Locked::Find(const Scope& scope,
                                           const std::string& identifier) const {
  if (auto id = IdentifierIn(scope, identifier, "db")) {
    for (const auto& [rid, row] : r_->instances_) {
      if (row.identifier == *id && row.scope == scope) return row;
    }
  }
  return Status::Error(AwsError::kDBInstanceNotFound, "DBInstance " + identifier + " not found.");
}

bool Registry::Locked::IdentifierTaken(const Scope& scope, const std::string& identifier) const {
  for (const auto& [rid, other] : r_->instances_) {
    if (other.identifier == identifier && other.scope == scope) return true;
  }
  for (const auto& [rid, target] : r_->pending_renames_) {
    auto it = r_->instances_.find(rid);
    if (target == identifier && it != r_->instances_.end() && it->second.scope == scope) {
      return true;
    }
  }
  return false;
}

Status Registry::Locked::CheckIdle(const InstanceRow& row) const {
  if (r_->active_ops_.count(row.resource_id)) {
    // An operation can go on after the instance shows available again (a Multi-AZ failover
    // serves the endpoint, then replaces its standby): say so rather than "is available; wait
    // until it is available".
    if (row.status == DbStatus::kAvailable) {
      return Status::Error(AwsError::kInvalidDBInstanceState,
                           "Instance " + row.identifier +
                               " is available, but an operation on it (such as replacing its "
                               "Multi-AZ standby) has not ended; wait until it ends and try "
                               "again.");
    }
    return Status::Error(AwsError::kInvalidDBInstanceState,
                         "Instance " + row.identifier + " is currently " + row.status +
                             "; wait until it is available and try again.");
  }
  return Status::Ok();
}

Result<SnapshotRow> Registry::Locked::FindSnapshot(const Scope& scope,
                                                   const std::string& identifier) const {
  if (auto id = IdentifierIn(scope, identifier, "snapshot")) {
    for (const auto& [sid, snap] : r_->snapshots_) {
      if (snap.identifier == *id && snap.scope == scope) return snap;
    }
  }
  return Status::Error(AwsError::kDBSnapshotNotFound, "DBSnapshot " + identifier + " not found.");
}

std::vector<const RetainedBackupRow*> Registry::Locked::BackupReplicationsOf(
    const std::string& source_resource_id) const {
  std::vector<const RetainedBackupRow*> out;
  for (const auto& [key, ret] : r_->retained_) {
    if (ReplicatedFrom(ret.instance) == source_resource_id &&
        BackupReplicationStatus(ret.instance) != "retained") {
      out.push_back(&ret);
    }
  }
  return out;
}

Result<SnapshotRow> Registry::Locked::FindReadableSnapshot(const Scope& caller,
                                                           const std::string& identifier) const {
  auto own = FindSnapshot(caller, identifier);
  if (own.ok()) return own;
  auto arn = ParseArn(identifier);
  if (!arn || arn->type != "snapshot" || arn->scope.account == caller.account ||
      arn->scope.region != caller.region) {
    return own;
  }
  auto theirs = FindSnapshot(arn->scope, identifier);
  if (!theirs.ok() || theirs->type != "manual" || !IsSharedWith(*theirs, caller.account)) {
    return own;
  }
  return theirs;
}

bool Registry::Locked::SnapshotIdentifierTaken(const Scope& scope,
                                               const std::string& identifier) const {
  return std::any_of(r_->snapshots_.begin(), r_->snapshots_.end(), [&](const auto& kv) {
    return kv.second.identifier == identifier && kv.second.scope == scope;
  });
}

SnapshotRow Registry::Locked::NewAutomatedSnapshot(const InstanceRow& row) const {
  const std::string stamp = FormatIso8601(r_->Now(), false);  // 2026-11-25T10:00:00Z
  const std::string name = "rds:" + row.identifier + "-" + stamp.substr(0, 10) + "-" +
                           stamp.substr(11, 2) + "-" + stamp.substr(14, 2);
  std::string unique = name;
  for (int i = 2; SnapshotIdentifierTaken(row.scope, unique); ++i) {
    unique = name + "-" + std::to_string(i);
  }
  SnapshotRow snap = r_->NewSnapshotRow(row, unique, "automated", "creating");
  snap.attrs["_op_resource"] = row.resource_id;
  return snap;
}

Result<SnapshotRow> Registry::Locked::NewManualSnapshot(const InstanceRow& row, const char* param,
                                                        const std::string& identifier,
                                                        const nlohmann::json& tags) const {
  LOCALRDS_RETURN_IF_ERROR(ValidateSnapshotIdentifier(param, identifier));
  const std::string id = ToLower(identifier);
  if (SnapshotIdentifierTaken(row.scope, id)) {
    return Status::Error(AwsError::kDBSnapshotAlreadyExists,
                         "Cannot create the snapshot because a snapshot with the identifier " + id +
                             " already exists.");
  }
  int manual = 0;
  for (const auto& [sid, snap] : r_->snapshots_) {
    manual += snap.type == "manual" && snap.scope == row.scope;
  }
  if (manual >= kManualSnapshotQuota) {
    return Status::Error(
        AwsError::kSnapshotQuotaExceeded,
        "Cannot create more than " + std::to_string(kManualSnapshotQuota) + " manual snapshots");
  }
  SnapshotRow snap = r_->NewSnapshotRow(row, id, "manual", "creating");
  snap.attrs["_op_resource"] = row.resource_id;
  nlohmann::json list = tags.is_array() ? tags : nlohmann::json::array();
  if (list.empty() && row.attrs.value("CopyTagsToSnapshot", false)) {
    list = row.attrs.value("TagList", nlohmann::json::array());
  }
  snap.attrs["TagList"] = list;
  return snap;
}

std::vector<const InstanceRow*> Registry::Locked::ReplicasOf(
    const std::string& source_resource_id) const {
  std::vector<const InstanceRow*> out;
  for (const auto& [rid, row] : r_->instances_) {
    if (ReplicaSource(row) == source_resource_id) out.push_back(&row);
  }
  return out;
}

int Registry::Locked::ReplicaDepth(const InstanceRow& row) const {
  int depth = 0;
  const InstanceRow* at = &row;
  while (depth < 16) {
    auto src = ReplicaSource(*at);
    if (!src) break;
    ++depth;
    auto it = r_->instances_.find(*src);
    if (it == r_->instances_.end()) break;
    at = &it->second;
  }
  return depth;
}

std::shared_ptr<const nlohmann::json> Registry::Locked::Rendered(
    const std::string& resource_id) const {
  auto it = r_->rendered_.find(resource_id);
  return it == r_->rendered_.end() ? nullptr : it->second;
}

std::optional<RestoreWindow> Registry::Locked::Window(const std::string& dbi_resource_id) const {
  auto it = r_->restorable_.find(dbi_resource_id);
  if (it == r_->restorable_.end()) return std::nullopt;
  return it->second;
}

std::optional<InstanceRow> Registry::GetInstance(const std::string& resource_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = instances_.find(resource_id);
  if (it == instances_.end()) return std::nullopt;
  return it->second;
}

std::optional<SnapshotRow> Registry::GetSnapshot(const std::string& snapshot_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = snapshots_.find(snapshot_id);
  if (it == snapshots_.end()) return std::nullopt;
  return it->second;
}

const GroupRow* Registry::Locked::FindGroup(const std::string& kind, const Scope& scope,
                                            const std::string& name) const {
  auto it = r_->groups_.find({kind, scope, ToLower(name)});
  return it == r_->groups_.end() ? nullptr : &it->second;
}

std::vector<const GroupRow*> Registry::Locked::GroupsIn(const std::string& kind,
                                                        const Scope& scope) const {
  std::vector<const GroupRow*> out;
  for (auto it = r_->groups_.lower_bound({kind, scope, ""});
       it != r_->groups_.end() && it->first.kind == kind && it->first.scope == scope; ++it) {
    out.push_back(&it->second);
  }
  return out;
}

std::optional<GroupRow> Registry::GetGroup(const std::string& kind, const Scope& scope,
                                           const std::string& name) {
  Locked view = Lock();
  const GroupRow* g = view.FindGroup(kind, scope, name);
  if (!g) return std::nullopt;
  return *g;
}

std::vector<GroupRow> Registry::Groups(const std::string& kind) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<GroupRow> out;
  for (const auto& [key, g] : groups_) {
    if (key.kind == kind) out.push_back(g);
  }
  return out;
}

std::vector<InstanceRow> Registry::Instances() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<InstanceRow> out;
  for (const auto& [rid, row] : instances_) out.push_back(row);
  return out;
}

std::vector<InstanceRow> Registry::IdleInstances() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<InstanceRow> out;
  for (const auto& [rid, row] : instances_) {
    if (!active_ops_.count(rid)) out.push_back(row);
  }
  return out;
}

bool Registry::Busy(const std::string& resource_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  return active_ops_.count(resource_id) > 0;
}

std::vector<InstanceRow> Registry::ReplicasOf(const std::string& source_resource_id) {
  Locked view = Lock();
  std::vector<InstanceRow> out;
  for (const InstanceRow* row : view.ReplicasOf(source_resource_id)) out.push_back(*row);
  return out;
}

bool Registry::ResourceExists(const std::string& resource_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  return instances_.count(resource_id) > 0 || snapshots_.count(resource_id) > 0;
}

std::vector<SnapshotRow> Registry::AutomatedSnapshotsOf(const std::string& dbi_resource_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<SnapshotRow> out;
  for (const auto& [id, snap] : snapshots_) {
    if (snap.type == "automated" && snap.dbi_resource_id == dbi_resource_id) out.push_back(snap);
  }
  std::sort(out.begin(), out.end(),
            [](const SnapshotRow& a, const SnapshotRow& b) { return a.created_ms < b.created_ms; });
  return out;
}

std::optional<RestoreWindow> Registry::Window(const std::string& dbi_resource_id) {
  return Lock().Window(dbi_resource_id);
}

// --- restore windows ------------------------------------------------------------------------

void Registry::RefreshRestoreWindowLocked(const std::string& dbi_resource_id) {
  int64_t earliest = 0, newest_base = 0;
  for (const auto& [id, snap] : snapshots_) {
    if (snap.type != "automated" || snap.dbi_resource_id != dbi_resource_id ||
        snap.status != "available") {
      continue;
    }
    int64_t consistent = snap.attrs.value("_consistent_ms", snap.created_ms);
    if (earliest == 0 || consistent < earliest) earliest = consistent;
    newest_base = std::max(newest_base, consistent);
  }
  if (earliest == 0) {
    restorable_.erase(dbi_resource_id);
  } else {
    // The archive's restorable-until file is read once (or again after RestorableUntilChanged);
    // from then on the WAL shipper keeps the value here, so commits do no file I/O.
    auto live = restorable_until_.find(dbi_resource_id);
    if (live == restorable_until_.end()) {
      live = restorable_until_
                 .emplace(dbi_resource_id,
                          backup_files::ReadRestorableUntil(layout_.ArchiveDir(dbi_resource_id))
                              .value_or(0))
                 .first;
    }
    restorable_[dbi_resource_id] = {earliest, std::max(newest_base, live->second)};
  }
  auto it = instances_.find(dbi_resource_id);
  if (it != instances_.end()) {
    Locked view(*this, Locked::Borrowed{});
    rendered_[dbi_resource_id] =
        std::make_shared<const nlohmann::json>(view.RenderInstance(it->second));
  }
}

void Registry::AdvanceRestorableUntil(const std::string& resource_id, int64_t until_ms,
                                      bool persist) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    int64_t& current = restorable_until_[resource_id];
    if (until_ms <= current) return;
    current = until_ms;
    RefreshRestoreWindowLocked(resource_id);
  }
  // Outside the lock (only the WAL shipper advances, one call at a time).
  if (persist) {
    LogIfFailed(backup_files::WriteRestorableUntil(layout_.ArchiveDir(resource_id), until_ms),
                "wal", "cannot record the restorable time of " + resource_id);
  }
}

void Registry::RestorableUntilChanged(const std::string& resource_id) {
  const int64_t from_file =
      backup_files::ReadRestorableUntil(layout_.ArchiveDir(resource_id)).value_or(0);
  std::lock_guard<std::mutex> lock(mutex_);
  restorable_until_[resource_id] = from_file;  // the file is newer
  RefreshRestoreWindowLocked(resource_id);
}

void Registry::RerenderRelativesLocked(const std::set<std::string>& changed,
                                       const std::set<std::string>& old_sources) {
  std::set<std::string> relatives = old_sources;
  for (const auto& [rid, row] : instances_) {
    const std::string source = ReplicaSource(row).value_or("");
    if (changed.count(rid) && !source.empty()) relatives.insert(source);
    if (!changed.count(rid) && changed.count(source)) relatives.insert(rid);
  }
  Locked view(*this, Locked::Borrowed{});
  for (const auto& rid : relatives) {
    auto it = instances_.find(rid);
    if (it != instances_.end()) {
      rendered_[rid] = std::make_shared<const nlohmann::json>(view.RenderInstance(it->second));
    }
  }
}

// --- ARNs, events, rendering -----------------------------------------------------------------

std::string Registry::InstanceArn(const Scope& scope, const std::string& identifier) {
  return MakeArn(scope, "db", identifier);
}

std::string Registry::SnapshotArn(const Scope& scope, const std::string& identifier) {
  return MakeArn(scope, "snapshot", identifier);
}

std::string Registry::AutomatedBackupsArn(const Scope& scope, const std::string& dbi_resource_id) {
  return MakeArn(scope, "auto-backup", "ab-" + ToLower(dbi_resource_id.substr(3)));
}

EventRow Registry::MakeEvent(const InstanceRow& row, const EventSpec& spec,
                             const std::string& message_override) const {
  return MakeEventFor(row.scope, "db-instance", row.identifier,
                      InstanceArn(row.scope, row.identifier), spec, message_override);
}

EventRow Registry::MakeSnapshotEvent(const SnapshotRow& snap, const EventSpec& spec,
                                     const std::string& message_override) const {
  return MakeEventFor(snap.scope, "db-snapshot", snap.identifier,
                      SnapshotArn(snap.scope, snap.identifier), spec, message_override);
}

EventRow Registry::MakeEventFor(const Scope& scope, const std::string& source_type,
                                const std::string& identifier, const std::string& arn,
                                const EventSpec& spec, const std::string& message_override) const {
  EventRow e;
  e.scope = scope;
  e.date_ms = Now();
  e.source_type = source_type;
  e.source_identifier = identifier;
  e.source_arn = arn;
  e.event_id = spec.id;
  e.message = message_override.empty() ? spec.message : message_override;
  e.categories = {spec.category};
  return e;
}

SnapshotRow Registry::NewSnapshotRow(const InstanceRow& row, const std::string& identifier,
                                     const std::string& type, const std::string& status) const {
  SnapshotRow snap;
  snap.id = NewSnapshotId();
  snap.scope = row.scope;
  snap.identifier = identifier;
  snap.type = type;
  snap.status = status;
  snap.dbi_resource_id = row.resource_id;
  snap.created_ms = Now();
  nlohmann::json& a = snap.attrs;
  a = nlohmann::json::object();
  a["DBInstanceIdentifier"] = row.identifier;
  a["PercentProgress"] = 0;
  // What a restore needs to rebuild the instance: its fields and its master password verifier.
  a["_instance"] = row.attrs;
  a["_password_verifier"] = row.password_verifier;
  a["_instance_port"] = row.port;
  a["_instance_created_ms"] = row.created_ms;
  return snap;
}

}  // namespace localrds
