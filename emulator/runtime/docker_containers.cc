// DockerRuntime, the docker CLI side: the CLI call itself, the images found at creation, the
// accounts file the containers see, the `docker run` arguments of servers and jobs, and this data
// directory's containers: listed by their labels, adopted after a restart, their resource limits
// updated, strays removed.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "common/log.h"
#include "emulator/core/instance_classes.h"
#include "emulator/runtime/docker_runtime.h"
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

Status DockerRuntime::FindImageVersions() {
  const std::string& image = config_.image;
  auto tags = Docker({"image", "ls", image, "--format", "{{.Tag}}"}, "docker image ls");
  if (!tags.ok()) return tags.status();
  for (const auto& tag : Lines(*tags)) {
    if (!AllDigits(tag) || tag.size() > 3) continue;  // majors only: 15, not 15.18 or latest
    auto label = Docker(
        {"image", "inspect", "-f",
         std::string("{{index .Config.Labels \"") + kVersionLabel + "\"}}", image + ":" + tag},
        "docker image inspect");
    std::string full = label.ok() ? VersionWord(*label) : "";
    if (full.empty()) {  // an image built otherwise (docker/postgres.Dockerfile without labels)
      auto out =
          Docker({"run", "--rm", "--network", "none", image + ":" + tag, "postgres", "--version"},
                 "postgres --version in " + image + ":" + tag);
      if (out.ok()) full = VersionWord(*out);
    }
    if (!full.empty()) versions_.push_back({tag, full});
  }
  if (versions_.empty()) {
    return Status::Internal("--runtime docker: no PostgreSQL image " + image +
                            ":<major> found. Build one, no registry needed: sudo "
                            "docker/build-image.sh (or, with a registry: docker build -t " +
                            image + ":15 -f docker/postgres.Dockerfile docker)");
  }
  std::sort(versions_.begin(), versions_.end(),
            [](const auto& a, const auto& b) { return std::stoi(a.major) > std::stoi(b.major); });
  return Status::Ok();
}

void DockerRuntime::RemoveLeftoverJobs() {
  // A job (initdb, pg_basebackup) of a localrds that was killed would go on writing into a
  // directory that the resumed step is about to redo.
  auto jobs =
      Docker({"ps", "-aq", "--filter", "label=" + Label(kDataDirLabel, config_.data_dir.string()),
              "--filter", "label=" + Label(kRoleLabel, "job")},
             "docker ps");
  if (jobs.ok() && !Lines(*jobs).empty()) {
    std::vector<std::string> rm = {"rm", "-f"};
    for (const auto& id : Lines(*jobs)) rm.push_back(id);
    LogIfFailed(Docker(rm, "docker rm").status(), "docker", "cannot remove leftover jobs");
    LogLine("runtime") << "removed " << rm.size() - 2 << " job container(s) of a previous run";
  }
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
    LogIfFailed(Docker({"rm", "-f", name}, "docker rm").status(), "docker",
                "cannot remove " + name);
    return out.status();
  }
  return Status::Ok();
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
