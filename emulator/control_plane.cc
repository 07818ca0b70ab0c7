// ControlPlane core: the in-memory view, commits, startup recovery, the reconciler, rendering.
// The RDS actions live in instance_actions.cc and metadata_actions.cc.
#include "emulator/control_plane.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "common/log.h"
#include "common/time_util.h"
#include "emulator/backup_files.h"
#include "emulator/cluster_pool.h"
#include "emulator/operation_engine.h"
#include "emulator/server_files.h"

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

constexpr int64_t kSevenDaysMs = 7LL * 24 * 3600 * 1000;

}  // namespace

ControlPlane::ControlPlane(EmulatorConfig config, Catalog& catalog, PgRuntime& runtime,
                           const Layout& layout)
    : config_(std::move(config)),
      catalog_(catalog),
      runtime_(runtime),
      layout_(layout),
      secrets_([&] {
        auto s = ServerSecrets::Open(layout.KeyPath());
        if (!s.ok()) throw std::runtime_error(s.status().message());
        return std::move(s.value());
      }()),
      started_ms_(NowMs()) {
  for (auto& row : catalog_.LoadInstances()) instances_[row.resource_id] = std::move(row);
  for (auto& snap : catalog_.LoadSnapshots()) snapshots_[snap.id] = std::move(snap);
  // Rendered once every row is in: a replica and its source show each other.
  for (const auto& [rid, row] : instances_) {
    rendered_[rid] = std::make_shared<const nlohmann::json>(RenderInstance(row));
  }
  for (auto& r : catalog_.LoadRetainedBackups()) retained_[r.resource_id] = std::move(r);
  std::set<std::string> with_backups;
  for (const auto& [id, snap] : snapshots_) with_backups.insert(snap.dbi_resource_id);
  for (const auto& rid : with_backups) RefreshRestoreWindowLocked(rid);
  std::vector<std::string> majors;
  for (const auto& v : runtime_.InstalledVersions()) majors.push_back(v.major);
  pool_ = std::make_unique<ClusterPool>(runtime_, layout_, majors, config_.pool_size);
  engine_ = std::make_unique<OperationEngine>(*this, config_.workers);
}

ControlPlane::~ControlPlane() { Shutdown(false); }

std::optional<InstanceRow> ControlPlane::GetInstance(const std::string& resource_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = instances_.find(resource_id);
  if (it == instances_.end()) return std::nullopt;
  return it->second;
}

Status ControlPlane::Commit(Mutation m) {
  std::lock_guard<std::mutex> lock(mutex_);
  return CommitLocked(m, nullptr);
}

