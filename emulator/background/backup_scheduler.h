// BackupScheduler: automated backups outside RDS actions: the daily backup window, retention
// expiry (automated snapshots, and the WAL only they needed; a retained backup past retention
// goes entirely), and the removal of backup files no catalog row owns.
//
// Thread-safety: thread-safe (no state of its own). Borrows everything it is given.
#pragma once

#include <cstdint>
#include <string>

#include "emulator/engine/starter.h"
#include "emulator/state/registry.h"
#include "storage/layout.h"

namespace localrds {

class BackupScheduler {
 public:
  BackupScheduler(Registry& registry, OperationStarter& starter, const Layout& layout)
      : registry_(registry), starter_(starter), layout_(layout) {}

  //! Starts automated backups whose window is open at `now_ms` and that have none for that
  //! day; returns what it did ("" when nothing).
  std::string ScheduleBackups(Registry::Locked& r, int64_t now_ms);
  //! Expires automated backups older than their retention period (and the WAL only they
  //! needed), as of `now_ms`; returns what it did, as a sentence ("" when nothing).
  std::string ExpireBackups(int64_t now_ms);
  //! Removes snapshot directories and WAL archives that no catalog row owns.
  void RemoveBackupOrphans();

 private:
  Registry& registry_;
  OperationStarter& starter_;
  const Layout& layout_;
};

}  // namespace localrds
