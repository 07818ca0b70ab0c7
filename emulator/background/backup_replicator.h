// BackupReplicator: automated backups replication to another Region, for real. Every pass, each
// replicated backup that still replicates gets the base backups (automated snapshots) of its
// source instance it does not have yet, copied byte for byte (Regions share no storage), and the
// WAL segments archived since the last pass; then its LatestTime moves to the source's latest
// restorable time read before the copy, so a point-in-time restore in the destination Region
// finds every WAL file it needs. The first copy turns it from `pending` to `replicating`; a
// source that is deleted or stops its backups leaves it `retained` (its retention runs on). A
// source whose Region is in an outage drill ships nothing until it recovers.
//
// Crash safety: a base backup appears by an atomic rename before its row is committed (a crash
// between leaves an orphan directory, removed at the next start); a WAL file by fsync and
// rename; the restorable time is written after the files it covers. A pass repeats what the
// last one did not finish.
//
// Thread-safety: call ReplicateOnce from one thread (its own background loop): it copies files
// outside the registry's lock. Borrows everything.
#pragma once

#include <string>

#include "common/clock.h"
#include "emulator/state/registry.h"
#include "storage/layout.h"

namespace localrds {

class BackupReplicator {
 public:
  BackupReplicator(Registry& registry, const Layout& layout, const Clock& clock)
      : registry_(registry), layout_(layout), clock_(clock) {}

  //! One pass: what it did, for the log ("" when nothing).
  std::string ReplicateOnce();

 private:
  Registry& registry_;
  const Layout& layout_;
  const Clock& clock_;
};

}  // namespace localrds
