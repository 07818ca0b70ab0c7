// The Multi-AZ steps. Every Multi-AZ instance has two hosts, "a" (pgdata) and "b" (pgdata-b). One
// runs the primary on the endpoint's port; the other runs a hidden hot standby (Unix socket only,
// no TCP) that streams through a slot and is named in the primary's synchronous_standby_names, so
// no acknowledged commit exists only on the primary.
//
// A failover (forced by RebootDBInstance ForceFailover, or started by the health monitor when
// the primary's server is gone or has not answered for `hung_after`) runs these steps:
//   fence    stop the old primary (cleanly when forced, SIGKILL otherwise: a frozen server
//            holds the endpoint's port and must never write again), then flip the primary host in
//            the catalog and mark the failover pending: from here on localrds never
//            starts the old host as a primary;
//   promote  pg_promote on the standby (a new timeline, so the WAL archive never gets two
//            different segments under one name);
//   serve    rewrite its settings as the primary's and restart it on the endpoint's port (the
//            endpoint does not move); swap AvailabilityZone / SecondaryAvailabilityZone and
//            clear the pending mark in the same commit;
//   rebuild  wipe the old host;
//   standby  build a new standby there with pg_basebackup and turn synchronous replication back
//            on once it is in sync.
// The same standby step builds the standby of a new Multi-AZ instance, a restore and a
// ModifyDBInstance MultiAZ=true. Each step is idempotent. A failover that fails after `fence`
// (the standby would not promote, say) cannot go back: the reconciler runs the `standby` kind,
// whose first steps finish the pending promotion, until the endpoint is served again.
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/log.h"
#include "common/poll.h"
#include "common/time_util.h"
#include "emulator/core/instance_state.h"
#include "emulator/core/validation.h"
#include "emulator/engine/operation_steps.h"
#include "emulator/postgres/sql.h"
#include "emulator/postgres/wait.h"

