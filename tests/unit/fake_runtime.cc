#include "tests/unit/fake_runtime.h"

#include <unistd.h>

#include <atomic>
#include <fstream>

namespace localrds {
namespace fs = std::filesystem;

Status FakeRuntime::PrepareDirectory(const fs::path& dir) {
  fs::create_directories(dir);
  return Status::Ok();
}

Result<CommandOutput> FakeRuntime::RunPostgresProgram(const std::string& major,
                                                      const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/lib/postgresql/" + major + "/bin/postgres"};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandOptions o;
  if (::geteuid() == 0) {
    auto user = RunAs::Lookup("postgres");
    if (!user.ok()) return user.status();
    o.run_as = *user;
  }
  o.cwd = "/";
  return RunCommand(argv, o);
}

Status FakeRuntime::InitCluster(const std::string& major, const fs::path& pgdata) {
  {
    std::lock_guard<std::mutex> l(mutex_);
    if (fail_initdb_) return Status::Internal("initdb failed (injected)");
  }
  fs::create_directories(pgdata);
  std::ofstream(pgdata / "PG_VERSION") << major << "\n";
  std::ofstream(pgdata / "postgresql.conf") << "# fake\n";
  // pg_control starts with the cluster's system identifier (ServerSecrets derives from it).
  fs::create_directories(pgdata / "global");
  static std::atomic<uint64_t> next_id{0x5eed0000};
  const uint64_t id = next_id.fetch_add(1);
  std::ofstream(pgdata / "global" / "pg_control", std::ios::binary)
      .write(reinterpret_cast<const char*>(&id), sizeof id);
  return Status::Ok();
}

Status FakeRuntime::Start(const ServerSpec& spec) {
  std::lock_guard<std::mutex> l(mutex_);
  if (fail_next_start_) {
    fail_next_start_ = false;
    return Status::Internal(start_failure_);
  }
  if (!fs::exists(spec.pgdata / "PG_VERSION"))
    return Status::Internal("no cluster at " + spec.pgdata.string());
  if (running_.insert(spec.pgdata.string()).second) {
    ++starts_;
    ports_[spec.pgdata.string()] = spec.port;
  }
  return Status::Ok();
}

int FakeRuntime::ServingPort(const ServerSpec& spec) {
  std::lock_guard<std::mutex> l(mutex_);
  if (!running_.count(spec.pgdata.string())) return 0;
  return ports_[spec.pgdata.string()];
}

Status FakeRuntime::Stop(const ServerSpec& spec) {
  std::function<void()> hook;
  {
    std::lock_guard<std::mutex> l(mutex_);
    running_.erase(spec.pgdata.string());
    paused_.erase(spec.pgdata.string());
    hook = on_stop_;
  }
  if (hook) hook();
  return Status::Ok();
}

Status FakeRuntime::Kill(const ServerSpec& spec) { return Stop(spec); }

Status FakeRuntime::Pause(const ServerSpec& spec) {
  std::lock_guard<std::mutex> l(mutex_);
  if (!running_.count(spec.pgdata.string())) return Status::Internal("server not running");
  paused_.insert(spec.pgdata.string());
  return Status::Ok();
}

Status FakeRuntime::Resume(const ServerSpec& spec) {
  std::lock_guard<std::mutex> l(mutex_);
  paused_.erase(spec.pgdata.string());
  return Status::Ok();
}

bool FakeRuntime::IsPaused(const ServerSpec& spec) {
  std::lock_guard<std::mutex> l(mutex_);
  return paused_.count(spec.pgdata.string()) > 0;
}

Status FakeRuntime::Probe(const ServerSpec& spec, std::chrono::milliseconds) {
  std::lock_guard<std::mutex> l(mutex_);
  if (!running_.count(spec.pgdata.string())) return Status::Internal("server not running");
  if (fail_probes_ || paused_.count(spec.pgdata.string())) {
    return Status::Internal("no answer (injected)");
  }
  return Status::Ok();
}

bool FakeRuntime::IsRunning(const ServerSpec& spec) {
  std::lock_guard<std::mutex> l(mutex_);
  return running_.count(spec.pgdata.string()) > 0;
}

Status FakeRuntime::ExecSql(const ServerSpec& spec, const std::string& database,
                            const std::vector<std::string>& statements) {
  std::lock_guard<std::mutex> l(mutex_);
  if (!running_.count(spec.pgdata.string())) return Status::Internal("server not running");
  for (const auto& s : statements) sql_.push_back(s);
  return Status::Ok();
}

Result<std::string> FakeRuntime::QueryValue(const ServerSpec& spec, const std::string&,
                                            const std::string& sql) {
  std::lock_guard<std::mutex> l(mutex_);
  if (!running_.count(spec.pgdata.string())) return Status::Internal("server not running");
  sql_.push_back(sql);
  if (!failing_query_.empty() && sql.find(failing_query_) != std::string::npos) {
    return Status::Internal(query_failure_);
  }
  const std::string* answer = nullptr;  // the longest needle that matches wins
  size_t longest = 0;
  for (const auto& [needle, value] : answers_) {
    if (needle.size() > longest && sql.find(needle) != std::string::npos) {
      answer = &value;
      longest = needle.size();
    }
  }
  if (answer) return *answer;
  if (sql.find("pg_is_in_recovery") != std::string::npos) return std::string("f");
  return std::string();
}

Status FakeRuntime::BaseBackup(const ServerSpec& spec, const fs::path& dest,
                               const std::string& slot) {
  std::function<void()> hook;
  {
    std::lock_guard<std::mutex> l(mutex_);
    hook = on_backup_;
  }
  if (hook) hook();
  {
    std::lock_guard<std::mutex> l(mutex_);
    backup_slots_.push_back(slot);
    if (fail_next_backup_) {
      fail_next_backup_ = false;
      return Status::Internal("pg_basebackup failed (injected)");
    }
    if (!running_.count(spec.pgdata.string())) return Status::Internal("server not running");
    ++backups_;
  }
  fs::create_directories(dest);
  for (const auto& e : fs::directory_iterator(spec.pgdata)) {
    if (e.is_regular_file())
      fs::copy_file(e.path(), dest / e.path().filename(), fs::copy_options::overwrite_existing);
  }
  // global/pg_control: a copy keeps its cluster's system identifier.
  if (fs::exists(spec.pgdata / "global")) {
    fs::copy(spec.pgdata / "global", dest / "global",
             fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  }
  std::ofstream(dest / "backup_label")
      << "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\n";
  return Status::Ok();
}

}  // namespace localrds
