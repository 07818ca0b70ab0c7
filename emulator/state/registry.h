// Registry: the in-memory view of the catalog, and the one place it changes.
//
// It holds every instance, snapshot and retained backup, the operation running for each
// resource, the identifiers running renames reserve, the restorable window of every instance's
// automated backups, and the rendered DBInstance of every instance (so that a describe copies
// nothing). Commit writes a Mutation in one catalog transaction, then applies it to the view
// and re-renders what it changed (an instance, and the sources and replicas that show it).
//
// Thread-safety: one mutex guards all of it. A caller that checks and then changes (an action:
// "is it idle? then start an operation") holds a Registry::Locked for the whole time; the plain
// getters lock by themselves. While holding it, code only touches the view, renders, writes the
// catalog (SQLite) and the small restorable-until file, submits operations and takes leaf locks
// (the lock order is in emulator/service/control_plane.h); it never calls the PostgreSQL runtime
// and never waits for an operation. The catalog and the layout are borrowed and must outlive
// the registry.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "emulator/core/events.h"
#include "emulator/core/timing.h"
#include "emulator/state/outages.h"
#include "storage/catalog.h"
#include "storage/layout.h"

namespace localrds {

//! Names a GroupRow: (kind, scope, lower-cased name).
struct GroupKey {
  std::string kind;
  Scope scope;
  std::string name;
  auto operator<=>(const GroupKey&) const = default;
  bool operator==(const GroupKey&) const = default;
};
inline GroupKey KeyOf(const GroupRow& g) { return {g.kind, g.scope, g.name}; }

//! A set of changes committed in one catalog transaction and then applied to the view.
struct Mutation {
  std::vector<InstanceRow> put;
  std::vector<std::string> remove;  //!< resource ids
  std::vector<EventRow> events;
  std::vector<SnapshotRow> put_snapshots;
  std::vector<std::string> remove_snapshots;  //!< snapshot ids
  std::vector<RetainedBackupRow> put_retained;
  std::vector<std::string> remove_retained;  //!< resource ids
  std::vector<GroupRow> put_groups;
  std::vector<GroupKey> remove_groups;
  std::optional<OperationRow> new_operation;
  struct OpUpdate {
    int64_t id;
    int step;
    std::string state;
    std::string error;
  };
  std::optional<OpUpdate> op_update;
};

//! What ARNs, endpoints and events need to know of where localrds runs.
struct RegistryConfig {
  //! --region and --account-id: the scope of a request that names none.
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  std::string endpoint_address = "127.0.0.1";  //!< Endpoint.Address reported to clients
  //! The server's timing profile (--timing): instances without their own follow it.
  TimingProfile timing;
};

//! (EarliestRestorableTime, LatestRestorableTime) of an instance's automated backups, in ms.
using RestoreWindow = std::pair<int64_t, int64_t>;

class Registry {
 public:
  //! An empty view of `catalog`; Load fills it. `clock` dates what the registry records.
  Registry(Catalog& catalog, const Layout& layout, const Clock& clock, RegistryConfig config);
  //! Loads every row of the catalog and the outages (once, at startup, before anything else uses
  //! the registry).
  Status Load();

  //! The view while the registry's mutex is held (see the header comment). Move-only; the lock
  //! is released when it goes out of scope.
  class Locked {
   public:
    std::map<std::string, InstanceRow>& instances() { return r_->instances_; }
    std::map<std::string, SnapshotRow>& snapshots() { return r_->snapshots_; }
    std::map<std::string, RetainedBackupRow>& retained() { return r_->retained_; }
    std::map<GroupKey, GroupRow>& groups() { return r_->groups_; }
    //! The group of `kind` named `name` (case-insensitive) in `scope`; null when there is none.
    const GroupRow* FindGroup(const std::string& kind, const Scope& scope,
                              const std::string& name) const;
    //! Every group of `kind` in `scope`, by name.
    std::vector<const GroupRow*> GroupsIn(const std::string& kind, const Scope& scope) const;
    //! resource id → the operation running for it.
    std::map<std::string, int64_t>& active_ops() { return r_->active_ops_; }
    //! resource id → the identifier a running rename will give it (reserved until it ends).
    std::map<std::string, std::string>& pending_renames() { return r_->pending_renames_; }

