// Multi-AZ: every Multi-AZ instance has two hosts, "a" (pgdata) and "b" (pgdata-b). One runs
// the primary on the endpoint's port; the other runs a hidden hot standby (Unix socket only, no
// TCP) that streams through a slot and is named in the primary's synchronous_standby_names, so
// no acknowledged commit exists only on the primary.
//
// A failover (forced by RebootDBInstance ForceFailover, or started by the health monitor when
// the primary's server is gone or has not answered for `hung_after`) runs these steps:
//   fence    stop the old primary (cleanly when forced, SIGKILL otherwise: a frozen server
//            holds the endpoint's port and must never write again), then flip _primary_host in
//            the catalog and mark the failover pending (_failover): from here on localrds never
//            starts the old host as a primary;
//   promote  pg_promote on the standby (a new timeline, so the WAL archive never gets two
//            different segments under one name);
//   serve    rewrite its settings as the primary's and restart it on the endpoint's port (the
//            endpoint does not move); swap AvailabilityZone / SecondaryAvailabilityZone and
//            clear _failover in the same commit;
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
#include "common/time_util.h"
#include "emulator/backup_files.h"
#include "emulator/operation_steps.h"
#include "emulator/validation.h"

namespace localrds {
namespace fs = std::filesystem;

namespace {
// The application_name of every Multi-AZ standby: the one name in its primary's
// synchronous_standby_names (read replicas use their resource ids).
constexpr const char* kStandbyName = "localrds_standby";
}  // namespace

void ResetMultiAzFields(nlohmann::json& attrs, bool multi_az) {
  for (const char* k : {"_primary_host", "_standby", "_standby_port", "_failover", "_converting",
                        "SecondaryAvailabilityZone"}) {
    attrs.erase(k);
  }
  attrs["MultiAZ"] = multi_az;
  if (multi_az) {
    attrs["SecondaryAvailabilityZone"] = NextAvailabilityZone(attrs.value("AvailabilityZone", ""));
  }
}

// --- ControlPlane's side ---------------------------------------------------------------------

bool ControlPlane::IsMultiAz(const InstanceRow& row) { return row.attrs.value("MultiAZ", false); }

std::string ControlPlane::PrimaryHost(const InstanceRow& row) {
  return row.attrs.value("_primary_host", "a");
}

std::string ControlPlane::StandbyHost(const InstanceRow& row) {
  return PrimaryHost(row) == "a" ? "b" : "a";
}

std::string ControlPlane::StandbyState(const InstanceRow& row) {
  return row.attrs.value("_standby", "");
}

bool ControlPlane::CanFailOver(const InstanceRow& row) {
  return IsMultiAz(row) && StandbyState(row) == "ready" && row.status == "available" &&
         row.desired_state == "running";
}

bool ControlPlane::FailoverPending(const InstanceRow& row) {
  return row.attrs.value("_failover", false);
}

ServerSpec ControlPlane::StandbyServer(const InstanceRow& row) const {
  ServerSpec s = Server(row);
  s.pgdata = layout_.HostPgData(row.resource_id, StandbyHost(row));
  s.log_file = layout_.HostLog(row.resource_id, StandbyHost(row));
  s.port = row.attrs.value("_standby_port", 0);
  return s;
}

std::string ControlPlane::MultiAzPrimarySettings(const InstanceRow& row) {
  // A replica's hidden standby cascades from it asynchronously: a standby cannot wait for one.
  if (!IsMultiAz(row) || StandbyState(row) != "ready" || row.attrs.contains("_replica_source")) {
    return "";
  }
  return std::string("synchronous_standby_names = '") + kStandbyName + "'\n";
}

Status ControlPlane::WriteStandbyConfig(const InstanceRow& row) {
  const ServerSpec spec = StandbyServer(row);
  // Not on TCP: clients cannot reach a Multi-AZ standby. It archives what it receives into the
  // instance's archive (archive_mode = always), so a segment its primary had not archived yet
  // when it died is not lost to point-in-time restore.
  std::string settings = ServerSettings(row, spec.port, "") + "archive_mode = always\n" +
                         "hot_standby = on\n" + "primary_conninfo = 'host=" +
                         layout_.SocketDir().string() + " port=" + std::to_string(row.port) +
                         " " + ReplicationLogin(row) + " application_name=" + kStandbyName +
                         " connect_timeout=5'\n" + "primary_slot_name = '" +
                         ReplicationSlotName(row.resource_id) + "'\n";
  LOCALRDS_RETURN_IF_ERROR(WriteConfigFile(spec.pgdata, settings, ""));
  if (!fs::exists(spec.pgdata / "standby.signal")) {
    std::ofstream signal(spec.pgdata / "standby.signal");
    if (!signal) return Status::Internal("cannot write " + (spec.pgdata / "standby.signal").string());
  }
  return Status::Ok();
}

bool ControlPlane::StandbyBuilt(const InstanceRow& row) {
  const std::string state = StandbyState(row);
  return IsMultiAz(row) && (state == "ready" || state == "building") &&
         fs::exists(StandbyServer(row).pgdata / "PG_VERSION");
}

Status ControlPlane::EnsureStandbyRunning(const InstanceRow& row) {
  if (!StandbyBuilt(row)) return Status::Ok();
  const ServerSpec spec = StandbyServer(row);
  LOCALRDS_RETURN_IF_ERROR(WriteStandbyConfig(row));
  if (runtime_.IsRunning(spec)) {
    if (runtime_.IsPaused(spec)) return Status::Ok();  // a drill: thawed, it reloads next time
    // Started by a step that was cut short before it could record the port it had picked:
    // localrds reaches the standby only through the socket of the port the catalog names, and
    // that port may be handed to another server. A socket-only standby restarts in milliseconds.
    if (runtime_.ServingPort(spec) != spec.port) {
      LOCALRDS_RETURN_IF_ERROR(runtime_.Stop(spec));
      return runtime_.Start(spec);
    }
    runtime_.ExecSql(spec, "postgres", {"SELECT pg_reload_conf()"});
    return Status::Ok();
  }
  return runtime_.Start(spec);
}

Status ControlPlane::StopStandby(const InstanceRow& row) {
  if (!IsMultiAz(row) && !row.attrs.contains("_standby_port")) return Status::Ok();
  return runtime_.Stop(StandbyServer(row));
}

Result<Accepted> ControlPlane::StartFailoverLocked(InstanceRow row, bool forced,
                                                   const std::string& why) {
  if (forced) row.status = "rebooting";
  return StartOperationLocked(row, "failover", {{"forced", forced}, {"why", why}},
                              {MakeEvent(row, rds_events::kFailoverStarted)});
}

std::string ControlPlane::MonitorPrimariesOnce() {
  const int64_t now = NowMs();
  std::vector<InstanceRow> rows;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [rid, row] : instances_) {
      if (CanFailOver(row) && !active_ops_.count(rid)) rows.push_back(row);
    }
  }
  std::string said;
  std::set<std::string> watched;
  for (const auto& row : rows) {
    watched.insert(row.resource_id);
    const ServerSpec spec = Server(row);
    std::string why;
    if (!runtime_.IsRunning(spec)) {
      why = "the primary's PostgreSQL server is gone";
    } else {
      std::lock_guard<std::mutex> lock(health_mutex_);
      PrimaryHealth& h = health_[row.resource_id];
      if (h.last_ok_ms == 0 || h.server_pid != runtime_.PostmasterPid(spec)) {
        h = PrimaryHealth{now, 0, false, runtime_.PostmasterPid(spec)};  // a new server
      }
      if (now - h.last_ok_ms > config_.hung_after.count()) {
        why = "the primary has not answered for " + std::to_string(now - h.last_ok_ms) + " ms";
      } else if (!h.probing && now - h.last_probe_ms >= config_.probe_interval.count()) {
        h.probing = true;
        h.last_probe_ms = now;
        const std::string rid = row.resource_id;
        RunControlTask([this, spec, rid] {
          Status st = runtime_.Probe(spec, config_.probe_timeout);
          std::lock_guard<std::mutex> lock(health_mutex_);
          PrimaryHealth& h = health_[rid];
          h.probing = false;
          if (st.ok()) h.last_ok_ms = NowMs();
        });
      }
    }
    if (why.empty()) continue;
    std::lock_guard<std::mutex> lock(mutex_);
    auto current = instances_.find(row.resource_id);
    if (current == instances_.end() || active_ops_.count(row.resource_id) ||
        !CanFailOver(current->second)) {
      continue;
    }
    if (StartFailoverLocked(current->second, false, why).ok()) {
      said += "failing over " + row.identifier + ": " + why + ". ";
      std::lock_guard<std::mutex> health(health_mutex_);
      health_.erase(row.resource_id);
    }
  }
  {
    std::lock_guard<std::mutex> lock(health_mutex_);
    for (auto it = health_.begin(); it != health_.end();) {
      it = watched.count(it->first) || it->second.probing ? std::next(it) : health_.erase(it);
    }
  }
  if (!said.empty()) said.pop_back();
  return said;
}

