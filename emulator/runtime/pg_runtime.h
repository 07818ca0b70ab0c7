// PgRuntime: the one boundary between localrds and the operating system's PostgreSQL, like
// leveldb's Env. Implementations: LocalRuntime (processes on this machine, the default),
// DockerRuntime (one container per server), and FakeRuntime (tests/, unit tests of the control
// plane with fault injection).
//
// Every method may block (subprocesses, waits for a server), so call them only from operation
// workers or the reconciler, never from an io_context thread. Implementations are thread-safe
// for calls on different servers; the control plane never drives one server from two threads.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/subprocess.h"

namespace localrds {

//! One PostgreSQL server (one data directory, one postmaster).
struct ServerSpec {
  std::string resource_id;
  std::string major;  //!< engine major version, "15"
  std::filesystem::path pgdata;
  std::filesystem::path log_file;  //!< the postmaster's stderr (what it says before its collector)
  //! The log root whose `error/` the logging collector writes (emulator/runtime/server_logs.h).
  std::filesystem::path log_dir;
  std::filesystem::path socket_dir;
  int port = 0;
  std::string instance_class;  //!< DBInstanceClass: the docker runtime's memory/CPU limits
  //! rdsrepladmin's password on this server, for BaseBackup (ControlPlane::ReplicationSource).
  std::string replication_password;
};

struct EngineVersionInfo {
  std::string major;  //!< "15"
  std::string full;   //!< "15.18"
};

class PgRuntime {
 public:
  virtual ~PgRuntime() = default;

  //! "local", "docker" or "fake".
  virtual std::string Name() const = 0;
  //! Every PostgreSQL version this runtime can run, newest first.
  virtual std::vector<EngineVersionInfo> InstalledVersions() = 0;

  //! The OS user the servers run as when it is not localrds' own (localrds runs as root): the
  //! owner their TLS key files must have.
  virtual std::optional<RunAs> ServerOwner() const { return std::nullopt; }
  //! Makes `dir` (and its parents below the data directory) usable by the servers' OS user.
  virtual Status PrepareDirectory(const std::filesystem::path& dir) = 0;
  //! Runs initdb into `pgdata` (which must not exist yet).
  virtual Status InitCluster(const std::string& major, const std::filesystem::path& pgdata) = 0;
  //! Runs `major`'s `postgres` program with `args` as the servers' user, starting no server
  //! (--describe-config; -C against a configuration directory): its exit code and output.
  virtual Result<CommandOutput> RunPostgresProgram(const std::string& major,
                                                   const std::vector<std::string>& args) = 0;
  //! Starts the server and returns once it accepts connections (or fails with its log tail).
  virtual Status Start(const ServerSpec& spec) = 0;
  //! Fast shutdown; returns once the postmaster is gone. OK when it was not running.
  virtual Status Stop(const ServerSpec& spec) = 0;
  //! SIGKILL of the postmaster (fault injection, orphan removal).
  virtual Status Kill(const ServerSpec& spec) = 0;
  //! True when a live postmaster serves this data directory.
  virtual bool IsRunning(const ServerSpec& spec) = 0;
  //! Runs each statement, in order, as the cluster's superuser in `database`. A statement that
  //! fails only because its object already exists (SQLSTATE 42710 duplicate_object, 42P04
  //! duplicate_database) counts as done, so that re-running a step after a crash converges.
  virtual Status ExecSql(const ServerSpec& spec, const std::string& database,
                         const std::vector<std::string>& statements) = 0;
  //! Runs one query as the superuser and returns the first column of its first row ("" when
  //! there is no row or the value is NULL).
  virtual Result<std::string> QueryValue(const ServerSpec& spec, const std::string& database,
                                         const std::string& sql) = 0;
  //! An online base backup of the running server into `dest` (an empty directory the servers'
  //! OS user can write): pg_basebackup, plain format, with the WAL needed to make it consistent.
  //! With `slot` (an existing physical replication slot on the server), the WAL is streamed
  //! through it, so the server keeps every segment a standby made from `dest` will need.
  //! Not fsynced: the caller flushes the file system once. Connects as rdsrepladmin with
  //! `spec.replication_password`.
  virtual Status BaseBackup(const ServerSpec& spec, const std::filesystem::path& dest,
                            const std::string& slot) = 0;
  //! SIGSTOP of the server's every process (a "hung primary" drill); Resume undoes it. A paused
  //! server looks running but answers nothing: callers must not query it (see IsPaused).
  virtual Status Pause(const ServerSpec& spec) = 0;
  virtual Status Resume(const ServerSpec& spec) = 0;
  virtual bool IsPaused(const ServerSpec& spec) = 0;
  //! Connects and runs `SELECT 1` within `timeout`, never longer: the health check of a
  //! Multi-AZ primary (a hung server accepts connections into its backlog and then says nothing).
  virtual Status Probe(const ServerSpec& spec, std::chrono::milliseconds timeout) = 0;
  //! The live postmaster's pid, 0 when none runs (shown to drills and tests).
  virtual int PostmasterPid(const ServerSpec& spec) = 0;
  //! The port the live postmaster listens on (its postmaster.pid), 0 when none runs.
  virtual int ServingPort(const ServerSpec& spec) = 0;
  //! Reaps exited servers this process started (a zombie postmaster blocks its port).
  virtual void Reap() = 0;
  //! Makes a running server's resource limits follow `spec.instance_class` (a class change).
  //! OK when the runtime has no limits (local) or the server is not running.
  virtual Status ApplyResourceLimits(const ServerSpec& spec) { return Status::Ok(); }
  //! Stops the servers of this data directory that the runtime finds running and that serve
  //! none of `known` (what a crash of localrds left behind whose directory is gone); says what
  //! it did ("" when nothing). The local runtime finds its orphans by their directories instead.
  virtual std::string StopStrayServers(const std::vector<std::filesystem::path>& known) {
    return "";
  }
};

//! True when `start` (what Start returned) failed because the server's port is taken: the log
//! tail it carries has PostgreSQL's own words for it. The one place that reads them.
inline bool PortInUse(const Status& start) {
  return !start.ok() && start.message().find("Address already in use") != std::string::npos;
}

//! The superuser every cluster is initialised with (as on RDS, it is not the master user). It
//! logs in over the socket directory by peer authentication from localrds' own OS user only.
inline constexpr const char* kSuperuser = "rdsadmin";
//! The replication role of every cluster (RDS's name for it): standbys, read replicas and
//! pg_basebackup log in as it, with a password (ServerSecrets).
inline constexpr const char* kReplicationUser = "rdsrepladmin";

}  // namespace localrds
