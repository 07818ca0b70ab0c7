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
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "emulator/events.h"
#include "emulator/pg_runtime.h"
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
  int pool_size = 3;                           //!< ready-made clusters kept per engine version
  int workers = 4;                             //!< operation worker threads
  int max_instances = 40;                      //!< RDS's default DB instance quota
  std::chrono::milliseconds reconcile_interval{1000};
  //! How long a reset waits for running operations before it goes ahead without them.
  std::chrono::milliseconds reset_wait{std::chrono::minutes(2)};
  std::string version = "0.0.0";
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

  // Emulator-only controls (/_localrds/).
  nlohmann::json Health();
  nlohmann::json EventsWithIds(int limit);
  //! Deletes every instance and its files. Runs on its own thread; `done` is called there.
  void ResetAsync(std::function<void(Status)> done);
  //! SIGKILLs an instance's postmaster (a crash drill); the reconciler then recovers it.
  Status CrashInstance(const std::string& identifier);
  //! CrashInstance on a control thread; `done` is called there.
  void CrashInstanceAsync(const std::string& identifier, std::function<void(Status)> done);

  //! Calls `cb` (on a worker thread, or at once) when the operation is no longer running.
  void WhenOperationDone(int64_t operation_id, std::function<void()> cb);
  //! Runs one reconciler pass now; returns what it did, as a sentence ("" when nothing).
  std::string ReconcileOnce();

  // Used by operations (emulator/operations.cc).
  std::optional<InstanceRow> GetInstance(const std::string& resource_id);
  Status Commit(Mutation m);
  ServerSpec Server(const InstanceRow& row) const;
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
  //! Writes the instance's localrds.conf (port, sockets, memory settings) atomically.
  Status WriteServerConfig(const InstanceRow& row);

  //! Renders the DBInstance shape.
  nlohmann::json RenderInstance(const InstanceRow& row) const;

 private:
  Status CommitLocked(Mutation& m, int64_t* new_op_id);
  //! Finds a live instance by identifier (case-insensitive); DBInstanceNotFound otherwise.
  Result<InstanceRow> FindLocked(const std::string& identifier);
  Status CheckIdleLocked(const InstanceRow& row);
  //! True when an instance has `identifier`, or a running rename is taking it.
  bool IdentifierTakenLocked(const std::string& identifier) const;
  Result<Accepted> StartOperationLocked(InstanceRow row, const std::string& kind,
                                        nlohmann::json params, std::vector<EventRow> events);
  //! The shape of Reboot/Stop/Start: an idle instance in `required` status moves to `next` and
  //! an operation of `kind` starts; `check` (optional) adds the action's own refusals.
  Result<Accepted> TransitionLocked(const std::string& identifier, const char* required,
                                    const char* next, const char* kind,
                                    const std::function<Status(const InstanceRow&)>& check);
  Result<std::string> ResolveArnLocked(const std::string& arn);
  void ReconcilerLoop();
  //! Runs `fn` on a control thread that Shutdown joins (reset, crash drills); never throws.
  void RunControlTask(std::function<void()> fn);

  const EmulatorConfig config_;
  Catalog& catalog_;
  PgRuntime& runtime_;
  const Layout& layout_;
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
