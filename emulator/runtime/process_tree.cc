#include "emulator/runtime/process_tree.h"

#include <signal.h>

#include <cctype>
#include <fstream>
#include <sstream>

namespace localrds {
namespace fs = std::filesystem;

std::string ReadFileFrom(const fs::path& p, uintmax_t offset) {
  std::ifstream in(p);
  in.seekg(static_cast<std::streamoff>(offset));
  std::stringstream ss;
  // `<< rdbuf()` catches a read error (ESRCH from /proc/<pid>/stat of a process that just
  // exited), where libstdc++'s istreambuf_iterator would throw it.
  ss << in.rdbuf();
  return ss.str();
}

std::string FileTail(const fs::path& p, uintmax_t n) {
  std::error_code ec;
  uintmax_t size = fs::file_size(p, ec);
  return ReadFileFrom(p, ec || size < n ? 0 : size - n);
}

char ProcessState(pid_t pid) {
  std::string stat = ReadFileFrom("/proc/" + std::to_string(pid) + "/stat", 0);
  size_t close = stat.rfind(')');
  return close == std::string::npos || close + 2 >= stat.size() ? 0 : stat[close + 2];
}

bool ProcessAlive(pid_t pid) {
  if (pid <= 0 || kill(pid, 0) != 0) return false;
  char state = ProcessState(pid);
  return state != 0 && state != 'Z';
}

std::vector<pid_t> ChildrenOf(pid_t pid) {
  std::vector<pid_t> out;
  std::error_code ec;
  // Processes come and go during the scan (a server shutting down): never throw for that.
  for (fs::directory_iterator it("/proc", ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    const std::string stat = ReadFileFrom(it->path() / "stat", 0);
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

// The children are listed before (a killed postmaster has none left to list) and after (a
// stopped one started no more since).
void SignalServer(pid_t pid, int sig) {
  std::vector<pid_t> children = ChildrenOf(pid);
  kill(pid, sig);
  for (pid_t child : children) kill(child, sig);
  for (pid_t child : ChildrenOf(pid)) kill(child, sig);
}

void KillTree(pid_t pid) { SignalServer(pid, SIGKILL); }

Status StopServerProcess(pid_t pid, const std::function<void()>& reap) {
  kill(pid, SIGINT);           // fast shutdown
  SignalServer(pid, SIGCONT);  // a frozen server must run to shut down
  auto gone = [&] {
    if (reap) reap();
    return !ProcessAlive(pid);
  };
  if (WaitUntil(gone, std::chrono::seconds(60))) return Status::Ok();
  kill(pid, SIGQUIT);  // immediate shutdown
  if (WaitUntil(gone, std::chrono::seconds(10))) return Status::Ok();
  KillTree(pid);
  if (WaitUntil(gone, std::chrono::seconds(10))) return Status::Ok();
  return Status::Internal("PostgreSQL (pid " + std::to_string(pid) + ") did not stop");
}

void KillServerProcess(pid_t pid, const std::function<void()>& reap) {
  KillTree(pid);
  WaitUntil(
      [&] {
        if (reap) reap();
        return !ProcessAlive(pid);
      },
      std::chrono::seconds(10));
}

Status FreezeServerProcess(pid_t pid, bool freeze, const std::string& what) {
  // SIGSTOP to the postmaster alone first, and to its children once it has stopped: it cannot
  // start new ones then, and a child it is still creating is never stopped under it (a process
  // in vfork() waits, unstoppable, for its child to exec; were that child stopped first, the
  // parent would wait forever).
  if (freeze) {
    kill(pid, SIGSTOP);
  } else {
    SignalServer(pid, SIGCONT);
  }
  if (!WaitUntil([&] { return (ProcessState(pid) == 'T') == freeze; }, std::chrono::seconds(5))) {
    return Status::Internal(what +
                            (freeze ? " did not stop on SIGSTOP" : " did not resume on SIGCONT"));
  }
  if (freeze) SignalServer(pid, SIGSTOP);
  return Status::Ok();
}

bool RunsDataDirectory(pid_t pid, const fs::path& pgdata) {
  const std::string cmdline = ReadFileFrom("/proc/" + std::to_string(pid) + "/cmdline", 0);
  std::vector<std::string> args;
  std::string arg;
  for (char c : cmdline) {
    if (c == '\0') {
      args.push_back(arg);
      arg.clear();
    } else {
      arg += c;
    }
  }
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "-D" && fs::path(args[i + 1]) == pgdata) return true;
  }
  return false;
}

std::vector<std::string> PidFileLines(const fs::path& pgdata) {
  std::vector<std::string> lines;
  std::ifstream in(pgdata / "postmaster.pid");
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

std::optional<int> PidFilePort(const fs::path& pgdata) {
  auto lines = PidFileLines(pgdata);
  if (lines.size() < 4) return std::nullopt;
  return std::atoi(lines[3].c_str());
}

std::optional<pid_t> HostPostmasterPid(const fs::path& pgdata) {
  auto lines = PidFileLines(pgdata);
  if (lines.empty()) return std::nullopt;
  pid_t pid = static_cast<pid_t>(std::atol(lines[0].c_str()));
  if (!ProcessAlive(pid)) return std::nullopt;
  std::error_code ec;
  fs::path cwd = fs::read_symlink("/proc/" + std::to_string(pid) + "/cwd", ec);
  if (ec) {
    // Reading another user's cwd takes CAP_SYS_PTRACE, which root in a container lacks (the
    // localrds image); the command line (`postgres -D <pgdata>`) is readable by anyone.
    return RunsDataDirectory(pid, pgdata) ? std::optional<pid_t>(pid) : std::nullopt;
  }
  fs::path want = fs::weakly_canonical(pgdata, ec);
  if (ec || cwd != want) return std::nullopt;
  return pid;
}

}  // namespace localrds
