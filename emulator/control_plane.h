// ControlPlane: RDS semantics over the catalog and the PostgreSQL runtime.
//
// The API layer calls the action methods (CreateDBInstance, ...) from its io_context threads with
// requests already decoded into JSON keyed by RDS member names. Those methods validate, check
// state and, in one catalog transaction, record the resource and an operation; they never wait
// for PostgreSQL. Operations then run on the OperationEngine's workers; clients poll Describe*,
// or the API layer waits for them with WhenOperationDone.
//
// Thread-safety: every public method is thread-safe. `mutex_` guards the in-memory view
// (`instances_`, `active_ops_`), which mirrors the catalog and is changed only together with it
// (Commit). The ControlPlane owns the engine, the reconciler thread, the control threads (reset,
// crash drills) and the cluster pool, and joins them all in Shutdown; it borrows the catalog,
// the runtime and the layout, which must outlive it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "emulator/events.h"
#include "emulator/pg_runtime.h"
#include "emulator/server_secrets.h"
#include "storage/catalog.h"
#include "storage/layout.h"

namespace localrds {

class OperationEngine;
class ClusterPool;

struct EmulatorConfig {
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  std::string endpoint_address = "127.0.0.1";  //!< Endpoint.Address reported to clients
  int port_range_lo = 15432;                   //!< ports handed out when Port is busy or taken
  int port_range_hi = 16431;
  int default_port = 5432;                     //!< RDS's default for PostgreSQL
  //! listen_addresses of every instance's server (never of a Multi-AZ standby: it has no TCP).
  std::string pg_listen_address = "127.0.0.1";
  int pool_size = 3;                           //!< ready-made clusters kept per engine version
  int workers = 4;                             //!< operation worker threads
  int max_instances = 40;                      //!< RDS's default DB instance quota
  std::chrono::milliseconds reconcile_interval{1000};
  //! How long a reset waits for running operations before it goes ahead without them.
  std::chrono::milliseconds reset_wait{std::chrono::minutes(2)};
  //! How often the WAL of an instance with new commits is switched and archived: bounds how far
  //! LatestRestorableTime trails the newest commit. RDS ships WAL every 5 minutes (300 s).
  std::chrono::milliseconds wal_ship_interval{std::chrono::seconds(5)};
  //! The Multi-AZ health monitor: how often it looks at every primary (is its server there?),
  //! how often and how long it asks each one `SELECT 1`, and how long without an answer makes
  //! a primary hung (then it fails over).
  std::chrono::milliseconds monitor_interval{100};
  std::chrono::milliseconds probe_interval{500};
  std::chrono::milliseconds probe_timeout{1000};
  std::chrono::milliseconds hung_after{3000};
  std::string version = "0.0.0";
  //! Where localrds_guard_<major>.so lives for every server's shared_preload_libraries (a
  //! directory the servers' OS user can read; InstallGuardLibraries fills it). Empty: no guard
  //! (unit tests over the fake runtime).
  std::filesystem::path guard_library_dir;
};

//! What an accepted mutating call returns: the resource as the response shows it, and the
//! operation now running for it (0 when nothing runs).
struct Accepted {
  nlohmann::json body;
  int64_t operation_id = 0;
};

//! A set of changes committed in one catalog transaction and then applied to the in-memory view.
struct Mutation {
  std::vector<InstanceRow> put;
  std::vector<std::string> remove;  //!< resource ids
  std::vector<EventRow> events;
  std::vector<SnapshotRow> put_snapshots;
  std::vector<std::string> remove_snapshots;  //!< snapshot ids
  std::vector<RetainedBackupRow> put_retained;
  std::vector<std::string> remove_retained;   //!< resource ids
  std::optional<OperationRow> new_operation;
  struct OpUpdate {
    int64_t id;
    int step;
    std::string state;
    std::string error;
  };
  std::optional<OpUpdate> op_update;
};

//! One page of DescribeDBInstances: the rendered instances are shared and immutable, so a
//! describe copies nothing (the API layer encodes them in place).
struct InstancePage {
  std::vector<std::shared_ptr<const nlohmann::json>> instances;
  std::string marker;  //!< empty on the last page
};

//! A new DbiResourceId ("db-" and 26 random base32 characters): names an instance's directories.
std::string NewResourceId();
//! A new snapshot id ("snap-<ms>-<n>"): immutable, unique in this process, names the directory.
std::string NewSnapshotId();
//! The physical replication slot a read replica streams through on its source.
std::string ReplicationSlotName(const std::string& replica_resource_id);
//! A replica's StatusInfos: one `read replication` entry, Normal only when `replicating`.
nlohmann::json ReplicationStatusInfos(const std::string& status, const std::string& message = "");
//! Removes what makes an instance's fields a read replica's (its source, StatusInfos, the
//! replication bookkeeping): for an instance made from a replica, or one being promoted.
void ForgetReplication(nlohmann::json& attrs);

//! The Multi-AZ fields of an instance made new (create, restore, read replica): MultiAZ, the
//! SecondaryAvailabilityZone after its AvailabilityZone, and none of the standby bookkeeping of
//! the instance it was copied from (its data is in host "a").
void ResetMultiAzFields(nlohmann::json& attrs, bool multi_az);

class ControlPlane {
 public:
  ControlPlane(EmulatorConfig config, Catalog& catalog, PgRuntime& runtime, const Layout& layout);
  ~ControlPlane();

