// FaultRules: errors, latency and throttling injected into the Query API on purpose, so that
// disaster-recovery code and SDK retry logic can be rehearsed against the failures AWS produces.
// Managed through the /_localrds/faults control (README, "Emulator controls"); kept in memory
// only (a restart or /_localrds/reset clears them).
//
// A rule names an action (or "*") and any of:
//   - an error (code, HTTP status, message) answered instead of running the action, `count`
//     times (then the rule is gone) or with a `probability`;
//   - `latency_ms` added before the answer;
//   - `rate_per_second` (with `burst`): a token bucket per rule; a request over the rate gets
//     RDS's own throttling answer, 400 Throttling "Rate exceeded", which the SDKs retry.
// Thread-safe (one mutex); time comes from a Clock.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace localrds {

//! An error to answer: the AWS code (any, e.g. "Throttling"), its HTTP status and message.
struct InjectedError {
  std::string code;
  int http_status = 400;
  std::string message;
};

struct FaultRule {
  int id = 0;
  std::string action;  //!< an RDS action, or "*" for every one
  std::optional<InjectedError> error;
  int remaining = -1;        //!< answers with `error` left; -1: no limit
  double probability = 1.0;  //!< of `error` for each matching request
  int latency_ms = 0;
  double rate_per_second = 0;  //!< > 0: throttle to this rate
  double burst = 1;            //!< the bucket's size
  // The bucket: tokens left at `refilled_ms`.
  double tokens = 0;
  int64_t refilled_ms = 0;

  nlohmann::json ToJson() const;
};

//! What to do with one request: wait `latency_ms`, then answer `error` if set, else run it.
struct FaultDecision {
  int latency_ms = 0;
  std::optional<InjectedError> error;
  int rule_id = 0;  //!< the rule that gave the error
};

class FaultRules {
 public:
  //! `is_action(name)` says whether `name` is an RDS action (for validating rules).
  explicit FaultRules(const Clock& clock, std::function<bool(const std::string&)> is_action,
                      uint64_t seed = std::random_device{}());

  //! Validates and adds a rule from the control's JSON body; InvalidParameterValue otherwise.
  Result<FaultRule> Add(const nlohmann::json& spec);
  //! The rules, in the order they were added.
  nlohmann::json List() const;
  //! Removes rule `id` (false when there is none) or every rule.
  bool Remove(int id);
  void Clear();
  //! Decides for one request of `action`, consuming a count or a token where a rule fires.
  FaultDecision Decide(const std::string& action);

 private:
  const Clock& clock_;
  const std::function<bool(const std::string&)> is_action_;
  mutable std::mutex mutex_;  //!< guards rules_, next_id_, rng_
  std::vector<FaultRule> rules_;
  int next_id_ = 1;
  std::mt19937_64 rng_;
};

}  // namespace localrds
