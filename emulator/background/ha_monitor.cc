#include "emulator/background/ha_monitor.h"

#include <algorithm>
#include <set>

#include "emulator/core/instance_state.h"

namespace localrds {

HaMonitor::HaMonitor(Registry& registry, InstanceServers& servers, PgRuntime& runtime,
                     OperationStarter& starter, Executor& executor, const Clock& clock,
                     HaConfig config)
    : registry_(registry),
      servers_(servers),
      runtime_(runtime),
      starter_(starter),
      executor_(executor),
      clock_(clock),
      config_(config) {}

std::string HaMonitor::Diagnose(const InstanceRow& row, int64_t now) {
  const ServerSpec spec = servers_.Server(row);
  if (!runtime_.IsRunning(spec)) return "the primary's PostgreSQL server is gone";
  const int pid = runtime_.PostmasterPid(spec);
  std::lock_guard<std::mutex> lock(mutex_);
  PrimaryHealth& h = health_[row.resource_id];
  if (h.last_ok_ms == 0 || h.server_pid != pid) h = PrimaryHealth{now, 0, false, pid};  // new
  if (now - h.last_ok_ms > config_.hung_after.count()) {
    return "the primary has not answered for " + std::to_string(now - h.last_ok_ms) + " ms";
  }
  if (!h.probing && now - h.last_probe_ms >= config_.probe_interval.count()) {
    h.probing = true;
    h.last_probe_ms = now;
    executor_.Post([this, spec, rid = row.resource_id] {
      Status st = runtime_.Probe(spec, config_.probe_timeout);
      std::lock_guard<std::mutex> lock(mutex_);
      PrimaryHealth& health = health_[rid];
      health.probing = false;
      if (st.ok()) health.last_ok_ms = clock_.NowMs();
    });
  }
  return "";
}

std::string HaMonitor::MonitorPrimariesOnce() {
  const int64_t now = clock_.NowMs();
  std::vector<InstanceRow> rows;
  for (auto& row : registry_.IdleInstances()) {
    // No failover to a standby that an outage drill took down too (nor in a Region out: its
    // control plane is down with it).
    if (CanFailOver(row) && !StandbyOut(registry_.outages(), row)) rows.push_back(std::move(row));
  }
  std::string said;
  std::set<std::string> watched;
  for (const auto& row : rows) {
    watched.insert(row.resource_id);
    const std::string why = Diagnose(row, now);
    if (why.empty()) continue;
    bool started = false;
    {
      Registry::Locked r = registry_.Lock();
      auto current = r.instances().find(row.resource_id);
      started = current != r.instances().end() && !r.active_ops().count(row.resource_id) &&
                CanFailOver(current->second) &&
                starter_.StartFailover(r, current->second, false, why).ok();
    }
    if (started) {
      said += "failing over " + row.identifier + ": " + why + ". ";
      std::lock_guard<std::mutex> health(mutex_);
      health_.erase(row.resource_id);
    }
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = health_.begin(); it != health_.end();) {
      it = watched.count(it->first) || it->second.probing ? std::next(it) : health_.erase(it);
    }
  }
  if (!said.empty()) said.pop_back();
  return said;
}

bool HaMonitor::ProbeInFlight() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return std::any_of(health_.begin(), health_.end(),
                     [](const auto& kv) { return kv.second.probing; });
}

bool HaMonitor::StandbyRetryDue(const InstanceRow& row) {
  // A pending failover leaves the endpoint unserved: it is tried again every 5 s.
  const int64_t interval = FailoverPending(row) ? 5'000 : 30'000;
  const int64_t now = clock_.NowMs();
  std::lock_guard<std::mutex> lock(mutex_);
  int64_t& next = standby_retry_[row.resource_id];
  if (now < next) return false;
  next = now + interval;
  return true;
}

}  // namespace localrds
