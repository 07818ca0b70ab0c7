// Reconciler: compares the catalog with reality, at startup (Recover, before the API opens) and
// then once a pass (ReconcileOnce). Each pass takes at most one action per instance and returns
// a sentence saying what it did, which is logged, asserted in tests and, where RDS has one,
// the event's message:
//  - at startup: orphan directories and stray servers removed, unfinished operations resumed at
//    their first unfinished step, a parameter change cut short finished (`applying`), servers that
//    should run started (or failed over, when a Multi-AZ primary died with localrds), servers that
//    should not stopped;
//  - each pass: a crashed server restarted, a failed standby build or a pending failover tried
//    again, a stopped instance started after 7 days, automated backups scheduled and expired,
//    a stopped standby started again.
//
// Thread-safety: thread-safe; `pass_mutex_` lets one pass run at a time (a reset takes it too,
// so that no pass restarts a server the reset is stopping). Borrows everything it is given.
#pragma once

#include <mutex>
#include <set>
#include <string>

#include "common/clock.h"
#include "emulator/background/backup_scheduler.h"
#include "emulator/background/ha_monitor.h"
#include "emulator/engine/operation_engine.h"
#include "emulator/engine/servers.h"
#include "emulator/engine/starter.h"
#include "emulator/state/registry.h"
#include "storage/catalog.h"
#include "storage/layout.h"

namespace localrds {

class Reconciler {
 public:
  Reconciler(Catalog& catalog, Registry& registry, InstanceServers& servers, PgRuntime& runtime,
             const Layout& layout, OperationEngine& engine, OperationStarter& starter,
             BackupScheduler& backups, HaMonitor& ha, const Clock& clock)
      : catalog_(catalog),
        registry_(registry),
        servers_(servers),
        runtime_(runtime),
        layout_(layout),
        engine_(engine),
        starter_(starter),
        backups_(backups),
        ha_(ha),
        clock_(clock) {}

  //! Startup reconciliation; blocks until the resumed operations are done (or 5 minutes).
  Status Recover();
  //! One pass; returns what it did, as a sentence ("" when nothing).
  std::string ReconcileOnce();
  //! Held by a reset while it removes every instance.
  std::mutex& pass_mutex() { return pass_mutex_; }

 private:
  void RemoveOrphans();
  Result<std::set<std::string>> ResumeOperations();
  void FailStrandedSnapshots(const std::set<std::string>& busy);
  void FinishParameterApply(const InstanceRow& row);
  void BringBack(const InstanceRow& row);

  Catalog& catalog_;
  Registry& registry_;
  InstanceServers& servers_;
  PgRuntime& runtime_;
  const Layout& layout_;
  OperationEngine& engine_;
  OperationStarter& starter_;
  BackupScheduler& backups_;
  HaMonitor& ha_;
  const Clock& clock_;
  std::mutex pass_mutex_;  //!< one pass (or reset) at a time
};

}  // namespace localrds
