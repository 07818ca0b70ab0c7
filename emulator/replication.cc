// ControlPlane's side of read replicas that runs outside RDS actions: the standby settings of a
// replica's server, the replication slots on sources, the reconciler's replication poll (what
// StatusInfos, the replica lag and the replication events come from), and the promotion of
// replicas whose source was deleted.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/log.h"
#include "common/time_util.h"
#include "emulator/control_plane.h"
#include "emulator/operation_engine.h"
#include "emulator/request.h"

namespace localrds {
namespace fs = std::filesystem;
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

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string part;
  while (std::getline(in, part, sep)) out.push_back(part);
  if (!s.empty() && s.back() == sep) out.push_back("");
  return out;
}

std::string SqlLiteral(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

// StatusInfos[0].Status of a replica ("" when it has none).
std::string ReplicationStatus(const InstanceRow& row) {
  auto infos = row.attrs.find("StatusInfos");
  if (infos == row.attrs.end() || !infos->is_array() || infos->empty()) return "";
  return (*infos)[0].value("Status", "");
}

}  // namespace

std::string ReplicationSlotName(const std::string& replica_resource_id) {
  std::string slot = "localrds_";
  for (char c : replica_resource_id) {
    slot += std::isalnum(static_cast<unsigned char>(c))
                ? static_cast<char>(std::tolower(static_cast<unsigned char>(c)))
                : '_';
  }
  return slot;
}

nlohmann::json ReplicationStatusInfos(const std::string& status, const std::string& message) {
  nlohmann::json info = {
      {"StatusType", "read replication"}, {"Normal", status == "replicating"}, {"Status", status}};
  if (!message.empty()) info["Message"] = message;
  return nlohmann::json::array({info});
}

void ForgetReplication(nlohmann::json& attrs) {
  for (const char* k :
       {"_replica_source", "_promoted_from", "StatusInfos", "_replication_error_since_ms"}) {
    attrs.erase(k);
  }
}

std::vector<const InstanceRow*> ControlPlane::ReplicasOfLocked(
    const std::string& source_resource_id) const {
  std::vector<const InstanceRow*> out;
  for (const auto& [rid, row] : instances_) {
    if (row.attrs.value("_replica_source", "") == source_resource_id) out.push_back(&row);
  }
  return out;
}

std::vector<InstanceRow> ControlPlane::ReplicasOf(const std::string& source_resource_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<InstanceRow> out;
  for (const InstanceRow* row : ReplicasOfLocked(source_resource_id)) out.push_back(*row);
  return out;
}

int ControlPlane::ReplicaDepthLocked(const InstanceRow& row) const {
  int depth = 0;
  const InstanceRow* at = &row;
  while (depth < 16) {
    auto src = at->attrs.find("_replica_source");
    if (src == at->attrs.end() || !src->is_string()) break;
    ++depth;
    auto it = instances_.find(src->get<std::string>());
    if (it == instances_.end()) break;
    at = &it->second;
  }
  return depth;
}

void ControlPlane::RerenderRelativesLocked(const std::set<std::string>& changed,
                                           const std::set<std::string>& old_sources) {
  std::set<std::string> relatives = old_sources;
  for (const auto& [rid, row] : instances_) {
    const std::string source = row.attrs.value("_replica_source", "");
    if (changed.count(rid) && !source.empty()) relatives.insert(source);
    if (!changed.count(rid) && changed.count(source)) relatives.insert(rid);
  }
  for (const auto& rid : relatives) {
    auto it = instances_.find(rid);
    if (it != instances_.end()) {
      rendered_[rid] = std::make_shared<const nlohmann::json>(RenderInstance(it->second));
    }
  }
}

