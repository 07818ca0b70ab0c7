// The instance operation kinds: create, delete, stop, start, reboot, modify, recover; the steps
// several kinds share (operation_steps.h); and OperationKinds(), the table of every kind (the
// backup kinds are in steps_backup.cc, the replica and Multi-AZ kinds in steps_replica.cc and
// steps_multi_az.cc). Each step looks at reality first so that running it twice (after a crash)
// is harmless.
#include <filesystem>

#include "common/log.h"
#include "common/time_util.h"
#include "emulator/core/instance_state.h"
#include "emulator/engine/operation_engine.h"
#include "emulator/engine/operation_steps.h"
#include "emulator/postgres/parameters.h"
#include "emulator/postgres/wait.h"
#include "emulator/runtime/cluster_pool.h"

namespace localrds {
namespace fs = std::filesystem;

namespace steps {

bool HeldByTiming(OpContext& c, TimedWork work) {
  const TimingProfile timing = EffectiveTiming(c.instance, c.env.registry.config().timing);
  const int64_t due = c.op.created_ms + timing.DurationMs(work);
  if (c.env.registry.Now() >= due) return false;
  c.not_before_ms = due;
  return true;
}

OperationStep::Fn AfterTiming(TimedWork work, OperationStep::Fn step) {
  return [work, step = std::move(step)](OpContext& c) {
    if (HeldByTiming(c, work)) return Status::Ok();
    return step(c);
  };
}

std::optional<std::string> ParamString(const OpContext& c, const char* name) {
  auto it = c.op.params.find(name);
  if (it == c.op.params.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

void SetStatus(OpContext& c, DbStatus status) {
  InstanceRow row = c.instance;
  row.status = status;
  c.Put(row);
}

Status Configure(OpContext& c) {
  // The port may have been taken while the server was down: move to a free one.
  auto port = c.env.servers.AllocatePort(c.instance.port, c.instance.resource_id);
  if (!port) return Status::Internal("no free port for the instance's PostgreSQL server");
  if (*port != c.instance.port) {
    LogLine("ops") << c.instance.identifier << ": port " << c.instance.port
                   << " is busy, moving to " << *port;
    InstanceRow row = c.instance;
    row.port = *port;
    c.Put(row);
  }
  return c.env.servers.WriteServerConfig(c.instance);
}

// Starts the server; when its port was taken between the check and the bind (another program,
// or another localrds), moves to a free port and tries again.
Status StartServer(OpContext& c) {
  Status st;
  for (int attempt = 0; attempt < 5; ++attempt) {
    st = c.env.runtime.Start(c.Server());
    if (st.ok()) {
      (void)c.env.servers.EnsureServerRoles(c.instance);  // logs a failure; not fatal to a start
      c.env.servers.DropStaleReplicationSlots(c.instance);
      c.env.servers.RefreshReplicaConnections(c.instance.resource_id);
      Status standby = c.env.servers.EnsureStandbyRunning(c.instance);
      if (!standby.ok()) {
        LogLine("ops") << c.instance.identifier << ": standby not started: " << standby.ToString();
      }
      return st;
    }
    if (!PortInUse(st)) return st;
    auto port = c.env.servers.AllocatePort(0, c.instance.resource_id, c.instance.port);
    if (!port) return st;
    LogLine("ops") << c.instance.identifier << ": port " << c.instance.port
                   << " was taken meanwhile, moving to " << *port;
    InstanceRow row = c.instance;
    row.port = *port;
    c.Put(row);
    LOCALRDS_RETURN_IF_ERROR(c.env.servers.WriteServerConfig(c.instance));
  }
  return st;
}

Status WaitForAnswer(OpContext& c, const std::string& sql, const std::string& want,
                     std::chrono::seconds timeout, const std::string& what) {
  return WaitForAnswer(c.env.runtime, c.Server(), sql, want, timeout, what);
}

Status StopServer(OpContext& c) { return c.env.runtime.Stop(c.Server()); }

// Steps that need the server first make sure it runs: after a crash of the whole machine (or of
// localrds with its servers) a resumed operation finds it stopped.
Status EnsureRunning(OpContext& c) {
  if (c.env.runtime.IsRunning(c.Server())) return Status::Ok();
  LOCALRDS_RETURN_IF_ERROR(Configure(c));
  return StartServer(c);
}

// A snapshot this operation was taking ends `failed` (with an event) when the operation fails.
void FailPendingSnapshot(OpContext& c, const Status& why) {
  auto id = c.op.params.find("snapshot_id");
  if (id == c.op.params.end()) return;
  auto snap = c.env.registry.GetSnapshot(id->get<std::string>());
  if (!snap || snap->status != "creating") return;
  snap->status = "failed";
  c.PutSnapshot(*snap);
  c.SnapshotEvent(*snap, rds_events::kSnapshotFailed,
                  std::string(rds_events::kSnapshotFailed.message) + ": " + why.message());
  Layout::RemoveTree(c.env.layout.SnapshotDir(snap->id) += ".tmp", c.env.layout.TrashDir());
}

void FailInstance(OpContext& c, const Status& why) {
  FailPendingSnapshot(c, why);
  LogIfFailed(c.env.runtime.Stop(c.Server()), "ops",
              "cannot stop the failed " + c.instance.identifier);
  SetStatus(c, DbStatus::kFailed);
  c.Event(rds_events::kFailed,
          std::string(rds_events::kFailed.message) + " (" + why.message() + ")");
}

// After a failed stop/start/reboot, report what is really true.
void ReflectReality(OpContext& c, const Status& why) {
  FailPendingSnapshot(c, why);
  bool running = c.env.runtime.IsRunning(c.Server());
  InstanceRow row = c.instance;
  row.status = running ? DbStatus::kAvailable : DbStatus::kStopped;
  row.desired_state = running ? "running" : "stopped";
  c.Put(row);
  LogLine("ops") << c.instance.identifier << ": operation failed (" << why.ToString()
                 << "), instance is " << row.status;
}

}  // namespace steps

namespace {
using namespace steps;

std::string Major(const InstanceRow& row) {
  std::string v = row.attrs.value("EngineVersion", "");
  return v.substr(0, v.find('.'));
}

std::string QuoteIdent(const std::string& s) { return "\"" + s + "\""; }

Status PrepareCluster(OpContext& c) {
  const Layout& layout = c.env.layout;
  fs::path pgdata = layout.PgData(c.instance.resource_id);
  // pgdata only ever appears by an atomic rename of a complete cluster.
  if (fs::exists(pgdata / "PG_VERSION")) return Status::Ok();
  LOCALRDS_RETURN_IF_ERROR(
      c.env.runtime.PrepareDirectory(layout.InstanceDir(c.instance.resource_id)));
  if (c.env.pool.Take(Major(c.instance), pgdata)) return Status::Ok();
  return c.env.pool.MakeCluster(Major(c.instance), pgdata);
}

Status Bootstrap(OpContext& c) {
  LOCALRDS_RETURN_IF_ERROR(EnsureRunning(c));
  const std::string user = QuoteIdent(c.instance.attrs.value("MasterUsername", ""));
  const std::string verifier = c.instance.password_verifier;
  std::vector<std::string> sql = {
      "CREATE ROLE rds_superuser NOLOGIN",
      "GRANT pg_monitor, pg_signal_backend, pg_read_all_settings, pg_read_all_stats, "
      "pg_stat_scan_tables TO rds_superuser WITH ADMIN OPTION",
      "CREATE ROLE " + user + " LOGIN CREATEDB CREATEROLE IN ROLE rds_superuser PASSWORD '" +
          verifier + "'",
      // Converges a role left by an interrupted run to the same attributes.
      "ALTER ROLE " + user + " LOGIN CREATEDB CREATEROLE NOSUPERUSER PASSWORD '" + verifier + "'",
      "GRANT rds_superuser TO " + user + " WITH ADMIN OPTION",
      // As on RDS, the master user owns the default databases (rdsadmin keeps template0).
      "ALTER DATABASE postgres OWNER TO " + user,
      "ALTER DATABASE template1 OWNER TO " + user,
  };
  if (std::stoi(Major(c.instance)) >= 15) {  // pg_checkpoint is new in PostgreSQL 15
    sql.push_back("GRANT pg_checkpoint TO rds_superuser WITH ADMIN OPTION");
  }
  if (c.instance.attrs.contains("DBName")) {
    sql.push_back("CREATE DATABASE " + QuoteIdent(c.instance.attrs["DBName"].get<std::string>()) +
                  " OWNER " + user);
  }
  LOCALRDS_RETURN_IF_ERROR(c.env.runtime.ExecSql(c.Server(), "postgres", sql));
  return c.env.servers.EnsureServerRoles(c.instance);  // rdsrepladmin, for standbys and replicas
}

Status FinishAvailable(OpContext& c, const EventSpec& event) {
  LOCALRDS_RETURN_IF_ERROR(EnsureRunning(c));  // `available` means a client can connect
  // A restored or promoted cluster made before localrds had rdsrepladmin gets it now.
  (void)c.env.servers.EnsureServerRoles(c.instance);  // logs a failure
  InstanceRow row = c.instance;
  row.status = DbStatus::kAvailable;
  row.desired_state = "running";
  row.stopped_ms = 0;
  c.Put(row);
  c.Event(event);
  return Status::Ok();
}

Status ModifyPassword(OpContext& c) {
  auto it = c.op.params.find("password_verifier");
  if (it == c.op.params.end()) return Status::Ok();
  LOCALRDS_RETURN_IF_ERROR(EnsureRunning(c));
  const std::string user = QuoteIdent(c.instance.attrs.value("MasterUsername", ""));
  LOCALRDS_RETURN_IF_ERROR(
      c.env.runtime.ExecSql(c.Server(), "postgres",
                            {"ALTER ROLE " + user + " PASSWORD '" + it->get<std::string>() + "'"}));
  InstanceRow row = c.instance;
  row.password_verifier = it->get<std::string>();
  c.Put(row);
  c.Event(rds_events::kResetCredentials);
  return Status::Ok();
}

// A new class changes what RDS's formulas in the instance's parameters give
// ({DBInstanceClassMemory/32768}, …): the server restarts with them, as RDS restarts an instance
// whose class changes. Without a formula nothing restarts (localrds' own sizing ignores classes).
Status ModifyClass(OpContext& c) {
  const auto& p = c.op.params;
  if (!p.contains("attrs") || !p["attrs"].contains("DBInstanceClass")) return Status::Ok();
  if (p.value("restart", false)) return Status::Ok();  // a reboot restarted it with the class
  bool formula = false;
  for (const auto& [name, value] : InstanceParameters(c.instance)) {
    formula = formula || IsFormula(value);
  }
  if (!formula) return Status::Ok();
  InstanceRow row = c.instance;
  row.attrs["DBInstanceClass"] = p["attrs"]["DBInstanceClass"];
  LOCALRDS_RETURN_IF_ERROR(c.env.servers.WriteServerConfig(row));
  LOCALRDS_RETURN_IF_ERROR(c.env.runtime.Stop(c.Server()));
  LOCALRDS_RETURN_IF_ERROR(c.env.runtime.Start(c.Server()));
  return c.env.servers.EnsureStandbyRunning(row);
}

Status ModifyPort(OpContext& c) {
  auto it = c.op.params.find("port");
  if (it == c.op.params.end()) return Status::Ok();
  const int port = it->get<int>();
  const int old_port = c.instance.port;
  if (port == old_port && c.env.runtime.IsRunning(c.Server())) return Status::Ok();
  // The port was free when the call was accepted; it must still be.
  if (c.env.servers.AllocatePort(port, c.instance.resource_id) != port) {
    return Status::Internal("port " + std::to_string(port) + " is no longer free");
  }
  LOCALRDS_RETURN_IF_ERROR(c.env.runtime.Stop(c.Server()));
  InstanceRow row = c.instance;
  row.port = port;
  c.Put(row);
  Status st = c.env.servers.WriteServerConfig(c.instance);
  if (st.ok()) st = c.env.runtime.Start(c.Server());
  if (st.ok()) {
    // Its replicas and its Multi-AZ standby follow it to the new port.
    c.env.servers.RefreshReplicaConnections(c.instance.resource_id);
    Status standby = c.env.servers.EnsureStandbyRunning(c.instance);
    if (!standby.ok()) {
      LogLine("ops") << c.instance.identifier << ": standby not restarted: " << standby.ToString();
    }
  }
  if (!st.ok()) {
    // Back to the old port, so that the instance keeps serving where it did.
    row.port = old_port;
    c.Put(row);
    if (c.env.servers.WriteServerConfig(c.instance).ok()) {
      LogIfFailed(c.env.runtime.Start(c.Server()), "ops",
                  "cannot start " + c.instance.identifier + " on its old port again");
    }
    return st;
  }
  c.Event(rds_events::kRestarted);
  return Status::Ok();
}

// RebootDBInstance with pending modifications (params "restart"): the server stops, then starts
// with them: the class and storage are recorded first, so that the restarted server runs with
// them (the docker runtime's limits follow the class); ModifyFinish records them again and
// clears them from PendingModifiedValues. Under a timing profile the start waits for the
// reboot's duration, as a plain reboot's does. Each half is harmless when run again.
Status ModifyStopForRestart(OpContext& c) {
  if (!c.op.params.value("restart", false)) return Status::Ok();
  if (c.op.params.contains("attrs")) {
    InstanceRow row = c.instance;
    for (auto& [k, v] : c.op.params["attrs"].items()) row.attrs[k] = v;
    c.Put(row);
  }
  LOCALRDS_RETURN_IF_ERROR(StopServer(c));
  c.Event(rds_events::kShutdown);
  return Status::Ok();
}

Status ModifyRestart(OpContext& c) {
  if (!c.op.params.value("restart", false) || HeldByTiming(c, TimedWork::kReboot)) {
    return Status::Ok();
  }
  LOCALRDS_RETURN_IF_ERROR(Configure(c));
  LOCALRDS_RETURN_IF_ERROR(StartServer(c));
  c.Event(rds_events::kRestarted);
  return Status::Ok();
}

// A new CA (ModifyDBInstance CACertificateIdentifier): WriteServerConfig issues the server a
// certificate from it; the server serves it after a restart or, with CertificateRotationRestart
// false, a reload. The Multi-AZ standby gets the same certificate. Run again after a crash, it
// keeps the certificate already written and restarts once more.
Status ModifyCertificate(OpContext& c) {
  auto it = c.op.params.find("certificate");
  if (it == c.op.params.end()) return Status::Ok();
  LOCALRDS_RETURN_IF_ERROR(c.env.servers.WriteServerConfig(c.instance));
  const ServerSpec spec = c.Server();
  if (*it == "restart" || !c.env.runtime.IsRunning(spec)) {
    LOCALRDS_RETURN_IF_ERROR(c.env.runtime.Stop(spec));
    LOCALRDS_RETURN_IF_ERROR(c.env.runtime.Start(spec));
    c.Event(rds_events::kRestarted);
  } else {
    LOCALRDS_RETURN_IF_ERROR(c.env.runtime.ExecSql(spec, "postgres", {"SELECT pg_reload_conf()"}));
  }
  LogIfFailed(c.env.servers.EnsureStandbyRunning(c.instance), "ops",
              "the standby of " + c.instance.identifier + " keeps its old certificate");
  return Status::Ok();
}

Status ModifyFinish(OpContext& c) {
  LOCALRDS_RETURN_IF_ERROR(EnsureRunning(c));
  InstanceRow row = c.instance;
  const auto& p = c.op.params;
  if (p.contains("attrs")) {
    for (auto& [k, v] : p["attrs"].items()) row.attrs[k] = v;
  }
  if (p.contains("clear_pending")) {
    for (auto& k : p["clear_pending"])
      row.attrs["PendingModifiedValues"].erase(k.get<std::string>());
  }
  std::string old_id = row.identifier;
  if (p.contains("new_identifier")) row.identifier = p["new_identifier"].get<std::string>();
  row.status = DbStatus::kAvailable;
  const bool storage_grew = p.contains("attrs") && p["attrs"].contains("AllocatedStorage");
  if (storage_grew) {
    // The autoscaling cooldown starts now. A full instance gets its writes back at once (the
    // storage monitor measures it again on its next pass and says storage-full again if the
    // data still does not fit).
    SetStorageModifiedMs(row.attrs, c.env.registry.Now());
    if (StorageFull(row)) {
      SetStorageFull(row.attrs, false);
      LOCALRDS_RETURN_IF_ERROR(c.env.servers.ApplyStorageFull(row));
    }
  }
  c.Put(row);
  if (p.contains("attrs") && p["attrs"].contains("DBInstanceClass")) {
    // The docker runtime's memory and CPU limits follow the class (the local runtime has none).
    LOCALRDS_RETURN_IF_ERROR(c.env.runtime.ApplyResourceLimits(c.Server()));
    if (c.env.servers.StandbyBuilt(c.instance)) {
      LOCALRDS_RETURN_IF_ERROR(
          c.env.runtime.ApplyResourceLimits(c.env.servers.StandbyServer(c.instance)));
    }
    c.Event(rds_events::kClassChanged);
  }
  if (storage_grew) {
    c.Event(p.value("autoscale", false) ? rds_events::kStorageAutoscaled
                                        : rds_events::kStorageChanged);
  }
  if (p.contains("new_identifier")) {
    c.Event(rds_events::kRenamed, "Renamed instance from " + old_id + " to " + row.identifier);
  }
  return Status::Ok();
}

// A deleted read replica's slot would keep its source's WAL forever.
Status DropOwnSlot(OpContext& c) {
  auto source = c.env.registry.GetInstance(ReplicaSource(c.instance).value_or(""));
  if (!source) return Status::Ok();
  return c.env.servers.DropReplicationSlot(*source, ReplicationSlotName(c.instance.resource_id));
}

Status RemoveFiles(OpContext& c) {
  const Layout& layout = c.env.layout;
  Layout::RemoveTree(layout.InstanceDir(c.op.resource_id), layout.TrashDir());
  return Status::Ok();
}

Status Forget(OpContext& c) {
  if (!c.instance.resource_id.empty()) {
    c.Event(rds_events::kDeleted);
    c.staged.remove.push_back(c.instance.resource_id);
  }
  return Status::Ok();
}

// Delete: the instance row goes; its automated backups are kept as a retained backup or dropped.
Status ForgetInstance(OpContext& c) {
  if (c.instance.resource_id.empty()) return Status::Ok();  // done before a crash
  if (c.op.params.value("retain_automated_backups", false) &&
      !c.env.registry.AutomatedSnapshotsOf(c.instance.resource_id).empty()) {
    RetainedBackupRow r;
    r.resource_id = c.instance.resource_id;
    r.instance = c.instance;
    r.deleted_ms = c.env.registry.Now();
    c.staged.put_retained.push_back(r);
  } else {
    for (const auto& snap : c.env.registry.AutomatedSnapshotsOf(c.instance.resource_id)) {
      c.staged.remove_snapshots.push_back(snap.id);
    }
  }
  return Forget(c);
}

// Steps only the stop, reboot and recover kinds have.
Status FinishStop(OpContext& c) {
  InstanceRow row = c.instance;
  row.status = DbStatus::kStopped;
  row.desired_state = "stopped";
  row.stopped_ms = c.env.registry.Now();
  c.Put(row);
  c.Event(rds_events::kStopped);
  return Status::Ok();
}

Status StopForReboot(OpContext& c) {
  LOCALRDS_RETURN_IF_ERROR(StopServer(c));
  c.Event(rds_events::kShutdown);
  return Status::Ok();
}

Status FinishRecovery(OpContext& c) {
  LOCALRDS_RETURN_IF_ERROR(EnsureRunning(c));
  c.Event(rds_events::kRecoveryFinished);
  return Status::Ok();
}

}  // namespace

void AddInstanceOperationKinds(std::map<OpKind, OperationKind>& kinds) {
  kinds[OpKind::kCreate] = {{{"prepare-cluster", PrepareCluster},
                             {"configure", Configure},
                             {"start", StartServer},
                             {"bootstrap", Bootstrap},
                             {"standby", BuildStandby},
                             {"created", AfterTiming(TimedWork::kCreate, Created)},
                             {"backup", TakeSnapshot},
                             {"finish", FinishBackup}},
                            FailInstance};
  kinds[OpKind::kDelete] = {{{"final-snapshot", TakeSnapshot},
                             {"stop", StopServerMarkingArchive},
                             {"drop-slot", DropOwnSlot},
                             {"remove-files", RemoveFiles},
                             {"forget", ForgetInstance},
                             {"remove-backups", RemoveDroppedBackupFiles}},
                            [](OpContext& c, const Status& why) { FailInstance(c, why); }};
  kinds[OpKind::kStop] = {
      {{"snapshot", TakeSnapshot}, {"stop", StopServerMarkingArchive}, {"finish", FinishStop}},
      ReflectReality};
  kinds[OpKind::kStart] = {
      {{"configure", Configure},
       {"start", StartServer},
       {"finish", [](OpContext& c) { return FinishAvailable(c, rds_events::kStarted); }}},
      ReflectReality};
  // Under a timing profile the endpoint refuses connections for the reboot's duration: the
  // server starts again only then.
  kinds[OpKind::kReboot] = {
      {{"stop", StopForReboot},
       {"configure", AfterTiming(TimedWork::kReboot, Configure)},
       {"start", StartServer},
       {"finish", [](OpContext& c) { return FinishAvailable(c, rds_events::kRestarted); }}},
      ReflectReality};
  kinds[OpKind::kModify] = {{{"password", ModifyPassword},
                             {"port", ModifyPort},
                             {"stop-for-restart", ModifyStopForRestart},
                             {"restart", ModifyRestart},
                             {"backups", ModifyBackups},
                             {"remove-backups", RemoveDroppedBackupFiles},
                             {"backup", TakeSnapshot},
                             {"multi-az", ApplyMultiAzModification},
                             {"class", ModifyClass},
                             {"certificate", ModifyCertificate},
                             {"finish", ModifyFinish}},
                            ReflectReality};
  kinds[OpKind::kRecover] = {
      {{"configure", Configure}, {"start", StartServer}, {"finish", FinishRecovery}}, FailInstance};
}

const std::map<OpKind, OperationKind>& OperationKinds() {
  static const std::map<OpKind, OperationKind> kKinds = [] {
    std::map<OpKind, OperationKind> kinds;
    AddInstanceOperationKinds(kinds);
    AddBackupOperationKinds(kinds);
    AddReplicaOperationKinds(kinds);
    AddMultiAzOperationKinds(kinds);
    return kinds;
  }();
  return kKinds;
}

}  // namespace localrds
