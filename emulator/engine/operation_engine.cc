#include "emulator/engine/operation_engine.h"

#include <algorithm>

#include "common/log.h"
#include "common/time_util.h"

namespace localrds {
namespace {
std::mutex g_hook_mutex;
OperationEngine::CrashHook g_crash_hook;
}  // namespace

void OperationEngine::SetCrashHook(CrashHook hook) {
  std::lock_guard<std::mutex> lock(g_hook_mutex);
  g_crash_hook = std::move(hook);
}

OperationEngine::OperationEngine(StepEnv& env, int workers) : env_(env) {
  for (int i = 0; i < workers; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

OperationEngine::~OperationEngine() { Stop(); }

void OperationEngine::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) {
    if (t.joinable()) t.join();
  }
  workers_.clear();
}

void OperationEngine::Submit(OperationRow op) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    running_[op.id] = true;
    queue_.push_back(std::move(op));
  }
  cv_.notify_one();
}

void OperationEngine::WhenDone(int64_t id, std::function<void()> cb) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (running_.count(id)) {
      waiters_[id].push_back(std::move(cb));
      return;
    }
  }
  cb();
}

void OperationEngine::WhenSettled(int64_t id, std::function<void()> cb) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (running_.count(id) && !deferral_logged_.count(id)) {
      settle_waiters_[id].push_back(std::move(cb));
      return;
    }
  }
  cb();
}

void OperationEngine::Settled(int64_t id) {
  std::vector<std::function<void()>> cbs;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = settle_waiters_.find(id);
    if (it == settle_waiters_.end()) return;
    cbs = std::move(it->second);
    settle_waiters_.erase(it);
  }
  for (auto& cb : cbs) {
    try {
      cb();
    } catch (const std::exception& e) {
      LogLine("ops") << "a waiter of operation " << id << " threw: " << e.what();
    }
  }
}

bool OperationEngine::WaitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  return idle_cv_.wait_for(lock, timeout, [&] { return running_.size() == deferred_.size(); });
}

void OperationEngine::WorkerLoop() {
  for (;;) {
    OperationRow op;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      for (;;) {
        if (stopping_) return;  // a held operation resumes its hold after a restart
        if (!deferred_.empty() && deferred_.begin()->first <= std::chrono::steady_clock::now()) {
          op = std::move(deferred_.begin()->second);
          deferred_.erase(deferred_.begin());
          break;
        }
        if (!queue_.empty()) {
          op = std::move(queue_.front());
          queue_.pop_front();
          break;
        }
        if (deferred_.empty()) {
          cv_.wait(lock);
        } else {
          cv_.wait_until(lock, deferred_.begin()->first);
        }
      }
    }
    bool deferred = false;
    try {
      deferred = Run(op);
    } catch (const std::exception& e) {
      LogLine("ops") << "operation " << op.id << " aborted: " << e.what();
    } catch (...) {
      LogLine("ops") << "operation " << op.id << " aborted by an unknown exception";
    }
    if (!deferred) {
      Finish(op.id);
      Settled(op.id);
    }
  }
}

void OperationEngine::Defer(OperationRow op, int64_t not_before_ms) {
  // Looked at again at least every 100 ms: the registry's clock may be a fake one that a test
  // moves, and a control may change the instance's profile meanwhile.
  const int64_t wait_ms = std::clamp<int64_t>(not_before_ms - env_.registry.Now(), 0, 100);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    deferred_.emplace(std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms),
                      std::move(op));
    if (running_.size() == deferred_.size()) idle_cv_.notify_all();
  }
  cv_.notify_one();
}

void OperationEngine::Finish(int64_t id) {
  std::vector<std::function<void()>> cbs;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    running_.erase(id);
    deferral_logged_.erase(id);
    auto it = waiters_.find(id);
    if (it != waiters_.end()) {
      cbs = std::move(it->second);
      waiters_.erase(it);
    }
    if (running_.size() == deferred_.size()) idle_cv_.notify_all();
  }
  for (auto& cb : cbs) {
    try {
      cb();
    } catch (const std::exception& e) {
      LogLine("ops") << "a waiter of operation " << id << " threw: " << e.what();
    }
  }
}

