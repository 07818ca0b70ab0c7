// OperationEngine: runs persisted operations as ordered, idempotent steps on worker threads.
//
// An operation kind is a list of named steps. Each step looks at reality first, acts, and may
// stage catalog changes in its OpContext; the engine commits those changes together with
// "step + 1" in one transaction, so a crash between steps resumes at the first unfinished step,
// and a crash inside a step re-runs it (which is why steps must be idempotent). A step that
// fails (or throws) ends the operation: the kind's on_failure stages the visible outcome (a
// `failed` status and an event, as RDS does) and the operation is recorded as failed.
//
// A step may also hold its operation (a timing profile's wait, see emulator/core/timing.h): it
// sets OpContext::not_before_ms instead of finishing; the engine commits what it staged, not its
// completion, and queues the operation again for then (looking again every 100 ms at most),
// keeping no worker meanwhile. A held operation still counts as running (one per resource), but
// not for WaitIdle; after a restart it resumes at the same step, and the hold counts from the
// operation's created_ms, so only the rest of it remains.
//
// Steps see a StepEnv: the registry, the instance's servers, the runtime, the layout and the
// cluster pool, never the services above them.
//
// Thread-safety: Submit and WhenDone are thread-safe. One operation per resource runs at a time
// (the registry's active operations refuse a second one). The engine owns its worker threads
// and borrows the StepEnv, which must outlive it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "emulator/engine/servers.h"
#include "emulator/runtime/cluster_pool.h"
#include "emulator/state/registry.h"

namespace localrds {

//! What a step may use.
struct StepEnv {
  Registry& registry;
  InstanceServers& servers;
  PgRuntime& runtime;
  const Layout& layout;
  ClusterPool& pool;
};

//! What a step sees and stages. Not thread-safe: owned by the worker running the step.
struct OpContext {
  StepEnv& env;
  OperationRow op;
  InstanceRow instance;  //!< the instance as committed before this step
  Mutation staged;       //!< committed with the step's completion
  //! Set by a step that is not finished yet (a timing profile's hold): the engine commits what
  //! it staged, not its completion, and runs it again, no later than this time (registry clock,
  //! ms), without keeping a worker meanwhile.
  int64_t not_before_ms = 0;

  //! Stages `row` as the instance's new state (and updates `instance`).
  void Put(InstanceRow row) {
    instance = row;
    staged.put.push_back(std::move(row));
  }
  void Event(const EventSpec& spec, const std::string& message = "") {
    staged.events.push_back(env.registry.MakeEvent(instance, spec, message));
  }
  void PutSnapshot(const SnapshotRow& snap) { staged.put_snapshots.push_back(snap); }
  void SnapshotEvent(const SnapshotRow& snap, const EventSpec& spec,
                     const std::string& message = "") {
    staged.events.push_back(env.registry.MakeSnapshotEvent(snap, spec, message));
  }
  //! The instance's primary server as the catalog has it now.
  ServerSpec Server() const { return env.servers.Server(instance); }
};

struct OperationStep {
  using Fn = std::function<Status(OpContext&)>;
  const char* name;
  Fn run;
};

struct OperationKind {
  std::vector<OperationStep> steps;
  //! Stages the visible outcome of a failure (status, event). May be empty.
  std::function<void(OpContext&, const Status&)> on_failure;
};

//! The kinds localrds runs: create, delete, stop, start, reboot, modify, recover, snapshot,
//! backup, copy-snapshot, restore (steps_instance.cc, steps_backup.cc), create-replica and
//! promote (steps_replica.cc), failover and standby (steps_multi_az.cc). Instance kinds run on
//! the instance's resource id; copy-snapshot runs on the new snapshot's id.
const std::map<OpKind, OperationKind>& OperationKinds();

class OperationEngine {
 public:
  //! Test hook: called before each step with (kind, step index); returning false simulates a
  //! crash right there (the step is not run, the operation stays unfinished in the catalog).
  using CrashHook = std::function<bool(const std::string&, int)>;

  OperationEngine(StepEnv& env, int workers);
  ~OperationEngine();

  void Submit(OperationRow op);
  //! Calls `cb` once operation `id` is finished; at once if it is not known to be running.
  void WhenDone(int64_t id, std::function<void()> cb);
  //! Calls `cb` once operation `id` is finished or held by a timing profile (its work is done,
  //! only its visible outcome waits): what an API response waits for.
  void WhenSettled(int64_t id, std::function<void()> cb);
  //! Blocks until no operation is queued or running, or the timeout passes. An operation held by
  //! a timing profile (waiting for its time, not working) does not count: localrds' start does
  //! not wait for a resumed hold, and a reset does not wait for one either.
  bool WaitIdle(std::chrono::milliseconds timeout);
  void Stop();
  static void SetCrashHook(CrashHook hook);

 private:
  void WorkerLoop();
  //! Runs `op`'s steps; true when a step asked to run again later (`op` is queued again).
  bool Run(OperationRow op);
  //! Queues `op` again for when its step may be run again (`not_before_ms`, registry clock).
  void Defer(OperationRow op, int64_t not_before_ms);
  //! True the first time it is called for a held operation (its hold is logged once).
  bool MarkDeferralLogged(int64_t id);
  //! Calls the WhenSettled callbacks of `id`.
  void Settled(int64_t id);
  void Finish(int64_t id);
  //! Records the end of an operation whose failure cannot be staged normally.
  void RecordFailure(const OperationRow& op, const std::string& why);

  StepEnv& env_;
  std::mutex mutex_;  //!< guards the queues, the running and held operations, their waiters
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  std::deque<OperationRow> queue_;
  //! Operations held by a step (a timing profile), by when to run them again.
  std::multimap<std::chrono::steady_clock::time_point, OperationRow> deferred_;
  std::set<int64_t> deferral_logged_;  //!< held operations whose hold was logged once
  std::map<int64_t, bool> running_;    //!< submitted and not finished
  std::map<int64_t, std::vector<std::function<void()>>> waiters_;
  std::map<int64_t, std::vector<std::function<void()>>> settle_waiters_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace localrds
