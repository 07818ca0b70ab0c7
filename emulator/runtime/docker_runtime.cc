#include "emulator/runtime/docker_runtime.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "common/log.h"
#include "emulator/core/instance_classes.h"
#include "emulator/runtime/pg_connection.h"
#include "emulator/runtime/process_tree.h"
#include "emulator/runtime/server_files.h"

namespace localrds {
namespace fs = std::filesystem;
namespace {

// Labels: which localrds (its data directory) a container belongs to, what it is, and for a
// server the data directory it serves and the instance.
constexpr const char* kDataDirLabel = "org.localrds.data-dir";
constexpr const char* kRoleLabel = "org.localrds.role";
constexpr const char* kPgDataLabel = "org.localrds.pgdata";
constexpr const char* kResourceLabel = "org.localrds.resource-id";
constexpr const char* kVersionLabel = "org.localrds.pg-version";

std::string Trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string line;
  while (std::getline(in, line)) {
    line = Trim(line);
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

bool AllDigits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c));
  });
}

// "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)" -> "15.18".
std::string VersionWord(const std::string& out) {
  std::istringstream words(out);
  std::string w;
  while (words >> w) {
    if (!w.empty() && std::isdigit(static_cast<unsigned char>(w[0]))) return w;
  }
  return "";
}

std::string Label(const char* key, const std::string& value) {
  return std::string(key) + "=" + value;
}

std::string Mount(const fs::path& host, const fs::path& inside, bool read_only = false) {
  return host.string() + ":" + inside.string() + (read_only ? ":ro" : "");
}

// What --cpus may be at most.
int HostCpus() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

std::string JobName() {
  static std::atomic<uint64_t> n{0};
  std::random_device rd;
  char buf[40];
  std::snprintf(buf, sizeof buf, "localrds-job-%08x-%llu", rd(),
                static_cast<unsigned long long>(n.fetch_add(1)));
  return buf;
}

}  // namespace

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
  const std::string& image = rt->config_.image;

  auto engine = rt->Docker({"version", "--format", "{{.Server.Version}}"}, "docker version",
                           std::chrono::seconds(30));
  if (!engine.ok()) {
    return Status::Internal(
        "--runtime docker: no Docker engine answers (" + engine.status().message() +
        "). Start one (where containers must get no network address of their own: dockerd "
        "--bridge=none --iptables=false), or use --runtime local");
  }
  auto tags = rt->Docker({"image", "ls", image, "--format", "{{.Tag}}"}, "docker image ls");
  if (!tags.ok()) return tags.status();
  for (const auto& tag : Lines(*tags)) {
    if (!AllDigits(tag) || tag.size() > 3) continue;  // majors only: 15, not 15.18 or latest
    auto label = rt->Docker(
        {"image", "inspect", "-f",
         std::string("{{index .Config.Labels \"") + kVersionLabel + "\"}}", image + ":" + tag},
        "docker image inspect");
    std::string full = label.ok() ? VersionWord(*label) : "";
    if (full.empty()) {  // an image built otherwise (docker/postgres.Dockerfile without labels)
      auto out = rt->Docker(
          {"run", "--rm", "--network", "none", image + ":" + tag, "postgres", "--version"},
          "postgres --version in " + image + ":" + tag);
      if (out.ok()) full = VersionWord(*out);
    }
    if (!full.empty()) rt->versions_.push_back({tag, full});
  }
  if (rt->versions_.empty()) {
    return Status::Internal("--runtime docker: no PostgreSQL image " + image +
                            ":<major> found. Build one, no registry needed: sudo "
                            "docker/build-image.sh (or, with a registry: docker build -t " +
                            image + ":15 -f docker/postgres.Dockerfile docker)");
  }
  std::sort(rt->versions_.begin(), rt->versions_.end(),
            [](const auto& a, const auto& b) { return std::stoi(a.major) > std::stoi(b.major); });
  LOCALRDS_RETURN_IF_ERROR(rt->WriteAccounts());

  // A job (initdb, pg_basebackup) of a localrds that was killed would go on writing into a
  // directory that the resumed step is about to redo.
  auto jobs = rt->Docker(
      {"ps", "-aq", "--filter", "label=" + Label(kDataDirLabel, rt->config_.data_dir.string()),
       "--filter", "label=" + Label(kRoleLabel, "job")},
      "docker ps");
  if (jobs.ok() && !Lines(*jobs).empty()) {
    std::vector<std::string> rm = {"rm", "-f"};
    for (const auto& id : Lines(*jobs)) rm.push_back(id);
    rt->Docker(rm, "docker rm");
    LogLine("runtime") << "removed " << rm.size() - 2 << " job container(s) of a previous run";
  }
  LOCALRDS_RETURN_IF_ERROR(rt->Adopt());
  return rt;
}

