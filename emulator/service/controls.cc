#include "emulator/service/controls.h"

#include <filesystem>

#include "common/log.h"
#include "common/time_util.h"
#include "emulator/core/instance_state.h"

namespace localrds {

Controls::Controls(Catalog& catalog, Registry& registry, InstanceServers& servers,
                   PgRuntime& runtime, const Layout& layout, OperationEngine& engine,
                   OperationStarter& starter, Reconciler& reconciler, BackupScheduler& backups,
                   ReplicationMonitor& replication, Executor& executor, ControlsConfig config)
    : catalog_(catalog),
      registry_(registry),
      servers_(servers),
      runtime_(runtime),
      layout_(layout),
      engine_(engine),
      starter_(starter),
      reconciler_(reconciler),
      backups_(backups),
      replication_(replication),
      executor_(executor),
      config_(std::move(config)),
      started_ms_(NowMs()) {}

nlohmann::json Controls::Health() {
  nlohmann::json by_status = nlohmann::json::object();
  nlohmann::json regions = nlohmann::json::object();  // region → its instances, counted alike
  size_t total = 0;
  auto count = [](nlohmann::json& counts, const InstanceRow& row) {
    if (counts.is_null()) counts = {{"total", 0}, {"by_status", nlohmann::json::object()}};
    nlohmann::json& by = counts["by_status"];
    by[ToString(row.status)] = by.value(ToString(row.status), 0) + 1;
    counts["total"] = counts.value("total", 0) + 1;
  };
  for (const auto& row : registry_.Instances()) {
    by_status[ToString(row.status)] = by_status.value(ToString(row.status), 0) + 1;
    ++total;
    count(regions[row.scope.region], row);
  }
  nlohmann::json versions = nlohmann::json::array();
  for (const auto& v : runtime_.InstalledVersions()) versions.push_back(v.full);
  return {{"status", "running"},
          {"version", config_.version},
          {"runtime", runtime_.Name()},
          {"region", registry_.config().region},
          {"account_id", registry_.config().account_id},
          {"data_dir", layout_.data_dir().string()},
          {"socket_dir", layout_.SocketDir().string()},
          {"engine_versions", versions},
          {"uptime_seconds", (NowMs() - started_ms_) / 1000},
          {"instances", {{"total", total}, {"by_status", by_status}}},
          {"regions", regions},
          {"outages", registry_.outages().ToJson()}};
}

Result<nlohmann::json> Controls::EventsWithIds(int limit) {
  EventQuery q;
  q.limit = limit;
  nlohmann::json out = nlohmann::json::array();
  auto events = catalog_.QueryEvents(q);
  if (!events.ok()) return events.status();
  for (const auto& e : *events) {
    out.push_back({{"date", FormatIso8601(e.date_ms)},
                   {"region", e.scope.region},
                   {"account", e.scope.account},
                   {"event_id", e.event_id},
                   {"source_identifier", e.source_identifier},
                   {"source_type", e.source_type},
                   {"message", e.message},
                   {"categories", e.categories}});
  }
  return out;
}

void Controls::CrashInstanceAsync(const InstanceRef& identifier, std::function<void(Status)> done) {
  executor_.Post([this, identifier, done = std::move(done)] { done(CrashInstance(identifier)); });
}

void Controls::ResetAsync(std::function<void(Status)> done) {
  executor_.Post([this, done = std::move(done)] {
    Status result;
    try {
      if (!engine_.WaitIdle(config_.reset_wait)) {
        // An operation that still runs finds its instance gone and ends without writing it.
        LogLine("control") << "reset: going ahead while operations still run";
      }
      // No reconciler pass may see a server stopped by the reset and restart it.
      std::lock_guard<std::mutex> pass(reconciler_.pass_mutex());
      std::vector<InstanceRow> rows;
      {
        // Forget first: a crash from here on leaves orphan directories, which the next start
        // removes (stopping their servers), never an instance whose files are half gone.
        Registry::Locked reg = registry_.Lock();
        for (const auto& [rid, row] : reg.instances()) rows.push_back(row);
        result = catalog_.Transact([](CatalogTxn& t) { return t.DeleteEverything(); });
        if (result.ok()) reg.Clear();
        if (result.ok()) result = registry_.outages().Clear();  // every drill ends with it
      }
      if (result.ok()) {
        for (const auto& row : rows) {
          LogIfFailed(runtime_.Stop(servers_.Server(row)), "control",
                      "reset: cannot stop " + row.identifier);
          LogIfFailed(servers_.StopStandby(row), "control",
                      "reset: cannot stop the standby of " + row.identifier);
          Layout::RemoveTree(layout_.InstanceDir(row.resource_id), layout_.TrashDir());
        }
        backups_.RemoveBackupOrphans();
        std::error_code ec;
        std::filesystem::remove(layout_.SocketDir(), ec);  // only when empty
        LogLine("control") << "reset: removed " << rows.size() << " instances";
      }
    } catch (const std::exception& e) {
      result = Status::Internal(e.what());
    }
    done(result);
  });
}

Status Controls::CrashInstance(const InstanceRef& identifier) {
  InstanceRow row;
  {
    Registry::Locked reg = registry_.Lock();
    auto r = reg.Find(identifier.scope.value_or(registry_.DefaultScope()), identifier.name);
    if (!r.ok()) return r.status();
    row = *r;
  }
  return runtime_.Kill(servers_.Server(row));
}

nlohmann::json Controls::ServerDetails(const ServerSpec& spec) {
  return {{"running", runtime_.IsRunning(spec)}, {"frozen", runtime_.IsPaused(spec)},
          {"pid", runtime_.PostmasterPid(spec)}, {"pgdata", spec.pgdata.string()},
          {"log", spec.log_file.string()},       {"log_dir", spec.log_dir.string()}};
}

Result<nlohmann::json> Controls::InstanceMetrics(const InstanceRef& identifier) {
  InstanceRow row;
  {
    Registry::Locked reg = registry_.Lock();
    auto found = reg.Find(identifier.scope.value_or(registry_.DefaultScope()), identifier.name);
    if (!found.ok()) return found.status();
    row = *found;
  }
  // CloudWatch's ReplicaLag, as the replication monitor last computed it (RDS's formula).
  nlohmann::json lag = nullptr;
  if (IsReplica(row)) {
    if (auto seen = replication_.LastSeen(row.resource_id); seen && seen->lag_seconds >= 0) {
      lag = seen->lag_seconds;
    }
  }
  nlohmann::json out = {{"DBInstanceIdentifier", row.identifier},
                        {"at", FormatIso8601(registry_.Now())},
                        {"DatabaseConnections", nullptr},
                        {"ReplicaLag", lag}};
  const ServerSpec spec = servers_.Server(row);
  if (runtime_.IsRunning(spec) && !runtime_.IsPaused(spec)) {
    auto n = runtime_.QueryValue(spec, "postgres",
                                 "SELECT count(*) FROM pg_stat_activity WHERE backend_type = "
                                 "'client backend' AND pid <> pg_backend_pid()");
    if (n.ok() && !n->empty()) out["DatabaseConnections"] = std::stoll(*n);
  }
  return out;
}

Result<nlohmann::json> Controls::InstanceDetails(const InstanceRef& identifier) {
  InstanceRow row;
  nlohmann::json replicas;
  std::string source;
  {
    Registry::Locked reg = registry_.Lock();
    auto found = reg.Find(identifier.scope.value_or(registry_.DefaultScope()), identifier.name);
    if (!found.ok()) return found.status();
    row = *found;
    const nlohmann::json& rendered = *reg.Rendered(row.resource_id);  // both sides, as described
    source = rendered.value("ReadReplicaSourceDBInstanceIdentifier", "");
    replicas = rendered["ReadReplicaDBInstanceIdentifiers"];
  }
  const ServerSpec spec = servers_.Server(row);
  nlohmann::json out = {{"DBInstanceIdentifier", row.identifier},
                        {"DbiResourceId", row.resource_id},
                        {"DBInstanceStatus", ToString(row.status)},
                        {"port", row.port},
                        {"server", ServerDetails(spec)},
                        {"read_replicas", replicas}};
  if (IsMultiAz(row)) {
    nlohmann::json standby = ServerDetails(servers_.StandbyServer(row));
    standby["state"] = StandbyState(row);
    standby["socket_port"] = StandbyPort(row);
    standby["tcp"] = false;  // hidden: clients cannot reach it
    out["multi_az"] = {
        {"primary_host", PrimaryHost(row)},
        {"standby_host", StandbyHost(row)},
        {"availability_zone", row.attrs.value("AvailabilityZone", "")},
        {"secondary_availability_zone", row.attrs.value("SecondaryAvailabilityZone", "")},
        {"standby", standby}};
  }
  if (IsReplica(row)) {
    nlohmann::json r = {{"source", source},
                        {"slot", ReplicationSlotName(row.resource_id)},
                        {"status", ReplicationStatus(row)},
                        {"wal_receiver", nullptr},
                        {"replica_lag_seconds", -1},
                        {"replay_lag_bytes", -1}};
    if (auto seen = replication_.LastSeen(row.resource_id)) {
      r["wal_receiver"] = seen->receiver;
      r["replica_lag_seconds"] = seen->lag_seconds;
      r["replay_lag_bytes"] = seen->lag_bytes;
      r["polled"] = FormatIso8601(seen->polled_ms, true);
    }
    out["replication"] = r;
  }
  return out;
}

Status Controls::FreezeInstance(const InstanceRef& identifier, bool freeze) {
  InstanceRow row;
  {
    Registry::Locked reg = registry_.Lock();
    auto found = reg.Find(identifier.scope.value_or(registry_.DefaultScope()), identifier.name);
    if (!found.ok()) return found.status();
    row = *found;
  }
  const ServerSpec spec = servers_.Server(row);
  return freeze ? runtime_.Pause(spec) : runtime_.Resume(spec);
}

void Controls::FreezeInstanceAsync(const InstanceRef& identifier, bool freeze,
                                   std::function<void(Status)> done) {
  executor_.Post([this, identifier, freeze, done = std::move(done)] {
    done(FreezeInstance(identifier, freeze));
  });
}

Result<Accepted> Controls::BackupNow(const InstanceRef& identifier) {
  Registry::Locked reg = registry_.Lock();
  auto found = reg.Find(identifier.scope.value_or(registry_.DefaultScope()), identifier.name);
  if (!found.ok()) return found.status();
  InstanceRow row = *found;
  LOCALRDS_RETURN_IF_ERROR(reg.CheckIdle(row));
  if (row.attrs.value("BackupRetentionPeriod", 0) <= 0) {
    return Status::Error(
        AwsError::kInvalidDBInstanceState,
        "Automated backups are disabled for " + row.identifier + " (BackupRetentionPeriod is 0).");
  }
  if (row.status != DbStatus::kAvailable) {
    return Status::Error(
        AwsError::kInvalidDBInstanceState,
        "DB instance " + row.identifier + " is not available (it is " + row.status + ").");
  }
  return starter_.StartBackup(reg, row);
}

}  // namespace localrds