  //! Startup reconciliation, before the API opens: removes orphans, resumes unfinished
  //! operations and brings back every server that should run. Blocks until done.
  Status Recover();
  //! Starts the reconciler timer and the cluster pool.
  void StartBackground();
  //! Stops background work; with `stop_servers`, shuts every PostgreSQL server down.
  void Shutdown(bool stop_servers);

  // RDS actions. `req` holds the decoded request (RDS member names).
  Result<Accepted> CreateDBInstance(const nlohmann::json& req);
  Result<InstancePage> ListDBInstances(const nlohmann::json& req);
  //! ListDBInstances as one JSON document (DBInstances, Marker).
  Result<nlohmann::json> DescribeDBInstances(const nlohmann::json& req);
  Result<Accepted> ModifyDBInstance(const nlohmann::json& req);
  Result<Accepted> DeleteDBInstance(const nlohmann::json& req);
  Result<Accepted> RebootDBInstance(const nlohmann::json& req);
  Result<Accepted> StopDBInstance(const nlohmann::json& req);
  Result<Accepted> StartDBInstance(const nlohmann::json& req);
  Status AddTagsToResource(const nlohmann::json& req);
  Status RemoveTagsFromResource(const nlohmann::json& req);
  Result<nlohmann::json> ListTagsForResource(const nlohmann::json& req);
  Result<nlohmann::json> DescribeEvents(const nlohmann::json& req);
  Result<nlohmann::json> DescribeDBEngineVersions(const nlohmann::json& req);
  Result<nlohmann::json> DescribeOrderableDBInstanceOptions(const nlohmann::json& req);
  // Backups (emulator/snapshot_actions.cc).
  Result<Accepted> CreateDBSnapshot(const nlohmann::json& req);
  Result<Accepted> CopyDBSnapshot(const nlohmann::json& req);
  Result<Accepted> DeleteDBSnapshot(const nlohmann::json& req);
  Result<nlohmann::json> DescribeDBSnapshots(const nlohmann::json& req);
  Result<Accepted> RestoreDBInstanceFromDBSnapshot(const nlohmann::json& req);
  Result<Accepted> RestoreDBInstanceToPointInTime(const nlohmann::json& req);
  Result<nlohmann::json> DescribeDBInstanceAutomatedBackups(const nlohmann::json& req);
  Result<Accepted> DeleteDBInstanceAutomatedBackup(const nlohmann::json& req);
  // Read replicas (emulator/replica_actions.cc).
  Result<Accepted> CreateDBInstanceReadReplica(const nlohmann::json& req);
  Result<Accepted> PromoteReadReplica(const nlohmann::json& req);

  // Emulator-only controls (/_localrds/).
  nlohmann::json Health();
  nlohmann::json EventsWithIds(int limit);
  //! Deletes every instance and its files. Runs on its own thread; `done` is called there.
  void ResetAsync(std::function<void(Status)> done);
  //! SIGKILLs an instance's postmaster (a crash drill); the reconciler then recovers it.
  Status CrashInstance(const std::string& identifier);
  //! Runs the instance's backup window now (an automated backup); returns its operation.
  Result<Accepted> BackupNow(const std::string& identifier);
  //! CrashInstance on a control thread; `done` is called there.
  void CrashInstanceAsync(const std::string& identifier, std::function<void(Status)> done);
  //! Freezes (SIGSTOP) or thaws an instance's server: a hung-server drill. Runs on a control
  //! thread; `done` is called there.
  void FreezeInstanceAsync(const std::string& identifier, bool freeze,
                           std::function<void(Status)> done);
  //! What /_localrds/instances/<id> shows: the instance's server and its replication (source,
  //! replicas, WAL receiver state, replica lag).
  Result<nlohmann::json> InstanceDetails(const std::string& identifier);

