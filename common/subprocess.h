// Runs external programs (initdb, postgres, pg_basebackup, docker, ...).
//
// Every child gets its own process group (so a timeout kills the whole tree), inherits no file
// descriptor but stdin/stdout/stderr (so a postmaster never keeps localrds' listening socket
// open), and, when `run_as` is set and localrds is root, drops to that user before exec.
// All functions are thread-safe; they block the calling thread, so never call them from an
// io_context thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace localrds {

//! An OS account to run children as (resolved once from a user name).
struct RunAs {
  uid_t uid = 0;
  gid_t gid = 0;
  std::string name;
  //! Looks up `name` in the password database.
  static Result<RunAs> Lookup(const std::string& name);
};

struct CommandOptions {
  std::optional<RunAs> run_as;
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};
  std::vector<std::string> extra_env;  //!< "KEY=value" added to the inherited environment
  std::string cwd;
};

struct CommandOutput {
  int exit_code = -1;  //!< exit status, or 128+signal when killed by a signal
  std::string output;  //!< stdout and stderr interleaved, truncated to 64 KiB
};

//! Runs argv[0] (searched in PATH when it has no '/') to completion.
Result<CommandOutput> RunCommand(const std::vector<std::string>& argv,
                                 const CommandOptions& options = {});

//! Starts a long-lived server in a new session with stdout/stderr appended to `log_file`.
//! The caller owns the child and must reap it (ReapChild) once it exits.
Result<pid_t> SpawnDaemon(const std::vector<std::string>& argv, const CommandOptions& options,
                          const std::string& log_file);

//! Non-blocking waitpid for a child started by SpawnDaemon: true when it has exited (and is
//! now reaped) or was not our child.
bool ReapChild(pid_t pid);

//! Quotes a string for a POSIX shell (for log lines and archive commands).
std::string ShellQuote(const std::string& s);

}  // namespace localrds