bool ControlPlane::StandbyRetryDue(const InstanceRow& row) {
  // A pending failover leaves the endpoint unserved: it is tried again every 5 s.
  const int64_t interval = FailoverPending(row) ? 5'000 : 30'000;
  std::lock_guard<std::mutex> lock(health_mutex_);
  int64_t& next = standby_retry_[row.resource_id];
  if (NowMs() < next) return false;
  next = NowMs() + interval;
  return true;
}

void ControlPlane::MonitorLoop() {
  while (!stopping_) {
    try {
      std::string did = MonitorPrimariesOnce();
      if (!did.empty()) LogLine("multi-az") << did;
    } catch (const std::exception& e) {
      LogLine("multi-az") << "monitor pass failed: " << e.what();
    }
    std::unique_lock<std::mutex> lock(timer_mutex_);
    timer_cv_.wait_for(lock, config_.monitor_interval, [&] { return stopping_.load(); });
  }
}

// --- the steps -------------------------------------------------------------------------------

namespace {
using namespace steps;

std::string SqlLiteral(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

// A spec for the server where it listens now: a standby being promoted still runs on its
// socket-only port.
ServerSpec WhereItRuns(OpContext& c, ServerSpec spec) {
  const int port = c.cp.runtime().ServingPort(spec);
  if (port > 0) spec.port = port;
  return spec;
}

Status WaitOn(OpContext& c, const ServerSpec& spec, const std::string& sql, const std::string& want,
              std::chrono::seconds timeout, const std::string& what) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto backoff = std::chrono::milliseconds(2);
  std::string last;
  for (;;) {
    auto v = c.cp.runtime().QueryValue(spec, "postgres", sql);
    if (v.ok() && *v == want) return Status::Ok();
    last = v.ok() ? *v : v.status().message();
    if (!c.cp.runtime().IsRunning(spec)) {
      return Status::Internal("PostgreSQL stopped while waiting until " + what);
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return Status::Internal("timed out waiting until " + what + " (last answer: " + last + ")");
    }
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(20));
  }
}

}  // namespace

