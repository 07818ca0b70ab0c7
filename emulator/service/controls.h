// Controls: the emulator's own /_localrds/ controls, which RDS does not have: health and
// version, the events with their RDS ids, reset (delete everything), the crash and freeze
// drills, an instance's servers and replication, "run the backup window now", and an instance's
// timing profile.
//
// Thread-safety: thread-safe. Reset and the drills run on the executor's pool (they wait for
// processes) and call `done` there. Borrows everything it is given.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "emulator/background/backup_scheduler.h"
#include "emulator/background/executor.h"
#include "emulator/background/reconciler.h"
#include "emulator/background/replication_monitor.h"
#include "emulator/core/request.h"
#include "emulator/engine/operation_engine.h"
#include "emulator/engine/servers.h"
#include "emulator/engine/starter.h"
#include "emulator/state/registry.h"
#include "storage/catalog.h"
#include "storage/layout.h"

namespace localrds {

struct ControlsConfig {
  std::string version = "0.0.0";
  //! How long a reset waits for running operations before it goes ahead without them.
  std::chrono::milliseconds reset_wait{std::chrono::minutes(2)};
};

class Controls {
 public:
  Controls(Catalog& catalog, Registry& registry, InstanceServers& servers, PgRuntime& runtime,
           const Layout& layout, OperationEngine& engine, OperationStarter& starter,
           Reconciler& reconciler, BackupScheduler& backups, ReplicationMonitor& replication,
           Executor& executor, ControlsConfig config);

  nlohmann::json Health();
  Result<nlohmann::json> EventsWithIds(int limit);
  //! Deletes every instance and its files, stopping their servers.
  void ResetAsync(std::function<void(Status)> done);
  //! SIGKILLs an instance's postmaster (a crash drill); the reconciler then recovers it.
  Status CrashInstance(const InstanceRef& identifier);
  void CrashInstanceAsync(const InstanceRef& identifier, std::function<void(Status)> done);
  //! Freezes (SIGSTOP) or thaws an instance's server: a hung-server drill.
  void FreezeInstanceAsync(const InstanceRef& identifier, bool freeze,
                           std::function<void(Status)> done);
  //! The instance's server and its replication (source, replicas, WAL receiver, replica lag).
  Result<nlohmann::json> InstanceDetails(const InstanceRef& identifier);
  //! What the console's Monitoring tab samples (no CloudWatch here): {"DBInstanceIdentifier",
  //! "at", "DatabaseConnections" (client sessions on the primary's server, null when it does not
  //! answer), "ReplicaLag" (seconds, a replica's, else null)}. Runs SQL: call it off io threads.
  Result<nlohmann::json> InstanceMetrics(const InstanceRef& identifier);
  //! Runs the instance's backup window now (an automated backup); returns its operation.
  Result<Accepted> BackupNow(const InstanceRef& identifier);
  //! The instance's timing profile (controls_timing.cc): {"DBInstanceIdentifier", "timing" (in
  //! effect), "own" (its own or null), "server"}.
  Result<nlohmann::json> InstanceTiming(const InstanceRef& identifier);
  //! Sets or (nullopt) clears the instance's own timing profile, in the catalog; an operation
  //! already holding reads it at its next look (at most 100 ms later).
  Result<nlohmann::json> SetInstanceTiming(const InstanceRef& identifier,
                                           const std::optional<TimingProfile>& timing);

 private:
  //! One server in InstanceDetails: running, frozen, pid, pgdata, log.
  nlohmann::json ServerDetails(const ServerSpec& spec);

  Catalog& catalog_;
  Registry& registry_;
  InstanceServers& servers_;
  PgRuntime& runtime_;
  const Layout& layout_;
  OperationEngine& engine_;
  OperationStarter& starter_;
  Reconciler& reconciler_;
  BackupScheduler& backups_;
  ReplicationMonitor& replication_;
  Executor& executor_;
  const ControlsConfig config_;
  const int64_t started_ms_;
};

}  // namespace localrds
