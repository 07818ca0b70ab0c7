#include "emulator/background/executor.h"

#include <exception>

#include "common/log.h"

namespace localrds {
namespace {
void RunLogged(const std::string& name, const std::function<void()>& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    LogLine(name.c_str()) << "pass failed: " << e.what();
  } catch (...) {
    LogLine(name.c_str()) << "pass failed: an unknown exception";
  }
}
}  // namespace

Executor::Executor(int pool_threads) {
  for (int i = 0; i < pool_threads; ++i) pool_.emplace_back([this] { PoolWorker(); });
}

Executor::~Executor() { Stop(); }

void Executor::Loop(std::string name, std::chrono::milliseconds interval,
                    std::function<void()> pass) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (stopping_) return;
  loops_.emplace_back([this, name = std::move(name), interval, pass = std::move(pass)] {
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stopping_) return;
      }
      RunLogged(name, pass);
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait_for(lock, interval, [&] { return stopping_; });
    }
  });
}

void Executor::Post(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    queue_.push_back(std::move(task));
  }
  work_.notify_one();
}

void Executor::PoolWorker() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      work_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    RunLogged("control", task);
  }
}

void Executor::Stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ && loops_.empty() && pool_.empty()) return;
    stopping_ = true;
    queue_.clear();
    threads.swap(loops_);
    for (auto& t : pool_) threads.push_back(std::move(t));
    pool_.clear();
  }
  wake_.notify_all();
  work_.notify_all();
  for (auto& t : threads) {
    if (t.joinable()) t.join();
  }
}

}  // namespace localrds
