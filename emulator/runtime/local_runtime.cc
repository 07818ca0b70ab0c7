#include "emulator/runtime/local_runtime.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/log.h"
#include "emulator/runtime/pg_connection.h"
#include "emulator/runtime/process_tree.h"
#include "emulator/runtime/server_files.h"
#include "emulator/runtime/server_logs.h"

namespace localrds {
namespace fs = std::filesystem;
Result<std::unique_ptr<LocalRuntime>> LocalRuntime::Create(const std::string& os_user,
                                                           fs::path bin_root) {
  std::optional<RunAs> run_as;
  if (geteuid() == 0) {
    auto r = RunAs::Lookup(os_user);
    if (!r.ok()) {
      return Status::Internal(
          "localrds runs as root and PostgreSQL refuses to: create the OS user '" + os_user +
          "' or pass --pg-user");
    }
    run_as = r.value();
  }
  std::vector<EngineVersionInfo> versions;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(bin_root, ec)) {
    fs::path postgres = entry.path() / "bin" / "postgres";
    if (!fs::exists(postgres) || !fs::exists(entry.path() / "bin" / "initdb")) continue;
    auto out = RunCommand({postgres.string(), "--version"});
    if (!out.ok() || out->exit_code != 0) continue;
    // "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
    std::istringstream words(out->output);
    std::string w, full;
    while (words >> w) {
      if (!w.empty() && std::isdigit(static_cast<unsigned char>(w[0]))) {
        full = w;
        break;
      }
    }
    if (full.empty()) continue;
    versions.push_back({entry.path().filename().string(), full});
  }
  if (versions.empty()) {
    return Status::Internal("no PostgreSQL server found under " + bin_root.string() +
                            " (install postgresql-15)");
  }
  std::sort(versions.begin(), versions.end(),
            [](const auto& a, const auto& b) { return std::stoi(a.major) > std::stoi(b.major); });
  return std::unique_ptr<LocalRuntime>(new LocalRuntime(run_as, std::move(bin_root), versions));
}

std::vector<EngineVersionInfo> LocalRuntime::InstalledVersions() { return versions_; }

fs::path LocalRuntime::Bin(const std::string& major, const char* tool) const {
  return bin_root_ / major / "bin" / tool;
}

CommandOptions LocalRuntime::Options() const {
  CommandOptions o;
  o.run_as = run_as_;
  o.cwd = "/";
  o.extra_env = {"LC_ALL=C.UTF-8", "LANG=C.UTF-8"};
  return o;
}

Status LocalRuntime::PrepareDirectory(const fs::path& dir) {
  return PrepareOwnedDirectory(dir, run_as_);
}

Status LocalRuntime::InitCluster(const std::string& major, const fs::path& pgdata) {
  fs::path pwfile;  // none: the superuser only logs in over the local socket (trust)
  auto out = RunCommand(
      {Bin(major, "initdb").string(), "-D", pgdata.string(), "-U", kSuperuser, "-E", "UTF8",
       "--locale=C.UTF-8", "--auth-local=trust", "--auth-host=scram-sha-256", "-N"},
      Options());
  if (!out.ok()) return out.status();
  if (out->exit_code != 0) return Status::Internal("initdb failed: " + out->output);
  return Status::Ok();
}

