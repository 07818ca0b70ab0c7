// ControlPlane: localrds put together. It builds the registry, the instances' servers, the
// operation engine, the background loops and the services from one configuration, implements
// RdsService for the API layer, and owns all of them; it borrows the catalog, the runtime and
// the layout, which must outlive it.
//
// What lives where:
//   state/registry        the in-memory view of the catalog and its commits
//   engine/servers        what is done to an instance's PostgreSQL servers
//   engine/*              the operation engine and the steps of every operation kind
//   background/*          the reconciler, WAL shipper, backup scheduler, replication and
//                         health monitors, on one Executor
//   service/*             the RDS actions, one service per family, and the /_localrds/ controls
//
// Lock order (a lock may be taken while holding the ones before it, never the other way):
//   { Reconciler::pass_mutex_ → WalShipper::mutex_, OutageDrills::drill_mutex_ } →
//   Registry::mutex_ →
//   { OperationEngine::mutex_, HaMonitor::mutex_, ReplicationMonitor::mutex_,
//     StorageMonitor::mutex_, Executor::mutex_, Outages::mutex_ } (leaves: nothing is locked or
//     called while holding them).
// ConsoleService::mutex_ → a drill's mutex are leaves too (taken with no other lock held).
// Neither the registry's lock nor a leaf is held while calling PostgreSQL.
//
// Thread-safety: every public method is thread-safe.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/clock.h"
#include "emulator/background/backup_replicator.h"
#include "emulator/background/backup_scheduler.h"
#include "emulator/background/event_notifier.h"
#include "emulator/background/executor.h"
#include "emulator/background/ha_monitor.h"
#include "emulator/background/reconciler.h"
#include "emulator/background/replication_monitor.h"
#include "emulator/background/storage_monitor.h"
#include "emulator/background/wal_shipper.h"
#include "emulator/engine/operation_engine.h"
#include "emulator/engine/servers.h"
#include "emulator/engine/starter.h"
#include "emulator/postgres/server_secrets.h"
#include "emulator/postgres/tls.h"
#include "emulator/runtime/cluster_pool.h"
#include "emulator/service/certificate_service.h"
#include "emulator/service/console_service.h"
#include "emulator/service/controls.h"
#include "emulator/service/group_service.h"
#include "emulator/service/instance_service.h"
#include "emulator/service/log_service.h"
#include "emulator/service/maintenance_service.h"
#include "emulator/service/metadata_service.h"
#include "emulator/service/outage_drills.h"
#include "emulator/service/rds_service.h"
#include "emulator/service/replica_service.h"
#include "emulator/service/snapshot_service.h"
#include "emulator/service/subscription_service.h"
#include "emulator/state/registry.h"

