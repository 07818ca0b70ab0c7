// DockerRuntime, the PgRuntime side: creating it (engine, images, accounts, adoption), and what
// it does to one server: start, stop, kill, freeze and thaw, SQL, and the jobs that make a cluster
// (initdb, pg_basebackup). The docker CLI calls, container arguments, listing, adoption and
// stray removal are in docker_containers.cc.
#include "emulator/runtime/docker_runtime.h"

#include <unistd.h>

#include <thread>

#include "emulator/runtime/pg_connection.h"
#include "emulator/runtime/process_tree.h"
#include "emulator/runtime/server_files.h"
#include "emulator/runtime/server_logs.h"

namespace localrds {
namespace fs = std::filesystem;

DockerRuntime::DockerRuntime(Config config, CommandRunner run, std::optional<RunAs> run_as)
    : config_(std::move(config)), run_(std::move(run)), run_as_(std::move(run_as)) {
  uid_ = run_as_ ? run_as_->uid : geteuid();
  gid_ = run_as_ ? run_as_->gid : getegid();
}

Result<std::unique_ptr<DockerRuntime>> DockerRuntime::Create(Config config, CommandRunner run) {
  std::optional<RunAs> run_as;
  if (geteuid() == 0) {
    auto r = RunAs::Lookup(config.os_user);
    if (!r.ok()) {
      return Status::Internal(
          "localrds runs as root and PostgreSQL refuses to: create the OS user '" + config.os_user +
          "' or pass --pg-user (its uid runs the containers)");
    }
    run_as = r.value();
  }
  if (!run) {
    run = [](const std::vector<std::string>& argv, const CommandOptions& o) {
      return RunCommand(argv, o);
    };
  }
  std::unique_ptr<DockerRuntime> rt(new DockerRuntime(std::move(config), std::move(run), run_as));

  auto engine = rt->Docker({"version", "--format", "{{.Server.Version}}"}, "docker version",
                           std::chrono::seconds(30));
  if (!engine.ok()) {
    return Status::Internal(
        "--runtime docker: no Docker engine answers (" + engine.status().message() +
        "). Start one (where containers must get no network address of their own: dockerd "
        "--bridge=none --iptables=false), or use --runtime local");
  }
  LOCALRDS_RETURN_IF_ERROR(rt->FindImageVersions());
  LOCALRDS_RETURN_IF_ERROR(rt->WriteAccounts());
  rt->RemoveLeftoverJobs();
  LOCALRDS_RETURN_IF_ERROR(rt->Adopt());
  return rt;
}

std::vector<EngineVersionInfo> DockerRuntime::InstalledVersions() { return versions_; }

Status DockerRuntime::PrepareDirectory(const fs::path& dir) {
  return PrepareOwnedDirectory(dir, run_as_);
}

Status DockerRuntime::InitCluster(const std::string& major, const fs::path& pgdata) {
  return RunJob(major,
                {"initdb", "-D", pgdata.string(), "-U", kSuperuser, "-E", "UTF8",
                 "--locale=C.UTF-8", "--auth-local=trust", "--auth-host=scram-sha-256", "-N"},
                std::nullopt, std::chrono::minutes(5), "initdb");
}

Result<CommandOutput> DockerRuntime::RunPostgresProgram(const std::string& major,
                                                        const std::vector<std::string>& args) {
  const fs::path program = fs::path("/usr/lib/postgresql") / major / "bin" / "postgres";
  if (!fs::exists(program)) {
    return Status::Internal("checking PostgreSQL " + major + " settings needs " + program.string() +
                            " on this machine");
  }
  std::vector<std::string> argv = {program.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandOptions o;
  o.run_as = run_as_;
  o.cwd = "/";
  o.timeout = std::chrono::seconds(30);
  return RunCommand(argv, o);
}

Status DockerRuntime::BaseBackup(const ServerSpec& spec, const fs::path& dest,
                                 const std::string& slot) {
  LOCALRDS_RETURN_IF_ERROR(PrepareSocketDirectory(spec.socket_dir, run_as_));
  // The password file sits in the socket directory, which the job container mounts.
  auto passfile =
      PassFile::Create(spec.socket_dir, run_as_, kReplicationUser, spec.replication_password);
  if (!passfile.ok()) return passfile.status();
  std::vector<std::string> command = {"env",
                                      "PGPASSFILE=" + (*passfile)->path().string(),
                                      "pg_basebackup",
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
    command.push_back("-S");
    command.push_back(slot);
  }
  return RunJob(spec.major, command, spec.socket_dir, std::chrono::hours(6), "pg_basebackup");
}

Status DockerRuntime::Start(const ServerSpec& spec) {
  if (Live(spec.pgdata)) {
    // Started before a crash, perhaps on another port than the one now recorded.
    if (PidFilePort(spec.pgdata) == spec.port) return Status::Ok();
    LOCALRDS_RETURN_IF_ERROR(Stop(spec));
  }
  // A server outside Docker on this directory (localrds ran with --runtime local before):
  // PostgreSQL in a container cannot see that process, and two postmasters would corrupt it.
  if (auto pid = HostPostmasterPid(spec.pgdata)) {
    return Status::Internal("PostgreSQL did not start: a server outside Docker (pid " +
                            std::to_string(*pid) + ") runs " + spec.pgdata.string() +
                            "; stop it, or run localrds with --runtime local");
  }
  LOCALRDS_RETURN_IF_ERROR(PrepareSocketDirectory(spec.socket_dir, run_as_));
  // The postmaster.pid of a server that is gone (no container of ours, no local postmaster):
  // removed, so that readiness below is the new server's.
  std::error_code ec;
  fs::remove(spec.pgdata / "postmaster.pid", ec);
  if (run_as_ && fs::exists(spec.log_file, ec)) {
    // The shell in the container appends to it as the servers' user.
    if (chown(spec.log_file.c_str(), uid_, gid_) != 0) {
      return Status::Internal("cannot chown " + spec.log_file.string());
    }
  }
  const std::string name = ContainerName(spec);
  const ServerLogMark log_mark = MarkServerLog(spec);
  // A container of the same name may still be being removed after its server exited.
  Result<std::string> started = Status::Internal("not started");
  auto backoff = std::chrono::milliseconds(20);
  for (int attempt = 0; attempt < 8; ++attempt) {
    (void)Docker({"rm", "-f", name}, "docker rm");  // none there is fine: the run says
    started = Docker(ServerRunArgs(spec), "docker run");
    if (started.ok() || started.status().message().find("already in use") == std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(backoff);
    backoff *= 2;
  }
  if (!started.ok())
    return Status::Internal("PostgreSQL did not start: " + started.status().message());
  auto pid_text = Docker({"inspect", "-f", "{{.State.Pid}}", name}, "docker inspect");
  const pid_t pid = pid_text.ok() ? static_cast<pid_t>(std::atol(pid_text->c_str())) : 0;
  if (pid <= 0) {
    return Status::Internal("PostgreSQL did not start: " + ServerLogSince(spec, log_mark) +
                            (pid_text.ok() ? "" : pid_text.status().message()));
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    servers_[spec.pgdata.string()] = Container{name, pid};
  }
  bool exited = false;
  const bool ready = WaitUntil(
      [&] {
        auto lines = PidFileLines(spec.pgdata);
        if (lines.size() >= 8 && (lines[7].find("ready") != std::string::npos ||
                                  lines[7].find("standby") != std::string::npos)) {
          return true;
        }
        if (!ProcessAlive(pid)) {
          exited = true;
          return true;
        }
        return false;
      },
      std::chrono::minutes(5));
  if (exited || !ready) {
    if (!exited) KillTree(pid);
    std::lock_guard<std::mutex> lock(mutex_);
    servers_.erase(spec.pgdata.string());
    return Status::Internal("PostgreSQL did not start: " + ServerLogTail(spec, 1500));
  }
  return Status::Ok();
}

Status DockerRuntime::Stop(const ServerSpec& spec) {
  auto c = Live(spec.pgdata);
  if (!c) return Status::Ok();
  LOCALRDS_RETURN_IF_ERROR(StopServerProcess(c->pid));  // docker removes the container (--rm)
  std::lock_guard<std::mutex> lock(mutex_);
  servers_.erase(spec.pgdata.string());
  return Status::Ok();
}

Status DockerRuntime::Kill(const ServerSpec& spec) {
  auto c = Live(spec.pgdata);
  if (!c) return Status::Ok();
  // The postmaster is pid 1 of its container: with it, the kernel kills every other process.
  KillServerProcess(c->pid);
  std::lock_guard<std::mutex> lock(mutex_);
  servers_.erase(spec.pgdata.string());
  return Status::Ok();
}

bool DockerRuntime::IsRunning(const ServerSpec& spec) { return Live(spec.pgdata).has_value(); }

Status DockerRuntime::Pause(const ServerSpec& spec) {
  auto c = Live(spec.pgdata);
  if (!c) return Status::Internal("the server of " + spec.resource_id + " is not running");
  return FreezeServerProcess(c->pid, true, "the server of " + spec.resource_id);
}

Status DockerRuntime::Resume(const ServerSpec& spec) {
  auto c = Live(spec.pgdata);
  if (!c) return Status::Internal("the server of " + spec.resource_id + " is not running");
  return FreezeServerProcess(c->pid, false, "the server of " + spec.resource_id);
}

bool DockerRuntime::IsPaused(const ServerSpec& spec) {
  auto c = Live(spec.pgdata);
  return c && ProcessState(c->pid) == 'T';
}

int DockerRuntime::PostmasterPid(const ServerSpec& spec) {
  auto c = Live(spec.pgdata);
  return c ? c->pid : 0;
}

int DockerRuntime::ServingPort(const ServerSpec& spec) {
  if (!Live(spec.pgdata)) return 0;
  return PidFilePort(spec.pgdata).value_or(0);
}

Status DockerRuntime::ExecSql(const ServerSpec& spec, const std::string& database,
                              const std::vector<std::string>& statements) {
  return PgExecSql(spec, database, statements);
}

Result<std::string> DockerRuntime::QueryValue(const ServerSpec& spec, const std::string& database,
                                              const std::string& sql) {
  return PgQueryValue(spec, database, sql);
}

Status DockerRuntime::Probe(const ServerSpec& spec, std::chrono::milliseconds timeout) {
  return PgProbe(spec, timeout);
}

}  // namespace localrds