    //! Writes `m` in one catalog transaction and applies it; the id of a new operation goes to
    //! `new_op_id` (and `m.new_operation->id`).
    Status Commit(Mutation& m, int64_t* new_op_id = nullptr);
    //! Forgets everything (the catalog was emptied: a reset).
    void Clear();
    //! A live instance of `scope` by identifier (case-insensitive) or by ARN (which must name
    //! `scope`); DBInstanceNotFound otherwise.
    Result<InstanceRow> Find(const Scope& scope, const std::string& identifier) const;
    //! True when an instance of `scope` has `identifier`, or a running rename is taking it.
    bool IdentifierTaken(const Scope& scope, const std::string& identifier) const;
    //! InvalidDBInstanceState while an operation runs for the instance.
    Status CheckIdle(const InstanceRow& row) const;
    //! A snapshot of `scope` by identifier or ARN (case-insensitive; an ARN must name `scope`);
    //! DBSnapshotNotFound otherwise.
    Result<SnapshotRow> FindSnapshot(const Scope& scope, const std::string& identifier) const;
    //! What `caller` may copy or restore: its own snapshot (FindSnapshot), or one of another
    //! account in its region, named by ARN, shared with it or public. DBSnapshotNotFound for
    //! one that is not shared with it, as for one that does not exist.
    Result<SnapshotRow> FindReadableSnapshot(const Scope& caller,
                                             const std::string& identifier) const;
    bool SnapshotIdentifierTaken(const Scope& scope, const std::string& identifier) const;
    //! A new automated snapshot row (status "creating") of `row`, named
    //! rds:<id>-YYYY-MM-DD-HH-MM (with a suffix when that is taken).
    SnapshotRow NewAutomatedSnapshot(const InstanceRow& row) const;
    //! Validates a manual snapshot identifier (`param` names it in errors), checks it is free
    //! in `row`'s scope and within the quota there, and returns a new "creating" snapshot row of
    //! `row`.
    Result<SnapshotRow> NewManualSnapshot(const InstanceRow& row, const char* param,
                                          const std::string& identifier,
                                          const nlohmann::json& tags) const;
    //! The read replicas whose source is `source_resource_id`, in resource id order.
    std::vector<const InstanceRow*> ReplicasOf(const std::string& source_resource_id) const;
    //! The replicated automated backups (in other regions) of the live instance
    //! `source_resource_id` that are still replicating ("pending" or "replicating").
    std::vector<const RetainedBackupRow*> BackupReplicationsOf(
        const std::string& source_resource_id) const;
    //! How many replicas stand between `row` and a writable primary (0 for a primary).
    int ReplicaDepth(const InstanceRow& row) const;
    //! The DBInstance shape of `row` as it is now (replication from the live rows).
    nlohmann::json RenderInstance(const InstanceRow& row) const;
    //! Every instance's rendering, by resource id.
    const std::map<std::string, std::shared_ptr<const nlohmann::json>>& rendered() const {
      return r_->rendered_;
    }
    //! The rendering Commit keeps for an instance (null when there is none).
    std::shared_ptr<const nlohmann::json> Rendered(const std::string& resource_id) const;
    //! The DBInstanceAutomatedBackup shape of `row`'s automated backups.
    nlohmann::json RenderAutomatedBackup(const InstanceRow& row, const std::string& status) const;
    //! DBInstanceAutomatedBackupsReplications of an instance: the ARNs of its replicating copies.
    nlohmann::json BackupReplications(const std::string& source_resource_id) const;
    std::optional<RestoreWindow> Window(const std::string& dbi_resource_id) const;

   private:
    friend class Registry;
    explicit Locked(Registry& r) : r_(&r), lock_(r.mutex_) {}
    //! A view for the registry's own code that already holds the mutex (does not unlock).
    struct Borrowed {};
    Locked(Registry& r, Borrowed) : r_(&r) {}
    Registry* r_;
    std::unique_lock<std::mutex> lock_;
  };
  Locked Lock() { return Locked(*this); }