std::string ControlPlane::StandbySettings(const InstanceRow& row) {
  auto src = row.attrs.find("_replica_source");
  if (src == row.attrs.end() || !src->is_string()) return "";
  // A standby archives what it replays (its own automated backups, when turned on).
  std::string out = "archive_mode = always\nhot_standby = on\n";
  auto source = GetInstance(src->get<std::string>());
  if (!source) return out;  // the source is gone: the replica waits for its promotion
  // Over the shared Unix socket directory, as rdsrepladmin with its password there.
  out += "primary_conninfo = 'host=" + layout_.SocketDir().string() +
         " port=" + std::to_string(source->port) + " " + ReplicationLogin(*source) +
         " application_name=" + row.resource_id + " connect_timeout=5'\n";
  out += "primary_slot_name = '" + ReplicationSlotName(row.resource_id) + "'\n";
  return out;
}

Status ControlPlane::EnsureReplicationSlot(const InstanceRow& source, const std::string& slot) {
  // An existing slot fails with duplicate_object, which ExecSql counts as done.
  return runtime_.ExecSql(
      Server(source), "postgres",
      {"SELECT pg_create_physical_replication_slot(" + SqlLiteral(slot) + ", true)"});
}

Status ControlPlane::DropReplicationSlot(const InstanceRow& source, const std::string& slot) {
  const ServerSpec spec = Server(source);
  if (!runtime_.IsRunning(spec) || runtime_.IsPaused(spec)) {
    LogLine("replication") << "slot " << slot << " stays on " << source.identifier
                           << " (its server is not running); dropped when it starts";
    return Status::Ok();
  }
  // The walsender of a replica that just stopped holds the slot for a moment.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  auto backoff = std::chrono::milliseconds(10);
  for (;;) {
    auto state = runtime_.QueryValue(
        spec, "postgres",
        "SELECT coalesce((SELECT active::text FROM pg_replication_slots WHERE slot_name = " +
            SqlLiteral(slot) + "), 'none')");
    if (!state.ok()) return state.status();
    if (*state == "none") return Status::Ok();
    if (*state == "false") {
      Status st = runtime_.ExecSql(spec, "postgres",
                                   {"SELECT pg_drop_replication_slot(" + SqlLiteral(slot) + ")"});
      if (st.ok()) return st;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return Status::Internal("replication slot " + slot + " on " + source.identifier +
                              " is still in use");
    }
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(500));
  }
}

void ControlPlane::DropStaleReplicationSlots(const InstanceRow& row) {
  const ServerSpec spec = Server(row);
  auto slots = runtime_.QueryValue(spec, "postgres",
                                   "SELECT coalesce(string_agg(slot_name, ','), '') FROM "
                                   "pg_replication_slots WHERE slot_name LIKE 'localrds\\_%' "
                                   "AND NOT active");
  if (!slots.ok() || slots->empty()) return;
  std::set<std::string> owned;
  for (const auto& replica : ReplicasOf(row.resource_id)) {
    owned.insert(ReplicationSlotName(replica.resource_id));
  }
  // A Multi-AZ standby streams through the instance's own slot. While the primary starts, the
  // standby is not connected yet (the slot is inactive), and without the slot it could never
  // connect again: every commit would wait for it.
  if (IsMultiAz(row)) owned.insert(ReplicationSlotName(row.resource_id));
  for (const auto& slot : Split(*slots, ',')) {
    if (slot.empty() || owned.count(slot)) continue;
    Status st = runtime_.ExecSql(spec, "postgres",
                                 {"SELECT pg_drop_replication_slot(" + SqlLiteral(slot) + ")"});
    LogLine("replication") << row.identifier << ": dropped stale slot " << slot << " "
                           << (st.ok() ? "" : st.ToString());
  }
}

void ControlPlane::RefreshReplicaConnections(const std::string& source_resource_id) {
  for (const auto& replica : ReplicasOf(source_resource_id)) {
    if (!fs::exists(Server(replica).pgdata / "PG_VERSION")) continue;  // creating
    if (!WriteServerConfig(replica).ok()) continue;
    const ServerSpec spec = Server(replica);
    if (runtime_.IsRunning(spec) && !runtime_.IsPaused(spec)) {
      runtime_.ExecSql(spec, "postgres", {"SELECT pg_reload_conf()"});
    }
  }
}

