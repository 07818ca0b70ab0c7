#include "emulator/engine/servers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "common/log.h"
#include "common/poll.h"
#include "common/time_util.h"
#include "emulator/core/instance_classes.h"
#include "emulator/core/instance_state.h"
#include "emulator/postgres/backup_files.h"
#include "emulator/postgres/parameters.h"
#include "emulator/postgres/server_config.h"
#include "emulator/postgres/sql.h"
#include "emulator/postgres/wait.h"
#include "emulator/runtime/server_files.h"
#include "emulator/runtime/server_logs.h"

namespace localrds {
namespace fs = std::filesystem;
namespace {

bool CanBind(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

std::string ReadWholeFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

InstanceServers::InstanceServers(Registry& registry, PgRuntime& runtime, const Layout& layout,
                                 const ServerSecrets& secrets, ServersConfig config)
    : registry_(registry),
      runtime_(runtime),
      layout_(layout),
      secrets_(secrets),
      config_(std::move(config)) {}

// --- where the servers are -------------------------------------------------------------------

ServerSpec InstanceServers::Server(const InstanceRow& row) const {
  ServerSpec s;
  s.resource_id = row.resource_id;
  std::string v = row.attrs.value("EngineVersion", "");
  s.major = v.substr(0, v.find('.'));
  s.pgdata = layout_.HostPgData(row.resource_id, PrimaryHost(row));
  s.log_file = layout_.HostLog(row.resource_id, PrimaryHost(row));
  s.log_dir = layout_.HostLogDir(row.resource_id, PrimaryHost(row));
  s.socket_dir = layout_.SocketDir();
  s.port = row.port;
  s.instance_class = row.attrs.value("DBInstanceClass", "");
  return s;
}

ServerSpec InstanceServers::StandbyServer(const InstanceRow& row) const {
  ServerSpec s = Server(row);
  s.pgdata = layout_.HostPgData(row.resource_id, StandbyHost(row));
  s.log_file = layout_.HostLog(row.resource_id, StandbyHost(row));
  s.log_dir = layout_.HostLogDir(row.resource_id, StandbyHost(row));
  s.port = StandbyPort(row);
  return s;
}

ServerSpec InstanceServers::ReplicationSource(const InstanceRow& row) const {
  ServerSpec s = Server(row);
  if (auto id = ClusterSystemIdentifier(s.pgdata); id.ok()) {
    s.replication_password = secrets_.ReplicationPassword(*id);
  }
  return s;
}

std::string InstanceServers::ReplicationLogin(const InstanceRow& source) const {
  const std::string password = ReplicationSource(source).replication_password;
  return std::string("user=") + kReplicationUser + " password=" + password;
}

// --- their configuration ----------------------------------------------------------------------

namespace {

// What RDS's formulas read of `row` (its class, storage and port).
FormulaInputs FormulaInputsOf(const InstanceRow& row) {
  FormulaInputs in;
  if (const InstanceClass* c = FindInstanceClass(row.attrs.value("DBInstanceClass", ""))) {
    in.class_memory = static_cast<int64_t>(c->memory_gib * (1LL << 30));
    in.vcpus = c->vcpus;
  }
  in.allocated_storage = row.attrs.value("AllocatedStorage", int64_t{0}) << 30;
  in.port = row.port;
  return in;
}

}  // namespace

std::string InstanceServers::ServerSettings(const InstanceRow& row, int port,
                                            const std::string& listen,
                                            const fs::path& log_root) const {
  const fs::path archive = layout_.ArchiveDir(row.resource_id);
  const bool backups = row.attrs.value("BackupRetentionPeriod", 0) > 0;
  std::ostringstream out;
  // Three layers, the last one winning: localrds' sizing (many servers share one machine), the
  // instance's DB parameter group, and the settings localrds owns (no group may set them:
  // emulator/postgres/parameters.cc).
  out << "# Written by localrds at every start; edits are overwritten.\n"
      << "shared_buffers = 16MB\n"
      << "max_connections = 40\n"
      << "password_encryption = 'scram-sha-256'\n"
      << "# The DB parameter group\n"
      << GroupSettingsConf(InstanceParameters(row), FormulaInputsOf(row))
      << "# Owned by localrds\n"
      // RDS's, which no group changes.
      << "log_line_prefix = '" << kRdsLogLinePrefix << "'\n"
      << "listen_addresses = '" << listen << "'\n"
      << "port = " << port << "\n"
      << "unix_socket_directories = '" << layout_.SocketDir().string() << "'\n"
      << "wal_retrieve_retry_interval = 100ms\n"
      << LoggingSettings(log_root) << "cluster_name = '" << row.resource_id
      << "'\n"
      // Archiving is always on, so that turning backups on or off is a reload of the command
      // (with retention 0 every segment is discarded). Commit timestamps tell localrds when
      // there is something new to archive.
      << "archive_mode = on\n"
      << "archive_command = '"
      << (backups ? backup_files::ArchiveCommand(archive) : std::string("/bin/true")) << "'\n"
      << "track_commit_timestamp = on\n"
      // Room for 15 replicas per source and the base backups that create them (two WAL
      // senders each); a standby needs at least its source's value.
      << "max_wal_senders = 40\n"
      << "max_replication_slots = 20\n"
      // A source that hangs is noticed by its replicas (StatusInfos `error`) within seconds.
      << "wal_receiver_timeout = 10s\n"
      << "wal_sender_timeout = 10s\n"
      // A server starting from a base backup (replica, restore) flushes its data directory
      // first: one syncfs instead of an fsync per file (seconds when the disk is busy).
      << "recovery_init_sync_method = syncfs\n";
  if (!config_.guard_library_dir.empty()) {
    // The master user stays inside the database (pgext/localrds_guard.c).
    const std::string v = row.attrs.value("EngineVersion", "");
    out << "shared_preload_libraries = '"
        << (config_.guard_library_dir / GuardLibraryName(v.substr(0, v.find('.')))).string()
        << "'\n";
    // Writes fail as on a full disk while the data has outgrown AllocatedStorage.
    out << "localrds.storage_full = " << (StorageFull(row) ? "on" : "off") << "\n";
  }
  return out.str();
}

std::string InstanceServers::StandbySettings(const InstanceRow& row) const {
  auto src = ReplicaSource(row);
  if (!src) return "";
  // A standby archives what it replays (its own automated backups, when turned on).
  std::string out = "archive_mode = always\nhot_standby = on\n";
  auto source = registry_.GetInstance(*src);
  if (!source) return out;  // the source is gone: the replica waits for its promotion
  // Over the shared Unix socket directory, as rdsrepladmin with its password there.
  out += "primary_conninfo = 'host=" + layout_.SocketDir().string() +
         " port=" + std::to_string(source->port) + " " + ReplicationLogin(*source) +
         " application_name=" + row.resource_id + " connect_timeout=5'\n";
  out += "primary_slot_name = '" + ReplicationSlotName(row.resource_id) + "'\n";
  if (source->scope.region != row.scope.region && config_.inter_region_latency.count() > 0) {
    // Commits reach a replica in another Region that much later (measured: bench/run.sh
    // cross-region-lag).
    out += "recovery_min_apply_delay = '" + std::to_string(config_.inter_region_latency.count()) +
           "ms'\n";
  }
  return out;
}

std::string InstanceServers::MultiAzPrimarySettings(const InstanceRow& row) const {
  // A replica's hidden standby cascades from it asynchronously: a standby cannot wait for one.
  if (!IsMultiAz(row) || StandbyState(row) != "ready" || IsReplica(row)) {
    return "";
  }
  return std::string("synchronous_standby_names = '") + kStandbyName + "'\n";
}

Status InstanceServers::WriteServerConfig(const InstanceRow& row, const std::string& recovery) {
  const ServerSpec spec = Server(row);
  const fs::path& pgdata = spec.pgdata;
  LOCALRDS_RETURN_IF_ERROR(backup_files::CheckConfigSafePath(spec.log_dir));
  LOCALRDS_RETURN_IF_ERROR(runtime_.PrepareDirectory(spec.log_dir / kLogSubdir));
  if (row.attrs.value("BackupRetentionPeriod", 0) > 0) {
    const fs::path archive = layout_.ArchiveDir(row.resource_id);
    LOCALRDS_RETURN_IF_ERROR(backup_files::CheckConfigSafePath(archive));
    LOCALRDS_RETURN_IF_ERROR(runtime_.PrepareDirectory(archive));
  }
  auto tls = ServerTls(row, pgdata);
  if (!tls.ok()) return tls.status();
  LOCALRDS_RETURN_IF_ERROR(
      WriteConfigFiles(pgdata,
                       ServerSettings(row, row.port, config_.pg_listen_address, spec.log_dir) +
                           StandbySettings(row) + MultiAzPrimarySettings(row) + recovery,
                       config_.pg_listen_address, ForceSsl(row), *tls ? &**tls : nullptr));
  // A replica starts as a hot standby. Only promotion removes the file (PostgreSQL does, and
  // fails if it is gone while the standby runs): localrds never deletes it behind a server.
  if (IsReplica(row) && !fs::exists(pgdata / "standby.signal")) {
    std::ofstream signal(pgdata / "standby.signal");
    if (!signal) return Status::Internal("cannot write " + (pgdata / "standby.signal").string());
  }
  return Status::Ok();
}

Status InstanceServers::WriteStandbyConfig(const InstanceRow& row) {
  const ServerSpec spec = StandbyServer(row);
  // Not on TCP: clients cannot reach a Multi-AZ standby. It archives what it receives into the
  // instance's archive (archive_mode = always), so a segment its primary had not archived yet
  // when it died is not lost to point-in-time restore.
  LOCALRDS_RETURN_IF_ERROR(backup_files::CheckConfigSafePath(spec.log_dir));
  LOCALRDS_RETURN_IF_ERROR(runtime_.PrepareDirectory(spec.log_dir / kLogSubdir));
  std::string settings = ServerSettings(row, spec.port, "", spec.log_dir) +
                         "archive_mode = always\n" + "hot_standby = on\n" +
                         "primary_conninfo = 'host=" + layout_.SocketDir().string() +
                         " port=" + std::to_string(row.port) + " " + ReplicationLogin(row) +
                         " application_name=" + kStandbyName + " connect_timeout=5'\n" +
                         "primary_slot_name = '" + ReplicationSlotName(row.resource_id) + "'\n";
  // The standby serves the primary's certificate once a failover makes it the primary.
  auto tls = ServerTls(row, spec.pgdata);
  if (!tls.ok()) return tls.status();
  LOCALRDS_RETURN_IF_ERROR(
      WriteConfigFiles(spec.pgdata, settings, "", ForceSsl(row), *tls ? &**tls : nullptr));
  if (!fs::exists(spec.pgdata / "standby.signal")) {
    std::ofstream signal(spec.pgdata / "standby.signal");
    if (!signal)
      return Status::Internal("cannot write " + (spec.pgdata / "standby.signal").string());
  }
  return Status::Ok();
}

Result<std::optional<ServerTlsFiles>> InstanceServers::ServerTls(const InstanceRow& row,
                                                                 const fs::path& pgdata) const {
  if (!config_.tls) return std::optional<ServerTlsFiles>();
  std::string ca = row.attrs.value("CACertificateIdentifier", kDefaultCaIdentifier);
  if (!FindCaSpec(ca)) ca = kDefaultCaIdentifier;
  std::optional<int64_t> till;
  if (auto it = row.attrs.find("CertificateDetails"); it != row.attrs.end() && it->is_object()) {
    till = ParseIso8601(it->value("ValidTill", ""));
  }
  // An instance from before its ValidTill was the server certificate's: a year, as RDS issues.
  if (!till || *till <= NowMs()) till = NowMs() + kServerCertificateLifetimeMs;
  ServerCertificate existing{ReadWholeFile(pgdata / kServerCertFile),
                             ReadWholeFile(pgdata / kServerKeyFile), 0};
  auto cert = config_.tls->Ensure(existing, ca, config_.endpoint_address, *till);
  if (!cert.ok()) return cert.status();
  return std::optional<ServerTlsFiles>(
      ServerTlsFiles{cert->cert_pem, cert->key_pem, runtime_.ServerOwner()});
}

Status InstanceServers::ReloadParameters(const InstanceRow& row) {
  const ServerSpec spec = Server(row);
  if (!std::filesystem::exists(spec.pgdata / "PG_VERSION")) return Status::Ok();  // creating
  LOCALRDS_RETURN_IF_ERROR(WriteServerConfig(row));
  if (!runtime_.IsRunning(spec) || runtime_.IsPaused(spec)) return Status::Ok();  // next start
  LOCALRDS_RETURN_IF_ERROR(runtime_.ExecSql(spec, "postgres", {"SELECT pg_reload_conf()"}));
  return EnsureStandbyRunning(row);
}

Status InstanceServers::ApplyStorageFull(const InstanceRow& row) {
  LOCALRDS_RETURN_IF_ERROR(WriteServerConfig(row));
  const ServerSpec spec = Server(row);
  if (!runtime_.IsRunning(spec) || runtime_.IsPaused(spec)) return Status::Ok();
  LOCALRDS_RETURN_IF_ERROR(runtime_.ExecSql(spec, "postgres", {"SELECT pg_reload_conf()"}));
  if (config_.guard_library_dir.empty()) return Status::Ok();
  // The postmaster reloads asynchronously; a new session sees its settings once it has.
  return WaitForAnswer(runtime_, spec, "SHOW localrds.storage_full",
                       StorageFull(row) ? "on" : "off", std::chrono::seconds(10),
                       "localrds.storage_full after the reload");
}

// --- roles and replication slots --------------------------------------------------------------

Status InstanceServers::EnsureServerRoles(const InstanceRow& row) {
  const ServerSpec spec = Server(row);
  auto id = ClusterSystemIdentifier(spec.pgdata);
  Status st = id.ok() ? runtime_.ExecSql(spec, "postgres",
                                         {EnsureServerRolesSql(secrets_.ReplicationVerifier(*id))})
                      : id.status();
  if (!st.ok()) {
    LogLine("ops") << row.identifier << ": the server's roles are not checked: " << st.ToString();
  }
  return st;
}

Status InstanceServers::EnsureReplicationSlot(const InstanceRow& source, const std::string& slot) {
  // An existing slot fails with duplicate_object, which ExecSql counts as done.
  return runtime_.ExecSql(
      Server(source), "postgres",
      {"SELECT pg_create_physical_replication_slot(" + SqlLiteral(slot) + ", true)"});
}

Status InstanceServers::DropReplicationSlot(const InstanceRow& source, const std::string& slot) {
  const ServerSpec spec = Server(source);
  if (!runtime_.IsRunning(spec) || runtime_.IsPaused(spec)) {
    LogLine("replication") << "slot " << slot << " stays on " << source.identifier
                           << " (its server is not running); dropped when it starts";
    return Status::Ok();
  }
  // The walsender of a replica that just stopped holds the slot for a moment.
  Status result;
  const bool done = PollUntil(
      [&] {
        auto state = runtime_.QueryValue(
            spec, "postgres",
            "SELECT coalesce((SELECT active::text FROM pg_replication_slots WHERE slot_name = " +
                SqlLiteral(slot) + "), 'none')");
        if (!state.ok()) {
          result = state.status();
          return true;
        }
        if (*state == "none") return true;
        return *state == "false" &&
               runtime_
                   .ExecSql(spec, "postgres",
                            {"SELECT pg_drop_replication_slot(" + SqlLiteral(slot) + ")"})
                   .ok();
      },
      std::chrono::seconds(15),
      Backoff{std::chrono::milliseconds(10), std::chrono::milliseconds(500)});
  if (!done) {
    return Status::Internal("replication slot " + slot + " on " + source.identifier +
                            " is still in use");
  }
  return result;
}

void InstanceServers::DropStaleReplicationSlots(const InstanceRow& row, bool active_too) {
  const ServerSpec spec = Server(row);
  auto slots =
      runtime_.QueryValue(spec, "postgres",
                          std::string("SELECT coalesce(string_agg(slot_name, ','), '') FROM "
                                      "pg_replication_slots WHERE slot_name LIKE "
                                      "'localrds\\_%'") +
                              (active_too ? "" : " AND NOT active"));
  if (!slots.ok() || slots->empty()) return;
  std::set<std::string> owned;
  for (const auto& replica : registry_.ReplicasOf(row.resource_id)) {
    owned.insert(ReplicationSlotName(replica.resource_id));
  }
  // A Multi-AZ standby streams through the instance's own slot. While the primary starts, the
  // standby is not connected yet (the slot is inactive), and without the slot it could never
  // connect again: every commit would wait for it.
  if (IsMultiAz(row)) owned.insert(ReplicationSlotName(row.resource_id));
  for (const auto& slot : Split(*slots, ',')) {
    if (slot.empty() || owned.count(slot)) continue;
    // A walsender still holding a slot (of a replica promoted while this server was frozen)
    // lets go of it once it notices its replica is gone: DropReplicationSlot waits for that.
    Status st = active_too ? DropReplicationSlot(row, slot)
                           : runtime_.ExecSql(
                                 spec, "postgres",
                                 {"SELECT pg_drop_replication_slot(" + SqlLiteral(slot) + ")"});
    LogLine("replication") << row.identifier << ": dropped stale slot " << slot << " "
                           << (st.ok() ? "" : st.ToString());
  }
}

void InstanceServers::RefreshReplicaConnections(const std::string& source_resource_id) {
  for (const auto& replica : registry_.ReplicasOf(source_resource_id)) {
    if (!fs::exists(Server(replica).pgdata / "PG_VERSION")) continue;  // creating
    if (!WriteServerConfig(replica).ok()) continue;
    const ServerSpec spec = Server(replica);
    if (runtime_.IsRunning(spec) && !runtime_.IsPaused(spec)) {
      LogIfFailed(runtime_.ExecSql(spec, "postgres", {"SELECT pg_reload_conf()"}), "replication",
                  "cannot reload " + replica.identifier);
    }
  }
}

// --- the Multi-AZ standby ---------------------------------------------------------------------

bool InstanceServers::StandbyBuilt(const InstanceRow& row) const {
  const std::string state = StandbyState(row);
  return IsMultiAz(row) && (state == "ready" || state == "building") &&
         fs::exists(StandbyServer(row).pgdata / "PG_VERSION");
}

Status InstanceServers::EnsureStandbyRunning(const InstanceRow& row) {
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
    LogIfFailed(runtime_.ExecSql(spec, "postgres", {"SELECT pg_reload_conf()"}), "multi-az",
                "cannot reload the standby of " + row.identifier);
    return Status::Ok();
  }
  return runtime_.Start(spec);
}

Status InstanceServers::StopStandby(const InstanceRow& row) {
  if (!IsMultiAz(row) && StandbyPort(row) == 0) return Status::Ok();
  return runtime_.Stop(StandbyServer(row));
}

// --- ports ------------------------------------------------------------------------------------

std::optional<int> InstanceServers::AllocatePort(int requested, const std::string& self,
                                                 int avoid) {
  std::set<int> taken = {avoid};
  for (const auto& row : registry_.Instances()) {
    if (row.resource_id != self) taken.insert(row.port);
    if (StandbyPort(row) != 0) taken.insert(StandbyPort(row));
  }
  auto usable = [&](int p) {
    if (taken.count(p)) return false;
    // Our own server may be running on it already (a resumed step): that is fine.
    if (!self.empty()) {
      auto row = registry_.GetInstance(self);
      if (row && row->port == p && runtime_.IsRunning(Server(*row))) return true;
    }
    return CanBind(p);
  };
  if (requested > 0 && usable(requested)) return requested;
  // Start at a random place in the range: several localrds on one machine rarely collide.
  const int span = config_.port_range_hi - config_.port_range_lo + 1;
  const int offset = static_cast<int>(std::random_device{}() % static_cast<unsigned>(span));
  for (int i = 0; i < span; ++i) {
    int p = config_.port_range_lo + (offset + i) % span;
    if (usable(p)) return p;
  }
  return std::nullopt;
}

}  // namespace localrds
