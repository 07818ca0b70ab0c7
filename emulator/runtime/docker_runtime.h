// DockerRuntime: every PostgreSQL server (primary, Multi-AZ standby, read replica, restored
// instance) in its own container, from a locally built image (docker/build-image.sh), driven
// through the docker CLI.
//
// The data directory and the socket directory are bind-mounted at the same paths, so every path
// localrds writes into a server's settings (archive, restore WAL, sockets, logs) means the same
// inside and outside, and backups, snapshots and the WAL archive are the local runtime's code.
// Containers use the host's network (the server listens on 127.0.0.1:<Endpoint.Port>), run as
// the PostgreSQL OS user, get memory and CPU limits from the instance class, are removed when
// their server exits, and carry labels (data directory, data directory of the server, resource
// id) by which a restarted localrds adopts them and removes strays. One-shot jobs (initdb,
// pg_basebackup) run in containers of their own; those a killed localrds left are removed when
// the next one starts.
//
// From the host a server in a container is an ordinary process tree: liveness, signals (stop,
// kill, freeze and thaw) and SQL over the socket are the same as for local servers; only its
// pid comes from the engine (inside, the postmaster is pid 1). Thread-safe.
//
// docker_runtime.cc holds the PgRuntime operations on servers; docker_containers.cc the docker
// CLI calls, the containers' arguments, listing, adoption and strays.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/subprocess.h"
#include "emulator/runtime/pg_runtime.h"

namespace localrds {

class DockerRuntime : public PgRuntime {
 public:
  struct Config {
    std::filesystem::path data_dir;           //!< localrds' data directory (bind-mounted)
    std::filesystem::path runtime_dir;        //!< where the passwd and group files go
    std::string image = "localrds/postgres";  //!< the repository; its tags are major versions
    std::string os_user = "postgres";         //!< the containers' user when localrds is root
    std::string docker = "docker";            //!< the CLI
  };
  //! Runs a docker CLI command (RunCommand by default; unit tests pass their own).
  using CommandRunner =
      std::function<Result<CommandOutput>(const std::vector<std::string>&, const CommandOptions&)>;

  //! Checks that an engine answers and that an image exists, removes the jobs a previous
  //! localrds left, and adopts the running server containers of this data directory. Fails with
  //! what to run when there is no engine or no image.
  static Result<std::unique_ptr<DockerRuntime>> Create(Config config, CommandRunner run = nullptr);

  std::string Name() const override { return "docker"; }
  std::vector<EngineVersionInfo> InstalledVersions() override;
  std::optional<RunAs> ServerOwner() const override { return run_as_; }
  Status PrepareDirectory(const std::filesystem::path& dir) override;
  Status InitCluster(const std::string& major, const std::filesystem::path& pgdata) override;
  //! The image is built from this machine's PostgreSQL packages: the same program, run here.
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
  void Reap() override {}
  Status ApplyResourceLimits(const ServerSpec& spec) override;
  std::string StopStrayServers(const std::vector<std::filesystem::path>& known) override;

  // The pieces below are pure (unit-tested).
  //! The container name of a server: localrds-<resource id>-<host>, host "a" (pgdata) or "b".
  static std::string ContainerName(const ServerSpec& spec);
  //! `docker run` flags for the memory and CPU limits of an instance class (none for an
  //! unknown class); CPUs are capped at what the machine has.
  static std::vector<std::string> LimitFlags(const std::string& instance_class, int host_cpus);
  //! The whole `docker run` of a server (after the CLI itself).
  std::vector<std::string> ServerRunArgs(const ServerSpec& spec) const;

 private:
  DockerRuntime(Config config, CommandRunner run, std::optional<RunAs> run_as);
  //! A running server container, as the host sees it.
  struct Container {
    std::string name;
    pid_t pid = 0;  //!< the postmaster's pid on the host
  };
  //! docker <args...>; `what` names the call in errors.
  Result<std::string> Docker(const std::vector<std::string>& args, const std::string& what,
                             std::chrono::milliseconds timeout = std::chrono::seconds(60));
  //! Runs a one-shot job container (initdb, pg_basebackup) with the data directory (and
  //! `socket_dir`) mounted; removes it when the CLI times out.
  Status RunJob(const std::string& major, const std::vector<std::string>& command,
                const std::optional<std::filesystem::path>& socket_dir,
                std::chrono::milliseconds timeout, const std::string& what);
  //! The `docker run` flags every container gets: user, passwd, mounts, labels.
  std::vector<std::string> CommonFlags(const std::string& role) const;
  //! The live server container of `pgdata`, from the cache (a dead one is dropped from it).
  std::optional<Container> Live(const std::filesystem::path& pgdata);
  //! (name, data directory served) of this data directory's server containers; `all`: also
  //! those that are not running.
  Result<std::vector<std::pair<std::string, std::string>>> ListServerContainers(bool all);
  //! Lists this data directory's running server containers and their pids into the cache.
  Status Adopt();
  std::string ImageFor(const std::string& major) const;
  //! Fills versions_ from the image's major-version tags, newest first; fails, saying how to
  //! build one, when there is none.
  Status FindImageVersions();
  //! Writes the passwd and group files the containers see (initdb needs its user to exist).
  Status WriteAccounts();
  //! Removes the job containers (initdb, pg_basebackup) a killed localrds left.
  void RemoveLeftoverJobs();

  const Config config_;
  const CommandRunner run_;
  const std::optional<RunAs> run_as_;  //!< set when localrds runs as root
  uid_t uid_ = 0;                      //!< the containers' user
  gid_t gid_ = 0;
  std::vector<EngineVersionInfo> versions_;
  std::mutex mutex_;                          //!< guards servers_
  std::map<std::string, Container> servers_;  //!< by data directory of the server
};

}  // namespace localrds