Status ControlPlane::CommitLocked(Mutation& m, int64_t* new_op_id) {
  int64_t op_id = 0;
  Status st = catalog_.Transact([&](CatalogTxn& txn) -> Status {
    for (const auto& row : m.put) LOCALRDS_RETURN_IF_ERROR(txn.PutInstance(row));
    for (const auto& rid : m.remove) LOCALRDS_RETURN_IF_ERROR(txn.DeleteInstance(rid));
    for (const auto& e : m.events) LOCALRDS_RETURN_IF_ERROR(txn.InsertEvent(e));
    for (const auto& snap : m.put_snapshots) LOCALRDS_RETURN_IF_ERROR(txn.PutSnapshot(snap));
    for (const auto& id : m.remove_snapshots) LOCALRDS_RETURN_IF_ERROR(txn.DeleteSnapshot(id));
    for (const auto& r : m.put_retained) LOCALRDS_RETURN_IF_ERROR(txn.PutRetainedBackup(r));
    for (const auto& rid : m.remove_retained) LOCALRDS_RETURN_IF_ERROR(txn.DeleteRetainedBackup(rid));
    if (m.new_operation) {
      auto id = txn.InsertOperation(*m.new_operation);
      if (!id.ok()) return id.status();
      op_id = *id;
    }
    if (m.op_update) {
      LOCALRDS_RETURN_IF_ERROR(txn.UpdateOperation(m.op_update->id, m.op_update->step,
                                                   m.op_update->state, m.op_update->error));
    }
    return Status::Ok();
  });
  if (!st.ok()) return st;
  std::set<std::string> changed, old_sources;
  auto note_source = [&](const InstanceRow& r) {
    auto src = r.attrs.find("_replica_source");
    if (src != r.attrs.end() && src->is_string()) old_sources.insert(src->get<std::string>());
  };
  for (auto& row : m.put) {
    auto old = instances_.find(row.resource_id);
    if (old != instances_.end()) note_source(old->second);
    instances_[row.resource_id] = row;
    changed.insert(row.resource_id);
  }
  for (const auto& rid : m.remove) {
    auto old = instances_.find(rid);
    if (old != instances_.end()) note_source(old->second);
    instances_.erase(rid);
    rendered_.erase(rid);
    changed.insert(rid);
  }
  for (const auto& row : m.put) {
    rendered_[row.resource_id] = std::make_shared<const nlohmann::json>(RenderInstance(row));
  }
  if (!changed.empty()) RerenderRelativesLocked(changed, old_sources);
  std::set<std::string> windows;  // instances whose restorable window may have moved
  for (const auto& snap : m.put_snapshots) {
    snapshots_[snap.id] = snap;
    windows.insert(snap.dbi_resource_id);
  }
  for (const auto& id : m.remove_snapshots) {
    auto it = snapshots_.find(id);
    if (it == snapshots_.end()) continue;
    windows.insert(it->second.dbi_resource_id);
    snapshots_.erase(it);
  }
  for (const auto& rid : windows) RefreshRestoreWindowLocked(rid);
  for (const auto& r : m.put_retained) retained_[r.resource_id] = r;
  for (const auto& rid : m.remove_retained) retained_.erase(rid);
  for (const auto& e : m.events) {
    LogLine("event") << e.source_identifier << " " << (e.event_id.empty() ? "-" : e.event_id) << " "
                     << e.message;
  }
  if (m.new_operation) {
    active_ops_[m.new_operation->resource_id] = op_id;
    m.new_operation->id = op_id;
  }
  if (m.op_update && m.op_update->state != "running") {
    for (auto it = active_ops_.begin(); it != active_ops_.end(); ++it) {
      if (it->second == m.op_update->id) {
        pending_renames_.erase(it->first);
        active_ops_.erase(it);
        break;
      }
    }
  }
  if (new_op_id) *new_op_id = op_id;
  return Status::Ok();
}

std::string ControlPlane::InstanceArn(const std::string& identifier) const {
  return "arn:aws:rds:" + config_.region + ":" + config_.account_id + ":db:" + identifier;
}

EventRow ControlPlane::MakeEvent(const InstanceRow& row, const EventSpec& spec,
                                 const std::string& message_override) const {
  return MakeEventFor("db-instance", row.identifier, InstanceArn(row.identifier), spec,
                      message_override);
}

EventRow ControlPlane::MakeEventFor(const std::string& source_type, const std::string& identifier,
                                    const std::string& arn, const EventSpec& spec,
                                    const std::string& message_override) const {
  EventRow e;
  e.date_ms = NowMs();
  e.source_type = source_type;
  e.source_identifier = identifier;
  e.source_arn = arn;
  e.event_id = spec.id;
  e.message = message_override.empty() ? spec.message : message_override;
  e.categories = {spec.category};
  return e;
}

ServerSpec ControlPlane::Server(const InstanceRow& row) const {
  ServerSpec s;
  s.resource_id = row.resource_id;
  std::string v = row.attrs.value("EngineVersion", "");
  s.major = v.substr(0, v.find('.'));
  s.pgdata = layout_.HostPgData(row.resource_id, PrimaryHost(row));
  s.log_file = layout_.HostLog(row.resource_id, PrimaryHost(row));
  s.socket_dir = layout_.SocketDir();
  s.port = row.port;
  s.instance_class = row.attrs.value("DBInstanceClass", "");
  return s;
}

ServerSpec ControlPlane::ReplicationSource(const InstanceRow& row) const {
  ServerSpec s = Server(row);
  if (auto id = ClusterSystemIdentifier(s.pgdata); id.ok()) {
    s.replication_password = secrets_.ReplicationPassword(*id);
  }
  return s;
}

