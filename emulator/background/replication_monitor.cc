#include "emulator/background/replication_monitor.h"

#include <cstdlib>
#include <vector>

#include "common/log.h"
#include "emulator/core/instance_state.h"
#include "emulator/postgres/sql.h"

namespace localrds {
namespace {

constexpr int64_t kThirtyDaysMs = 30LL * 24 * 3600 * 1000;

// One row from the replica: WAL receiver status | in recovery | ReplicaLag (s) | bytes received
// but not replayed. ReplicaLag is RDS's formula (now − last replayed commit), 0 when everything
// received is replayed (an idle source is not "behind"). After a WAL switch, replay jumps to the
// next segment while the receiver still receives the empty rest of the old one: replay is then
// ahead of receive, which is "caught up", not a negative lag.
constexpr const char* kReplicationQuery =
    "SELECT concat_ws('|', coalesce((SELECT status FROM pg_stat_wal_receiver), ''), "
    "pg_is_in_recovery(), "
    "coalesce(CASE WHEN pg_last_wal_replay_lsn() >= pg_last_wal_receive_lsn() THEN 0 "
    "ELSE greatest(extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()), 0) "
    "END, -1), "
    "coalesce(greatest(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0), "
    "-1))";

}  // namespace

std::string ReplicationStatus(const InstanceRow& row) {
  auto infos = row.attrs.find("StatusInfos");
  if (infos == row.attrs.end() || !infos->is_array() || infos->empty()) return "";
  return (*infos)[0].value("Status", "");
}

std::optional<ReplicaState> ReplicationMonitor::LastSeen(const std::string& resource_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = state_.find(resource_id);
  if (it == state_.end()) return std::nullopt;
  return it->second;
}

std::string ReplicationMonitor::PollReplicationOnce() {
  std::vector<InstanceRow> replicas, orphans;
  {
    Registry::Locked r = registry_.Lock();
    for (const auto& [rid, row] : r.instances()) {
      auto src = ReplicaSource(row);
      if (!src || r.active_ops().count(rid) || row.status != DbStatus::kAvailable) continue;
      (r.instances().count(*src) ? replicas : orphans).push_back(row);
    }
  }
  std::string said = PromoteOrphans(orphans);
  const int64_t now = clock_.NowMs();
  for (const auto& row : replicas) said += PollReplica(row, now);
  if (!said.empty()) said.pop_back();
  return said;
}

std::string ReplicationMonitor::PromoteOrphans(const std::vector<InstanceRow>& orphans) {
  std::string said;
  // "If you delete a source DB instance without deleting its read replicas in the same AWS
  // Region, each replica is promoted to a standalone DB instance" (User Guide, USER_ReadRepl).
  // The source's delete stopped its server first, so every replica that streamed has it all.
  for (const auto& orphan : orphans) {
    Registry::Locked r = registry_.Lock();
    auto current = r.instances().find(orphan.resource_id);
    if (current == r.instances().end() || r.active_ops().count(orphan.resource_id) ||
        current->second.status != DbStatus::kAvailable) {
      continue;
    }
    nlohmann::json params = {{"retention", current->second.attrs.value("BackupRetentionPeriod", 0)},
                             {"source_deleted", true}};
    if (starter_.StartPromotion(r, current->second, params).ok()) {
      said += "promoting " + orphan.identifier + ", whose source was deleted. ";
    }
  }
  return said;
}

std::string ReplicationMonitor::PollReplica(const InstanceRow& row, int64_t now) {
  const ServerSpec spec = servers_.Server(row);
  if (!runtime_.IsRunning(spec) || runtime_.IsPaused(spec)) return "";
  auto answer = runtime_.QueryValue(spec, "postgres", kReplicationQuery);
  if (!answer.ok()) return "";
  auto parts = Split(*answer, '|');
  if (parts.size() != 4) return "";
  ReplicaState state;
  state.receiver = parts[0];
  const bool in_recovery = parts[1] == "t" || parts[1] == "true";
  const bool streaming = in_recovery && state.receiver == "streaming";
  state.lag_seconds = streaming ? std::atof(parts[2].c_str()) : -1;
  state.lag_bytes = streaming ? std::atoll(parts[3].c_str()) : -1;
  state.polled_ms = now;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    state_[row.resource_id] = state;
  }
  std::string status = "replicating", message;
  if (!streaming) {
    message = WhyNotStreaming(row, in_recovery, state.receiver);
    const int64_t since = ReplicationErrorSinceMs(row) ? ReplicationErrorSinceMs(row) : now;
    status = now - since > kThirtyDaysMs ? "terminated" : "error";
  }
  return RecordStatus(row, status, message, now);
}

std::string ReplicationMonitor::WhyNotStreaming(const InstanceRow& row, bool in_recovery,
                                                const std::string& receiver) {
  if (!in_recovery) return "The replica's server is no longer in recovery.";
  auto source = registry_.GetInstance(ReplicaSource(row).value_or(""));
  if (source && (!runtime_.IsRunning(servers_.Server(*source)) ||
                 runtime_.IsPaused(servers_.Server(*source)))) {
    return "The source DB instance " + source->identifier + " is not reachable.";
  }
  return "The WAL receiver is " + (receiver.empty() ? std::string("not running") : receiver) +
         ": replication from the source DB instance is not streaming.";
}

std::string ReplicationMonitor::RecordStatus(const InstanceRow& row, const std::string& status,
                                             const std::string& message, int64_t now) {
  Registry::Locked r = registry_.Lock();
  auto current = r.instances().find(row.resource_id);
  if (current == r.instances().end() || r.active_ops().count(row.resource_id)) return "";
  InstanceRow updated = current->second;
  const nlohmann::json infos = ReplicationStatusInfos(status, message);
  const std::string was = ReplicationStatus(updated);
  if (updated.attrs.value("StatusInfos", nlohmann::json()) == infos) return "";
  updated.attrs["StatusInfos"] = infos;
  if (status == "replicating") {
    SetReplicationErrorSinceMs(updated.attrs, 0);
  } else if (ReplicationErrorSinceMs(updated) == 0) {
    SetReplicationErrorSinceMs(updated.attrs, now);
  }
  Mutation m;
  m.put.push_back(updated);
  std::string said;
  if (status != was) {
    if (status == "replicating") {
      m.events.push_back(registry_.MakeEvent(updated, rds_events::kReplicationResumed));
    } else if (status == "error") {
      m.events.push_back(registry_.MakeEvent(
          updated, rds_events::kReplicationStopped,
          std::string(rds_events::kReplicationStopped.message) + " " + message));
    } else {
      m.events.push_back(registry_.MakeEvent(updated, rds_events::kReplicationTerminated));
    }
    said = "replication of " + row.identifier + " is " + status + ". ";
  }
  LogIfFailed(r.Commit(m), "replication", "cannot record the replication of " + row.identifier);
  return said;
}

}  // namespace localrds