Result<std::string> DockerRuntime::Docker(const std::vector<std::string>& args,
                                          const std::string& what,
                                          std::chrono::milliseconds timeout) {
  std::vector<std::string> argv = {config_.docker};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandOptions o;
  o.timeout = timeout;
  o.cwd = "/";
  auto out = run_(argv, o);
  if (!out.ok()) return Status::Internal(what + ": " + out.status().message());
  if (out->exit_code != 0) return Status::Internal(what + " failed: " + Trim(out->output));
  return out->output;
}

Status DockerRuntime::WriteAccounts() {
  // initdb looks its user up; the image's own postgres user may have another uid than the one
  // that owns the data directory here.
  LOCALRDS_RETURN_IF_ERROR(PrepareOwnedDirectory(config_.runtime_dir, std::nullopt));
  std::error_code ec;
  // Containers read the files as the servers' user: the directory may be traversed.
  fs::permissions(config_.runtime_dir,
                  fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec, ec);
  if (ec) return Status::Internal("cannot chmod " + config_.runtime_dir.string());
  const std::string uid = std::to_string(uid_), gid = std::to_string(gid_);
  const std::pair<const char*, std::string> files[] = {
      {"passwd", "root:x:0:0:root:/root:/bin/sh\npostgres:x:" + uid + ":" + gid +
                     ":PostgreSQL:/var/lib/postgresql:/bin/sh\n"},
      {"group", "root:x:0:\npostgres:x:" + gid + ":\n"}};
  for (const auto& [name, text] : files) {
    const fs::path tmp = config_.runtime_dir / (std::string(name) + ".tmp");
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << text;
      if (!out) return Status::Internal("cannot write " + tmp.string());
    }
    fs::permissions(tmp,
                    fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                        fs::perms::others_read,
                    ec);
    if (!ec) fs::rename(tmp, config_.runtime_dir / name, ec);
    if (ec) return Status::Internal("cannot rename " + tmp.string() + ": " + ec.message());
  }
  return Status::Ok();
}

std::string DockerRuntime::ImageFor(const std::string& major) const {
  return config_.image + ":" + major;
}

std::string DockerRuntime::ContainerName(const ServerSpec& spec) {
  std::string name = "localrds-";
  for (char c : spec.resource_id) {
    name += std::isalnum(static_cast<unsigned char>(c))
                ? static_cast<char>(std::tolower(static_cast<unsigned char>(c)))
                : '-';
  }
  return name + (spec.pgdata.filename() == "pgdata-b" ? "-b" : "-a");
}

std::vector<std::string> DockerRuntime::LimitFlags(const std::string& instance_class,
                                                   int host_cpus) {
  const InstanceClass* c = FindInstanceClass(instance_class);
  if (c == nullptr) return {};
  const std::string memory = std::to_string(static_cast<long>(c->memory_gib * 1024)) + "m";
  const int cpus = std::max(1, std::min(c->vcpus, host_cpus));
  // Swap as large as memory: no swap beyond the class's memory.
  return {"--memory", memory, "--memory-swap", memory, "--cpus", std::to_string(cpus)};
}