  //! Calls `cb` (on a worker thread, or at once) when the operation is no longer running.
  void WhenOperationDone(int64_t operation_id, std::function<void()> cb);
  //! Runs one reconciler pass now; returns what it did, as a sentence ("" when nothing).
  std::string ReconcileOnce();

  //! Expires automated backups older than their retention period (and the WAL only they
  //! needed), as of `now_ms`; returns what it did, as a sentence ("" when nothing).
  std::string ExpireBackups(int64_t now_ms);
  //! Switches and archives the WAL of instances with new commits, and advances their
  //! LatestRestorableTime once the archive has it. One pass; the reconciler calls it.
  void ShipWalOnce();
  //! Reads every read replica's WAL receiver and replay position, updates its StatusInfos
  //! (replicating / error / terminated) with RDS's events when that changes, and starts the
  //! promotion of replicas whose source is gone. One pass; the reconciler calls it.
  std::string PollReplicationOnce();

  // Used by operations (emulator/operations.cc).
  std::optional<InstanceRow> GetInstance(const std::string& resource_id);
  //! The read replicas whose source is `source_resource_id` (creating ones included).
  std::vector<InstanceRow> ReplicasOf(const std::string& source_resource_id);
  //! Creates the physical replication slot a replica streams through on its source (once).
  Status EnsureReplicationSlot(const InstanceRow& source, const std::string& slot);
  //! Drops a replica's slot on its source, waiting briefly for the walsender to let go of it.
  //! OK when the slot or the source's server is not there.
  Status DropReplicationSlot(const InstanceRow& source, const std::string& slot);
  //! Drops the localrds slots on `row`'s server that no replica of it (nor its Multi-AZ
  //! standby) owns any more.
  void DropStaleReplicationSlots(const InstanceRow& row);
  //! Rewrites the standby settings of `source`'s running replicas (its port may have moved)
  //! and reloads them.
  void RefreshReplicaConnections(const std::string& source_resource_id);
  std::optional<SnapshotRow> GetSnapshot(const std::string& snapshot_id);
  //! True when an instance or a snapshot has this resource id.
  bool ResourceExists(const std::string& resource_id);
  //! The automated snapshots of an instance (live or deleted), oldest first.
  std::vector<SnapshotRow> AutomatedSnapshotsOf(const std::string& dbi_resource_id);
  //! A new automated snapshot row (status "creating") for `row`, named rds:<id>-YYYY-MM-DD-HH-MM.
  //! The caller holds mutex_ (actions do).
  SnapshotRow NewAutomatedSnapshotLocked(const InstanceRow& row);
  //! A snapshot row in `status` describing `row` (the instance it is taken from).
  SnapshotRow NewSnapshotRow(const InstanceRow& row, const std::string& identifier,
                             const std::string& type, const std::string& status);
  EventRow MakeSnapshotEvent(const SnapshotRow& snap, const EventSpec& spec,
                             const std::string& message_override = "") const;
  std::string SnapshotArn(const std::string& identifier) const;
  //! EarliestRestorableTime / LatestRestorableTime of an instance's automated backups (ms).
  std::optional<std::pair<int64_t, int64_t>> RestoreWindow(const std::string& dbi_resource_id);
  //! Re-reads an archive's restorable-until file (written by a clean stop) into the window.
  void RestorableUntilChanged(const std::string& resource_id);
  Status Commit(Mutation m);
  ServerSpec Server(const InstanceRow& row) const;
  //! Server(row) with the password of rdsrepladmin there (pg_basebackup from it).
  ServerSpec ReplicationSource(const InstanceRow& row) const;
  //! "user=rdsrepladmin password=…" of a standby or replica of `source` (primary_conninfo).
  std::string ReplicationLogin(const InstanceRow& source) const;
  //! Creates or re-keys rdsrepladmin on `row`'s running primary and takes the server-file roles
  //! from non-superusers (EnsureServerRolesSql). A no-op on a standby; logs a failure.
  Status EnsureServerRoles(const InstanceRow& row);
  EventRow MakeEvent(const InstanceRow& row, const EventSpec& spec,
                     const std::string& message_override = "") const;
  std::string InstanceArn(const std::string& identifier) const;
  PgRuntime& runtime() { return runtime_; }
  const Layout& layout() const { return layout_; }
  ClusterPool& pool() { return *pool_; }
  const EmulatorConfig& config() const { return config_; }
  //! Picks a port for an instance: `requested` when free, else one from the configured range.
  //! `self` is the resource id whose current port does not count as taken; `avoid` is never
  //! returned (a port that just failed to bind).
  std::optional<int> AllocatePort(int requested, const std::string& self, int avoid = -1);
  //! Writes the instance's localrds.conf (port, sockets, memory settings) atomically. A read
  //! replica also gets its standby settings (primary_conninfo to its source, its slot) and a
  //! standby.signal. `recovery` adds settings for a point-in-time restore (restore_command, …).
  Status WriteServerConfig(const InstanceRow& row, const std::string& recovery = "");
  //! The pg_hba.conf rules of a server that listens on `listen` ("" for no TCP): SCRAM over
  //! loopback, or from anywhere when it listens beyond loopback. No trust anywhere: on the socket
  //! directory rdsadmin is `peer` (only localrds' own OS user, see IdentMap), rdsrepladmin
  //! replicates with its password, everyone else logs in with SCRAM.
  static std::string HbaRules(const std::string& listen);
  //! pg_ident.conf: the map `localrds` that lets `os_user` (the one localrds runs as) in as
  //! rdsadmin, and nobody else.
  static std::string IdentMap(const std::string& os_user);
  //! The files they go to in every data directory (localrds.conf names them in hba_file and
  //! ident_file).
  static constexpr const char* kHbaFile = "localrds_hba.conf";
  static constexpr const char* kIdentFile = "localrds_ident.conf";