std::string ControlPlane::PollReplicationOnce() {
  std::vector<InstanceRow> replicas, orphans;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [rid, row] : instances_) {
      auto src = row.attrs.find("_replica_source");
      if (src == row.attrs.end() || !src->is_string() || active_ops_.count(rid) ||
          row.status != "available") {
        continue;
      }
      (instances_.count(src->get<std::string>()) ? replicas : orphans).push_back(row);
    }
  }
  std::string said;
  // "If you delete a source DB instance without deleting its read replicas in the same AWS
  // Region, each replica is promoted to a standalone DB instance" (User Guide, USER_ReadRepl).
  // The source's delete stopped its server first, so every replica that streamed has it all.
  for (const auto& orphan : orphans) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto current = instances_.find(orphan.resource_id);
    if (current == instances_.end() || active_ops_.count(orphan.resource_id) ||
        current->second.status != "available") {
      continue;
    }
    nlohmann::json params = {{"retention", current->second.attrs.value("BackupRetentionPeriod", 0)},
                             {"source_deleted", true}};
    if (StartPromotionLocked(current->second, params).ok()) {
      said += "promoting " + orphan.identifier + ", whose source was deleted. ";
    }
  }
  const int64_t now = NowMs();
  for (const auto& row : replicas) {
    const ServerSpec spec = Server(row);
    if (!runtime_.IsRunning(spec) || runtime_.IsPaused(spec)) continue;
    auto answer = runtime_.QueryValue(spec, "postgres", kReplicationQuery);
    if (!answer.ok()) continue;
    auto parts = Split(*answer, '|');
    if (parts.size() != 4) continue;
    ReplicaState state;
    state.receiver = parts[0];
    const bool in_recovery = parts[1] == "t" || parts[1] == "true";
    const bool streaming = in_recovery && state.receiver == "streaming";
    state.lag_seconds = streaming ? std::atof(parts[2].c_str()) : -1;
    state.lag_bytes = streaming ? std::atoll(parts[3].c_str()) : -1;
    state.polled_ms = now;
    {
      std::lock_guard<std::mutex> lock(replica_mutex_);
      replica_state_[row.resource_id] = state;
    }
    std::string status = "replicating", message;
    if (!streaming) {
      auto source = GetInstance(row.attrs.value("_replica_source", ""));
      if (!in_recovery) {
        message = "The replica's server is no longer in recovery.";
      } else if (source &&
                 (!runtime_.IsRunning(Server(*source)) || runtime_.IsPaused(Server(*source)))) {
        message = "The source DB instance " + source->identifier + " is not reachable.";
      } else {
        message = "The WAL receiver is " +
                  (state.receiver.empty() ? "not running" : state.receiver) +
                  ": replication from the source DB instance is not streaming.";
      }
      const int64_t since = row.attrs.value("_replication_error_since_ms", now);
      status = now - since > kThirtyDaysMs ? "terminated" : "error";
    }
    std::lock_guard<std::mutex> lock(mutex_);
    auto current = instances_.find(row.resource_id);
    if (current == instances_.end() || active_ops_.count(row.resource_id)) continue;
    InstanceRow updated = current->second;
    const nlohmann::json infos = ReplicationStatusInfos(status, message);
    const std::string was = ReplicationStatus(updated);
    if (updated.attrs.value("StatusInfos", nlohmann::json()) == infos) continue;
    updated.attrs["StatusInfos"] = infos;
    if (status == "replicating") {
      updated.attrs.erase("_replication_error_since_ms");
    } else if (!updated.attrs.contains("_replication_error_since_ms")) {
      updated.attrs["_replication_error_since_ms"] = now;
    }
    Mutation m;
    m.put.push_back(updated);
    if (status != was) {
      if (status == "replicating") {
        m.events.push_back(MakeEvent(updated, rds_events::kReplicationResumed));
      } else if (status == "error") {
        m.events.push_back(
            MakeEvent(updated, rds_events::kReplicationStopped,
                      std::string(rds_events::kReplicationStopped.message) + " " + message));
      } else {
        m.events.push_back(MakeEvent(updated, rds_events::kReplicationTerminated));
      }
      said += "replication of " + row.identifier + " is " + status + ". ";
    }
    CommitLocked(m, nullptr);
  }
  if (!said.empty()) said.pop_back();
  return said;
}