namespace steps {

// Builds the hidden standby of a Multi-AZ instance from its running primary, then turns
// synchronous replication on and waits until the standby has every commit so far. `ready` is
// committed only then: the health monitor fails over only to a standby in that state.
Status BuildStandby(OpContext& c) {
  if (!ControlPlane::IsMultiAz(c.instance) || ControlPlane::StandbyState(c.instance) == "ready") {
    return Status::Ok();
  }
  ControlPlane& cp = c.cp;
  LOCALRDS_RETURN_IF_ERROR(EnsureRunning(c));
  InstanceRow row = c.instance;
  if (ControlPlane::StandbyState(row) != "building" || !row.attrs.contains("_standby_port")) {
    auto port = cp.AllocatePort(0, row.resource_id, row.port);
    if (!port) return Status::Internal("no free port for the Multi-AZ standby");
    row.attrs["_standby_port"] = *port;
    row.attrs["_standby"] = "building";
    c.Put(row);
  }
  const ServerSpec primary = cp.ReplicationSource(c.instance);
  const ServerSpec standby = cp.StandbyServer(c.instance);
  const std::string slot = ReplicationSlotName(c.instance.resource_id);
  LOCALRDS_RETURN_IF_ERROR(cp.EnsureReplicationSlot(c.instance, slot));
  if (!fs::exists(standby.pgdata / "PG_VERSION")) {
    cp.runtime().Kill(standby);
    fs::path tmp = standby.pgdata;
    tmp += ".tmp";
    std::error_code ec;
    fs::remove_all(tmp, ec);
    LOCALRDS_RETURN_IF_ERROR(cp.runtime().PrepareDirectory(tmp));
    LOCALRDS_RETURN_IF_ERROR(cp.runtime().BaseBackup(primary, tmp, slot));
    LOCALRDS_RETURN_IF_ERROR(backup_files::SyncFileSystem(tmp));
    fs::rename(tmp, standby.pgdata, ec);
    if (ec) return Status::Internal("cannot rename " + tmp.string() + ": " + ec.message());
  }
  LOCALRDS_RETURN_IF_ERROR(cp.EnsureStandbyRunning(c.instance));
  LOCALRDS_RETURN_IF_ERROR(WaitOn(c, standby,
                                  "SELECT coalesce((SELECT status FROM pg_stat_wal_receiver), '')",
                                  "streaming", std::chrono::seconds(120),
                                  "the Multi-AZ standby streams from its primary"));
  row = c.instance;
  row.attrs["_standby"] = "ready";
  c.Put(row);
  if (c.instance.attrs.contains("_replica_source")) return Status::Ok();  // asynchronous
  LOCALRDS_RETURN_IF_ERROR(cp.WriteServerConfig(c.instance));
  LOCALRDS_RETURN_IF_ERROR(cp.runtime().ExecSql(primary, "postgres", {"SELECT pg_reload_conf()"}));
  // In sync, and flushed up to what the primary had written when sync was turned on: commits
  // acknowledged before (asynchronously) are on the standby too.
  auto lsn = cp.runtime().QueryValue(primary, "postgres", "SELECT pg_current_wal_lsn()");
  if (!lsn.ok()) return lsn.status();
  return WaitForAnswer(c,
                       std::string("SELECT coalesce((SELECT sync_state = 'sync' AND flush_lsn >= ") +
                           SqlLiteral(*lsn) + "::pg_lsn FROM pg_stat_replication WHERE "
                           "application_name = '" + kStandbyName + "' LIMIT 1), false)",
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
  row.attrs.erase("_converting");
  c.Put(row);
  return FinishStandby(c, rds_events::kConvertedToMultiAz);
}

// --- failover ----------------------------------------------------------------------------

Status Fence(OpContext& c) {
  ControlPlane& cp = c.cp;
  const ServerSpec old = cp.Server(c.instance);
  if (c.op.params.value("forced", false) && cp.runtime().IsRunning(old) &&
      !cp.runtime().IsPaused(old)) {
    // A clean shutdown sends every WAL record to the standby before the server exits.
    cp.runtime().Stop(old);
    c.Event(rds_events::kShutdown);
  }
  LOCALRDS_RETURN_IF_ERROR(cp.runtime().Kill(old));  // works on a frozen server too
  if (cp.runtime().IsRunning(old)) return Status::Internal("the old primary is still running");
  InstanceRow row = c.instance;
  row.attrs["_primary_host"] = ControlPlane::StandbyHost(row);
  row.attrs["_standby"] = "rebuild";  // the old host is never started again as it is
  row.attrs["_failover"] = true;      // until the new host serves the endpoint
  c.Put(row);
  return Status::Ok();
}

Status PromoteStandby(OpContext& c) {
  ControlPlane& cp = c.cp;
  const ServerSpec spec = cp.Server(c.instance);
  // Nothing pending: the `standby` kind's retry of a standby build. A Multi-AZ read replica's
  // new host stays a standby of the source.
  if (!ControlPlane::FailoverPending(c.instance) || c.instance.attrs.contains("_replica_source")) {
    return Status::Ok();
  }
  if (!cp.runtime().IsRunning(spec)) {
    // Down too (localrds and its servers died): start it on the endpoint's port, still in
    // recovery (standby.signal), then promote it like a running one.
    if (!fs::exists(spec.pgdata / "standby.signal")) return Status::Ok();  // promoted already
    LOCALRDS_RETURN_IF_ERROR(cp.WriteServerConfig(c.instance));
    LOCALRDS_RETURN_IF_ERROR(cp.runtime().Start(spec));
  }
  const ServerSpec at = WhereItRuns(c, spec);
  auto in_recovery = cp.runtime().QueryValue(at, "postgres", "SELECT pg_is_in_recovery()");
  if (!in_recovery.ok()) return in_recovery.status();
  if (*in_recovery == "t") {
    // wal_retrieve_retry_interval is 100ms on every server: no 5-second promotion stall. No
    // wait in pg_promote (it polls every 100 ms): WaitOn below polls every few ms.
    auto promoted = cp.runtime().QueryValue(at, "postgres", "SELECT pg_promote(false)");
    if (!promoted.ok()) return promoted.status();
  }
  return WaitOn(c, at, "SELECT pg_is_in_recovery()", "f", std::chrono::seconds(60),
                "the standby's promotion ends");
}

// The new primary takes the endpoint's port: the old one is dead, so the port is free (a
// client's TIME_WAIT does not block a listener). Never another port: the endpoint must not move.
Status ServeEndpoint(OpContext& c) {
  if (!ControlPlane::FailoverPending(c.instance)) return Status::Ok();  // served already
  ControlPlane& cp = c.cp;
  const ServerSpec spec = cp.Server(c.instance);
  LOCALRDS_RETURN_IF_ERROR(cp.WriteServerConfig(c.instance));
  if (cp.runtime().ServingPort(spec) != spec.port) {
    LOCALRDS_RETURN_IF_ERROR(cp.runtime().Stop(spec));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (;;) {
      Status st = cp.runtime().Start(spec);
      if (st.ok()) break;
      if (st.message().find("Address already in use") == std::string::npos ||
          std::chrono::steady_clock::now() > deadline) {
        return st;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  } else {
    cp.runtime().ExecSql(spec, "postgres", {"SELECT pg_reload_conf()"});
  }
  // Slots are not replicated: the read replicas' slots are made again on the new primary.
  for (const auto& replica : cp.ReplicasOf(c.instance.resource_id)) {
    cp.EnsureReplicationSlot(c.instance, ReplicationSlotName(replica.resource_id));
  }
  cp.RefreshReplicaConnections(c.instance.resource_id);
  InstanceRow row = c.instance;
  const nlohmann::json az = row.attrs["AvailabilityZone"];
  row.attrs["AvailabilityZone"] = row.attrs["SecondaryAvailabilityZone"];
  row.attrs["SecondaryAvailabilityZone"] = az;
  row.attrs.erase("_failover");
  row.status = "available";
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
  if (ControlPlane::StandbyState(c.instance) != "rebuild") return Status::Ok();
  const ServerSpec old = c.cp.StandbyServer(c.instance);
  LOCALRDS_RETURN_IF_ERROR(c.cp.runtime().Kill(old));
  Layout::RemoveTree(old.pgdata, c.cp.layout().TrashDir());
  InstanceRow row = c.instance;
  row.attrs["_standby"] = "building";
  c.Put(row);
  c.Event(rds_events::kMultiAzRecoveryStarted);
  return Status::Ok();
}

// A standby build that failed: synchronous replication goes off again (no commit may wait for a
// standby that is not there), the instance stays `available`, and the reconciler tries again.
void FailStandby(OpContext& c, const Status& why) {
  InstanceRow row = c.instance;
  if (ControlPlane::StandbyState(row) == "ready") row.attrs["_standby"] = "building";
  if (row.status == "rebooting" || row.status == "modifying") row.status = "available";
  c.Put(row);
  if (c.cp.runtime().IsRunning(c.cp.Server(row)) && c.cp.WriteServerConfig(row).ok()) {
    c.cp.runtime().ExecSql(c.cp.Server(row), "postgres", {"SELECT pg_reload_conf()"});
  }
  c.Event(rds_events::kStandbyFailed,
          std::string(rds_events::kStandbyFailed.message) + " (" + why.message() + ")");
}

// The failover itself failed. At `fence` nothing changed: the old primary still is the
// primary (the monitor fails over again if it is gone). After it the failover is pending: the
// instance stays `rebooting` (nothing serves its endpoint, and no other action may start) and
// the reconciler finishes it with the `standby` kind. After `serve`, only the new standby failed.
void FailFailover(OpContext& c, const Status& why) {
  const bool pending = ControlPlane::FailoverPending(c.instance);
  if (!pending && !(c.op.kind == "failover" && c.op.step == 0)) return FailStandby(c, why);
  InstanceRow row = c.instance;
  row.status = pending ? "rebooting" : "available";
  c.Put(row);
  c.Event(rds_events::kFailoverFailed,
          std::string(rds_events::kFailoverFailed.message) + " (" + why.message() + ")");
}

// --- ModifyDBInstance MultiAZ ----------------------------------------------------------------

Status ModifyMultiAz(OpContext& c) {
  auto it = c.op.params.find("multi_az");
  if (it == c.op.params.end()) return Status::Ok();
  if (it->get<bool>()) {
    if (!ControlPlane::IsMultiAz(c.instance)) {
      InstanceRow row = c.instance;
      row.attrs["MultiAZ"] = true;
      row.attrs["SecondaryAvailabilityZone"] = c.op.params.value("secondary_az", "");
      row.attrs["_converting"] = true;  // RDS-EVENT-0025 once the standby is in sync
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
  const ServerSpec standby = c.cp.StandbyServer(c.instance);
  InstanceRow row = c.instance;
  row.attrs["MultiAZ"] = false;
  row.attrs.erase("SecondaryAvailabilityZone");
  row.attrs.erase("_standby");
  row.attrs.erase("_converting");
  c.Put(row);
  LOCALRDS_RETURN_IF_ERROR(EnsureRunning(c));
  LOCALRDS_RETURN_IF_ERROR(c.cp.WriteServerConfig(c.instance));
  LOCALRDS_RETURN_IF_ERROR(
      c.cp.runtime().ExecSql(c.cp.Server(c.instance), "postgres", {"SELECT pg_reload_conf()"}));
  LOCALRDS_RETURN_IF_ERROR(c.cp.runtime().Stop(standby));
  LOCALRDS_RETURN_IF_ERROR(
      c.cp.DropReplicationSlot(c.instance, ReplicationSlotName(c.instance.resource_id)));
  Layout::RemoveTree(standby.pgdata, c.cp.layout().TrashDir());
  row = c.instance;
  row.attrs.erase("_standby_port");
  c.Put(row);
  return FinishStandby(c, rds_events::kConvertedToSingleAz);
}

// RDS-EVENT-0053 ends a standby's replacement (after a failover, or a failed build retried);
// a conversion to Multi-AZ whose first build failed ends with RDS-EVENT-0025 instead.
Status RecoveryFinished(OpContext& c) {
  if (c.instance.attrs.value("_converting", false)) return ConvertedToMultiAz(c);
  if (c.op.kind == "failover" || c.op.params.value("recovery", false)) {
    c.Event(rds_events::kMultiAzRecoveryFinished);
  }
  return Status::Ok();
}

}  // namespace

void AddMultiAzOperationKinds(std::map<std::string, OperationKind>& kinds) {
  kinds["failover"] = {{{"fence", Fence},
                        {"promote", PromoteStandby},
                        {"serve", ServeEndpoint},
                        {"rebuild", WipeOldPrimary},
                        {"standby", BuildStandby},
                        {"finish", RecoveryFinished}},
                       FailFailover};
  // The reconciler's: finishes a failover that failed after `fence` (promote and serve do
  // nothing when none is pending), then builds the standby again.
  kinds["standby"] = {{{"promote", PromoteStandby},
                       {"serve", ServeEndpoint},
                       {"rebuild", WipeOldPrimary},
                       {"standby", BuildStandby},
                       {"finish", RecoveryFinished}},
                      FailFailover};
}

Status steps::ApplyMultiAzModification(OpContext& c) { return ModifyMultiAz(c); }

Status steps::StopServers(OpContext& c) {
  LOCALRDS_RETURN_IF_ERROR(StopServer(c));
  return c.cp.StopStandby(c.instance);
}

}  // namespace localrds