  // Each of these takes the lock.
  //! Commits `m`; its instance rows keep the live row's own timing profile (they may have been
  //! read before the timing control changed it).
  Status Commit(Mutation m);
  std::optional<InstanceRow> GetInstance(const std::string& resource_id);
  std::optional<SnapshotRow> GetSnapshot(const std::string& snapshot_id);
  std::optional<GroupRow> GetGroup(const std::string& kind, const Scope& scope,
                                   const std::string& name);
  //! Every group of `kind` in every scope, copied.
  std::vector<GroupRow> Groups(const std::string& kind);
  //! Every instance, copied.
  std::vector<InstanceRow> Instances();
  //! The instances no operation runs for, copied.
  std::vector<InstanceRow> IdleInstances();
  //! True while an operation runs for the resource.
  bool Busy(const std::string& resource_id);
  std::vector<InstanceRow> ReplicasOf(const std::string& source_resource_id);
  //! True when an instance or a snapshot has this resource id.
  bool ResourceExists(const std::string& resource_id);
  //! The automated snapshots of an instance (live or deleted), oldest first.
  std::vector<SnapshotRow> AutomatedSnapshotsOf(const std::string& dbi_resource_id);
  std::optional<RestoreWindow> Window(const std::string& dbi_resource_id);
  //! Moves LatestRestorableTime forward (never back); `persist` also writes the archive's file.
  void AdvanceRestorableUntil(const std::string& resource_id, int64_t until_ms, bool persist);
  //! Re-reads an archive's restorable-until file (written by a clean stop) into the window.
  void RestorableUntilChanged(const std::string& resource_id);

  //! The Regions and zones in an outage drill (thread-safe on its own; no registry lock needed).
  Outages& outages() { return outages_; }
  const Outages& outages() const { return outages_; }

  // No lock: ARNs and events only need the configuration.
  const RegistryConfig& config() const { return config_; }
  //! The scope of a request that names none (--account-id, --region).
  Scope DefaultScope() const { return {config_.account_id, config_.region}; }
  //! Now, on localrds' clock: the date of every instance, snapshot, event and stop it records.
  int64_t Now() const { return clock_.NowMs(); }
  static std::string InstanceArn(const Scope& scope, const std::string& identifier);
  static std::string SnapshotArn(const Scope& scope, const std::string& identifier);
  //! DBInstanceAutomatedBackupsArn of the instance with `dbi_resource_id`.
  static std::string AutomatedBackupsArn(const Scope& scope, const std::string& dbi_resource_id);
  EventRow MakeEvent(const InstanceRow& row, const EventSpec& spec,
                     const std::string& message_override = "") const;
  EventRow MakeSnapshotEvent(const SnapshotRow& snap, const EventSpec& spec,
                             const std::string& message_override = "") const;
  //! The DBSnapshot shape of `row`.
  nlohmann::json RenderSnapshot(const SnapshotRow& row) const;
  //! A snapshot row in `status` describing `row` (the instance it is taken from).
  SnapshotRow NewSnapshotRow(const InstanceRow& row, const std::string& identifier,
                             const std::string& type, const std::string& status) const;

 private:
  //! Recomputes an instance's restorable window and re-renders it (after backups change).
  void RefreshRestoreWindowLocked(const std::string& dbi_resource_id);
  //! Re-renders the instances whose rendering shows one of `changed` (as source or replica);
  //! `old_sources` are sources they had before the commit.
  void RerenderRelativesLocked(const std::set<std::string>& changed,
                               const std::set<std::string>& old_sources);
  EventRow MakeEventFor(const Scope& scope, const std::string& source_type,
                        const std::string& identifier, const std::string& arn,
                        const EventSpec& spec, const std::string& message_override) const;

  Catalog& catalog_;
  const Layout& layout_;
  const Clock& clock_;
  const RegistryConfig config_;
  Outages outages_;  //!< guarded by its own (leaf) mutex

  std::mutex mutex_;  //!< guards every field below (and orders catalog writes)
  std::map<std::string, InstanceRow> instances_;       //!< by resource id
  std::map<std::string, SnapshotRow> snapshots_;       //!< by snapshot id
  std::map<std::string, RetainedBackupRow> retained_;  //!< by the deleted instance's resource id
  std::map<GroupKey, GroupRow> groups_;
  std::map<std::string, int64_t> active_ops_;           //!< resource id → running operation
  std::map<std::string, std::string> pending_renames_;  //!< resource id → its new identifier
  //! RenderInstance of every instance, refreshed whenever it is committed.
  std::map<std::string, std::shared_ptr<const nlohmann::json>> rendered_;
  std::map<std::string, RestoreWindow> restorable_;  //!< by DbiResourceId
  //! Newest time every commit of an instance is archived by (ms), also kept in its archive.
  std::map<std::string, int64_t> restorable_until_;
};

//! A new DbiResourceId ("db-" and 26 random base32 characters): names an instance's directories.
std::string NewResourceId();
//! A new snapshot id ("snap-<ms>-<n>"): immutable, unique in this process, names the directory.
std::string NewSnapshotId();

}  // namespace localrds
