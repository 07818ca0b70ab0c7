// A PostgreSQL server's processes as the host sees them: is a postmaster alive, which processes
// it started, signals to all of them, and what its data directory's postmaster.pid says. Both
// runtimes use these: a server in a container is an ordinary process tree from the host's side.
//
// Reads /proc and sends signals; never throws while processes come and go. Thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/poll.h"
#include "common/status.h"

namespace localrds {

//! The file's bytes from `offset` on ("" when it cannot be read).
std::string ReadFileFrom(const std::filesystem::path& p, uintmax_t offset);
//! The last `n` bytes of a file (a server's log, for error messages).
std::string FileTail(const std::filesystem::path& p, uintmax_t n = 1500);

//! The state letter of /proc/<pid>/stat ('Z' zombie, 'T' stopped by a signal), or 0.
char ProcessState(pid_t pid);
//! Alive and not a zombie.
bool ProcessAlive(pid_t pid);
//! The processes whose parent is `pid` (PostgreSQL's children each call setsid(), so a signal
//! to the postmaster's process group does not reach them).
std::vector<pid_t> ChildrenOf(pid_t pid);
//! Signals the postmaster and every process it started.
void SignalServer(pid_t pid, int sig);
//! SIGKILLs the postmaster first (it cannot start new children then), and every child.
void KillTree(pid_t pid);
//! Fast shutdown of the postmaster `pid` (SIGINT; SIGCONT first reaches a frozen one), then an
//! immediate one (SIGQUIT) after 60 s, then SIGKILL of every process after 10 s more. Returns
//! once it is gone; `reap` runs while waiting (the local runtime reaps its children).
Status StopServerProcess(pid_t pid, const std::function<void()>& reap = nullptr);
//! SIGKILL of the postmaster and every child; returns once the postmaster is gone (10 s at most).
void KillServerProcess(pid_t pid, const std::function<void()>& reap = nullptr);
//! SIGSTOP (`freeze`) or SIGCONT of every process of the server; returns once the postmaster
//! shows the new state (kill() returns before a signal is acted on). `what` names it in errors.
Status FreezeServerProcess(pid_t pid, bool freeze, const std::string& what);
//! True when `pid` runs `postgres -D <pgdata>` (its command line names this data directory).
bool RunsDataDirectory(pid_t pid, const std::filesystem::path& pgdata);

//! The lines of pgdata/postmaster.pid (pid, data directory, start time, port, socket directory,
//! listen address, shared memory key, status), empty when there is none.
std::vector<std::string> PidFileLines(const std::filesystem::path& pgdata);
//! The port in postmaster.pid.
std::optional<int> PidFilePort(const std::filesystem::path& pgdata);
//! The pid in postmaster.pid when it is a live process of this host's pid namespace that runs
//! in `pgdata` (a stale file may name a pid now used by another process; a server in a
//! container writes its own namespace's pid, which this never matches).
std::optional<pid_t> HostPostmasterPid(const std::filesystem::path& pgdata);

//! Polls `done` (every 0.5 ms at first, backing off to 5 ms) until it holds or `timeout` passes.
template <class F>
bool WaitUntil(F done, std::chrono::milliseconds timeout) {
  return PollUntil(done, timeout);
}

}  // namespace localrds