  // Multi-AZ (emulator/multi_az.cc). Two hosts per instance, "a" and "b": the primary serves
  // the endpoint's port, the hidden standby listens on a Unix socket only (`_standby_port`).
  static bool IsMultiAz(const InstanceRow& row);
  static std::string PrimaryHost(const InstanceRow& row);
  static std::string StandbyHost(const InstanceRow& row);
  //! "" (no standby), "building", "ready" (in sync: failover may promote it) or "rebuild" (the
  //! old primary's host after a failover, to be wiped).
  static std::string StandbyState(const InstanceRow& row);
  //! True for an available Multi-AZ instance that should run and whose standby is in sync: its
  //! primary's death is a failover (the monitor's, or at startup), not a restart in place.
  static bool CanFailOver(const InstanceRow& row);
  //! True from a failover's `fence` until the new primary serves the endpoint (then the
  //! instance's zones swap): the primary host the catalog names may still be a standby.
  static bool FailoverPending(const InstanceRow& row);
  ServerSpec StandbyServer(const InstanceRow& row) const;
  //! Writes the standby's localrds.conf (a hot standby of the primary, no TCP) and its
  //! standby.signal.
  Status WriteStandbyConfig(const InstanceRow& row);
  //! True when the instance's standby is (being) built and its data directory is there.
  bool StandbyBuilt(const InstanceRow& row);
  //! Rewrites the standby's settings (the primary's port may have moved) and reloads or starts
  //! it. OK when the instance has no built standby.
  Status EnsureStandbyRunning(const InstanceRow& row);
  Status StopStandby(const InstanceRow& row);
  //! One pass of the health monitor: fails over Multi-AZ instances whose primary's server is
  //! gone or has not answered for `hung_after`. Returns what it did ("" when nothing).
  std::string MonitorPrimariesOnce();

  //! Renders the DBInstance shape.
  nlohmann::json RenderInstance(const InstanceRow& row) const;

