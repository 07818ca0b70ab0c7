// FakeRuntime: a PgRuntime without PostgreSQL, for unit tests of the control plane.
//
// "Clusters" are directories with a PG_VERSION file; "servers" are entries in a set. Every call
// is recorded, and faults can be injected (fail the next start, fail initdb). Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "emulator/runtime/pg_runtime.h"

namespace localrds {

class FakeRuntime : public PgRuntime {
 public:
  std::string Name() const override { return "fake"; }
  std::vector<EngineVersionInfo> InstalledVersions() override { return {{"15", "15.18"}}; }
  Status PrepareDirectory(const std::filesystem::path& dir) override;
  Status InitCluster(const std::string& major, const std::filesystem::path& pgdata) override;
  //! This machine's PostgreSQL 15 program (as `postgres` when the tests run as root).
  Result<CommandOutput> RunPostgresProgram(const std::string& major,
                                           const std::vector<std::string>& args) override;
  Status Start(const ServerSpec& spec) override;
  Status Stop(const ServerSpec& spec) override;
  Status Kill(const ServerSpec& spec) override;
  bool IsRunning(const ServerSpec& spec) override;
  Status ExecSql(const ServerSpec& spec, const std::string& database,
                 const std::vector<std::string>& statements) override;
  Result<std::string> QueryValue(const ServerSpec& spec, const std::string& database,
                                 const std::string& sql) override;
  //! Copies the data directory's files and writes a backup_label, like pg_basebackup.
  Status BaseBackup(const ServerSpec& spec, const std::filesystem::path& dest,
                    const std::string& slot) override;
  Status Pause(const ServerSpec& spec) override;
  Status Resume(const ServerSpec& spec) override;
  bool IsPaused(const ServerSpec& spec) override;
  //! OK when the server runs and is not paused (or FailProbes is off).
  Status Probe(const ServerSpec& spec, std::chrono::milliseconds timeout) override;
  int PostmasterPid(const ServerSpec& spec) override { return IsRunning(spec) ? 4242 : 0; }
  int ServingPort(const ServerSpec& spec) override;
  void Reap() override {}
  //! Makes every Probe fail (a server that hangs without being paused).
  void FailProbes(bool fail) {
    std::lock_guard<std::mutex> l(mutex_);
    fail_probes_ = fail;
  }

  // Fault injection and inspection.
  void FailNextStart(bool fail, std::string message = "PostgreSQL did not start (injected)") {
    std::lock_guard<std::mutex> l(mutex_);
    fail_next_start_ = fail;
    start_failure_ = std::move(message);
  }
  //! Called (outside the runtime's lock) after every Stop.
  void OnStop(std::function<void()> hook) {
    std::lock_guard<std::mutex> l(mutex_);
    on_stop_ = std::move(hook);
  }
  //! Called (outside the runtime's lock) as every BaseBackup begins: what a test sees while an
  //! operation is in its backup, however fast the fake makes it.
  void OnBackup(std::function<void()> hook) {
    std::lock_guard<std::mutex> l(mutex_);
    on_backup_ = std::move(hook);
  }
  void FailNextBackup(bool fail) {
    std::lock_guard<std::mutex> l(mutex_);
    fail_next_backup_ = fail;
  }
  int Backups() {
    std::lock_guard<std::mutex> l(mutex_);
    return backups_;
  }
  void FailInitdb(bool fail) {
    std::lock_guard<std::mutex> l(mutex_);
    fail_initdb_ = fail;
  }
  std::vector<std::string> Sql() {
    std::lock_guard<std::mutex> l(mutex_);
    return sql_;
  }
  int Starts() {
    std::lock_guard<std::mutex> l(mutex_);
    return starts_;
  }
  std::set<std::string> Running() {
    std::lock_guard<std::mutex> l(mutex_);
    return running_;
  }
  //! QueryValue answers `value` to every query containing `needle` (the longest needle that
  //! matches wins; setting a needle again replaces its answer).
  void AnswerQuery(const std::string& needle, const std::string& value) {
    std::lock_guard<std::mutex> l(mutex_);
    answers_[needle] = value;
  }
  //! QueryValue fails with `message` for every query containing `needle` (a query that errors
  //! out); an empty needle turns that off.
  void FailQuery(std::string needle, std::string message = "query failed (injected)") {
    std::lock_guard<std::mutex> l(mutex_);
    failing_query_ = std::move(needle);
    query_failure_ = std::move(message);
  }
  //! The slot named in each BaseBackup, in order ("" for none).
  std::vector<std::string> BackupSlots() {
    std::lock_guard<std::mutex> l(mutex_);
    return backup_slots_;
  }

 private:
  std::mutex mutex_;
  std::set<std::string> running_;  //!< pgdata paths
  bool fail_next_backup_ = false;
  int backups_ = 0;
  std::vector<std::string> sql_;
  int starts_ = 0;
  bool fail_next_start_ = false;
  std::string start_failure_;
  std::function<void()> on_stop_;
  std::function<void()> on_backup_;
  bool fail_initdb_ = false;
  std::map<std::string, std::string> answers_;
  std::vector<std::string> backup_slots_;
  std::set<std::string> paused_;      //!< pgdata paths
  std::map<std::string, int> ports_;  //!< pgdata path -> the port it was started with
  bool fail_probes_ = false;
  std::string failing_query_;  //!< FailQuery's needle ("" for none)
  std::string query_failure_;
};

}  // namespace localrds
