// Clock: where localrds' background work reads the time, so that tests can move it.
//
// The reconciler (a stopped instance starts again after 7 days), the backup scheduler (the daily
// window, retention), the health monitor (how long a primary has not answered), the replication
// monitor (30 days of errors) and the WAL shipper take a Clock. SystemClock is the real one;
// FakeClock (tests) only moves when told. Both are thread-safe.
#pragma once

#include <atomic>
#include <cstdint>

#include "common/time_util.h"

namespace localrds {

class Clock {
 public:
  virtual ~Clock() = default;
  //! Milliseconds since the Unix epoch.
  virtual int64_t NowMs() const = 0;
};

class SystemClock : public Clock {
 public:
  int64_t NowMs() const override { return ::localrds::NowMs(); }
  //! The one instance localrds uses.
  static const Clock& Get() {
    static const SystemClock clock;
    return clock;
  }
};

class FakeClock : public Clock {
 public:
  explicit FakeClock(int64_t start_ms = ::localrds::NowMs()) : now_ms_(start_ms) {}
  int64_t NowMs() const override { return now_ms_.load(); }
  void Advance(int64_t ms) { now_ms_.fetch_add(ms); }
  void Set(int64_t ms) { now_ms_.store(ms); }

 private:
  std::atomic<int64_t> now_ms_;
};

}  // namespace localrds
