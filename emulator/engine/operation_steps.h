// The steps and helpers that several operation kinds share, and the functions that add each
// family of kinds to OperationKinds(): instance kinds and the shared steps in steps_instance.cc,
// backup kinds and steps in steps_backup.cc, read replica kinds in steps_replica.cc, Multi-AZ
// kinds and steps in steps_multi_az.cc (all in emulator/engine/). Each step is idempotent and runs
// on an operation worker (see operation_engine.h).
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "emulator/core/instance_state.h"
#include "emulator/core/timing.h"
#include "emulator/engine/operation_engine.h"

namespace localrds {
namespace steps {

//! Under a timing profile, holds the operation until its start (`created_ms`) plus the RDS-like
//! duration of `work` for the instance (its own profile, else the server's), read again at every
//! run: true while it holds (the caller returns Ok at once and the step runs again later, see
//! OpContext::not_before_ms); false when the time has come (always under `fast`). The start is
//! in the catalog, so after a restart only the rest of the wait remains.
bool HeldByTiming(OpContext& c, TimedWork work);
//! `step` once HeldByTiming(work) no longer holds.
OperationStep::Fn AfterTiming(TimedWork work, OperationStep::Fn step);
//! An online base backup of `source` into `dest` (through replication slot `slot`, "" for
//! none) that appears whole or not at all: pg_basebackup into `dest`.tmp (one a crash left is
//! removed first), one syncfs, and a rename.
Status BaseBackupInto(OpContext& c, const ServerSpec& source, const std::filesystem::path& dest,
                      const std::string& slot);
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
//! WaitForAnswer (postgres/wait.h) on the instance's server: polls `sql` until it answers `want`;
//! fails when the server stops or `timeout` passes. `what` names the wait in those errors.
Status WaitForAnswer(OpContext& c, const std::string& sql, const std::string& want,
                     std::chrono::seconds timeout, const std::string& what);
//! Configure and StartServer unless the server already runs.
Status EnsureRunning(OpContext& c);
//! The on_failure of instance-creating kinds: server stopped, status `failed`, RDS-EVENT-0031.
void FailInstance(OpContext& c, const Status& why);
//! The on_failure of kinds on an existing instance (stop, start, reboot, modify, snapshot):
//! its status becomes what is really true (available when its server runs, else stopped).
void ReflectReality(OpContext& c, const Status& why);

// Backup steps (steps_backup.cc) that the instance kinds use too.
//! The files of the snapshot `id`: a base backup renamed into place (nothing when it is there).
Status CopySnapshotFiles(OpContext& c, const std::string& id);
//! Takes the base backup of the snapshot named in the params' `snapshot_id` (if any).
Status TakeSnapshot(OpContext& c);
//! The instance is `available` again after its backup.
Status FinishBackup(OpContext& c);
//! After create or restore: the creation's event; `backing-up` while the first automated backup
//! (the params' `snapshot_id`) is taken.
Status Created(OpContext& c);
//! StopServers, then, when a clean shutdown archived every segment, marks everything committed
//! before it restorable.
Status StopServerMarkingArchive(OpContext& c);
//! Modify: switches automated backups on or off (the params' `backups`).
Status ModifyBackups(OpContext& c);
//! Removes the files of automated backups whose rows are gone (after retention 0 or a delete).
Status RemoveDroppedBackupFiles(OpContext& c);

// Multi-AZ steps (steps_multi_az.cc) that the instance and backup kinds use too.
//! Builds a Multi-AZ instance's standby and waits until it is in sync (no-op otherwise).
Status BuildStandby(OpContext& c);
//! OK unless the standby's Availability Zone is in an outage drill (then an error saying so).
Status StandbyZoneUp(OpContext& c);
//! ModifyDBInstance MultiAZ (the params' `multi_az`): builds or removes the standby.
Status ApplyMultiAzModification(OpContext& c);
//! Stops the primary, then the standby of a Multi-AZ instance.
Status StopServers(OpContext& c);

}  // namespace steps

//! Adds the instance kinds: create, delete, stop, start, reboot, modify, recover.
void AddInstanceOperationKinds(std::map<OpKind, OperationKind>& kinds);
//! Adds the backup kinds: snapshot, backup, copy-snapshot (on the new snapshot's id), restore.
void AddBackupOperationKinds(std::map<OpKind, OperationKind>& kinds);
//! Adds the read replica kinds: create-replica (on the new replica's resource id) and promote.
void AddReplicaOperationKinds(std::map<OpKind, OperationKind>& kinds);
//! Adds the Multi-AZ kinds: failover, and standby (a standby built again after a failure).
void AddMultiAzOperationKinds(std::map<OpKind, OperationKind>& kinds);

}  // namespace localrds