namespace localrds {

struct EmulatorConfig {
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  std::string endpoint_address = "127.0.0.1";  //!< Endpoint.Address reported to clients
  int port_range_lo = 15432;                   //!< ports handed out when Port is busy or taken
  int port_range_hi = 16431;
  int default_port = 5432;  //!< RDS's default for PostgreSQL
  //! listen_addresses of every instance's server (never of a Multi-AZ standby: it has no TCP).
  std::string pg_listen_address = "127.0.0.1";
  int pool_size = 3;       //!< ready-made clusters kept per engine version
  int workers = 4;         //!< operation worker threads
  int max_instances = 40;  //!< RDS's default DB instance quota
  std::chrono::milliseconds reconcile_interval{1000};
  //! How long a reset waits for running operations before it goes ahead without them.
  std::chrono::milliseconds reset_wait{std::chrono::minutes(2)};
  //! How often the WAL of an instance with new commits is switched and archived: bounds how far
  //! LatestRestorableTime trails the newest commit. RDS ships WAL every 5 minutes (300 s).
  std::chrono::milliseconds wal_ship_interval{std::chrono::seconds(5)};
  //! The Multi-AZ health monitor: how often it looks at every primary (is its server there?),
  //! how often and how long it asks each one `SELECT 1`, and how long without an answer makes
  //! a primary hung (then it fails over).
  std::chrono::milliseconds monitor_interval{20};
  std::chrono::milliseconds probe_interval{500};
  std::chrono::milliseconds probe_timeout{1000};
  std::chrono::milliseconds hung_after{3000};
  //! The bytes of one unit of AllocatedStorage (RDS: 1 GiB; smaller to rehearse a full disk),
  //! and how often the storage monitor measures every instance.
  int64_t storage_unit_bytes = kGiB;
  std::chrono::milliseconds storage_interval{1000};
  //! What an instance's storage is (unit tests); null: its data directory's size on disk.
  std::function<int64_t(const ServerSpec&)> storage_measure;
  std::string version = "0.0.0";
  //! The server's timing profile (--timing): fast, or RDS-like durations (emulator/core/timing.h).
  TimingProfile timing;
  //! Where localrds_guard_<major>.so lives for every server's shared_preload_libraries (a
  //! directory the servers' OS user can read; InstallGuardLibraries fills it). Empty: no guard
  //! (unit tests over the fake runtime).
  std::filesystem::path guard_library_dir;
  //! How late a cross-Region read replica applies its source's WAL (--inter-region-latency).
  std::chrono::milliseconds inter_region_latency{40};
  //! The time the background work reads (a FakeClock in tests); null: the system's.
  const Clock* clock = nullptr;
  //! Where event notifications go (--sns-endpoint-url; borrowed); null: nowhere. How often the
  //! notifier looks for new events, and its retries.
  SnsPublisher* sns_publisher = nullptr;
  std::chrono::milliseconds notify_interval{250};
  NotifierConfig notifier;
  //! Every server serves TLS with a certificate from the localrds CAs (<data-dir>/tls); off in
  //! the unit tests over the fake runtime (a new RSA key per instance costs a fifth of a second).
  bool server_tls = true;
};

class ControlPlane : public RdsService {
 public:
  ControlPlane(EmulatorConfig config, Catalog& catalog, PgRuntime& runtime, const Layout& layout);
  ~ControlPlane() override;

  //! Startup reconciliation, before the API opens: removes orphans, resumes unfinished
  //! operations and brings back every server that should run. Blocks until done.
  //! Servers of an outage drill stay frozen (or down) until their Region or zone recovers.
  Status Recover();
  //! Starts the background loops and the cluster pool.
  void StartBackground();
  //! Stops background work; with `stop_servers`, shuts every PostgreSQL server down.
  void Shutdown(bool stop_servers);

  // RdsService.
  bool Implements(const std::string& action) const override;
  Result<Accepted> Call(const std::string& action, const nlohmann::json& req) override;
  bool Blocks(const std::string& action) const override;
  void MetricsAsync(const InstanceRef& identifier,
                    std::function<void(Result<nlohmann::json>)> done) override;
  //! On the executor's pool.
  void CallAsync(const std::string& action, nlohmann::json req,
                 std::function<void(Result<Accepted>)> done) override;
  Result<InstancePage> ListDBInstances(const nlohmann::json& req) override {
    return instances_.ListDBInstances(req);
  }
  void WhenOperationDone(int64_t operation_id, std::function<void()> cb) override {
    engine_.WhenDone(operation_id, std::move(cb));
  }
  void WhenOperationSettled(int64_t operation_id, std::function<void()> cb) override {
    engine_.WhenSettled(operation_id, std::move(cb));
  }
  Scope DefaultScope() const override { return registry_.DefaultScope(); }
  nlohmann::json Health() override { return controls_.Health(); }
  Result<nlohmann::json> EventsWithIds(int limit) override {
    return controls_.EventsWithIds(limit);
  }
  //! Made on first use; StartBackground makes them ahead of the first request.
  Result<std::string> CaBundle() override { return tls_.Bundle(); }
  void ResetAsync(std::function<void(Status)> done) override {
    controls_.ResetAsync(std::move(done));
  }
  void CrashInstanceAsync(const InstanceRef& identifier,
                          std::function<void(Status)> done) override {
    controls_.CrashInstanceAsync(identifier, std::move(done));
  }
  void FreezeInstanceAsync(const InstanceRef& identifier, bool freeze,
                           std::function<void(Status)> done) override {
    controls_.FreezeInstanceAsync(identifier, freeze, std::move(done));
  }
  //! The controls' details plus the instance's storage as the storage monitor last saw it.
  Result<nlohmann::json> InstanceDetails(const InstanceRef& identifier) override;
  Result<Accepted> BackupNow(const InstanceRef& identifier) override {
    return controls_.BackupNow(identifier);
  }
  Result<nlohmann::json> InstanceTiming(const InstanceRef& identifier) override {
    return controls_.InstanceTiming(identifier);
  }
  Result<nlohmann::json> SetInstanceTiming(const InstanceRef& identifier,
                                           const std::optional<TimingProfile>& timing) override {
    return controls_.SetInstanceTiming(identifier, timing);
  }
  bool RegionInOutage(const std::string& region) const override {
    return registry_.outages().RegionOut(region);
  }
  void SetOutageAsync(const std::string& name, bool zone, bool out,
                      std::function<void(Result<nlohmann::json>)> done) override;
  //! On a pool of their own (console_executor_), never the caller's thread (ConsoleService).
  void RunSqlAsync(const Scope& scope, nlohmann::json req,
                   std::function<void(Result<nlohmann::json>)> done) override;
  void DrillAsync(const Scope& scope, const std::string& what, nlohmann::json req,
                  std::function<void(Result<nlohmann::json>)> done) override;

