// Eventually: the tests' wait for a condition — a deadline with a growing poll interval (1 ms up
// to 50 ms), never a fixed sleep. For any test thread.
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <thread>

namespace localrds {

//! Polls `done` until it holds (true) or `timeout` passes (false).
inline bool Eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto backoff = std::chrono::milliseconds(1);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(50));
  }
  return true;
}

}  // namespace localrds
