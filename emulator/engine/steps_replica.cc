// The read replica operation kinds. create-replica builds a hot standby of the source with
// pg_basebackup through a replication slot and waits until it streams; promote detaches a
// replica, promotes its server and gives it backups of its own. Each step is idempotent.
#include <filesystem>
#include <thread>

#include "common/log.h"
#include "common/time_util.h"
#include "emulator/core/instance_state.h"
#include "emulator/engine/operation_steps.h"

namespace localrds {
namespace fs = std::filesystem;
namespace {
using namespace steps;

std::optional<InstanceRow> Source(OpContext& c) {
  auto rid = ParamString(c, "source");
  return rid ? c.env.registry.GetInstance(*rid) : std::nullopt;
}

std::string Slot(const OpContext& c) { return ReplicationSlotName(c.instance.resource_id); }

// --- create-replica --------------------------------------------------------------------------

// The slot first: from its creation on, the source keeps every WAL segment the replica needs.
Status CreateSlot(OpContext& c) {
  auto source = Source(c);
  if (!source) return Status::Internal("the source DB instance no longer exists");
  return c.env.servers.EnsureReplicationSlot(*source, Slot(c));
}

// pg_basebackup of the source into pgdata.tmp (its WAL streamed through the slot), one syncfs,
// and a rename: pgdata only ever appears complete.
Status CopySourceData(OpContext& c) {
  const Layout& layout = c.env.layout;
  const fs::path pgdata = layout.PgData(c.instance.resource_id);
  if (fs::exists(pgdata / "PG_VERSION")) return Status::Ok();
  auto source = Source(c);
  if (!source) return Status::Internal("the source DB instance no longer exists");
  LOCALRDS_RETURN_IF_ERROR(
      c.env.runtime.PrepareDirectory(layout.InstanceDir(c.instance.resource_id)));
  return BaseBackupInto(c, c.env.servers.ReplicationSource(*source), pgdata, Slot(c));
}

// Available once the standby streams from its source (RDS-EVENT-0046 is also the creation's).
Status WaitStreaming(OpContext& c) {
  LOCALRDS_RETURN_IF_ERROR(EnsureRunning(c));
  LOCALRDS_RETURN_IF_ERROR(
      WaitForAnswer(c, "SELECT coalesce((SELECT status FROM pg_stat_wal_receiver), '')",
                    "streaming", std::chrono::seconds(120), "the replica streams from its source"));
  InstanceRow row = c.instance;
  row.status = DbStatus::kAvailable;
  row.attrs["StatusInfos"] = ReplicationStatusInfos("replicating");
  c.Put(row);
  c.Event(rds_events::kCreated);
  c.Event(rds_events::kReplicationResumed);
  return Status::Ok();
}

void FailReplicaCreation(OpContext& c, const Status& why) {
  c.Event(rds_events::kReplicaCreationFailed,
          std::string(rds_events::kReplicaCreationFailed.message) + " " + why.message());
  if (auto source = Source(c)) {
    LogIfFailed(c.env.servers.DropReplicationSlot(*source, Slot(c)), "replication",
                "the slot of a failed replica on " + source->identifier);
  }
  FailInstance(c, why);
}

// --- promote ---------------------------------------------------------------------------------

// The row first: from here on localrds configures the server as a primary (no primary_conninfo),
// so a crash at any later point resumes a promotion, never a replica.
Status Detach(OpContext& c) {
  if (!IsReplica(c.instance)) return Status::Ok();
  InstanceRow row = c.instance;
  const std::string source = *ReplicaSource(row);
  ForgetReplication(row.attrs);
  SetPromotedFrom(row.attrs, source);  // whose slot the promotion drops
  row.attrs["BackupRetentionPeriod"] = c.op.params.value("retention", 0);
  if (auto w = ParamString(c, "backup_window")) row.attrs["PreferredBackupWindow"] = *w;
  c.Put(row);
  c.Event(rds_events::kReplicationTerminated);
  return Status::Ok();
}

Status Promote(OpContext& c) {
  const ServerSpec spec = c.Server();
  if (!c.env.runtime.IsRunning(spec)) {
    // Without standby.signal the server ends recovery at start and comes up writable.
    std::error_code ec;
    fs::remove(spec.pgdata / "standby.signal", ec);
    LOCALRDS_RETURN_IF_ERROR(Configure(c));
    LOCALRDS_RETURN_IF_ERROR(StartServer(c));
  }
  auto in_recovery = c.env.runtime.QueryValue(spec, "postgres", "SELECT pg_is_in_recovery()");
  if (!in_recovery.ok()) return in_recovery.status();
  if (*in_recovery == "t") {
    // wal_retrieve_retry_interval is 100ms on every server: no 5-second promotion stall.
    auto promoted = c.env.runtime.QueryValue(spec, "postgres", "SELECT pg_promote(true, 120)");
    if (!promoted.ok()) return promoted.status();
  }
  LOCALRDS_RETURN_IF_ERROR(WaitForAnswer(c, "SELECT pg_is_in_recovery()", "f",
                                         std::chrono::seconds(120), "the promotion ends"));
  // The primary's settings (its own archive when backups are on) take effect with a reload.
  LOCALRDS_RETURN_IF_ERROR(c.env.servers.WriteServerConfig(c.instance));
  return c.env.runtime.ExecSql(spec, "postgres", {"SELECT pg_reload_conf()"});
}

// Best effort: a source that is down keeps the slot until it starts (then it is dropped as
// stale), and a deleted source took it along.
Status DropSourceSlot(OpContext& c) {
  auto source = c.env.registry.GetInstance(PromotedFrom(c.instance));
  if (!source) return Status::Ok();
  Status st = c.env.servers.DropReplicationSlot(*source, Slot(c));
  if (!st.ok()) {
    LogLine("replication") << c.instance.identifier << ": " << st.ToString()
                           << "; it is dropped when the source next starts";
  }
  return Status::Ok();
}

Status StartFirstBackup(OpContext& c) {
  auto id = ParamString(c, "snapshot_id");
  if (!id) return Status::Ok();
  SetStatus(c, DbStatus::kBackingUp);
  c.Event(rds_events::kBackupStarted);
  if (auto snap = c.env.registry.GetSnapshot(*id)) {
    c.SnapshotEvent(*snap, rds_events::kAutomatedSnapshotCreating);
  }
  return Status::Ok();
}

Status FinishPromotion(OpContext& c) {
  LOCALRDS_RETURN_IF_ERROR(EnsureRunning(c));
  InstanceRow row = c.instance;
  row.status = DbStatus::kAvailable;
  SetPromotedFrom(row.attrs, "");
  c.Put(row);
  c.Event(rds_events::kPromoted,
          std::string(rds_events::kPromoted.message) +
              (c.op.params.value("source_deleted", false) ? " (its source DB instance was deleted)"
                                                          : ""));
  return Status::Ok();
}

// A failed promotion leaves what is true: a writable instance if the server was promoted.
void FailPromotion(OpContext& c, const Status& why) {
  auto in_recovery = c.env.runtime.QueryValue(c.Server(), "postgres", "SELECT pg_is_in_recovery()");
  InstanceRow row = c.instance;
  row.status = in_recovery.ok() && *in_recovery == "f" ? DbStatus::kAvailable : DbStatus::kFailed;
  c.Put(row);
  c.Event(rds_events::kFailed, "Promotion failed: " + why.message());
}

}  // namespace

void AddReplicaOperationKinds(std::map<OpKind, OperationKind>& kinds) {
  kinds[OpKind::kCreateReplica] = {{{"slot", CreateSlot},
                                    {"copy-data", CopySourceData},
                                    {"configure", Configure},
                                    {"start", StartServer},
                                    {"standby", BuildStandby},
                                    {"stream", AfterTiming(TimedWork::kReplica, WaitStreaming)}},
                                   FailReplicaCreation};
  kinds[OpKind::kPromote] = {{{"detach", Detach},
                              {"promote", Promote},
                              {"drop-slot", DropSourceSlot},
                              {"first-backup", AfterTiming(TimedWork::kPromote, StartFirstBackup)},
                              {"backup", TakeSnapshot},
                              {"finish", FinishPromotion}},
                             FailPromotion};
}

}  // namespace localrds
