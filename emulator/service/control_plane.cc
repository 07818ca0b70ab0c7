#include "emulator/service/control_plane.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <vector>

#include "common/log.h"
#include "common/time_util.h"
#include "emulator/core/instance_state.h"
#include "emulator/core/request.h"

namespace localrds {
namespace {

std::vector<std::string> Majors(PgRuntime& runtime) {
  std::vector<std::string> majors;
  for (const auto& v : runtime.InstalledVersions()) majors.push_back(v.major);
  return majors;
}

ServerSecrets OpenSecrets(const Layout& layout) {
  auto s = ServerSecrets::Open(layout.KeyPath());
  if (!s.ok()) throw std::runtime_error(s.status().message());
  return std::move(s.value());
}

// The action shapes: one whose result is the response body, one with no output, and one whose
// resource goes under a wrapper member (CreateDBInstanceResult/DBInstance).
template <class S, class F>
ControlPlane::Action Immediate(S& (ControlPlane::*service)(), F f) {
  return [service, f](ControlPlane& cp, const nlohmann::json& req) -> Result<Accepted> {
    auto r = ((cp.*service)().*f)(req);
    if (!r.ok()) return r.status();
    return Accepted{std::move(r.value()), 0};
  };
}

template <class S, class F>
ControlPlane::Action NoOutput(S& (ControlPlane::*service)(), F f) {
  return [service, f](ControlPlane& cp, const nlohmann::json& req) -> Result<Accepted> {
    Status st = ((cp.*service)().*f)(req);
    if (!st.ok()) return st;
    return Accepted{nlohmann::json::object(), 0};
  };
}

template <class S, class F>
ControlPlane::Action Wrapped(S& (ControlPlane::*service)(), F f, const char* wrapper) {
  return [service, f, wrapper](ControlPlane& cp, const nlohmann::json& req) -> Result<Accepted> {
    auto r = ((cp.*service)().*f)(req);
    if (!r.ok()) return r.status();
    return Accepted{nlohmann::json{{wrapper, std::move(r->body)}}, r->operation_id};
  };
}

}  // namespace

ControlPlane::ControlPlane(EmulatorConfig config, Catalog& catalog, PgRuntime& runtime,
                           const Layout& layout)
    : config_(std::move(config)),
      clock_(config_.clock ? *config_.clock : SystemClock::Get()),
      catalog_(catalog),
      runtime_(runtime),
      layout_(layout),
      secrets_(OpenSecrets(layout)),
      tls_(layout.data_dir() / "tls"),
      registry_(catalog, layout, clock_,
                RegistryConfig{config_.region, config_.account_id, config_.endpoint_address,
                               config_.timing}),
      servers_(
          registry_, runtime, layout, secrets_,
          ServersConfig{config_.port_range_lo, config_.port_range_hi, config_.pg_listen_address,
                        config_.guard_library_dir, config_.inter_region_latency,
                        config_.server_tls ? &tls_ : nullptr, config_.endpoint_address}),
      pool_(runtime, layout, Majors(runtime), config_.pool_size),
      env_{registry_, servers_, runtime, layout, pool_},
      engine_(env_, config_.workers),
      starter_(registry_, engine_),
      ha_(registry_, servers_, runtime, starter_, executor_, clock_,
          HaConfig{config_.monitor_interval, config_.probe_interval, config_.probe_timeout,
                   config_.hung_after}),
      wal_shipper_(registry_, servers_, runtime, layout, clock_, config_.wal_ship_interval),
      backup_replicator_(registry_, layout, clock_),
      backups_(registry_, starter_, layout),
      replication_(registry_, servers_, runtime, starter_, clock_),
      storage_(registry_, servers_, runtime, starter_, clock_,
               StorageConfig{config_.storage_unit_bytes, config_.storage_measure}),
      reconciler_(catalog, registry_, servers_, runtime, layout, engine_, starter_, backups_, ha_,
                  clock_),
      instances_(registry_, servers_, runtime, layout, starter_,
                 ServiceConfig{config_.default_port, config_.max_instances}),
      snapshots_(registry_, servers_, runtime, layout, starter_,
                 ServiceConfig{config_.default_port, config_.max_instances}, executor_),
      replicas_(registry_, servers_, runtime, layout, starter_,
                ServiceConfig{config_.default_port, config_.max_instances}),
      metadata_(registry_, servers_, runtime, layout, starter_,
                ServiceConfig{config_.default_port, config_.max_instances}, catalog),
      parameters_(
          [this](const std::string& major) -> ParameterCatalog::Runner {
            const auto majors = Majors(runtime_);
            if (std::find(majors.begin(), majors.end(), major) == majors.end()) return nullptr;
            // An empty configuration that PostgreSQL checks parameter group values against.
            const std::filesystem::path check = layout_.RuntimeDir() / "settings-check";
            Status made = runtime_.PrepareDirectory(check);
            for (const char* f : {"postgresql.conf", "postgresql.auto.conf"}) {
              std::ofstream touch(check / f, std::ios::app);
              if (made.ok() && !touch)
                made = Status::Internal("cannot write " + (check / f).string());
            }
            return
                [this, major, made](const std::vector<std::string>& args) -> Result<CommandOutput> {
                  if (!made.ok()) return made;
                  return runtime_.RunPostgresProgram(major, args);
                };
          },
          (layout.RuntimeDir() / "settings-check").string()),
      groups_(registry_, servers_, runtime, layout, starter_,
              ServiceConfig{config_.default_port, config_.max_instances}, parameters_),
      subscriptions_(registry_, servers_, runtime, layout, starter_,
                     ServiceConfig{config_.default_port, config_.max_instances}),
      notifier_(catalog, registry_, config_.sns_publisher, clock_, config_.notifier),
      maintenance_(registry_, servers_, runtime, layout, starter_,
                   ServiceConfig{config_.default_port, config_.max_instances}),
      logs_(registry_, servers_, runtime, layout, starter_,
            ServiceConfig{config_.default_port, config_.max_instances}),
      controls_(catalog, registry_, servers_, runtime, layout, engine_, starter_, reconciler_,
                backups_, replication_, executor_,
                ControlsConfig{config_.version, config_.reset_wait}),
      outages_(registry_, servers_, runtime, starter_, executor_),
      certificates_(tls_, config_.region),
      console_(registry_, instances_, controls_, clock_) {}

Status ControlPlane::Recover() {
  LOCALRDS_RETURN_IF_ERROR(registry_.Load());
  LOCALRDS_RETURN_IF_ERROR(reconciler_.Recover());
  // A server of an outage drill that runs unfrozen (started again while localrds was down).
  const std::string froze = outages_.EnforceOnce();
  if (!froze.empty()) LogLine("outage") << froze;
  return Status::Ok();
}

void ControlPlane::SetOutageAsync(const std::string& name, bool zone, bool out,
                                  std::function<void(Result<nlohmann::json>)> done) {
  auto area = OutageDrills::Area(name, zone);
  if (!area.ok()) {
    done(area.status());
    return;
  }
  outages_.SetOutageAsync(std::move(*area), out, std::move(done));
}

ControlPlane::~ControlPlane() { Shutdown(false); }

Result<nlohmann::json> ControlPlane::InstanceDetails(const InstanceRef& identifier) {
  auto details = controls_.InstanceDetails(identifier);
  if (!details.ok()) return details;
  const std::string rid = details->value("DbiResourceId", "");
  auto row = registry_.GetInstance(rid);
  if (!row) return details;
  const int64_t allocated = row->attrs.value("AllocatedStorage", int64_t{0});
  nlohmann::json storage = {{"unit_bytes", config_.storage_unit_bytes},
                            {"allocated_bytes", allocated * config_.storage_unit_bytes},
                            {"full", StorageFull(*row)},
                            {"used_bytes", nullptr}};
  if (auto seen = storage_.LastSeen(rid)) {
    storage["used_bytes"] = seen->used_bytes;
    storage["measured"] = FormatIso8601(seen->measured_ms, true);
    storage["walk_microseconds"] = seen->walk.count();
  }
  (*details)["storage"] = storage;
  return details;
}

void ControlPlane::StartBackground() {
  pool_.Start();
  // The localrds CAs are made when first needed (a server's first start makes the default one
  // in a tenth of a second; the RSA 4096 one takes a second or two, at the first
  // DescribeCertificates or /_localrds/ca.pem): made here, they took the CPU of every new data
  // directory's first seconds (test_hostile's connection flood measures them).
  executor_.Loop("reconciler", config_.reconcile_interval, [this] {
    wal_shipper_.ShipWalOnce();
    std::string did = reconciler_.ReconcileOnce();
    const std::string froze = outages_.EnforceOnce();
    if (!froze.empty()) did += (did.empty() ? "" : " ") + froze;
    const std::string replication = replication_.PollReplicationOnce();
    if (!replication.empty()) did += (did.empty() ? "" : " ") + replication;
    if (!did.empty()) LogLine("reconciler") << did;
  });
  // Apart from the reconciler: copying a base backup to another Region takes a while.
  executor_.Loop("backup-replication", config_.reconcile_interval, [this] {
    const std::string did = backup_replicator_.ReplicateOnce();
    if (!did.empty()) LogLine("backup-replication") << did;
  });
  // Pending modifications are applied in each instance's weekly maintenance window.
  executor_.Loop("maintenance", config_.reconcile_interval, [this] {
    const std::string did = maintenance_.ApplyInMaintenanceWindowsOnce();
    if (!did.empty()) LogLine("maintenance") << did;
  });
  executor_.Loop("storage", config_.storage_interval, [this] {
    const std::string did = storage_.MonitorStorageOnce();
    if (!did.empty()) LogLine("storage") << did;
  });
  executor_.Loop("multi-az", config_.monitor_interval, [this] {
    const std::string did = ha_.MonitorPrimariesOnce();
    if (!did.empty()) LogLine("multi-az") << did;
  });
  executor_.Loop("notifications", config_.notify_interval, [this] {
    const std::string did = notifier_.NotifyOnce();
    if (!did.empty()) LogLine("notifications") << did;
  });
}

void ControlPlane::Shutdown(bool stop_servers) {
  if (shut_down_) return;
  shut_down_ = true;
  console_executor_.Stop();
  console_.Shutdown();  // the drill writers, before the servers they write to
  executor_.Stop();
  pool_.Stop();
  engine_.Stop();
  if (!stop_servers) return;
  const Outages& outages = registry_.outages();
  for (const auto& row : registry_.Instances()) {
    // A server of an outage drill never runs again before its recovery: a clean stop would let
    // it send its last WAL to its replicas. Killed, it stays down until then (see Recover).
    if (PrimaryOut(outages, row))
      LogIfFailed(runtime_.Kill(servers_.Server(row)), "outage", "kill " + row.identifier);
    if (StandbyOut(outages, row)) {
      LogIfFailed(runtime_.Kill(servers_.StandbyServer(row)), "outage",
                  "kill the standby of " + row.identifier);
    }
    Status st = runtime_.Stop(servers_.Server(row));
    if (st.ok()) st = servers_.StopStandby(row);
    if (!st.ok())
      LogLine() << "cannot stop the servers of " << row.identifier << ": " << st.ToString();
  }
  std::error_code ec;
  std::filesystem::remove(layout_.SocketDir(), ec);  // only when empty: every server is down
}

const std::map<std::string, ControlPlane::Action>& ControlPlane::Actions() {
  using CP = ControlPlane;
  static const std::map<std::string, Action> kActions = {
      {"CreateDBInstance",
       Wrapped(&CP::instances, &InstanceService::CreateDBInstance, "DBInstance")},
      {"DescribeDBInstances", Immediate(&CP::instances, &InstanceService::DescribeDBInstances)},
      {"ModifyDBInstance",
       Wrapped(&CP::instances, &InstanceService::ModifyDBInstance, "DBInstance")},
      {"DeleteDBInstance",
       Wrapped(&CP::instances, &InstanceService::DeleteDBInstance, "DBInstance")},
      {"RebootDBInstance",
       Wrapped(&CP::instances, &InstanceService::RebootDBInstance, "DBInstance")},
      {"StopDBInstance", Wrapped(&CP::instances, &InstanceService::StopDBInstance, "DBInstance")},
      {"StartDBInstance", Wrapped(&CP::instances, &InstanceService::StartDBInstance, "DBInstance")},
      {"AddTagsToResource", NoOutput(&CP::metadata, &MetadataService::AddTagsToResource)},
      {"RemoveTagsFromResource", NoOutput(&CP::metadata, &MetadataService::RemoveTagsFromResource)},
      {"ListTagsForResource", Immediate(&CP::metadata, &MetadataService::ListTagsForResource)},
      {"DescribeEvents", Immediate(&CP::metadata, &MetadataService::DescribeEvents)},
      {"DescribeCertificates",
       Immediate(&CP::certificates, &CertificateService::DescribeCertificates)},
      {"DescribeAccountAttributes",
       Immediate(&CP::metadata, &MetadataService::DescribeAccountAttributes)},
      {"DescribeDBEngineVersions",
       Immediate(&CP::metadata, &MetadataService::DescribeDBEngineVersions)},
      {"DescribeOrderableDBInstanceOptions",
       Immediate(&CP::metadata, &MetadataService::DescribeOrderableDBInstanceOptions)},
      {"CreateDBParameterGroup",
       Wrapped(&CP::groups, &GroupService::CreateDBParameterGroup, "DBParameterGroup")},
      {"CopyDBParameterGroup",
       Wrapped(&CP::groups, &GroupService::CopyDBParameterGroup, "DBParameterGroup")},
      {"DescribeDBParameterGroups",
       Immediate(&CP::groups, &GroupService::DescribeDBParameterGroups)},
      {"ModifyDBParameterGroup", Immediate(&CP::groups, &GroupService::ModifyDBParameterGroup)},
      {"ResetDBParameterGroup", Immediate(&CP::groups, &GroupService::ResetDBParameterGroup)},
      {"DeleteDBParameterGroup", NoOutput(&CP::groups, &GroupService::DeleteDBParameterGroup)},
      {"DescribeDBParameters", Immediate(&CP::groups, &GroupService::DescribeDBParameters)},
      {"DescribeEngineDefaultParameters",
       Immediate(&CP::groups, &GroupService::DescribeEngineDefaultParameters)},
      {"CreateDBSubnetGroup",
       Wrapped(&CP::groups, &GroupService::CreateDBSubnetGroup, "DBSubnetGroup")},
      {"ModifyDBSubnetGroup",
       Wrapped(&CP::groups, &GroupService::ModifyDBSubnetGroup, "DBSubnetGroup")},
      {"DescribeDBSubnetGroups", Immediate(&CP::groups, &GroupService::DescribeDBSubnetGroups)},
      {"DeleteDBSubnetGroup", NoOutput(&CP::groups, &GroupService::DeleteDBSubnetGroup)},
      {"CreateOptionGroup", Wrapped(&CP::groups, &GroupService::CreateOptionGroup, "OptionGroup")},
      {"CopyOptionGroup", Wrapped(&CP::groups, &GroupService::CopyOptionGroup, "OptionGroup")},
      {"ModifyOptionGroup", Wrapped(&CP::groups, &GroupService::ModifyOptionGroup, "OptionGroup")},
      {"DescribeOptionGroups", Immediate(&CP::groups, &GroupService::DescribeOptionGroups)},
      {"DescribeOptionGroupOptions",
       Immediate(&CP::groups, &GroupService::DescribeOptionGroupOptions)},
      {"DeleteOptionGroup", NoOutput(&CP::groups, &GroupService::DeleteOptionGroup)},
      {"CreateDBSnapshot",
       Wrapped(&CP::snapshots, &SnapshotService::CreateDBSnapshot, "DBSnapshot")},
      {"CopyDBSnapshot", Wrapped(&CP::snapshots, &SnapshotService::CopyDBSnapshot, "DBSnapshot")},
      {"DeleteDBSnapshot",
       Wrapped(&CP::snapshots, &SnapshotService::DeleteDBSnapshot, "DBSnapshot")},
      {"DescribeDBSnapshots", Immediate(&CP::snapshots, &SnapshotService::DescribeDBSnapshots)},
      {"ModifyDBSnapshotAttribute",
       Immediate(&CP::snapshots, &SnapshotService::ModifyDBSnapshotAttribute)},
      {"DescribeDBSnapshotAttributes",
       Immediate(&CP::snapshots, &SnapshotService::DescribeDBSnapshotAttributes)},
      {"RestoreDBInstanceFromDBSnapshot",
       Wrapped(&CP::snapshots, &SnapshotService::RestoreDBInstanceFromDBSnapshot, "DBInstance")},
      {"RestoreDBInstanceToPointInTime",
       Wrapped(&CP::snapshots, &SnapshotService::RestoreDBInstanceToPointInTime, "DBInstance")},
      {"DescribeDBInstanceAutomatedBackups",
       Immediate(&CP::snapshots, &SnapshotService::DescribeDBInstanceAutomatedBackups)},
      {"DeleteDBInstanceAutomatedBackup",
       Wrapped(&CP::snapshots, &SnapshotService::DeleteDBInstanceAutomatedBackup,
               "DBInstanceAutomatedBackup")},
      {"StartDBInstanceAutomatedBackupsReplication",
       Wrapped(&CP::snapshots, &SnapshotService::StartDBInstanceAutomatedBackupsReplication,
               "DBInstanceAutomatedBackup")},
      {"StopDBInstanceAutomatedBackupsReplication",
       Wrapped(&CP::snapshots, &SnapshotService::StopDBInstanceAutomatedBackupsReplication,
               "DBInstanceAutomatedBackup")},
      {"CreateDBInstanceReadReplica",
       Wrapped(&CP::replicas, &ReplicaService::CreateDBInstanceReadReplica, "DBInstance")},
      {"PromoteReadReplica",
       Wrapped(&CP::replicas, &ReplicaService::PromoteReadReplica, "DBInstance")},
      {"CreateEventSubscription",
       Immediate(&CP::subscriptions, &SubscriptionService::CreateEventSubscription)},
      {"DescribeEventSubscriptions",
       Immediate(&CP::subscriptions, &SubscriptionService::DescribeEventSubscriptions)},
      {"ModifyEventSubscription",
       Immediate(&CP::subscriptions, &SubscriptionService::ModifyEventSubscription)},
      {"DeleteEventSubscription",
       Immediate(&CP::subscriptions, &SubscriptionService::DeleteEventSubscription)},
      {"AddSourceIdentifierToSubscription",
       Immediate(&CP::subscriptions, &SubscriptionService::AddSourceIdentifierToSubscription)},
      {"RemoveSourceIdentifierFromSubscription",
       Immediate(&CP::subscriptions, &SubscriptionService::RemoveSourceIdentifierFromSubscription)},
      {"DescribeEventCategories",
       Immediate(&CP::subscriptions, &SubscriptionService::DescribeEventCategories)},
      {"DescribePendingMaintenanceActions",
       Immediate(&CP::maintenance, &MaintenanceService::DescribePendingMaintenanceActions)},
      {"ApplyPendingMaintenanceAction",
       Immediate(&CP::maintenance, &MaintenanceService::ApplyPendingMaintenanceAction)},
      {"ModifyDBSnapshot",
       Wrapped(&CP::maintenance, &MaintenanceService::ModifyDBSnapshot, "DBSnapshot")},
      {"DescribeDBLogFiles", Immediate(&CP::logs, &LogService::DescribeDBLogFiles)},
      {"DownloadDBLogFilePortion", Immediate(&CP::logs, &LogService::DownloadDBLogFilePortion)},
  };
  return kActions;
}

bool ControlPlane::Implements(const std::string& action) const { return Actions().count(action); }

bool ControlPlane::Blocks(const std::string& action) const {
  // A family's first use builds its catalog (PostgreSQL's own, ~1 s); a value is checked by
  // running `postgres -C`; an immediate change reloads the group's servers.
  static const std::set<std::string> kBlocking = {
      "CreateDBParameterGroup", "ModifyDBParameterGroup", "ResetDBParameterGroup",
      "DescribeDBParameters", "DescribeEngineDefaultParameters"};
  return kBlocking.count(action) > 0;
}

void ControlPlane::CallAsync(const std::string& action, nlohmann::json req,
                             std::function<void(Result<Accepted>)> done) {
  executor_.Post([this, action, req = std::move(req), done = std::move(done)] {
    Result<Accepted> result = Status::Internal("internal error");
    try {
      result = Call(action, req);
    } catch (const std::exception& e) {
      result = Status::Internal(std::string("internal error: ") + e.what());
    }
    done(std::move(result));
  });
}

namespace {
// Runs `work` on `executor`'s pool, an exception as InternalFailure.
void PostJson(Executor& executor, std::function<Result<nlohmann::json>()> work,
              std::function<void(Result<nlohmann::json>)> done) {
  executor.Post([work = std::move(work), done = std::move(done)] {
    Result<nlohmann::json> result = Status::Internal("internal error");
    try {
      result = work();
    } catch (const std::exception& e) {
      result = Status::Internal(std::string("internal error: ") + e.what());
    }
    done(std::move(result));
  });
}
}  // namespace

void ControlPlane::RunSqlAsync(const Scope& scope, nlohmann::json req,
                               std::function<void(Result<nlohmann::json>)> done) {
  PostJson(
      console_executor_,
      [this, scope, req = std::move(req)] { return console_.RunSql(scope, req); }, std::move(done));
}

void ControlPlane::MetricsAsync(const InstanceRef& identifier,
                                std::function<void(Result<nlohmann::json>)> done) {
  // A sample runs SQL on the instance's server: on the console's pool, never on the pool the
  // Multi-AZ health probes need.
  PostJson(
      console_executor_, [this, identifier] { return controls_.InstanceMetrics(identifier); },
      std::move(done));
}

void ControlPlane::DrillAsync(const Scope& scope, const std::string& what, nlohmann::json req,
                              std::function<void(Result<nlohmann::json>)> done) {
  if (what == "status") {
    // Reads the drill's record only (no PostgreSQL): at once, even while the console's pool is
    // busy with queries against a frozen server.
    Result<nlohmann::json> result = Status::Internal("internal error");
    try {
      result = console_.Drill(scope, what, req);
    } catch (const std::exception& e) {
      result = Status::Internal(std::string("internal error: ") + e.what());
    }
    done(std::move(result));
    return;
  }
  PostJson(
      console_executor_,
      [this, scope, what, req = std::move(req)] { return console_.Drill(scope, what, req); },
      std::move(done));
}

Result<Accepted> ControlPlane::Call(const std::string& action, const nlohmann::json& req) {
  auto it = Actions().find(action);
  if (it == Actions().end()) {
    return Status::Error(AwsError::kInvalidAction,
                         "localrds does not implement the RDS action " + action + " yet.");
  }
  // Every action that names a CA (create, modify, restores, read replicas) names one of RDS's.
  if (auto ca = ReqString(req, "CACertificateIdentifier")) {
    LOCALRDS_RETURN_IF_ERROR(CheckCaIdentifier(*ca));
  }
  return it->second(*this, req);
}

}  // namespace localrds
