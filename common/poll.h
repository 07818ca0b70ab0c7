// PollUntil: the one way localrds waits for something that cannot tell it when it happens (a
// server's pid file, a query's answer, a walsender letting go of a slot): a deadline, and a
// sleep between attempts that starts short and doubles up to a cap. Never a bare sleep.
// Header-only; thread-safe (it blocks only the calling thread).
#pragma once

#include <algorithm>
#include <chrono>
#include <thread>

namespace localrds {

struct Backoff {
  std::chrono::microseconds first{500};  //!< the first sleep
  std::chrono::microseconds max{5000};   //!< sleeps double up to this
};

//! Calls `attempt` until it returns true (then true) or `timeout` has passed (then false).
template <class F>
bool PollUntil(F&& attempt, std::chrono::milliseconds timeout, Backoff backoff = {}) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto sleep = backoff.first;
  for (;;) {
    if (attempt()) return true;
    if (std::chrono::steady_clock::now() + sleep > deadline) return false;
    std::this_thread::sleep_for(sleep);
    sleep = std::min(sleep * 2, backoff.max);
  }
}

}  // namespace localrds