nlohmann::json ControlPlane::ServerDetails(const ServerSpec& spec) {
  return {{"running", runtime_.IsRunning(spec)},
          {"frozen", runtime_.IsPaused(spec)},
          {"pid", runtime_.PostmasterPid(spec)},
          {"pgdata", spec.pgdata.string()},
          {"log", spec.log_file.string()}};
}

Result<nlohmann::json> ControlPlane::InstanceDetails(const std::string& identifier) {
  InstanceRow row;
  nlohmann::json replicas;
  std::string source;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = FindLocked(identifier);
    if (!found.ok()) return found.status();
    row = *found;
    const nlohmann::json& rendered = *rendered_.at(row.resource_id);  // both sides, as described
    source = rendered.value("ReadReplicaSourceDBInstanceIdentifier", "");
    replicas = rendered["ReadReplicaDBInstanceIdentifiers"];
  }
  const ServerSpec spec = Server(row);
  nlohmann::json out = {{"DBInstanceIdentifier", row.identifier},
                        {"DbiResourceId", row.resource_id},
                        {"DBInstanceStatus", row.status},
                        {"port", row.port},
                        {"server", ServerDetails(spec)},
                        {"read_replicas", replicas}};
  if (IsMultiAz(row)) {
    nlohmann::json standby = ServerDetails(StandbyServer(row));
    standby["state"] = StandbyState(row);
    standby["socket_port"] = row.attrs.value("_standby_port", 0);
    standby["tcp"] = false;  // hidden: clients cannot reach it
    out["multi_az"] = {{"primary_host", PrimaryHost(row)},
                       {"standby_host", StandbyHost(row)},
                       {"availability_zone", row.attrs.value("AvailabilityZone", "")},
                       {"secondary_availability_zone",
                        row.attrs.value("SecondaryAvailabilityZone", "")},
                       {"standby", standby}};
  }
  if (row.attrs.contains("_replica_source")) {
    nlohmann::json r = {{"source", source},
                        {"slot", ReplicationSlotName(row.resource_id)},
                        {"status", ReplicationStatus(row)},
                        {"wal_receiver", nullptr},
                        {"replica_lag_seconds", -1},
                        {"replay_lag_bytes", -1}};
    std::lock_guard<std::mutex> lock(replica_mutex_);
    auto it = replica_state_.find(row.resource_id);
    if (it != replica_state_.end()) {
      r["wal_receiver"] = it->second.receiver;
      r["replica_lag_seconds"] = it->second.lag_seconds;
      r["replay_lag_bytes"] = it->second.lag_bytes;
      r["polled"] = FormatIso8601(it->second.polled_ms, true);
    }
    out["replication"] = r;
  }
  return out;
}

void ControlPlane::FreezeInstanceAsync(const std::string& identifier, bool freeze,
                                       std::function<void(Status)> done) {
  RunControlTask([this, identifier, freeze, done = std::move(done)] {
    InstanceRow row;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto found = FindLocked(identifier);
      if (!found.ok()) {
        done(found.status());
        return;
      }
      row = *found;
    }
    const ServerSpec spec = Server(row);
    done(freeze ? runtime_.Pause(spec) : runtime_.Resume(spec));
  });
}

}  // namespace localrds