std::string ControlPlane::ReplicationLogin(const InstanceRow& source) const {
  const std::string password = ReplicationSource(source).replication_password;
  return std::string("user=") + kReplicationUser + " password=" + password;
}

Status ControlPlane::EnsureServerRoles(const InstanceRow& row) {
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

std::optional<int> ControlPlane::AllocatePort(int requested, const std::string& self, int avoid) {
  std::set<int> taken = {avoid};
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [rid, row] : instances_) {
      if (rid != self) taken.insert(row.port);
      if (row.attrs.contains("_standby_port")) taken.insert(row.attrs.value("_standby_port", 0));
    }
  }
  auto usable = [&](int p) {
    if (taken.count(p)) return false;
    // Our own server may be running on it already (a resumed step): that is fine.
    if (!self.empty()) {
      auto row = GetInstance(self);
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

std::string ControlPlane::ServerSettings(const InstanceRow& row, int port,
                                         const std::string& listen) {
  const fs::path archive = layout_.ArchiveDir(row.resource_id);
  const bool backups = row.attrs.value("BackupRetentionPeriod", 0) > 0;
  std::ostringstream out;
  out << "# Written by localrds at every start; edits are overwritten.\n"
      << "listen_addresses = '" << listen << "'\n"
      << "port = " << port << "\n"
      << "unix_socket_directories = '" << layout_.SocketDir().string() << "'\n"
      << "shared_buffers = 16MB\n"
      << "max_connections = 40\n"
      << "password_encryption = 'scram-sha-256'\n"
      << "wal_retrieve_retry_interval = 100ms\n"
      << "log_line_prefix = '%m [%p] %q%u@%d '\n"
      << "cluster_name = '" << row.resource_id << "'\n"
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
  }
  return out.str();
}

std::string ControlPlane::HbaRules(const std::string& listen) {
  // No trust: every server of the machine runs as the same OS user, so a rule that trusted the
  // socket would let one compromised server in as the superuser of every other. rdsadmin (the
  // superuser) logs in over the socket only, by peer authentication from the OS user localrds
  // runs as (IdentMap); rdsrepladmin only replicates, over the socket, with its password;
  // clients log in with a SCRAM password over TCP (and the socket). A server listening beyond
  // loopback (inside the localrds image, where published ports arrive from the container's
  // own network) takes them from anywhere.
  std::string out =
      "# Written by localrds at every start; edits are overwritten.\n"
      "local   all          rdsadmin              peer map=localrds\n"
      "local   replication  rdsrepladmin          scram-sha-256\n"
      "local   all          rdsrepladmin          reject\n"
      "local   replication  all                   reject\n"
      "local   all          all                   scram-sha-256\n"
      "host    all          rdsadmin      all     reject\n"
      "host    all          rdsrepladmin  all     reject\n"
      "host    replication  all           all     reject\n"
      "host    all          all   127.0.0.1/32    scram-sha-256\n"
      "host    all          all   ::1/128         scram-sha-256\n";
  const bool loopback = listen.empty() || listen == "localhost" || listen == "::1" ||
                        listen.rfind("127.", 0) == 0;
  if (!loopback) {
    out +=
        "host    all          all   0.0.0.0/0       scram-sha-256\n"
        "host    all          all   ::/0            scram-sha-256\n";
  }
  return out;
}

std::string ControlPlane::IdentMap(const std::string& os_user) {
  return "# Written by localrds at every start; edits are overwritten.\n"
         "localrds   " + os_user + "   rdsadmin\n";
}

Status ControlPlane::WriteConfigFile(const fs::path& pgdata, const std::string& settings,
                                     const std::string& listen) {
  // Each its own temporary name: a source's start rewrites its replicas' files while their own
  // operations may be writing them too (both write what the catalog says; the last rename wins).
  static std::atomic<uint64_t> writes{0};
  LOCALRDS_RETURN_IF_ERROR(backup_files::CheckConfigSafePath(pgdata));
  // Who may connect how is localrds' too (an absolute path: the server resolves a relative one
  // against the directory it was started in).
  static const std::string os_user = CurrentOsUser();
  const std::pair<const char*, std::string> files[] = {
      {kHbaFile, HbaRules(listen)},
      {kIdentFile, IdentMap(os_user)},
      {"localrds.conf", settings + "hba_file = '" + (pgdata / kHbaFile).string() + "'\n" +
                            "ident_file = '" + (pgdata / kIdentFile).string() + "'\n"}};
  for (const auto& [name, text] : files) {
    fs::path tmp = pgdata / (std::string(name) + ".tmp" + std::to_string(writes.fetch_add(1)));
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << text;
      if (!out) return Status::Internal("cannot write " + tmp.string());
    }
    std::error_code ec;
    fs::rename(tmp, pgdata / name, ec);
    if (ec) return Status::Internal("cannot rename " + tmp.string() + ": " + ec.message());
  }
  return Status::Ok();
}