 private:
  Status CommitLocked(Mutation& m, int64_t* new_op_id);
  //! Finds a live instance by identifier (case-insensitive); DBInstanceNotFound otherwise.
  Result<InstanceRow> FindLocked(const std::string& identifier);
  Status CheckIdleLocked(const InstanceRow& row);
  //! Refuses to stop a read replica or a source of read replicas (InvalidDBInstanceState).
  Status CheckStoppableLocked(const InstanceRow& row);
  //! True when an instance has `identifier`, or a running rename is taking it.
  bool IdentifierTakenLocked(const std::string& identifier) const;
  Result<Accepted> StartOperationLocked(InstanceRow row, const std::string& kind,
                                        nlohmann::json params, std::vector<EventRow> events,
                                        std::vector<SnapshotRow> snapshots = {});
  //! The shape of Reboot/Stop/Start: an idle instance in `required` status moves to `next` and
  //! an operation of `kind` starts; `check` (optional) adds the action's own refusals.
  Result<Accepted> TransitionLocked(const std::string& identifier, const char* required,
                                    const char* next, const char* kind,
                                    const std::function<Status(const InstanceRow&)>& check);
  Result<std::string> ResolveArnLocked(const std::string& arn);
  //! The event of any source (MakeEvent and MakeSnapshotEvent name theirs).
  EventRow MakeEventFor(const std::string& source_type, const std::string& identifier,
                        const std::string& arn, const EventSpec& spec,
                        const std::string& message_override) const;
  Result<SnapshotRow> FindSnapshotLocked(const std::string& identifier);
  bool SnapshotIdentifierTakenLocked(const std::string& identifier) const;
  //! The checks and the new row shared by both restores; `source` gives the defaults.
  Result<InstanceRow> NewRestoredInstanceLocked(const nlohmann::json& req,
                                                const std::string& target_identifier,
                                                const InstanceRow& source);
  nlohmann::json RenderSnapshot(const SnapshotRow& row) const;
  nlohmann::json RenderAutomatedBackup(const InstanceRow& row, const std::string& status);
  //! Starts automated backups whose window is open and that have none for today.
  std::string ScheduleBackupsLocked(int64_t now_ms);
  //! Validates a manual snapshot identifier (`param` names it in errors), checks it is free and
  //! returns a new "creating" snapshot row of `row`.
  Result<SnapshotRow> NewManualSnapshotLocked(const InstanceRow& row, const char* param,
                                              const std::string& identifier,
                                              const nlohmann::json& tags);
  //! Starts an automated backup of an idle, available instance.
  Result<Accepted> StartBackupLocked(InstanceRow row);
  //! Moves LatestRestorableTime forward (never back); `persist` also writes the archive's file.
  void AdvanceRestorableUntil(const std::string& resource_id, int64_t until_ms, bool persist);
  //! Recomputes an instance's restorable window and re-renders it (after backups change).
  void RefreshRestoreWindowLocked(const std::string& dbi_resource_id);
  //! Removes snapshot directories and WAL archives that no catalog row owns.
  void RemoveBackupOrphans();
  //! The instances whose rendering shows `changed` (as source or replica), re-rendered after a
  //! commit of the rows in `changed`; `old_sources` are sources they had before it.
  void RerenderRelativesLocked(const std::set<std::string>& changed,
                               const std::set<std::string>& old_sources);
  //! The read replicas whose source is `source_resource_id`, in resource id order.
  std::vector<const InstanceRow*> ReplicasOfLocked(const std::string& source_resource_id) const;
  //! How many replicas stand between `row` and a writable primary (0 for a primary).
  int ReplicaDepthLocked(const InstanceRow& row) const;
  //! The standby settings of a replica's localrds.conf ("" for an instance that is not one).
  std::string StandbySettings(const InstanceRow& row);
  //! The promotion of a replica: its operation and the response. `params` holds the backup
  //! settings it gets (retention, window).
  Result<Accepted> StartPromotionLocked(InstanceRow row, nlohmann::json params);
  void ReconcilerLoop();
  void MonitorLoop();
  //! One server in /_localrds/instances/<id>: running, frozen, pid, pgdata, log.
  nlohmann::json ServerDetails(const ServerSpec& spec);
  //! Starts a failover (forced: RebootDBInstance ForceFailover, status `rebooting`).
  Result<Accepted> StartFailoverLocked(InstanceRow row, bool forced, const std::string& why);
  //! The settings every server of `row` gets (port, sockets, memory, archiving, WAL senders).
  std::string ServerSettings(const InstanceRow& row, int port, const std::string& listen);
  //! synchronous_standby_names for a Multi-AZ primary whose standby is in sync ("" otherwise).
  std::string MultiAzPrimarySettings(const InstanceRow& row);
  //! True at most once every 30 s per instance (5 s while a failover is pending): when a
  //! standby build, or a failover that failed after fencing, may be tried again.
  bool StandbyRetryDue(const InstanceRow& row);
  //! Writes `settings` as pgdata/localrds.conf and the client authentication rules for a
  //! server listening on `listen` as pgdata/localrds_hba.conf, each atomically.
  Status WriteConfigFile(const std::filesystem::path& pgdata, const std::string& settings,
                         const std::string& listen);