Result<CommandOutput> LocalRuntime::RunPostgresProgram(const std::string& major,
                                                       const std::vector<std::string>& args) {
  std::vector<std::string> argv = {Bin(major, "postgres").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandOptions o = Options();
  o.timeout = std::chrono::seconds(30);
  return RunCommand(argv, o);
}

std::optional<pid_t> LocalRuntime::LivePostmasterPid(const fs::path& pgdata) {
  return HostPostmasterPid(pgdata);
}

std::optional<int> LocalRuntime::ListeningPort(const fs::path& pgdata) {
  return PidFilePort(pgdata);
}

bool LocalRuntime::IsRunning(const ServerSpec& spec) {
  return LivePostmasterPid(spec.pgdata).has_value();
}

Status LocalRuntime::Start(const ServerSpec& spec) {
  if (IsRunning(spec)) {
    // Started before a crash, perhaps on another port than the one now recorded.
    if (ListeningPort(spec.pgdata) == spec.port) return Status::Ok();
    LOCALRDS_RETURN_IF_ERROR(Stop(spec));
  }
  LOCALRDS_RETURN_IF_ERROR(PrepareSocketDirectory(spec.socket_dir, run_as_));
  // A postmaster killed moments ago (a crash of the host, or of localrds and its servers) may
  // still exist as a zombie nobody has reaped yet, and its backends may still be attached to
  // the shared memory: PostgreSQL refuses to start until both are gone. Wait them out.
  auto old = PidFileLines(spec.pgdata);
  if (!old.empty()) {
    pid_t old_pid = static_cast<pid_t>(std::atol(old[0].c_str()));
    // Until it is gone, or is a live process after all (then not ours: checked above).
    WaitUntil(
        [&] {
          Reap();
          return old_pid <= 0 || kill(old_pid, 0) != 0 || ProcessAlive(old_pid);
        },
        std::chrono::seconds(15));
    if (old_pid > 0 && ProcessAlive(old_pid)) {
      LOCALRDS_RETURN_IF_ERROR(ClaimStalePidFile(spec.pgdata, old));
    }
  }
  Status st;
  PollUntil(
      [&] {
        // Its stderr and its collector's files: PostgreSQL 15 starts the collector before it
        // takes its sockets and shared memory.
        const ServerLogMark mark = MarkServerLog(spec);
        st = StartOnce(spec);
        if (st.ok()) return true;
        const std::string said = ServerLogSince(spec, mark);
        const bool transient = said.find("already exists") != std::string::npos ||
                               said.find("is still in use") != std::string::npos;
        if (transient) {
          LogLine("runtime") << spec.resource_id
                             << ": the previous server is not gone yet; retrying";
        }
        return !transient;
      },
      std::chrono::seconds(20), Backoff{std::chrono::milliseconds(50), std::chrono::seconds(1)});
  return st;
}

// The pid in postmaster.pid names another process now: pids are reused, quickly so after the
// machine (or the localrds container) restarted, and PostgreSQL would refuse to start beside a
// live pid. It takes a lock file that names its own parent for stale (miscinit.c,
// CreateLockFile) and then still checks the old shared memory block for attached processes
// itself: so the file is made to name localrds, the parent of the postmaster about to start.
Status LocalRuntime::ClaimStalePidFile(const fs::path& pgdata, std::vector<std::string> lines) {
  LogLine("runtime") << pgdata.string() << ": postmaster.pid names pid " << lines[0]
                     << ", which is not its server now; claiming the stale file";
  lines[0] = std::to_string(getpid());
  const fs::path tmp = pgdata / "postmaster.pid.localrds";
  {
    std::ofstream out(tmp, std::ios::trunc);
    for (const auto& line : lines) out << line << "\n";
    if (!out) return Status::Internal("cannot write " + tmp.string());
  }
  if (run_as_ && chown(tmp.c_str(), run_as_->uid, run_as_->gid) != 0) {
    return Status::Internal("cannot chown " + tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, pgdata / "postmaster.pid", ec);
  if (ec) return Status::Internal("cannot rename " + tmp.string() + ": " + ec.message());
  return Status::Ok();
}

Status LocalRuntime::StartOnce(const ServerSpec& spec) {
  auto pid = SpawnDaemon({Bin(spec.major, "postgres").string(), "-D", spec.pgdata.string()},
                         Options(), spec.log_file.string());
  if (!pid.ok()) return pid.status();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    children_[*pid] = spec.resource_id;
  }
  bool exited = false;
  bool ready = WaitUntil(
      [&] {
        auto lines = PidFileLines(spec.pgdata);
        if (lines.size() >= 8 && std::atol(lines[0].c_str()) == *pid &&
            (lines[7].find("ready") != std::string::npos ||
             lines[7].find("standby") != std::string::npos)) {
          return true;
        }
        if (!ProcessAlive(*pid)) {
          exited = true;
          return true;
        }
        return false;
      },
      std::chrono::minutes(5));
  if (exited || !ready) {
    if (!exited) KillTree(*pid);
    return Status::Internal("PostgreSQL did not start: " + ServerLogTail(spec, 1500));
  }
  return Status::Ok();
}

Status LocalRuntime::Stop(const ServerSpec& spec) {
  auto pid = LivePostmasterPid(spec.pgdata);
  if (!pid) return Status::Ok();
  return StopServerProcess(*pid, [this] { Reap(); });
}

Status LocalRuntime::Kill(const ServerSpec& spec) {
  auto pid = LivePostmasterPid(spec.pgdata);
  if (pid) KillServerProcess(*pid, [this] { Reap(); });
  return Status::Ok();
}

Status LocalRuntime::Pause(const ServerSpec& spec) {
  auto pid = LivePostmasterPid(spec.pgdata);
  if (!pid) return Status::Internal("the server of " + spec.resource_id + " is not running");
  return FreezeServerProcess(*pid, true, "the server of " + spec.resource_id);
}

Status LocalRuntime::Resume(const ServerSpec& spec) {
  auto pid = LivePostmasterPid(spec.pgdata);
  if (!pid) return Status::Internal("the server of " + spec.resource_id + " is not running");
  return FreezeServerProcess(*pid, false, "the server of " + spec.resource_id);
}

bool LocalRuntime::IsPaused(const ServerSpec& spec) {
  auto pid = LivePostmasterPid(spec.pgdata);
  return pid && ProcessState(*pid) == 'T';
}

int LocalRuntime::PostmasterPid(const ServerSpec& spec) {
  return LivePostmasterPid(spec.pgdata).value_or(0);
}

int LocalRuntime::ServingPort(const ServerSpec& spec) {
  if (!IsRunning(spec)) return 0;
  return ListeningPort(spec.pgdata).value_or(0);
}

Status LocalRuntime::Probe(const ServerSpec& spec, std::chrono::milliseconds timeout) {
  return PgProbe(spec, timeout);
}

void LocalRuntime::Reap() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto it = children_.begin(); it != children_.end();) {
    if (ReapChild(it->first)) {
      it = children_.erase(it);
    } else {
      ++it;
    }
  }
}

