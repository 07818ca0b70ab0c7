#include "emulator/background/reconciler.h"

#include <filesystem>
#include <set>
#include <vector>

#include "common/log.h"
#include "emulator/core/instance_state.h"

namespace localrds {
namespace fs = std::filesystem;
namespace {
constexpr int64_t kSevenDaysMs = 7LL * 24 * 3600 * 1000;
}  // namespace

Status Reconciler::Recover() {
  layout_.CreateDirectories();
  LOCALRDS_RETURN_IF_ERROR(runtime_.PrepareDirectory(layout_.InstancesDir()));
  RemoveOrphans();
  auto busy = ResumeOperations();
  if (!busy.ok()) return busy.status();
  FailStrandedSnapshots(*busy);
  for (const auto& row : registry_.Instances()) {
    if (busy->count(row.resource_id)) continue;
    FinishParameterApply(row);
    BringBack(row);
  }
  if (!engine_.WaitIdle(std::chrono::minutes(5))) {
    LogLine("reconciler") << "some resumed operations are still running";
  }
  return Status::Ok();
}

// Directories no catalog row owns (a crash of a reset, or a hand-made mess), the servers of
// this data directory no instance owns, backup files no row owns, and the trash.
void Reconciler::RemoveOrphans() {
  std::set<std::string> known;
  for (const auto& row : registry_.Instances()) known.insert(row.resource_id);
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(layout_.InstancesDir(), ec)) {
    std::string name = e.path().filename().string();
    if (known.count(name)) continue;
    ServerSpec orphan;
    orphan.resource_id = name;
    for (const char* host : {"a", "b"}) {
      orphan.pgdata = layout_.HostPgData(name, host);
      LogIfFailed(runtime_.Kill(orphan), "reconciler", "cannot kill the server of " + name);
    }
    Layout::RemoveTree(e.path(), layout_.TrashDir());
    LogLine("reconciler") << "removed orphan directory " << name;
  }
  std::vector<fs::path> known_servers;
  for (const auto& rid : known) {
    for (const char* host : {"a", "b"}) known_servers.push_back(layout_.HostPgData(rid, host));
  }
  const std::string stray = runtime_.StopStrayServers(known_servers);
  if (!stray.empty()) LogLine("reconciler") << stray;
  backups_.RemoveBackupOrphans();
  for (const auto& e : fs::directory_iterator(layout_.TrashDir(), ec)) fs::remove_all(e.path(), ec);
}

// Unfinished operations resume at their first unfinished step; returns the resources they run
// for. One whose instance is gone (and that is no delete) ends as failed.
Result<std::set<std::string>> Reconciler::ResumeOperations() {
  auto ops = catalog_.LoadUnfinishedOperations();
  if (!ops.ok()) return ops.status();
  std::set<std::string> busy;
  for (auto& op : *ops) {
    {
      Registry::Locked r = registry_.Lock();
      if (!r.instances().count(op.resource_id) && !r.snapshots().count(op.resource_id) &&
          op.kind != OpKind::kDelete) {
        Mutation m;
        m.op_update = Mutation::OpUpdate{op.id, op.step, "failed", "instance is gone"};
        LogIfFailed(r.Commit(m), "reconciler", "cannot end operation " + std::to_string(op.id));
        continue;
      }
      r.active_ops()[op.resource_id] = op.id;
      if (op.kind == OpKind::kModify && op.params.contains("new_identifier")) {
        r.pending_renames()[op.resource_id] = op.params["new_identifier"].get<std::string>();
      }
    }
    busy.insert(op.resource_id);
    LogLine("reconciler") << "resuming operation " << op.id << " (" << op.kind << ") at step "
                          << op.step << " for " << op.resource_id;
    starter_.Resume(op);
  }
  return busy;
}

// A snapshot still "creating" whose operation is not resuming will never finish.
void Reconciler::FailStrandedSnapshots(const std::set<std::string>& busy) {
  Registry::Locked r = registry_.Lock();
  Mutation m;
  for (const auto& [id, snap] : r.snapshots()) {
    if (snap.status != "creating" || busy.count(snap.attrs.value("_op_resource", ""))) continue;
    SnapshotRow failed = snap;
    failed.status = "failed";
    m.put_snapshots.push_back(failed);
  }
  if (!m.put_snapshots.empty()) LogIfFailed(r.Commit(m), "reconciler", "cannot fail snapshots");
}

// An idle instance's servers at startup: adopted, started (or failed over, or a pending
// failover finished) when it should run, stopped when it should not.
// A parameter change applied at once that localrds died in the middle of (`applying`): the
// servers get the instance's values (a running one reloads), then the status that follows.
void Reconciler::FinishParameterApply(const InstanceRow& row) {
  if (ParameterApplyStatus(row) != "applying") return;
  LogIfFailed(servers_.ReloadParameters(row), "reconciler",
              "cannot apply the parameters of " + row.identifier);
  Registry::Locked r = registry_.Lock();
  auto it = r.instances().find(row.resource_id);
  if (it == r.instances().end()) return;
  InstanceRow copy = it->second;
  FinishApplying(copy);
  Mutation m;
  m.put.push_back(copy);
  LogIfFailed(r.Commit(m), "reconciler", "cannot record the parameters of " + row.identifier);
  LogLine("reconciler") << "finished applying the parameters of " << row.identifier;
}