  //! Runs `fn` on a control thread that Shutdown joins (reset, crash drills); never throws.
  void RunControlTask(std::function<void()> fn);

  const EmulatorConfig config_;
  Catalog& catalog_;
  PgRuntime& runtime_;
  const Layout& layout_;
  const ServerSecrets secrets_;  //!< rdsrepladmin's passwords (<data-dir>/localrds.key)
  std::unique_ptr<OperationEngine> engine_;
  std::unique_ptr<ClusterPool> pool_;

  //! Guards instances_, active_ops_, rendered_, pending_renames_ and the order of catalog writes.
  std::mutex mutex_;
  std::map<std::string, InstanceRow> instances_;  //!< by resource id
  std::map<std::string, int64_t> active_ops_;     //!< resource id -> running operation
  //! RenderInstance of every instance, refreshed whenever it is committed.
  std::map<std::string, std::shared_ptr<const nlohmann::json>> rendered_;
  //! resource id -> the identifier a running rename will give it (reserved until it ends).
  std::map<std::string, std::string> pending_renames_;
  std::map<std::string, SnapshotRow> snapshots_;         //!< by snapshot id
  std::map<std::string, RetainedBackupRow> retained_;    //!< by the deleted instance's resource id
  //! (EarliestRestorableTime, LatestRestorableTime) by DbiResourceId, for automated backups.
  std::map<std::string, std::pair<int64_t, int64_t>> restorable_;
  //! Newest time every commit of an instance is archived by (ms), also kept in its archive.
  std::map<std::string, int64_t> restorable_until_;
  //! WAL shipping state per instance (not persisted: a restart costs one extra switch).
  struct ShipState {
    int64_t wal_mtime_ns = 0;      //!< newest pg_wal file change seen
    std::string committed_xid;     //!< pg_last_committed_xact() at the last switch
    std::string pending_segment;   //!< switched, not yet seen in the archive
    int64_t pending_until_ms = 0;  //!< what LatestRestorableTime becomes once it is archived
    int64_t last_switch_ms = 0;
    bool confirmed = false;        //!< every commit seen so far is archived
    int64_t last_persist_ms = 0;   //!< when restorable-until was last written
  };
  std::mutex ship_mutex_;                               //!< guards ship_
  std::map<std::string, ShipState> ship_;
  //! What the last replication poll saw on each replica (in memory: lag changes every second).
  struct ReplicaState {
    std::string receiver;     //!< pg_stat_wal_receiver.status, "" when there is no receiver
    double lag_seconds = -1;  //!< ReplicaLag as RDS computes it; -1 when it cannot be known
    int64_t lag_bytes = -1;   //!< received but not yet replayed
    int64_t polled_ms = 0;
  };
  std::mutex replica_mutex_;                            //!< guards replica_state_
  std::map<std::string, ReplicaState> replica_state_;   //!< by the replica's resource id

  //! What the health monitor knows of each Multi-AZ primary (in memory: a restart starts over).
  struct PrimaryHealth {
    int64_t last_ok_ms = 0;     //!< last answer (or when this server was first seen)
    int64_t last_probe_ms = 0;
    bool probing = false;       //!< a probe runs on a control thread
    int server_pid = 0;         //!< the postmaster these figures are about
  };
  std::mutex health_mutex_;                          //!< guards health_, standby_retry_
  std::map<std::string, PrimaryHealth> health_;      //!< by resource id
  //! When a failed standby build may next be retried, by resource id.
  std::map<std::string, int64_t> standby_retry_;
  std::thread monitor_;

  std::mutex reconcile_mutex_;  //!< one reconciler pass at a time
  std::atomic<bool> stopping_{false};
  std::mutex timer_mutex_;             //!< with timer_cv_: wakes the reconciler early at shutdown
  std::condition_variable timer_cv_;
  std::thread reconciler_;
  struct ControlThread {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> finished;
  };
  std::mutex control_mutex_;           //!< guards control_threads_
  std::vector<ControlThread> control_threads_;  //!< finished ones are joined at the next start
  int64_t started_ms_;
};

}  // namespace localrds
