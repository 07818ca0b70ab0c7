// Executor: the threads of localrds' background work, and the only place that starts them.
//
// A loop (the reconciler every second, the health monitor every 100 ms) runs on a thread of its
// own, so that a long pass of one never delays the other; a one-off task (a health probe, a
// reset, a crash or freeze drill) runs on a small fixed pool, so that no probe starts a thread.
// Every exception a task throws is logged, never lost and never fatal.
//
// Thread-safety: thread-safe. Stop (and the destructor) wake the loops, let running tasks end,
// drop queued one-off tasks and join every thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace localrds {

class Executor {
 public:
  //! `pool_threads` run the one-off tasks.
  explicit Executor(int pool_threads = 4);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  //! Runs `pass` now and then `interval` after each pass ends, until Stop. `name` prefixes the
  //! log line of a pass that throws.
  void Loop(std::string name, std::chrono::milliseconds interval, std::function<void()> pass);
  //! Runs `task` once, as soon as a pool thread is free. Dropped after Stop.
  void Post(std::function<void()> task);
  void Stop();

 private:
  void PoolWorker();

  std::mutex mutex_;              //!< guards stopping_, queue_, loops_, pool_
  std::condition_variable wake_;  //!< loops wait on it between passes; Stop notifies
  std::condition_variable work_;  //!< pool threads wait on it for tasks
  bool stopping_ = false;
  std::deque<std::function<void()>> queue_;
  std::vector<std::thread> loops_;
  std::vector<std::thread> pool_;
};

}  // namespace localrds
