// Pending modifications: what ModifyDBInstance left in PendingModifiedValues without
// ApplyImmediately, turned into the same "modify" operation ApplyImmediately starts. RDS applies
// them at the next RebootDBInstance and in the instance's weekly maintenance window; both call
// StartPendingModifications. The values stay in the catalog (PendingModifiedValues) until the
// operation's last step clears them, so a crash at any point leaves them applied or still
// pending, never lost.
//
// Thread-safety: call with the registry locked (Registry::Locked). Borrows what it is given.
#pragma once

#include <string>
#include <vector>

#include "emulator/engine/starter.h"
#include "emulator/state/registry.h"

namespace localrds {

//! The "modify" operation that applies a pending modification, as ApplyImmediately=true would
//! have started it: its params ("attrs", "clear_pending", "new_identifier", "multi_az",
//! "backups"…), the events RDS sends when it begins, and the automated snapshot it takes.
struct PendingPlan {
  nlohmann::json params = nlohmann::json::object();
  std::vector<EventRow> events;
  std::vector<SnapshotRow> snapshots;
};

//! Plans the pending modifications of `row` (PendingModifiedValues); updates `row` with what is
//! recorded at once (BackupRetentionPeriod, a value that no longer changes anything leaves the
//! list). False when nothing is left to apply. A pending rename whose identifier has been taken
//! meanwhile, or a retention of 0 for a source of read replicas, stays pending.
bool PlanPendingModifications(Registry& registry, Registry::Locked& reg, InstanceRow& row,
                              PendingPlan& plan);

//! Starts the operation that applies the pending modifications of `row` (found by the caller,
//! idle and available). With `reboot` (RebootDBInstance) the instance is `rebooting` and the
//! operation also restarts its server (params "restart"); otherwise (the maintenance window) it
//! is `modifying`, or `renaming` for a rename. Accepted with operation_id 0 (nothing started)
//! when nothing is pending.
Result<Accepted> StartPendingModifications(Registry& registry, Registry::Locked& reg,
                                           OperationStarter& starter, InstanceRow row, bool reboot);

}  // namespace localrds