void Reconciler::BringBack(const InstanceRow& row) {
  const bool running = runtime_.IsRunning(servers_.Server(row));
  // A failover that failed after fencing its old primary is finished, never restarted in
  // place: the host the catalog names may still be a standby.
  const bool finish_failover = FailoverPending(row);
  if (CanFailOver(row) && !running && runtime_.IsRunning(servers_.StandbyServer(row))) {
    // The primary died while localrds was down, its standby did not: fail over, as the health
    // monitor would have (when both died, the primary is restarted where it is).
    Registry::Locked r = registry_.Lock();
    if (starter_.StartFailover(r, row, false, "the primary's PostgreSQL server is gone").ok()) {
      LogLine("reconciler") << "failing over " << row.identifier
                            << ": its primary's PostgreSQL server is gone";
    }
    return;
  }
  if (!finish_failover && !running && PrimaryOut(registry_.outages(), row)) {
    // An outage drill's server stays down until its Region or zone recovers.
    LogLine("reconciler") << "left " << row.identifier << " down: it is in an outage drill";
    return;
  }
  if (finish_failover ||
      (row.desired_state == "running" && row.status != DbStatus::kFailed && !running)) {
    Registry::Locked r = registry_.Lock();
    if (finish_failover) LogLine("reconciler") << "finishing the failover of " << row.identifier;
    auto started = starter_.StartBare(
        r, row.resource_id, finish_failover ? OpKind::kStandby : OpKind::kRecover,
        finish_failover ? nlohmann::json{{"recovery", true}} : nlohmann::json::object());
    LogIfFailed(started.status(), "reconciler", "cannot recover " + row.identifier);
  } else if (row.desired_state == "stopped" && running) {
    LogIfFailed(runtime_.Stop(servers_.Server(row)), "reconciler", "cannot stop " + row.identifier);
    LogLine("reconciler") << "stopped " << row.identifier << ", which should not be running";
  } else if (running) {
    LogLine("reconciler") << "adopted the running server of " << row.identifier;
  }
}

std::string Reconciler::ReconcileOnce() {
  std::lock_guard<std::mutex> pass(pass_mutex_);
  runtime_.Reap();
  const int64_t now = clock_.NowMs();
  std::vector<InstanceRow> rows = registry_.IdleInstances();
  std::string said;
  for (const auto& candidate : rows) {
    Registry::Locked r = registry_.Lock();
    // Act on the instance as it is now: an operation may have ended since the list was taken.
    auto current = r.instances().find(candidate.resource_id);
    if (current == r.instances().end() || r.active_ops().count(candidate.resource_id)) continue;
    const InstanceRow row = current->second;
    std::optional<OpKind> kind;
    nlohmann::json params = nlohmann::json::object();
    Mutation m;
    if (FailoverPending(row) && ha_.StandbyRetryDue(row)) {
      // A failover that failed after its old primary was fenced: finish it.
      kind = OpKind::kStandby;
      params = {{"recovery", true}};
      said += "finishing the failover of " + row.identifier + ". ";
    } else if ((row.status == DbStatus::kAvailable || row.status == DbStatus::kStorageFull) &&
               row.desired_state == "running" && !CanFailOver(row) &&
               !PrimaryOut(registry_.outages(), row) && !runtime_.IsRunning(servers_.Server(row))) {
      kind = OpKind::kRecover;
      m.events.push_back(registry_.MakeEvent(row, rds_events::kRecoveryStarted));
      said += "restarting " + row.identifier + ", whose PostgreSQL server stopped unexpectedly. ";
    } else if (IsMultiAz(row) && row.status == DbStatus::kAvailable &&
               (StandbyState(row) == "building" || StandbyState(row) == "rebuild") &&
               !StandbyOut(registry_.outages(), row) && ha_.StandbyRetryDue(row)) {
      // (A standby whose zone is in an outage drill is built when the zone recovers.)
      // A standby whose build failed (or was cut short) is built again.
      kind = OpKind::kStandby;
      params = {{"recovery", true}};
      said += "building the Multi-AZ standby of " + row.identifier + " again. ";
    } else if (row.status == DbStatus::kStopped && row.stopped_ms > 0 &&
               now - row.stopped_ms > kSevenDaysMs) {
      kind = OpKind::kStart;
      InstanceRow r = row;
      r.status = DbStatus::kStarting;
      m.put.push_back(r);
      m.events.push_back(registry_.MakeEvent(row, rds_events::kAutoStarted));
      said += "starting " + row.identifier + ", stopped for more than seven days. ";
    } else {
      continue;
    }
    auto started = starter_.StartBare(r, row.resource_id, *kind, std::move(params), std::move(m));
    LogIfFailed(started.status(), "reconciler",
                "cannot start " + std::string(ToString(*kind)) + " of " + row.identifier);
  }
  {
    Registry::Locked r = registry_.Lock();
    said += backups_.ScheduleBackups(r, now);
  }
  // A standby that stopped (killed, or its host restarted) is started again: its primary's
  // commits wait for it.
  for (const auto& row : rows) {
    if (row.status != DbStatus::kAvailable || StandbyState(row) != "ready" ||
        StandbyOut(registry_.outages(), row) || !servers_.StandbyBuilt(row) ||
        runtime_.IsRunning(servers_.StandbyServer(row)) ||
        !runtime_.IsRunning(servers_.Server(row))) {
      continue;
    }
    Status st = servers_.EnsureStandbyRunning(row);
    said += "restarted the Multi-AZ standby of " + row.identifier +
            (st.ok() ? ". " : " (failed: " + st.message() + "). ");
  }
  std::string expired = backups_.ExpireBackups(now);
  if (!expired.empty()) said += expired + " ";
  if (!said.empty()) said.pop_back();
  return said;
}

}  // namespace localrds
