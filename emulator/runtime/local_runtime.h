// LocalRuntime: PostgreSQL servers as local processes, from the binaries under
// /usr/lib/postgresql/<major>/bin. When localrds runs as root, every server runs as an
// unprivileged OS user (`postgres` by default), since PostgreSQL refuses to run as root.
//
// localrds is the postmasters' parent: it reaps them (Reap) so a crashed one never leaves a
// zombie holding its port. Servers run in their own session, so they outlive a kill -9 of
// localrds and are adopted on restart. Thread-safe.
#pragma once

#include <sys/types.h>

#include <map>
#include <mutex>
#include <optional>

#include "common/subprocess.h"
#include "emulator/runtime/pg_runtime.h"

namespace localrds {

class LocalRuntime : public PgRuntime {
 public:
  //! `bin_root` holds one directory per major version (default /usr/lib/postgresql).
  static Result<std::unique_ptr<LocalRuntime>> Create(const std::string& os_user,
                                                      std::filesystem::path bin_root);

  std::string Name() const override { return "local"; }
  std::vector<EngineVersionInfo> InstalledVersions() override;
  std::optional<RunAs> ServerOwner() const override { return run_as_; }
  Status PrepareDirectory(const std::filesystem::path& dir) override;
  Status InitCluster(const std::string& major, const std::filesystem::path& pgdata) override;
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
  Status BaseBackup(const ServerSpec& spec, const std::filesystem::path& dest,
                    const std::string& slot) override;
  Status Pause(const ServerSpec& spec) override;
  Status Resume(const ServerSpec& spec) override;
  bool IsPaused(const ServerSpec& spec) override;
  Status Probe(const ServerSpec& spec, std::chrono::milliseconds timeout) override;
  int PostmasterPid(const ServerSpec& spec) override;
  int ServingPort(const ServerSpec& spec) override;
  void Reap() override;

  //! The postmaster's pid from postmaster.pid when it is alive and serves `pgdata`.
  static std::optional<pid_t> LivePostmasterPid(const std::filesystem::path& pgdata);
  //! The port in postmaster.pid.
  static std::optional<int> ListeningPort(const std::filesystem::path& pgdata);

 private:
  LocalRuntime(std::optional<RunAs> run_as, std::filesystem::path bin_root,
               std::vector<EngineVersionInfo> versions)
      : run_as_(std::move(run_as)),
        bin_root_(std::move(bin_root)),
        versions_(std::move(versions)) {}
  std::filesystem::path Bin(const std::string& major, const char* tool) const;
  //! One attempt: spawn the postmaster and wait until it is ready or gone.
  Status StartOnce(const ServerSpec& spec);
  //! Makes a postmaster.pid whose pid is another live process now name localrds instead.
  Status ClaimStalePidFile(const std::filesystem::path& pgdata, std::vector<std::string> lines);
  CommandOptions Options() const;

  const std::optional<RunAs> run_as_;  //!< set when localrds runs as root
  const std::filesystem::path bin_root_;
  const std::vector<EngineVersionInfo> versions_;
  std::mutex mutex_;                       //!< guards children_
  std::map<pid_t, std::string> children_;  //!< postmasters we started, by pid
};

}  // namespace localrds