bool OperationEngine::Run(OperationRow op) {
  const auto& kinds = OperationKinds();
  auto kind_it = kinds.find(op.kind);
  if (kind_it == kinds.end()) {
    RecordFailure(op, std::string("no steps for operation kind ") + ToString(op.kind));
    return false;
  }
  const OperationKind& kind = kind_it->second;
  const int n = static_cast<int>(kind.steps.size());
  while (op.step < n) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return false;  // resumes at this step after a restart
    }
    {
      std::lock_guard<std::mutex> lock(g_hook_mutex);
      if (g_crash_hook && !g_crash_hook(ToString(op.kind), op.step)) return false;
    }
    const OperationStep& step = kind.steps[op.step];
    auto current = env_.registry.GetInstance(op.resource_id);
    if (!env_.registry.ResourceExists(op.resource_id) && op.kind != OpKind::kDelete) {
      // The instance is gone (a reset): nothing is left to act on, and no step may write a row.
      RecordFailure(op, "the instance no longer exists");
      return false;
    }
    OpContext ctx{env_, op, current.value_or(InstanceRow{}), {}};
    auto t0 = NowMs();
    Status st;
    try {
      st = step.run(ctx);
    } catch (const std::exception& e) {
      st = Status::Internal(std::string("step ") + step.name + " threw: " + e.what());
    }
    if (st.ok() && ctx.not_before_ms > 0) {
      if (MarkDeferralLogged(op.id)) {
        LogLine("ops") << "op=" << op.id << " kind=" << op.kind << " id=" << ctx.instance.identifier
                       << " step=" << step.name << " held until "
                       << FormatIso8601(ctx.not_before_ms, true) << " (timing profile)";
        Settled(op.id);
      }
      if (!ctx.staged.put.empty() || !ctx.staged.events.empty() ||
          !ctx.staged.put_snapshots.empty()) {
        Status c = env_.registry.Commit(std::move(ctx.staged));
        if (!c.ok()) LogLine("ops") << "op=" << op.id << " could not record: " << c.ToString();
      }
      Defer(std::move(op), ctx.not_before_ms);
      return true;
    }
    LogLine("ops") << "op=" << op.id << " kind=" << op.kind << " id=" << ctx.instance.identifier
                   << " step=" << step.name << " " << (st.ok() ? "ok" : st.ToString()) << " "
                   << (NowMs() - t0) << "ms";
    if (st.ok()) {
      ctx.staged.op_update =
          Mutation::OpUpdate{op.id, op.step + 1, op.step + 1 == n ? "done" : "running", ""};
      st = env_.registry.Commit(std::move(ctx.staged));
      if (!st.ok()) LogLine("ops") << "op=" << op.id << " could not record step: " << st.ToString();
    }
    if (!st.ok()) {
      // A failed step, or a step whose result cannot be recorded: the operation ends here, and
      // the instance shows the outcome (and is free for the next call).
      OpContext fail{
          env_, op, env_.registry.GetInstance(op.resource_id).value_or(InstanceRow{}), {}};
      if (kind.on_failure && env_.registry.ResourceExists(op.resource_id)) {
        try {
          kind.on_failure(fail, st);
        } catch (const std::exception& e) {
          LogLine("ops") << "op=" << op.id << " on_failure threw: " << e.what();
          fail.staged = Mutation{};
        }
      }
      fail.staged.op_update = Mutation::OpUpdate{op.id, op.step, "failed", st.ToString()};
      Status c = env_.registry.Commit(std::move(fail.staged));
      if (!c.ok()) {
        // Even the failure cannot be written (the catalog is broken): record only the end of
        // the operation so the instance is not busy forever.
        LogLine("ops") << "op=" << op.id << " could not record failure: " << c.ToString();
        RecordFailure(op, st.ToString());
      }
      return false;
    }
    op.step++;
  }
  return false;
}

bool OperationEngine::MarkDeferralLogged(int64_t id) {
  std::lock_guard<std::mutex> lock(mutex_);
  return deferral_logged_.insert(id).second;
}

void OperationEngine::RecordFailure(const OperationRow& op, const std::string& why) {
  Mutation m;
  m.op_update = Mutation::OpUpdate{op.id, op.step, "failed", why};
  Status st = env_.registry.Commit(std::move(m));
  if (!st.ok()) {
    LogLine("ops") << "op=" << op.id << " could not record its end (" << why
                   << "): " << st.ToString();
  }
}

}  // namespace localrds