Status ControlPlane::WriteServerConfig(const InstanceRow& row, const std::string& recovery) {
  const fs::path pgdata = Server(row).pgdata;
  if (row.attrs.value("BackupRetentionPeriod", 0) > 0) {
    const fs::path archive = layout_.ArchiveDir(row.resource_id);
    LOCALRDS_RETURN_IF_ERROR(backup_files::CheckConfigSafePath(archive));
    LOCALRDS_RETURN_IF_ERROR(runtime_.PrepareDirectory(archive));
  }
  LOCALRDS_RETURN_IF_ERROR(WriteConfigFile(
      pgdata,
      ServerSettings(row, row.port, config_.pg_listen_address) + StandbySettings(row) +
          MultiAzPrimarySettings(row) + recovery,
      config_.pg_listen_address));
  // A replica starts as a hot standby. Only promotion removes the file (PostgreSQL does, and
  // fails if it is gone while the standby runs): localrds never deletes it behind a server.
  if (row.attrs.contains("_replica_source") && !fs::exists(pgdata / "standby.signal")) {
    std::ofstream signal(pgdata / "standby.signal");
    if (!signal) return Status::Internal("cannot write " + (pgdata / "standby.signal").string());
  }
  return Status::Ok();
}

// --- startup recovery and the reconciler ---------------------------------------------------

