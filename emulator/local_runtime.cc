#include "emulator/local_runtime.h"

#include <libpq-fe.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/log.h"

namespace localrds {
namespace fs = std::filesystem;
namespace {

std::string ReadFrom(const fs::path& p, uintmax_t offset) {
  std::ifstream in(p);
  in.seekg(static_cast<std::streamoff>(offset));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Tail(const fs::path& p, uintmax_t n = 1500) {
  std::error_code ec;
  uintmax_t size = fs::file_size(p, ec);
  return ReadFrom(p, ec || size < n ? 0 : size - n);
}

// The processes whose parent is `pid` (PostgreSQL's children each call setsid(), so a signal
// to the postmaster's process group does not reach them).
std::vector<pid_t> ChildrenOf(pid_t pid) {
  std::vector<pid_t> out;
  std::error_code ec;
  // Processes come and go during the scan (a server shutting down): never throw for that.
  for (fs::directory_iterator it("/proc", ec), end; !ec && it != end; it.increment(ec)) {
    const fs::directory_entry& e = *it;
    const std::string name = e.path().filename().string();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    // ReadFrom, not an istreambuf_iterator: reading the stat of a process that has just exited
    // fails with ESRCH, which libstdc++'s filebuf throws through an iterator.
    const std::string stat = ReadFrom(e.path() / "stat", 0);
    size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 1));
    std::string state;
    long ppid = 0;
    rest >> state >> ppid;
    if (ppid == pid) out.push_back(static_cast<pid_t>(std::atol(name.c_str())));
  }
  return out;
}

// Signals the postmaster and every process it started. The children are listed before (a
// killed postmaster has none left to list) and after (a stopped one started no more since).
void SignalServer(pid_t pid, int sig) {
  std::vector<pid_t> children = ChildrenOf(pid);
  kill(pid, sig);
  for (pid_t child : children) kill(child, sig);
  for (pid_t child : ChildrenOf(pid)) kill(child, sig);
}

// SIGKILLs the postmaster first (it cannot start new children then), and every child.
void KillTree(pid_t pid) { SignalServer(pid, SIGKILL); }

// The state letter of /proc/<pid>/stat ('Z' zombie, 'T' stopped by a signal), or 0.
char ProcessState(pid_t pid) {
  std::string stat = ReadFrom("/proc/" + std::to_string(pid) + "/stat", 0);
  size_t close = stat.rfind(')');
  return close == std::string::npos || close + 2 >= stat.size() ? 0 : stat[close + 2];
}

// Alive and not a zombie.
bool ProcessAlive(pid_t pid) {
  if (pid <= 0 || kill(pid, 0) != 0) return false;
  char state = ProcessState(pid);
  return state != 0 && state != 'Z';
}

std::vector<std::string> PidFileLines(const fs::path& pgdata) {
  std::vector<std::string> lines;
  std::ifstream in(pgdata / "postmaster.pid");
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

// Waits (with a short, growing poll interval) until `done` or the deadline.
template <class F>
bool WaitUntil(F done, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto interval = std::chrono::microseconds(500);
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(interval);
    interval = std::min(interval * 2, std::chrono::microseconds(5000));
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<LocalRuntime>> LocalRuntime::Create(const std::string& os_user,
                                                           fs::path bin_root) {
  std::optional<RunAs> run_as;
  if (geteuid() == 0) {
    auto r = RunAs::Lookup(os_user);
    if (!r.ok()) {
      return Status::Internal("localrds runs as root and PostgreSQL refuses to: create the OS user '" +
                              os_user + "' or pass --pg-user");
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
  std::sort(versions.begin(), versions.end(), [](const auto& a, const auto& b) {
    return std::stoi(a.major) > std::stoi(b.major);
  });
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
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::Internal("cannot create " + dir.string() + ": " + ec.message());
  if (run_as_) {
    if (chown(dir.c_str(), run_as_->uid, run_as_->gid) != 0) {
      return Status::Internal("cannot chown " + dir.string());
    }
  }
  chmod(dir.c_str(), 0700);
  return Status::Ok();
}

Status LocalRuntime::InitCluster(const std::string& major, const fs::path& pgdata) {
  fs::path pwfile;  // none: the superuser only logs in over the local socket (trust)
  auto out = RunCommand({Bin(major, "initdb").string(), "-D", pgdata.string(), "-U", kSuperuser,
                         "-E", "UTF8", "--locale=C.UTF-8", "--auth-local=trust",
                         "--auth-host=scram-sha-256", "-N"},
                        Options());
  if (!out.ok()) return out.status();
  if (out->exit_code != 0) return Status::Internal("initdb failed: " + out->output);
  return Status::Ok();
}

std::optional<pid_t> LocalRuntime::LivePostmasterPid(const fs::path& pgdata) {
  auto lines = PidFileLines(pgdata);
  if (lines.empty()) return std::nullopt;
  pid_t pid = static_cast<pid_t>(std::atol(lines[0].c_str()));
  if (!ProcessAlive(pid)) return std::nullopt;
  // A stale postmaster.pid (after a reboot) may name a pid now used by another process, even
  // another instance's postgres: ours runs in this very data directory.
  std::error_code ec;
  fs::path cwd = fs::read_symlink("/proc/" + std::to_string(pid) + "/cwd", ec);
  if (ec) return std::nullopt;
  fs::path want = fs::weakly_canonical(pgdata, ec);
  if (ec || cwd != want) return std::nullopt;
  return pid;
}

std::optional<int> LocalRuntime::ListeningPort(const fs::path& pgdata) {
  auto lines = PidFileLines(pgdata);
  if (lines.size() < 4) return std::nullopt;
  return std::atoi(lines[3].c_str());
}

bool LocalRuntime::IsRunning(const ServerSpec& spec) {
  return LivePostmasterPid(spec.pgdata).has_value();
}

Status LocalRuntime::PrepareSocketDir(const fs::path& dir) {
  // The directory sits in /tmp under a predictable name: never follow a link planted there,
  // never chown something that is not ours.
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status::Internal("cannot create " + dir.string() + ": " + std::strerror(errno));
  }
  struct stat st{};
  const uid_t owner = run_as_ ? run_as_->uid : geteuid();
  if (lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) ||
      (st.st_uid != owner && st.st_uid != geteuid())) {
    return Status::Internal("unsafe socket directory " + dir.string() +
                            ": not a directory owned by localrds or its PostgreSQL user");
  }
  if (run_as_ && st.st_uid != run_as_->uid &&
      lchown(dir.c_str(), run_as_->uid, run_as_->gid) != 0) {
    return Status::Internal("cannot chown " + dir.string());
  }
  return Status::Ok();
}

Status LocalRuntime::Start(const ServerSpec& spec) {
  if (IsRunning(spec)) {
    // Started before a crash, perhaps on another port than the one now recorded.
    if (ListeningPort(spec.pgdata) == spec.port) return Status::Ok();
    LOCALRDS_RETURN_IF_ERROR(Stop(spec));
  }
  LOCALRDS_RETURN_IF_ERROR(PrepareSocketDir(spec.socket_dir));
  std::error_code ec;
  // A postmaster killed moments ago (a crash of the host, or of localrds and its servers) may
  // still exist as a zombie nobody has reaped yet, and its backends may still be attached to
  // the shared memory: PostgreSQL refuses to start until both are gone. Wait them out.
  auto old = PidFileLines(spec.pgdata);
  if (!old.empty()) {
    pid_t old_pid = static_cast<pid_t>(std::atol(old[0].c_str()));
    WaitUntil(
        [&] {
          Reap();
          return old_pid <= 0 || kill(old_pid, 0) != 0;
        },
        std::chrono::seconds(15));
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  auto backoff = std::chrono::milliseconds(50);
  for (;;) {
    auto log_offset = fs::file_size(spec.log_file, ec);
    if (ec) log_offset = 0;
    Status st = StartOnce(spec);
    if (st.ok()) return st;
    std::string said = ReadFrom(spec.log_file, ec ? 0 : log_offset);
    bool transient = said.find("already exists") != std::string::npos ||
                     said.find("is still in use") != std::string::npos;
    if (!transient || std::chrono::steady_clock::now() + backoff > deadline) return st;
    LogLine("runtime") << spec.resource_id << ": the previous server is not gone yet; retrying";
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
  }
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
    return Status::Internal("PostgreSQL did not start: " + Tail(spec.log_file));
  }
  return Status::Ok();
}

Status LocalRuntime::Stop(const ServerSpec& spec) {
  auto pid = LivePostmasterPid(spec.pgdata);
  if (!pid) return Status::Ok();
  kill(*pid, SIGINT);  // fast shutdown
  SignalServer(*pid, SIGCONT);  // a paused server must run to shut down
  auto gone = [&] {
    Reap();
    return !ProcessAlive(*pid);
  };
  if (WaitUntil(gone, std::chrono::seconds(60))) return Status::Ok();
  kill(*pid, SIGQUIT);  // immediate shutdown
  if (WaitUntil(gone, std::chrono::seconds(10))) return Status::Ok();
  KillTree(*pid);
  if (WaitUntil(gone, std::chrono::seconds(10))) return Status::Ok();
  return Status::Internal("PostgreSQL (pid " + std::to_string(*pid) + ") did not stop");
}

Status LocalRuntime::Kill(const ServerSpec& spec) {
  auto pid = LivePostmasterPid(spec.pgdata);
  if (!pid) return Status::Ok();
  KillTree(*pid);
  WaitUntil(
      [&] {
        Reap();
        return !ProcessAlive(*pid);
      },
      std::chrono::seconds(10));
  return Status::Ok();
}

Status LocalRuntime::Pause(const ServerSpec& spec) {
  auto pid = LivePostmasterPid(spec.pgdata);
  if (!pid) return Status::Internal("the server of " + spec.resource_id + " is not running");
  SignalServer(*pid, SIGSTOP);  // the postmaster first: it cannot start new children then
  // kill() returns before the signal is acted on: answer once the server really is stopped.
  if (!WaitUntil([&] { return ProcessState(*pid) == 'T'; }, std::chrono::seconds(5))) {
    return Status::Internal("the server of " + spec.resource_id + " did not stop on SIGSTOP");
  }
  return Status::Ok();
}

Status LocalRuntime::Resume(const ServerSpec& spec) {
  auto pid = LivePostmasterPid(spec.pgdata);
  if (!pid) return Status::Internal("the server of " + spec.resource_id + " is not running");
  SignalServer(*pid, SIGCONT);
  if (!WaitUntil([&] { return ProcessState(*pid) != 'T'; }, std::chrono::seconds(5))) {
    return Status::Internal("the server of " + spec.resource_id + " did not resume on SIGCONT");
  }
  return Status::Ok();
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

// libpq's asynchronous API with our own deadline: connect_timeout has a 2 s floor and covers
// only the connection, and a hung server answers neither the startup packet nor a query.
Status LocalRuntime::Probe(const ServerSpec& spec, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const std::string port = std::to_string(spec.port);
  const std::string host = spec.socket_dir.string();
  const char* keys[] = {"host", "port", "user", "dbname", "application_name", nullptr};
  const char* values[] = {host.c_str(), port.c_str(), kSuperuser, "postgres", "localrds-health",
                          nullptr};
  PGconn* conn = PQconnectStartParams(keys, values, 0);
  auto fail = [&](const std::string& why) {
    std::string msg = why.empty() ? std::string(PQerrorMessage(conn)) : why;
    PQfinish(conn);
    return Status::Internal("health check of " + spec.resource_id + " failed: " + msg);
  };
  // Waits until the socket is ready for `events`, or the deadline passes.
  auto wait = [&](short events) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd pfd{PQsocket(conn), events, 0};
    return poll(&pfd, 1, static_cast<int>(left.count())) > 0;
  };
  if (conn == nullptr || PQstatus(conn) == CONNECTION_BAD) return fail("");
  for (PostgresPollingStatusType st = PGRES_POLLING_WRITING; st != PGRES_POLLING_OK;) {
    if (st == PGRES_POLLING_FAILED) return fail("");
    if (!wait(st == PGRES_POLLING_READING ? POLLIN : POLLOUT)) return fail("no answer in time");
    st = PQconnectPoll(conn);
  }
  if (!PQsendQuery(conn, "SELECT 1")) return fail("");
  for (;;) {
    if (!PQconsumeInput(conn)) return fail("");
    if (!PQisBusy(conn)) break;
    if (!wait(POLLIN)) return fail("no answer in time");
  }
  bool ok = true;
  while (PGresult* res = PQgetResult(conn)) {
    ok = ok && PQresultStatus(res) == PGRES_TUPLES_OK;
    PQclear(res);
  }
  if (!ok) return fail("");
  PQfinish(conn);
  return Status::Ok();
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

namespace {
std::string Conninfo(const ServerSpec& spec, const std::string& database) {
  return "host=" + spec.socket_dir.string() + " port=" + std::to_string(spec.port) +
         " user=" + kSuperuser + " dbname=" + database +
         " connect_timeout=30 application_name=localrds keepalives=1"
         " options='-c statement_timeout=120000'";
}
}  // namespace

Result<std::string> LocalRuntime::QueryValue(const ServerSpec& spec, const std::string& database,
                                             const std::string& sql) {
  PGconn* conn = PQconnectdb(Conninfo(spec, database).c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(conn);
    PQfinish(conn);
    return Status::Internal("cannot connect to PostgreSQL: " + msg);
  }
  PGresult* res = PQexec(conn, sql.c_str());
  if (PQresultStatus(res) != PGRES_TUPLES_OK) {
    std::string msg = PQresultErrorMessage(res);
    PQclear(res);
    PQfinish(conn);
    return Status::Internal("SQL failed: " + msg);
  }
  std::string value;
  if (PQntuples(res) > 0 && PQnfields(res) > 0 && !PQgetisnull(res, 0, 0)) {
    value = PQgetvalue(res, 0, 0);
  }
  PQclear(res);
  PQfinish(conn);
  return value;
}

Status LocalRuntime::BaseBackup(const ServerSpec& spec, const fs::path& dest,
                                const std::string& slot) {
  CommandOptions o = Options();
  o.timeout = std::chrono::hours(6);
  std::vector<std::string> argv = {Bin(spec.major, "pg_basebackup").string(), "-h",
                                   spec.socket_dir.string(), "-p", std::to_string(spec.port), "-U",
                                   kSuperuser, "-D", dest.string(), "-X", "stream", "-c", "fast",
                                   "--no-sync", "-Fp"};
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
  PGconn* conn = PQconnectdb(Conninfo(spec, database).c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(conn);
    PQfinish(conn);
    return Status::Internal("cannot connect to PostgreSQL: " + msg);
  }
  for (const auto& sql : statements) {
    PGresult* res = PQexec(conn, sql.c_str());
    ExecStatusType st = PQresultStatus(res);
    const char* sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    // duplicate_object / duplicate_database: the statement already took effect (a re-run).
    bool already_done = sqlstate != nullptr && (std::string(sqlstate) == "42710" ||
                                                std::string(sqlstate) == "42P04");
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && !already_done) {
      std::string msg = PQresultErrorMessage(res);
      PQclear(res);
      PQfinish(conn);
      return Status::Internal("SQL failed: " + msg);
    }
    PQclear(res);
  }
  PQfinish(conn);
  return Status::Ok();
}

}  // namespace localrds