std::vector<std::string> DockerRuntime::CommonFlags(const std::string& role) const {
  const std::string data = config_.data_dir.string();
  return {"--user",  std::to_string(uid_) + ":" + std::to_string(gid_),
          "-v",      Mount(config_.runtime_dir / "passwd", "/etc/passwd", true),
          "-v",      Mount(config_.runtime_dir / "group", "/etc/group", true),
          "-v",      Mount(data, data),
          "--label", Label(kDataDirLabel, data),
          "--label", Label(kRoleLabel, role),
          "-e",      "LC_ALL=C.UTF-8",
          "-e",      "LANG=C.UTF-8"};
}

std::vector<std::string> DockerRuntime::ServerRunArgs(const ServerSpec& spec) const {
  std::vector<std::string> args = {"run", "-d", "--rm", "--name", ContainerName(spec),
                                   // The endpoint is 127.0.0.1:<port> on this machine.
                                   "--network", "host",
                                   // `docker stop` would send SIGTERM, a smart shutdown.
                                   "--stop-signal", "SIGINT", "--shm-size", "128m"};
  for (auto& f : CommonFlags("server")) args.push_back(std::move(f));
  for (auto& f : std::vector<std::string>{"--label", Label(kPgDataLabel, spec.pgdata.string()),
                                          "--label", Label(kResourceLabel, spec.resource_id), "-v",
                                          Mount(spec.socket_dir, spec.socket_dir)}) {
    args.push_back(std::move(f));
  }
  for (auto& f : LimitFlags(spec.instance_class, HostCpus())) args.push_back(std::move(f));
  // The postmaster is the container's process (pid 1 inside); its log goes where the local
  // runtime's goes.
  args.insert(args.end(),
              {ImageFor(spec.major), "sh", "-c", "exec postgres -D \"$0\" >>\"$1\" 2>&1",
               spec.pgdata.string(), spec.log_file.string()});
  return args;
}

Result<std::vector<std::pair<std::string, std::string>>> DockerRuntime::ListServerContainers(
    bool all) {
  std::vector<std::string> args = {"ps"};
  if (all) args.push_back("-a");
  args.insert(args.end(), {"--filter", "label=" + Label(kDataDirLabel, config_.data_dir.string()),
                           "--filter", "label=" + Label(kRoleLabel, "server"), "--format",
                           std::string("{{.Names}}\t{{.Label \"") + kPgDataLabel + "\"}}"});
  auto listed = Docker(args, "docker ps");
  if (!listed.ok()) return listed.status();
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& line : Lines(*listed)) {
    size_t tab = line.find('\t');
    if (tab != std::string::npos) out.emplace_back(line.substr(0, tab), line.substr(tab + 1));
  }
  return out;
}

Status DockerRuntime::Adopt() {
  auto listed = ListServerContainers(false);
  if (!listed.ok()) return listed.status();
  std::map<std::string, std::string> pgdata_of(listed->begin(), listed->end());  // by name
  std::vector<std::string> inspect = {"inspect", "-f", "{{.Name}}\t{{.State.Pid}}"};
  for (const auto& [name, pgdata] : *listed) inspect.push_back(name);
  if (pgdata_of.empty()) return Status::Ok();
  auto pids = Docker(inspect, "docker inspect");
  if (!pids.ok()) return pids.status();
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& line : Lines(*pids)) {
    size_t tab = line.find('\t');
    if (tab == std::string::npos) continue;
    std::string name = line.substr(0, tab);
    if (!name.empty() && name[0] == '/') name.erase(0, 1);
    const pid_t pid = static_cast<pid_t>(std::atol(line.c_str() + tab + 1));
    auto it = pgdata_of.find(name);
    if (it == pgdata_of.end() || pid <= 0) continue;
    servers_[it->second] = Container{name, pid};
  }
  if (!servers_.empty()) {
    LogLine("runtime") << "adopted " << servers_.size() << " running server container(s)";
  }
  return Status::Ok();
}