Status ControlPlane::Recover() {
  layout_.CreateDirectories();
  runtime_.PrepareDirectory(layout_.InstancesDir());
  // 1. Orphans: directories no catalog row owns (a crash of a reset, or a hand-made mess).
  std::set<std::string> known;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [rid, row] : instances_) known.insert(rid);
  }
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(layout_.InstancesDir(), ec)) {
    std::string name = e.path().filename().string();
    if (known.count(name)) continue;
    ServerSpec orphan;
    orphan.resource_id = name;
    for (const char* host : {"a", "b"}) {
      orphan.pgdata = layout_.HostPgData(name, host);
      runtime_.Kill(orphan);
    }
    Layout::RemoveTree(e.path(), layout_.TrashDir());
    LogLine("reconciler") << "removed orphan directory " << name;
  }
  {
    std::vector<fs::path> known_servers;
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [rid, row] : instances_) {
      for (const char* host : {"a", "b"}) known_servers.push_back(layout_.HostPgData(rid, host));
    }
    const std::string stray = runtime_.StopStrayServers(known_servers);
    if (!stray.empty()) LogLine("reconciler") << stray;
  }
  RemoveBackupOrphans();
  for (const auto& e : fs::directory_iterator(layout_.TrashDir(), ec)) {
    fs::remove_all(e.path(), ec);
  }
  // 2. Unfinished operations resume at their first unfinished step.
  std::set<std::string> busy;
  for (auto& op : catalog_.LoadUnfinishedOperations()) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!instances_.count(op.resource_id) && !snapshots_.count(op.resource_id) &&
          op.kind != "delete") {
        Mutation m;
        m.op_update = Mutation::OpUpdate{op.id, op.step, "failed", "instance is gone"};
        CommitLocked(m, nullptr);
        continue;
      }
      active_ops_[op.resource_id] = op.id;
      if (op.kind == "modify" && op.params.contains("new_identifier")) {
        pending_renames_[op.resource_id] = op.params["new_identifier"].get<std::string>();
      }
    }
    busy.insert(op.resource_id);
    LogLine("reconciler") << "resuming operation " << op.id << " (" << op.kind << ") at step "
                          << op.step << " for " << op.resource_id;
    engine_->Submit(op);
  }
  // 2b. A snapshot still "creating" whose operation is not resuming will never finish.
  {
    std::lock_guard<std::mutex> lock(mutex_);
    Mutation m;
    for (const auto& [id, snap] : snapshots_) {
      if (snap.status != "creating" || busy.count(snap.attrs.value("_op_resource", ""))) continue;
      SnapshotRow failed = snap;
      failed.status = "failed";
      m.put_snapshots.push_back(failed);
    }
    if (!m.put_snapshots.empty()) CommitLocked(m, nullptr);
  }
  // 3. Servers: bring back what should run, stop what should not.
  std::vector<InstanceRow> rows;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [rid, row] : instances_) {
      if (!busy.count(rid)) rows.push_back(row);
    }
  }
  for (const auto& row : rows) {
    bool running = runtime_.IsRunning(Server(row));
    // A failover that failed after fencing its old primary is finished, never restarted in
    // place: the host the catalog names may still be a standby.
    const bool finish_failover = FailoverPending(row);
    if (CanFailOver(row) && !running && runtime_.IsRunning(StandbyServer(row))) {
      // The primary died while localrds was down, its standby did not: fail over, as the health
      // monitor would have (when both died, the primary is restarted where it is).
      std::lock_guard<std::mutex> lock(mutex_);
      if (StartFailoverLocked(row, false, "the primary's PostgreSQL server is gone").ok()) {
        LogLine("reconciler") << "failing over " << row.identifier
                              << ": its primary's PostgreSQL server is gone";
      }
      continue;
    }
    if (finish_failover || (row.desired_state == "running" && row.status != "failed" && !running)) {
      std::lock_guard<std::mutex> lock(mutex_);
      OperationRow op;
      op.resource_id = row.resource_id;
      op.kind = finish_failover ? "standby" : "recover";
      op.state = "running";
      op.params = finish_failover ? nlohmann::json{{"recovery", true}} : nlohmann::json::object();
      if (finish_failover) LogLine("reconciler") << "finishing the failover of " << row.identifier;
      op.created_ms = NowMs();
      Mutation m;
      m.new_operation = op;
      if (CommitLocked(m, nullptr).ok()) engine_->Submit(*m.new_operation);
    } else if (row.desired_state == "stopped" && running) {
      runtime_.Stop(Server(row));
      LogLine("reconciler") << "stopped " << row.identifier << ", which should not be running";
    } else if (running) {
      LogLine("reconciler") << "adopted the running server of " << row.identifier;
    }
  }
  if (!engine_->WaitIdle(std::chrono::minutes(5))) {
    LogLine("reconciler") << "some resumed operations are still running";
  }
  return Status::Ok();
}

void ControlPlane::StartBackground() {
  pool_->Start();
  reconciler_ = std::thread([this] { ReconcilerLoop(); });
  monitor_ = std::thread([this] { MonitorLoop(); });
}

void ControlPlane::Shutdown(bool stop_servers) {
  if (stopping_.exchange(true)) return;
  timer_cv_.notify_all();
  if (reconciler_.joinable()) reconciler_.join();
  if (monitor_.joinable()) monitor_.join();
  {
    std::vector<ControlThread> threads;
    {
      std::lock_guard<std::mutex> lock(control_mutex_);
      threads.swap(control_threads_);
    }
    for (auto& t : threads) t.thread.join();
  }
  pool_->Stop();
  engine_->Stop();
  if (stop_servers) {
    std::vector<InstanceRow> rows;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (const auto& [rid, row] : instances_) rows.push_back(row);
    }
    for (const auto& row : rows) {
      runtime_.Stop(Server(row));
      StopStandby(row);
    }
    std::error_code ec;
    std::filesystem::remove(layout_.SocketDir(), ec);  // only when empty: every server is down
  }
}

