// HaMonitor: the Multi-AZ health monitor. Every pass looks at each available Multi-AZ primary
// whose standby is in sync: a primary whose server is gone, or that has not answered `SELECT 1`
// for `hung_after`, is failed over (the failover operation fences it first). Probes run on the
// executor's pool, one at a time per primary, each bounded by `probe_timeout`.
//
// Thread-safety: thread-safe. `mutex_` guards the health figures and the retry times. It is a
// leaf (see the lock order in emulator/service/control_plane.h): while holding it nothing else is
// locked or called. Borrows everything it is given.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "common/clock.h"
#include "emulator/background/executor.h"
#include "emulator/engine/servers.h"
#include "emulator/engine/starter.h"
#include "emulator/state/registry.h"

namespace localrds {

struct HaConfig {
  std::chrono::milliseconds monitor_interval{20};  //!< how often every primary is looked at
  std::chrono::milliseconds probe_interval{500};   //!< how often each is asked SELECT 1
  std::chrono::milliseconds probe_timeout{1000};   //!< how long one probe may take
  std::chrono::milliseconds hung_after{3000};      //!< no answer for this long: a failover
};

class HaMonitor {
 public:
  HaMonitor(Registry& registry, InstanceServers& servers, PgRuntime& runtime,
            OperationStarter& starter, Executor& executor, const Clock& clock, HaConfig config);

  //! One pass; returns what it did, as a sentence ("" when nothing).
  std::string MonitorPrimariesOnce();
  //! True at most once every 30 s per instance (5 s while a failover is pending): when a
  //! standby build, or a failover that failed after fencing, may be tried again.
  bool StandbyRetryDue(const InstanceRow& row);
  //! Whether a probe the monitor sent is still waiting for its answer (or its timeout): a test
  //! on a FakeClock waits for none before it moves the clock.
  bool ProbeInFlight() const;
  const HaConfig& config() const { return config_; }

 private:
  //! What the monitor knows of each Multi-AZ primary (in memory: a restart starts over).
  struct PrimaryHealth {
    int64_t last_ok_ms = 0;  //!< last answer (or when this server was first seen)
    int64_t last_probe_ms = 0;
    bool probing = false;  //!< a probe runs on the executor
    int server_pid = 0;    //!< the postmaster these figures are about
  };
  //! Why the primary of `row` must fail over ("" when it is healthy); may start a probe.
  std::string Diagnose(const InstanceRow& row, int64_t now);

  Registry& registry_;
  InstanceServers& servers_;
  PgRuntime& runtime_;
  OperationStarter& starter_;
  Executor& executor_;
  const Clock& clock_;
  const HaConfig config_;
  mutable std::mutex mutex_;                      //!< guards health_ and standby_retry_
  std::map<std::string, PrimaryHealth> health_;   //!< by resource id
  std::map<std::string, int64_t> standby_retry_;  //!< when a standby build may next be retried
};

}  // namespace localrds
