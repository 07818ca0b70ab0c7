#include "common/subprocess.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <thread>

extern char** environ;

namespace localrds {
namespace {

constexpr size_t kMaxOutput = 64 * 1024;

struct PreparedExec {
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::vector<char*> argv;
  std::vector<char*> envp;
  pid_t parent = getpid();  //!< localrds, as seen before the fork
  void Finish() {
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
  }
};

PreparedExec Prepare(const std::vector<std::string>& argv, const CommandOptions& options) {
  PreparedExec p;
  p.args = argv;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv(*e);
    if (options.run_as && geteuid() == 0 &&
        (kv.rfind("HOME=", 0) == 0 || kv.rfind("USER=", 0) == 0 || kv.rfind("LOGNAME=", 0) == 0)) {
      continue;
    }
    p.env.push_back(kv);
  }
  if (options.run_as && geteuid() == 0) {
    p.env.push_back("HOME=/tmp");
    p.env.push_back("USER=" + options.run_as->name);
    p.env.push_back("LOGNAME=" + options.run_as->name);
  }
  for (const auto& e : options.extra_env) p.env.push_back(e);
  p.Finish();
  return p;
}

// Runs in the child between fork and exec: async-signal-safe calls only.
[[noreturn]] void ExecChild(const PreparedExec& p, const CommandOptions& options, int out_fd,
                            bool new_session) {
  if (new_session) {
    setsid();
  } else {
    setpgid(0, 0);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  signal(SIGPIPE, SIG_DFL);
  int devnull = open("/dev/null", O_RDONLY);
  if (devnull >= 0) dup2(devnull, 0);
  if (out_fd >= 0) {
    dup2(out_fd, 1);
    dup2(out_fd, 2);
  }
  syscall(SYS_close_range, 3U, ~0U, 0U);
  if (options.run_as && geteuid() == 0) {
    if (setgroups(0, nullptr) != 0 || setgid(options.run_as->gid) != 0 ||
        setuid(options.run_as->uid) != 0) {
      _exit(126);
    }
  }
  // A command (pg_basebackup, cp, …) dies with localrds: after a kill -9 nothing keeps writing
  // into a directory that the restarted localrds is about to clean up or redo. Set after the
  // user change, which clears it; daemons (new_session) must outlive localrds.
  if (!new_session) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != p.parent) _exit(125);  // localrds died before prctl
  }
  if (!options.cwd.empty() && chdir(options.cwd.c_str()) != 0) _exit(126);
  const char* file = p.argv[0];
  if (std::strchr(file, '/') != nullptr) {
    execve(file, p.argv.data(), p.envp.data());
  } else {
    // execvpe uses the given environment and searches PATH.
    execvpe(file, p.argv.data(), p.envp.data());
  }
  _exit(127);
}

int DecodeWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

Result<RunAs> RunAs::Lookup(const std::string& name) {
  struct passwd pw;
  struct passwd* result = nullptr;
  char buf[4096];
  if (getpwnam_r(name.c_str(), &pw, buf, sizeof buf, &result) != 0 || result == nullptr) {
    return Status::Internal("no OS user named " + name);
  }
  RunAs r;
  r.uid = pw.pw_uid;
  r.gid = pw.pw_gid;
  r.name = name;
  return r;
}

Result<CommandOutput> RunCommand(const std::vector<std::string>& argv,
                                 const CommandOptions& options) {
  if (argv.empty()) return Status::Internal("empty command");
  PreparedExec p = Prepare(argv, options);
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0)
    return Status::Internal("pipe: " + std::string(strerror(errno)));
  pid_t pid = fork();
  if (pid < 0) {
    close(pipefd[0]);
    close(pipefd[1]);
    return Status::Internal("fork: " + std::string(strerror(errno)));
  }
  if (pid == 0) ExecChild(p, options, pipefd[1], false);
  close(pipefd[1]);
  setpgid(pid, pid);  // also done in the child; whichever runs first wins

  CommandOutput out;
  auto deadline = std::chrono::steady_clock::now() + options.timeout;
  bool timed_out = false;
  char buf[8192];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      kill(-pid, SIGKILL);
      break;
    }
    struct pollfd pfd {
      pipefd[0], POLLIN, 0
    };
    int r = poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) continue;
    ssize_t n = read(pipefd[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (out.output.size() < kMaxOutput) {
      out.output.append(buf, std::min<size_t>(n, kMaxOutput - out.output.size()));
    }
  }
  close(pipefd[0]);
  // The child closed its output; it may still linger (or have left it to a grandchild).
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno != EINTR)) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      timed_out = true;
      kill(-pid, SIGKILL);
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (timed_out) {
    return Status::Internal(argv[0] + " timed out after " +
                            std::to_string(options.timeout.count()) + " ms: " + out.output);
  }
  out.exit_code = DecodeWaitStatus(status);
  return out;
}

Result<pid_t> SpawnDaemon(const std::vector<std::string>& argv, const CommandOptions& options,
                          const std::string& log_file) {
  if (argv.empty()) return Status::Internal("empty command");
  PreparedExec p = Prepare(argv, options);
  int fd = open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) return Status::Internal("cannot open " + log_file + ": " + strerror(errno));
  if (options.run_as && geteuid() == 0) {
    if (fchown(fd, options.run_as->uid, options.run_as->gid) != 0) {
      // Not fatal: the child writes through the already-open descriptor.
    }
  }
  pid_t pid = fork();
  if (pid < 0) {
    close(fd);
    return Status::Internal("fork: " + std::string(strerror(errno)));
  }
  if (pid == 0) ExecChild(p, options, fd, true);
  close(fd);
  return pid;
}

bool ReapChild(pid_t pid) {
  int status = 0;
  pid_t r = waitpid(pid, &status, WNOHANG);
  if (r == pid) return true;
  if (r < 0 && errno == ECHILD) return true;
  return false;
}

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

}  // namespace localrds