void ControlPlane::ReconcilerLoop() {
  while (!stopping_) {
    try {
      ShipWalOnce();
      std::string did = ReconcileOnce();
      std::string replication = PollReplicationOnce();
      if (!replication.empty()) did += (did.empty() ? "" : " ") + replication;
      if (!did.empty()) LogLine("reconciler") << did;
    } catch (const std::exception& e) {
      LogLine("reconciler") << "pass failed: " << e.what();
    }
    std::unique_lock<std::mutex> lock(timer_mutex_);
    timer_cv_.wait_for(lock, config_.reconcile_interval, [&] { return stopping_.load(); });
  }
}

std::string ControlPlane::ReconcileOnce() {
  std::lock_guard<std::mutex> pass(reconcile_mutex_);
  runtime_.Reap();
  std::vector<InstanceRow> rows;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [rid, row] : instances_) {
      if (!active_ops_.count(rid)) rows.push_back(row);
    }
  }
  std::string said;
  for (const auto& candidate : rows) {
    std::lock_guard<std::mutex> lock(mutex_);
    // Act on the instance as it is now: an operation may have ended since the list was taken.
    auto current = instances_.find(candidate.resource_id);
    if (current == instances_.end() || active_ops_.count(candidate.resource_id)) continue;
    const InstanceRow& row = current->second;
    OperationRow op;
    op.resource_id = row.resource_id;
    op.state = "running";
    op.params = nlohmann::json::object();
    op.created_ms = NowMs();
    Mutation m;
    if (FailoverPending(row) && StandbyRetryDue(row)) {
      // A failover that failed after its old primary was fenced: finish it.
      op.kind = "standby";
      op.params = {{"recovery", true}};
      said += "finishing the failover of " + row.identifier + ". ";
    } else if (row.status == "available" && row.desired_state == "running" && !CanFailOver(row) &&
               !runtime_.IsRunning(Server(row))) {
      op.kind = "recover";
      m.events.push_back(MakeEvent(row, rds_events::kRecoveryStarted));
      said += "restarting " + row.identifier + ", whose PostgreSQL server stopped unexpectedly. ";
    } else if (IsMultiAz(row) && row.status == "available" &&
               (StandbyState(row) == "building" || StandbyState(row) == "rebuild") &&
               StandbyRetryDue(row)) {
      // A standby whose build failed (or was cut short) is built again.
      op.kind = "standby";
      op.params = {{"recovery", true}};
      said += "building the Multi-AZ standby of " + row.identifier + " again. ";
    } else if (row.status == "stopped" && row.stopped_ms > 0 &&
               NowMs() - row.stopped_ms > kSevenDaysMs) {
      op.kind = "start";
      InstanceRow r = row;
      r.status = "starting";
      m.put.push_back(r);
      m.events.push_back(MakeEvent(row, rds_events::kAutoStarted));
      said += "starting " + row.identifier + ", stopped for more than seven days. ";
    } else {
      continue;
    }
    m.new_operation = op;
    if (CommitLocked(m, nullptr).ok()) engine_->Submit(*m.new_operation);
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    said += ScheduleBackupsLocked(NowMs());
  }
  // A standby that stopped (killed, or its host restarted) is started again: its primary's
  // commits wait for it.
  for (const auto& row : rows) {
    if (row.status != "available" || StandbyState(row) != "ready" || !StandbyBuilt(row) ||
        runtime_.IsRunning(StandbyServer(row)) || !runtime_.IsRunning(Server(row))) {
      continue;
    }
    Status st = EnsureStandbyRunning(row);
    said += "restarted the Multi-AZ standby of " + row.identifier +
            (st.ok() ? ". " : " (failed: " + st.message() + "). ");
  }
  std::string expired = ExpireBackups(NowMs());
  if (!expired.empty()) said += expired + " ";
  if (!said.empty()) said.pop_back();
  return said;
}

void ControlPlane::WhenOperationDone(int64_t operation_id, std::function<void()> cb) {
  engine_->WhenDone(operation_id, std::move(cb));
}

// --- emulator-only controls ------------------------------------------------------------------