std::optional<DockerRuntime::Container> DockerRuntime::Live(const fs::path& pgdata) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = servers_.find(pgdata.string());
  if (it == servers_.end()) return std::nullopt;
  if (!ProcessAlive(it->second.pid) || !RunsDataDirectory(it->second.pid, pgdata)) {
    servers_.erase(it);  // exited: docker removes the container (--rm)
    return std::nullopt;
  }
  return it->second;
}

std::vector<EngineVersionInfo> DockerRuntime::InstalledVersions() { return versions_; }

Status DockerRuntime::PrepareDirectory(const fs::path& dir) {
  return PrepareOwnedDirectory(dir, run_as_);
}

Status DockerRuntime::RunJob(const std::string& major, const std::vector<std::string>& command,
                             const std::optional<fs::path>& socket_dir,
                             std::chrono::milliseconds timeout, const std::string& what) {
  const std::string name = JobName();
  // No network: initdb needs none, pg_basebackup reaches its server over the socket directory.
  std::vector<std::string> args = {"run", "--rm", "--name", name, "--network", "none"};
  for (auto& f : CommonFlags("job")) args.push_back(std::move(f));
  if (socket_dir) args.insert(args.end(), {"-v", Mount(*socket_dir, *socket_dir)});
  args.push_back(ImageFor(major));
  args.insert(args.end(), command.begin(), command.end());
  auto out = Docker(args, what, timeout);
  if (!out.ok()) {
    // Cut short (a timeout): the container would go on without its CLI.
    Docker({"rm", "-f", name}, "docker rm");
    return out.status();
  }
  return Status::Ok();
}

Status DockerRuntime::InitCluster(const std::string& major, const fs::path& pgdata) {
  return RunJob(major,
                {"initdb", "-D", pgdata.string(), "-U", kSuperuser, "-E", "UTF8",
                 "--locale=C.UTF-8", "--auth-local=trust", "--auth-host=scram-sha-256", "-N"},
                std::nullopt, std::chrono::minutes(5), "initdb");
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
  const auto log_offset = fs::file_size(spec.log_file, ec);
  const uintmax_t from = ec ? 0 : log_offset;
  // A container of the same name may still be being removed after its server exited.
  Result<std::string> started = Status::Internal("not started");
  auto backoff = std::chrono::milliseconds(20);
  for (int attempt = 0; attempt < 8; ++attempt) {
    Docker({"rm", "-f", name}, "docker rm");
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
    return Status::Internal("PostgreSQL did not start: " + ReadFileFrom(spec.log_file, from) +
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
    return Status::Internal("PostgreSQL did not start: " + FileTail(spec.log_file));
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

Status DockerRuntime::ApplyResourceLimits(const ServerSpec& spec) {
  auto c = Live(spec.pgdata);
  if (!c) return Status::Ok();  // the next start applies them
  std::vector<std::string> args = {"update"};
  for (auto& f : LimitFlags(spec.instance_class, HostCpus())) args.push_back(std::move(f));
  if (args.size() == 1) return Status::Ok();  // a class without documented sizes
  args.push_back(c->name);
  auto out = Docker(args, "docker update");
  return out.ok() ? Status::Ok() : out.status();
}

std::string DockerRuntime::StopStrayServers(const std::vector<fs::path>& known) {
  std::set<std::string> wanted;
  for (const auto& p : known) wanted.insert(p.string());
  auto listed = ListServerContainers(true);
  if (!listed.ok()) return "could not list server containers: " + listed.status().message();
  std::vector<std::string> stray;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [name, pgdata] : *listed) {
      if (wanted.count(pgdata)) continue;
      stray.push_back(name);
      servers_.erase(pgdata);
    }
  }
  if (stray.empty()) return "";
  std::vector<std::string> rm = {"rm", "-f"};
  rm.insert(rm.end(), stray.begin(), stray.end());
  auto out = Docker(rm, "docker rm");
  std::string names;
  for (const auto& n : stray) names += (names.empty() ? "" : ", ") + n;
  return "removed " + std::to_string(stray.size()) + " stray server container(s) (" + names + ")" +
         (out.ok() ? "" : ": " + out.status().message());
}

}  // namespace localrds