  // The parts, for cmd/ and the tests.
  InstanceService& instances() { return instances_; }
  SnapshotService& snapshots() { return snapshots_; }
  ReplicaService& replicas() { return replicas_; }
  MetadataService& metadata() { return metadata_; }
  GroupService& groups() { return groups_; }
  SubscriptionService& subscriptions() { return subscriptions_; }
  EventNotifier& notifier() { return notifier_; }
  MaintenanceService& maintenance() { return maintenance_; }
  LogService& logs() { return logs_; }
  Controls& controls() { return controls_; }
  CertificateAuthorities& tls() { return tls_; }
  CertificateService& certificates() { return certificates_; }
  Registry& registry() { return registry_; }
  InstanceServers& servers() { return servers_; }
  Reconciler& reconciler() { return reconciler_; }
  WalShipper& wal_shipper() { return wal_shipper_; }
  BackupReplicator& backup_replicator() { return backup_replicator_; }
  BackupScheduler& backups() { return backups_; }
  ReplicationMonitor& replication() { return replication_; }
  HaMonitor& ha_monitor() { return ha_; }
  StorageMonitor& storage() { return storage_; }
  OutageDrills& outages() { return outages_; }
  ConsoleService& console() { return console_; }

  //! Each RDS action as a uniform call on the services.
  using Action = std::function<Result<Accepted>(ControlPlane&, const nlohmann::json&)>;

 private:
  static const std::map<std::string, Action>& Actions();

  const EmulatorConfig config_;
  const Clock& clock_;
  Catalog& catalog_;
  PgRuntime& runtime_;
  const Layout& layout_;
  const ServerSecrets secrets_;  //!< rdsrepladmin's passwords (<data-dir>/localrds.key)
  CertificateAuthorities tls_;   //!< the localrds CAs (<data-dir>/tls)
  Registry registry_;
  InstanceServers servers_;
  ClusterPool pool_;
  StepEnv env_;
  OperationEngine engine_;
  OperationStarter starter_;
  Executor executor_;
  HaMonitor ha_;
  WalShipper wal_shipper_;
  BackupReplicator backup_replicator_;
  BackupScheduler backups_;
  ReplicationMonitor replication_;
  StorageMonitor storage_;
  Reconciler reconciler_;
  InstanceService instances_;
  SnapshotService snapshots_;
  ReplicaService replicas_;
  MetadataService metadata_;
  Parameters parameters_;  //!< every family's parameters, for the parameter groups
  GroupService groups_;
  SubscriptionService subscriptions_;
  EventNotifier notifier_;
  MaintenanceService maintenance_;
  LogService logs_;
  Controls controls_;
  OutageDrills outages_;
  CertificateService certificates_;
  //! The console's SQL and drills run here, not on executor_'s pool: a workshop's long queries
  //! (up to their 30 s statement timeout) would otherwise hold the threads the Multi-AZ health
  //! probes need, and a probe that waits too long fails the primary over. Eight threads: a
  //! workshop's queries against a frozen server (each waits up to its timeout) leave room for
  //! the drill's faults and stop (its status answers at once, on the caller's thread).
  Executor console_executor_{8};
  ConsoleService console_;  //!< the console's query editor and DR drills
  bool shut_down_ = false;  //!< Shutdown ran (guarded by being called from one thread)
};

}  // namespace localrds
