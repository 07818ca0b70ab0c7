#include "api/fault_rules.h"

#include <algorithm>
#include <cmath>

namespace localrds {
namespace {

Status Bad(const std::string& message) {
  return Status::InvalidParameter("fault rule: " + message);
}

bool IsErrorCode(const std::string& code) {
  return !code.empty() && code.size() <= 64 && std::all_of(code.begin(), code.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.';
  });
}

// The number at `key` of `spec` if it is one, `fallback` when absent; nullopt when not a number.
std::optional<double> Number(const nlohmann::json& spec, const char* key, double fallback) {
  auto it = spec.find(key);
  if (it == spec.end()) return fallback;
  if (!it->is_number()) return std::nullopt;
  return it->get<double>();
}

}  // namespace

nlohmann::json FaultRule::ToJson() const {
  nlohmann::json j = {{"id", id}, {"action", action}};
  if (error) {
    j["error"] = {
        {"code", error->code}, {"http_status", error->http_status}, {"message", error->message}};
    j["count"] = remaining < 0 ? nlohmann::json(nullptr) : nlohmann::json(remaining);
    j["probability"] = probability;
  }
  if (latency_ms > 0) j["latency_ms"] = latency_ms;
  if (rate_per_second > 0) {
    j["rate_per_second"] = rate_per_second;
    j["burst"] = burst;
  }
  return j;
}

FaultRules::FaultRules(const Clock& clock, std::function<bool(const std::string&)> is_action,
                       uint64_t seed)
    : clock_(clock), is_action_(std::move(is_action)), rng_(seed) {}

Result<FaultRule> FaultRules::Add(const nlohmann::json& spec) {
  if (!spec.is_object()) return Bad("the body must be a JSON object");
  FaultRule rule;
  auto action = spec.find("action");
  if (action == spec.end() || !action->is_string()) {
    return Bad("\"action\" (an RDS action, or \"*\") is required");
  }
  rule.action = action->get<std::string>();
  if (rule.action != "*" && !is_action_(rule.action)) {
    return Bad("\"" + rule.action + "\" is not an RDS action");
  }
  if (auto e = spec.find("error"); e != spec.end()) {
    if (!e->is_object()) return Bad("\"error\" must be an object");
    InjectedError err;
    err.code = e->value("code", "");
    if (!IsErrorCode(err.code)) return Bad("\"error.code\" must be an AWS error code");
    auto status = Number(*e, "http_status", 400);
    if (!status || *status < 400 || *status > 599 || *status != std::floor(*status)) {
      return Bad("\"error.http_status\" must be an integer from 400 to 599");
    }
    err.http_status = static_cast<int>(*status);
    auto message = e->find("message");
    if (message != e->end() && !message->is_string()) {
      return Bad("\"error.message\" must be a string");
    }
    err.message = message == e->end() ? "Injected by a localrds fault rule."
                                      : message->get<std::string>().substr(0, 1000);
    rule.error = err;
  }
  auto count = Number(spec, "count", -1);
  if (!count || (*count != -1 && (*count < 1 || *count > 1e6)) || *count != std::floor(*count)) {
    return Bad("\"count\" must be an integer from 1 to 1000000");
  }
  rule.remaining = static_cast<int>(*count);
  auto probability = Number(spec, "probability", 1);
  if (!probability || *probability <= 0 || *probability > 1) {
    return Bad("\"probability\" must be above 0 and at most 1");
  }
  rule.probability = *probability;
  auto latency = Number(spec, "latency_ms", 0);
  if (!latency || *latency < 0 || *latency > 60000) {
    return Bad("\"latency_ms\" must be from 0 to 60000");
  }
  rule.latency_ms = static_cast<int>(*latency);
  auto rate = Number(spec, "rate_per_second", 0);
  if (!rate || *rate < 0 || *rate > 10000) {
    return Bad("\"rate_per_second\" must be from 0 to 10000");
  }
  rule.rate_per_second = *rate;
  auto burst = Number(spec, "burst", 1);
  if (!burst || *burst < 1 || *burst > 10000) return Bad("\"burst\" must be from 1 to 10000");
  rule.burst = *burst;
  if (!rule.error && rule.latency_ms == 0 && rule.rate_per_second == 0) {
    return Bad("a rule needs \"error\", \"latency_ms\" or \"rate_per_second\"");
  }
  if (rule.remaining != -1 && !rule.error) return Bad("\"count\" counts errors: give \"error\"");
  std::lock_guard<std::mutex> lock(mutex_);
  rule.id = next_id_++;
  rule.tokens = rule.burst;
  rule.refilled_ms = clock_.NowMs();
  rules_.push_back(rule);
  return rule;
}

nlohmann::json FaultRules::List() const {
  std::lock_guard<std::mutex> lock(mutex_);
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : rules_) out.push_back(r.ToJson());
  return out;
}

bool FaultRules::Remove(int id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it =
      std::find_if(rules_.begin(), rules_.end(), [&](const FaultRule& r) { return r.id == id; });
  if (it == rules_.end()) return false;
  rules_.erase(it);
  return true;
}

void FaultRules::Clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  rules_.clear();
}

FaultDecision FaultRules::Decide(const std::string& action) {
  FaultDecision d;
  std::lock_guard<std::mutex> lock(mutex_);
  if (rules_.empty()) return d;
  const int64_t now = clock_.NowMs();
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  for (auto it = rules_.begin(); it != rules_.end();) {
    FaultRule& r = *it;
    if (r.action != "*" && r.action != action) {
      ++it;
      continue;
    }
    d.latency_ms += r.latency_ms;
    if (r.rate_per_second > 0 && !d.error) {
      r.tokens = std::min(r.burst, r.tokens + (now - r.refilled_ms) * r.rate_per_second / 1000.0);
      r.refilled_ms = now;
      if (r.tokens >= 1) {
        r.tokens -= 1;
      } else {
        d.error = InjectedError{"Throttling", 400, "Rate exceeded"};  // RDS's own answer
        d.rule_id = r.id;
      }
    }
    if (r.error && !d.error && (r.probability >= 1 || uniform(rng_) < r.probability)) {
      d.error = r.error;
      d.rule_id = r.id;
      if (r.remaining > 0 && --r.remaining == 0) {
        it = rules_.erase(it);
        continue;
      }
    }
    ++it;
  }
  return d;
}

}  // namespace localrds
