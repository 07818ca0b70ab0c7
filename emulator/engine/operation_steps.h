// The steps and helpers that several operation kinds share (defined in emulator/engine/operations.cc),
// and the read replica kinds (emulator/engine/replica_operations.cc). Each step is idempotent and runs
// on an operation worker (see operation_engine.h).
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "emulator/core/instance_state.h"
#include "emulator/engine/operation_engine.h"

namespace localrds {
namespace steps {

//! A string parameter of the operation, if present.
std::optional<std::string> ParamString(const OpContext& c, const char* name);
//! Stages the instance with a new DBInstanceStatus.
void SetStatus(OpContext& c, DbStatus status);
//! Picks the instance's port (moving it when taken) and writes its localrds.conf.
Status Configure(OpContext& c);
//! Starts the server (moving to a free port when its own was taken meanwhile); then drops the
//! replication slots no replica owns any more and points its replicas at its port.
Status StartServer(OpContext& c);
Status StopServer(OpContext& c);
//! Polls `sql` on the instance's server (backing off to every 20 ms) until it answers `want`;
//! fails when the server stops or `timeout` passes. `what` names the wait in those errors.
Status WaitForAnswer(OpContext& c, const std::string& sql, const std::string& want,
                     std::chrono::seconds timeout, const std::string& what);
//! Configure and StartServer unless the server already runs.
Status EnsureRunning(OpContext& c);
//! The on_failure of instance-creating kinds: server stopped, status `failed`, RDS-EVENT-0031.
void FailInstance(OpContext& c, const Status& why);
//! Takes the base backup of the snapshot named in the params' `snapshot_id` (if any).
Status TakeSnapshot(OpContext& c);
//! Builds a Multi-AZ instance's standby and waits until it is in sync (no-op otherwise).
Status BuildStandby(OpContext& c);
//! ModifyDBInstance MultiAZ (the params' `multi_az`): builds or removes the standby.
Status ApplyMultiAzModification(OpContext& c);
//! Stops the primary, then the standby of a Multi-AZ instance.
Status StopServers(OpContext& c);

}  // namespace steps

//! Adds the read replica kinds: create-replica (on the new replica's resource id) and promote.
void AddReplicaOperationKinds(std::map<std::string, OperationKind>& kinds);
//! Adds the Multi-AZ kinds: failover, and standby (a standby built again after a failure).
void AddMultiAzOperationKinds(std::map<std::string, OperationKind>& kinds);

}  // namespace localrds