namespace localrds {
namespace fs = std::filesystem;

// --- the steps -------------------------------------------------------------------------------

namespace {
using namespace steps;

// A spec for the server where it listens now: a standby being promoted still runs on its
// socket-only port.
ServerSpec WhereItRuns(OpContext& c, ServerSpec spec) {
  const int port = c.env.runtime.ServingPort(spec);
  if (port > 0) spec.port = port;
  return spec;
}

}  // namespace

namespace steps {

// A standby is not built in a zone that an outage drill took down: the failover or build fails
// with this (the instance stays available, its standby is built when the zone recovers).
Status StandbyZoneUp(OpContext& c) {
  if (!StandbyOut(c.env.registry.outages(), c.instance)) return Status::Ok();
  return Status::Internal("its Availability Zone " +
                          c.instance.attrs.value("SecondaryAvailabilityZone", std::string()) +
                          " is in an outage (localrds drill)");
}

// Builds the hidden standby of a Multi-AZ instance from its running primary, then turns
// synchronous replication on and waits until the standby has every commit so far. `ready` is
// committed only then: the health monitor fails over only to a standby in that state.
Status BuildStandby(OpContext& c) {
  if (!IsMultiAz(c.instance) || StandbyState(c.instance) == "ready") {
    return Status::Ok();
  }
  LOCALRDS_RETURN_IF_ERROR(StandbyZoneUp(c));
  LOCALRDS_RETURN_IF_ERROR(EnsureRunning(c));
  InstanceRow row = c.instance;
  if (StandbyState(row) != "building" || StandbyPort(row) == 0) {
    auto port = c.env.servers.AllocatePort(0, row.resource_id, row.port);
    if (!port) return Status::Internal("no free port for the Multi-AZ standby");
    SetStandbyPort(row.attrs, *port);
    SetStandbyState(row.attrs, "building");
    c.Put(row);
  }
  const ServerSpec primary = c.env.servers.ReplicationSource(c.instance);
  const ServerSpec standby = c.env.servers.StandbyServer(c.instance);
  const std::string slot = ReplicationSlotName(c.instance.resource_id);
  LOCALRDS_RETURN_IF_ERROR(c.env.servers.EnsureReplicationSlot(c.instance, slot));
  if (!fs::exists(standby.pgdata / "PG_VERSION")) {
    LOCALRDS_RETURN_IF_ERROR(c.env.runtime.Kill(standby));  // a half-built one's server
    LOCALRDS_RETURN_IF_ERROR(BaseBackupInto(c, primary, standby.pgdata, slot));
  }
  LOCALRDS_RETURN_IF_ERROR(c.env.servers.EnsureStandbyRunning(c.instance));
  LOCALRDS_RETURN_IF_ERROR(WaitForAnswer(
      c.env.runtime, standby, "SELECT coalesce((SELECT status FROM pg_stat_wal_receiver), '')",
      "streaming", std::chrono::seconds(120), "the Multi-AZ standby streams from its primary",
      &primary));
  row = c.instance;
  SetStandbyState(row.attrs, "ready");
  c.Put(row);
  if (IsReplica(c.instance)) return Status::Ok();  // asynchronous
  LOCALRDS_RETURN_IF_ERROR(c.env.servers.WriteServerConfig(c.instance));
  LOCALRDS_RETURN_IF_ERROR(c.env.runtime.ExecSql(primary, "postgres", {"SELECT pg_reload_conf()"}));
  // In sync, and flushed up to what the primary had written when sync was turned on: commits
  // acknowledged before (asynchronously) are on the standby too.
  auto lsn = c.env.runtime.QueryValue(primary, "postgres", "SELECT pg_current_wal_lsn()");
  if (!lsn.ok()) return lsn.status();
  return WaitForAnswer(
      c,
      std::string("SELECT coalesce((SELECT sync_state = 'sync' AND flush_lsn >= ") +
          SqlLiteral(*lsn) +
          "::pg_lsn FROM pg_stat_replication WHERE "
          "application_name = '" +
          kStandbyName + "' LIMIT 1), false)",
      "t", std::chrono::seconds(120), "the Multi-AZ standby is in sync");
}

}  // namespace steps

namespace {

Status FinishStandby(OpContext& c, const EventSpec& event) {
  c.Event(event);
  return Status::Ok();
}

// RDS-EVENT-0025 ends a ModifyDBInstance MultiAZ=true once its standby is in sync (perhaps on
// the reconciler's retry).
Status ConvertedToMultiAz(OpContext& c) {
  InstanceRow row = c.instance;
  SetConvertingToMultiAz(row.attrs, false);
  c.Put(row);
  return FinishStandby(c, rds_events::kConvertedToMultiAz);
}

// --- failover ----------------------------------------------------------------------------

Status Fence(OpContext& c) {
  const ServerSpec old = c.Server();
  if (c.op.params.value("forced", false) && c.env.runtime.IsRunning(old) &&
      !c.env.runtime.IsPaused(old)) {
    // A clean shutdown sends every WAL record to the standby before the server exits; if it
    // fails, the kill below fences it anyway.
    LogIfFailed(c.env.runtime.Stop(old), "multi-az", "clean stop of " + c.instance.identifier);
    c.Event(rds_events::kShutdown);
  }
  LOCALRDS_RETURN_IF_ERROR(c.env.runtime.Kill(old));  // works on a frozen server too
  if (c.env.runtime.IsRunning(old)) return Status::Internal("the old primary is still running");
  InstanceRow row = c.instance;
  SetPrimaryHost(row.attrs, StandbyHost(row));
  SetStandbyState(row.attrs, "rebuild");  // the old host is never started again as it is
  SetFailoverPending(row.attrs, true);    // until the new host serves the endpoint
  c.Put(row);
  return Status::Ok();
}

Status PromoteStandby(OpContext& c) {
  const ServerSpec spec = c.Server();
  // Nothing pending: the `standby` kind's retry of a standby build. A Multi-AZ read replica's
  // new host stays a standby of the source.
  if (!FailoverPending(c.instance) || IsReplica(c.instance)) {
    return Status::Ok();
  }
  if (!c.env.runtime.IsRunning(spec)) {
    // Down too (localrds and its servers died): start it on the endpoint's port, still in
    // recovery (standby.signal), then promote it like a running one.
    if (!fs::exists(spec.pgdata / "standby.signal")) return Status::Ok();  // promoted already
    LOCALRDS_RETURN_IF_ERROR(c.env.servers.WriteServerConfig(c.instance));
    LOCALRDS_RETURN_IF_ERROR(c.env.runtime.Start(spec));
  }
  const ServerSpec at = WhereItRuns(c, spec);
  auto in_recovery = c.env.runtime.QueryValue(at, "postgres", "SELECT pg_is_in_recovery()");
  if (!in_recovery.ok()) return in_recovery.status();
  if (*in_recovery == "t") {
    // wal_retrieve_retry_interval is 100ms on every server: no 5-second promotion stall. No
    // wait in pg_promote (it polls every 100 ms): WaitOn below polls every few ms.
    auto promoted = c.env.runtime.QueryValue(at, "postgres", "SELECT pg_promote(false)");
    if (!promoted.ok()) return promoted.status();
  }
  return WaitForAnswer(c.env.runtime, at, "SELECT pg_is_in_recovery()", "f",
                       std::chrono::seconds(60), "the standby's promotion ends");
}

// The new primary takes the endpoint's port: the old one is dead, so the port is free (a
// client's TIME_WAIT does not block a listener). Never another port: the endpoint must not move.
Status ServeEndpoint(OpContext& c) {
  if (!FailoverPending(c.instance)) return Status::Ok();  // served already
  // Under a timing profile the endpoint refuses connections until the failover's duration has
  // passed: the promoted standby keeps its socket-only port until then (no commit waits).
  if (c.op.kind == OpKind::kFailover && HeldByTiming(c, TimedWork::kFailover)) return Status::Ok();
  const ServerSpec spec = c.Server();
  LOCALRDS_RETURN_IF_ERROR(c.env.servers.WriteServerConfig(c.instance));
  if (c.env.runtime.ServingPort(spec) != spec.port) {
    // Killed, not stopped cleanly: a fast shutdown would wait for the checkpoint the promotion
    // started and for the archiver to compress every segment still to archive (150-200 ms of
    // the failover, most of it). Neither is needed: every commit is in WAL on disk, the start
    // below replays it from the last checkpoint onto the promotion's timeline (PostgreSQL's
    // crash recovery), and the segments not archived yet stay `.ready` for the new server's
    // archiver (the archive command is idempotent).
    LOCALRDS_RETURN_IF_ERROR(c.env.runtime.Kill(spec));
    // The old primary's port may still be held for a moment (a killed postmaster's socket).
    Status st;
    PollUntil(
        [&] {
          st = c.env.runtime.Start(spec);
          return !PortInUse(st);
        },
        std::chrono::seconds(30),
        Backoff{std::chrono::milliseconds(50), std::chrono::milliseconds(50)});
    LOCALRDS_RETURN_IF_ERROR(st);
  } else {
    LOCALRDS_RETURN_IF_ERROR(c.env.runtime.ExecSql(spec, "postgres", {"SELECT pg_reload_conf()"}));
  }
  // Slots are not replicated: the read replicas' slots are made again on the new primary.
  for (const auto& replica : c.env.registry.ReplicasOf(c.instance.resource_id)) {
    LogIfFailed(
        c.env.servers.EnsureReplicationSlot(c.instance, ReplicationSlotName(replica.resource_id)),
        "multi-az", "the slot of " + replica.identifier + " on " + c.instance.identifier);
  }
  c.env.servers.RefreshReplicaConnections(c.instance.resource_id);
  InstanceRow row = c.instance;
  const nlohmann::json az = row.attrs["AvailabilityZone"];
  row.attrs["AvailabilityZone"] = row.attrs["SecondaryAvailabilityZone"];
  row.attrs["SecondaryAvailabilityZone"] = az;
  SetFailoverPending(row.attrs, false);
  row.status = DbStatus::kAvailable;
  c.Put(row);
  if (c.op.params.value("forced", false)) c.Event(rds_events::kRestarted);
  c.Event(rds_events::kFailoverToStandbyComplete);
  c.Event(rds_events::kFailoverCompleted);
  LogLine("multi-az") << c.instance.identifier << ": the standby serves port " << spec.port
                      << " in " << row.attrs.value("AvailabilityZone", "");
  return Status::Ok();
}

// The old primary's directory goes: it may hold WAL the new timeline never had.
Status WipeOldPrimary(OpContext& c) {
  if (StandbyState(c.instance) != "rebuild") return Status::Ok();
  LOCALRDS_RETURN_IF_ERROR(StandbyZoneUp(c));
  const ServerSpec old = c.env.servers.StandbyServer(c.instance);
  LOCALRDS_RETURN_IF_ERROR(c.env.runtime.Kill(old));
  Layout::RemoveTree(old.pgdata, c.env.layout.TrashDir());
  InstanceRow row = c.instance;
  SetStandbyState(row.attrs, "building");
  c.Put(row);
  c.Event(rds_events::kMultiAzRecoveryStarted);
  return Status::Ok();
}

// A standby build that failed: synchronous replication goes off again (no commit may wait for a
// standby that is not there), the instance stays `available`, and the reconciler tries again.
void FailStandby(OpContext& c, const Status& why) {
  InstanceRow row = c.instance;
  if (StandbyState(row) == "ready") SetStandbyState(row.attrs, "building");
  if (row.status == DbStatus::kRebooting || row.status == DbStatus::kModifying)
    row.status = DbStatus::kAvailable;
  c.Put(row);
  if (c.env.runtime.IsRunning(c.env.servers.Server(row)) &&
      c.env.servers.WriteServerConfig(row).ok()) {
    LogIfFailed(
        c.env.runtime.ExecSql(c.env.servers.Server(row), "postgres", {"SELECT pg_reload_conf()"}),
        "multi-az", "cannot reload " + row.identifier);
  }
  c.Event(rds_events::kStandbyFailed,
          std::string(rds_events::kStandbyFailed.message) + " (" + why.message() + ")");
}

// The failover itself failed. At `fence` nothing changed: the old primary still is the
// primary (the monitor fails over again if it is gone). After it the failover is pending: the
// instance stays `rebooting` (nothing serves its endpoint, and no other action may start) and
// the reconciler finishes it with the `standby` kind. After `serve`, only the new standby failed.
void FailFailover(OpContext& c, const Status& why) {
  const bool pending = FailoverPending(c.instance);
  if (!pending && !(c.op.kind == OpKind::kFailover && c.op.step == 0)) return FailStandby(c, why);
  InstanceRow row = c.instance;
  row.status = pending ? DbStatus::kRebooting : DbStatus::kAvailable;
  c.Put(row);
  c.Event(rds_events::kFailoverFailed,
          std::string(rds_events::kFailoverFailed.message) + " (" + why.message() + ")");
}

// --- ModifyDBInstance MultiAZ ----------------------------------------------------------------

Status ModifyMultiAz(OpContext& c) {
  auto it = c.op.params.find("multi_az");
  if (it == c.op.params.end()) return Status::Ok();
  if (it->get<bool>()) {
    if (!IsMultiAz(c.instance)) {
      InstanceRow row = c.instance;
      row.attrs["MultiAZ"] = true;
      row.attrs["SecondaryAvailabilityZone"] = c.op.params.value("secondary_az", "");
      SetConvertingToMultiAz(row.attrs, true);  // RDS-EVENT-0025 once the standby is in sync
      c.Put(row);
    }
    // The instance is Multi-AZ from here on, like one whose standby is being replaced: a standby
    // that cannot be built now is said so and built again by the reconciler.
    if (Status st = BuildStandby(c); !st.ok()) {
      FailStandby(c, st);
      return Status::Ok();
    }
    return ConvertedToMultiAz(c);
  }
  // Off: synchronous replication first (no commit may wait for a standby that is going away).
  const ServerSpec standby = c.env.servers.StandbyServer(c.instance);
  InstanceRow row = c.instance;
  row.attrs["MultiAZ"] = false;
  row.attrs.erase("SecondaryAvailabilityZone");
  SetStandbyState(row.attrs, "");
  SetConvertingToMultiAz(row.attrs, false);
  c.Put(row);
  LOCALRDS_RETURN_IF_ERROR(EnsureRunning(c));
  LOCALRDS_RETURN_IF_ERROR(c.env.servers.WriteServerConfig(c.instance));
  LOCALRDS_RETURN_IF_ERROR(
      c.env.runtime.ExecSql(c.Server(), "postgres", {"SELECT pg_reload_conf()"}));
  LOCALRDS_RETURN_IF_ERROR(c.env.runtime.Stop(standby));
  LOCALRDS_RETURN_IF_ERROR(
      c.env.servers.DropReplicationSlot(c.instance, ReplicationSlotName(c.instance.resource_id)));
  Layout::RemoveTree(standby.pgdata, c.env.layout.TrashDir());
  row = c.instance;
  SetStandbyPort(row.attrs, 0);
  c.Put(row);
  return FinishStandby(c, rds_events::kConvertedToSingleAz);
}

// RDS-EVENT-0053 ends a standby's replacement (after a failover, or a failed build retried);
// a conversion to Multi-AZ whose first build failed ends with RDS-EVENT-0025 instead.
Status RecoveryFinished(OpContext& c) {
  if (ConvertingToMultiAz(c.instance)) return ConvertedToMultiAz(c);
  if (c.op.kind == OpKind::kFailover || c.op.params.value("recovery", false)) {
    c.Event(rds_events::kMultiAzRecoveryFinished);
  }
  return Status::Ok();
}

}  // namespace

void AddMultiAzOperationKinds(std::map<OpKind, OperationKind>& kinds) {
  kinds[OpKind::kFailover] = {{{"fence", Fence},
                               {"promote", PromoteStandby},
                               {"serve", ServeEndpoint},
                               {"rebuild", WipeOldPrimary},
                               {"standby", BuildStandby},
                               {"finish", RecoveryFinished}},
                              FailFailover};
  // The reconciler's: finishes a failover that failed after `fence` (promote and serve do
  // nothing when none is pending), then builds the standby again.
  kinds[OpKind::kStandby] = {{{"promote", PromoteStandby},
                              {"serve", ServeEndpoint},
                              {"rebuild", WipeOldPrimary},
                              {"standby", BuildStandby},
                              {"finish", RecoveryFinished}},
                             FailFailover};
}

Status steps::ApplyMultiAzModification(OpContext& c) { return ModifyMultiAz(c); }

Status steps::StopServers(OpContext& c) {
  LOCALRDS_RETURN_IF_ERROR(StopServer(c));
  return c.env.servers.StopStandby(c.instance);
}

}  // namespace localrds