nlohmann::json ControlPlane::Health() {
  nlohmann::json by_status = nlohmann::json::object();
  size_t total = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [rid, row] : instances_) {
      by_status[row.status] = by_status.value(row.status, 0) + 1;
      ++total;
    }
  }
  nlohmann::json versions = nlohmann::json::array();
  for (const auto& v : runtime_.InstalledVersions()) versions.push_back(v.full);
  return {{"status", "running"},
          {"version", config_.version},
          {"runtime", runtime_.Name()},
          {"region", config_.region},
          {"data_dir", layout_.data_dir().string()},
          {"socket_dir", layout_.SocketDir().string()},
          {"engine_versions", versions},
          {"uptime_seconds", (NowMs() - started_ms_) / 1000},
          {"instances", {{"total", total}, {"by_status", by_status}}}};
}

nlohmann::json ControlPlane::EventsWithIds(int limit) {
  EventQuery q;
  q.limit = limit;
  nlohmann::json out = nlohmann::json::array();
  for (const auto& e : catalog_.QueryEvents(q)) {
    out.push_back({{"date", FormatIso8601(e.date_ms)},
                   {"event_id", e.event_id},
                   {"source_identifier", e.source_identifier},
                   {"source_type", e.source_type},
                   {"message", e.message},
                   {"categories", e.categories}});
  }
  return out;
}

void ControlPlane::RunControlTask(std::function<void()> fn) {
  std::lock_guard<std::mutex> lock(control_mutex_);
  // A finished thread keeps its stack until joined: join those now rather than at shutdown.
  auto done = std::partition(control_threads_.begin(), control_threads_.end(),
                             [](const ControlThread& t) { return !t.finished->load(); });
  for (auto it = done; it != control_threads_.end(); ++it) it->thread.join();
  control_threads_.erase(done, control_threads_.end());
  auto finished = std::make_shared<std::atomic<bool>>(false);
  auto body = [fn = std::move(fn), finished] {
    try {
      fn();
    } catch (const std::exception& e) {
      LogLine("control") << "control task failed: " << e.what();
    } catch (...) {
      LogLine("control") << "control task failed";
    }
    finished->store(true);
  };
  control_threads_.push_back(ControlThread{std::thread(std::move(body)), finished});
}

void ControlPlane::CrashInstanceAsync(const std::string& identifier,
                                      std::function<void(Status)> done) {
  RunControlTask([this, identifier, done = std::move(done)] { done(CrashInstance(identifier)); });
}

void ControlPlane::ResetAsync(std::function<void(Status)> done) {
  RunControlTask([this, done = std::move(done)] {
    Status result;
    try {
      if (!engine_->WaitIdle(config_.reset_wait)) {
        // An operation that still runs finds its instance gone and ends without writing it.
        LogLine("control") << "reset: going ahead while operations still run";
      }
      // No reconciler pass may see a server stopped by the reset and restart it.
      std::lock_guard<std::mutex> pass(reconcile_mutex_);
      std::vector<InstanceRow> rows;
      {
        // Forget first: a crash from here on leaves orphan directories, which the next start
        // removes (stopping their servers), never an instance whose files are half gone.
        std::lock_guard<std::mutex> lock(mutex_);
        for (const auto& [rid, row] : instances_) rows.push_back(row);
        result = catalog_.Transact([](CatalogTxn& t) { return t.DeleteEverything(); });
        if (result.ok()) {
          instances_.clear();
          snapshots_.clear();
          retained_.clear();
          rendered_.clear();
          active_ops_.clear();
          pending_renames_.clear();
        }
      }
      if (result.ok()) {
        for (const auto& row : rows) {
          runtime_.Stop(Server(row));
          StopStandby(row);
          Layout::RemoveTree(layout_.InstanceDir(row.resource_id), layout_.TrashDir());
        }
        RemoveBackupOrphans();
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

Status ControlPlane::CrashInstance(const std::string& identifier) {
  InstanceRow row;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto r = FindLocked(identifier);
    if (!r.ok()) return r.status();
    row = *r;
  }
  return runtime_.Kill(Server(row));
}

}  // namespace localrds