Result<std::string> LocalRuntime::QueryValue(const ServerSpec& spec, const std::string& database,
                                             const std::string& sql) {
  return PgQueryValue(spec, database, sql);
}

Status LocalRuntime::BaseBackup(const ServerSpec& spec, const fs::path& dest,
                                const std::string& slot) {
  LOCALRDS_RETURN_IF_ERROR(PrepareSocketDirectory(spec.socket_dir, run_as_));
  auto passfile =
      PassFile::Create(spec.socket_dir, run_as_, kReplicationUser, spec.replication_password);
  if (!passfile.ok()) return passfile.status();
  CommandOptions o = Options();
  o.timeout = std::chrono::hours(6);
  o.extra_env.push_back("PGPASSFILE=" + (*passfile)->path().string());
  std::vector<std::string> argv = {Bin(spec.major, "pg_basebackup").string(),
                                   "-h",
                                   spec.socket_dir.string(),
                                   "-p",
                                   std::to_string(spec.port),
                                   "-U",
                                   kReplicationUser,
                                   "-w",
                                   "-D",
                                   dest.string(),
                                   "-X",
                                   "stream",
                                   "-c",
                                   "fast",
                                   "--no-sync",
                                   "-Fp"};
  if (!slot.empty()) {
    argv.push_back("-S");
    argv.push_back(slot);
  }
  auto out = RunCommand(argv, o);
  if (!out.ok()) return out.status();
  if (out->exit_code != 0) return Status::Internal("pg_basebackup failed: " + out->output);
  return Status::Ok();
}

Status LocalRuntime::ExecSql(const ServerSpec& spec, const std::string& database,
                             const std::vector<std::string>& statements) {
  return PgExecSql(spec, database, statements);
}

}  // namespace localrds
