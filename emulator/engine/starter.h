// OperationStarter: how every operation begins. In the caller's registry lock it records the
// instance's new state, the events and snapshots of the call and a new operation row in one
// commit, then hands the operation to the engine. The services (RDS actions) and the background
// loops (reconciler, health monitor, backup scheduler, replication monitor) start operations
// only through it, so that "one operation per resource" and "recorded before it runs" hold
// everywhere.
//
// Thread-safety: thread-safe; every Start* runs inside a Registry::Locked the caller holds.
// Borrows the registry and the engine.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "emulator/engine/operation_engine.h"
#include "emulator/state/registry.h"

namespace localrds {

//! What an accepted mutating call returns: the resource as the response shows it, and the
//! operation now running for it (0 when nothing runs).
struct Accepted {
  nlohmann::json body;
  int64_t operation_id = 0;
};

class OperationStarter {
 public:
  OperationStarter(Registry& registry, OperationEngine& engine)
      : registry_(registry), engine_(engine) {}

  //! Commits `row` (its new status), `events` and `snapshots` with a new operation of `kind`
  //! and submits it. The body is `row` rendered. InvalidDBInstanceState for an existing instance
  //! whose primary is in an outage drill (unless `kind` is a failover or a delete).
  Result<Accepted> Start(Registry::Locked& r, const InstanceRow& row, OpKind kind,
                         nlohmann::json params, std::vector<EventRow> events = {},
                         std::vector<SnapshotRow> snapshots = {});
  //! An operation that changes no row before it runs (the reconciler's recover and standby
  //! kinds, a copy of a snapshot): `m` holds what else it commits. Returns its id.
  Result<int64_t> StartBare(Registry::Locked& r, const std::string& resource_id, OpKind kind,
                            nlohmann::json params, Mutation m = {});
  //! A failover of a Multi-AZ instance (forced: RebootDBInstance ForceFailover, status
  //! `rebooting`; otherwise the health monitor's, status unchanged). RDS-EVENT-0013.
  Result<Accepted> StartFailover(Registry::Locked& r, InstanceRow row, bool forced,
                                 const std::string& why);
  //! The promotion of a read replica (`modifying`); `params` holds the backup settings it gets
  //! (retention, window); with retention, its first automated backup is taken.
  Result<Accepted> StartPromotion(Registry::Locked& r, InstanceRow row, nlohmann::json params);
  //! An automated backup of an idle, available instance (`backing-up`, a new rds: snapshot).
  Result<Accepted> StartBackup(Registry::Locked& r, InstanceRow row);
  //! Resubmits an unfinished operation found at startup (it is already in the catalog).
  void Resume(const OperationRow& op) { engine_.Submit(op); }
  void WhenDone(int64_t operation_id, std::function<void()> cb) {
    engine_.WhenDone(operation_id, std::move(cb));
  }

 private:
  Registry& registry_;
  OperationEngine& engine_;
};

}  // namespace localrds
