// StorageMonitor: makes a DB instance's storage fill as on RDS. Once a pass it measures every
// running primary's data directory and server log (what they take on disk: tables, indexes,
// WAL, temporary files, the log — RDS counts everything on the instance's volume; archived WAL
// and snapshots live outside it, as RDS keeps them in S3) against AllocatedStorage, and:
//  - above 90% used, sends RDS-EVENT-0089 (once per crossing);
//  - past 100%, turns localrds.storage_full on in the servers (pgext/localrds_guard.c refuses
//    writes with PostgreSQL's disk-full error) and then sets the status storage-full with
//    RDS-EVENT-0007; back under it (data deleted by a superuser, or storage added), the reverse;
//  - with MaxAllocatedStorage above AllocatedStorage, autoscales as RDS does: free space at most
//    10% of the allocation for 5 minutes, 6 hours after the last storage change, by the greater
//    of 10 units and 10% of the allocation, never above MaxAllocatedStorage (a "modify"
//    operation with RDS-EVENT-0217 and RDS-EVENT-0218).
// AllocatedStorage counts units of `unit_bytes` (1 GiB as on RDS; smaller for drills), and the
// autoscaling waits scale with the unit (at 1 MiB, 5 minutes are 0.3 s and 6 hours 21 s), so that
// a drill fills, and autoscales, in seconds what RDS does in hours.
//
// Thread-safety: thread-safe; `mutex_` (a leaf) guards what the passes remember. Borrows
// everything it is given. A pass calls PostgreSQL and walks directories: never on an io_context
// thread, never holding the registry's lock.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "common/clock.h"
#include "emulator/engine/servers.h"
#include "emulator/engine/starter.h"
#include "emulator/state/registry.h"

namespace localrds {

inline constexpr int64_t kGiB = 1LL << 30;

struct StorageConfig {
  //! The bytes of one unit of AllocatedStorage (RDS: 1 GiB).
  int64_t unit_bytes = kGiB;
  //! What the storage of a server is; null: its data directory's and its log's size on disk.
  std::function<int64_t(const ServerSpec&)> measure;
};

//! What one pass knows about an instance's storage.
struct StorageView {
  int64_t used_bytes = 0;
  int64_t allocated = 0;      //!< AllocatedStorage, in units
  int64_t max_allocated = 0;  //!< MaxAllocatedStorage (0: no autoscaling)
  int64_t unit_bytes = kGiB;
  int64_t low_since_ms = 0;  //!< since when free space has been at most 10% (0: it is not)
  int64_t modified_ms = 0;   //!< the last storage change (0: none)
  int64_t now_ms = 0;
};

//! What the monitor makes of it.
struct StorageDecision {
  bool full = false;         //!< used > allocated: writes fail, status storage-full
  bool above_90 = false;     //!< RDS-EVENT-0089's condition
  bool low = false;          //!< free space at most 10% of the allocation (autoscaling's)
  int64_t autoscale_to = 0;  //!< a new AllocatedStorage to apply now (0: none)
};

//! RDS's autoscaling waits, in ms at 1 GiB units, and `ms` scaled to units of `unit_bytes`.
inline constexpr int64_t kAutoscaleLowForMs = 5LL * 60 * 1000;
inline constexpr int64_t kAutoscaleCooldownMs = 6LL * 3600 * 1000;
int64_t ScaledMs(int64_t ms, int64_t unit_bytes);
//! The AllocatedStorage autoscaling grows `allocated` to: by the greater of 10 units and 10%
//! (rounded up), capped at `max_allocated`; 0 when it cannot grow.
int64_t AutoscaleTarget(int64_t allocated, int64_t max_allocated);
StorageDecision DecideStorage(const StorageView& view);
//! When an instance measured at `measured_ms` with `headroom_bytes` left must be measured again:
//! at the next pass, unless it is so far from full that a writer at 1 GiB/s (faster than this
//! machine's disks) would need more than 2 s to fill it; then 1 s before such a writer could
//! have, and at most 30 s later. This keeps the walks of idle, roomy instances rare.
int64_t NextMeasureMs(int64_t measured_ms, int64_t headroom_bytes);
//! RDS-EVENT-0089's message for `identifier`.
std::string LowStorageMessage(const std::string& identifier, int64_t used_bytes, int64_t allocated,
                              int64_t unit_bytes);

//! What the last pass saw of an instance.
struct StorageSeen {
  int64_t used_bytes = 0;
  int64_t allocated_bytes = 0;
  int64_t measured_ms = 0;
  int64_t next_ms = 0;                //!< when to measure it again (NextMeasureMs)
  std::chrono::microseconds walk{0};  //!< what measuring it cost
};

class StorageMonitor {
 public:
  StorageMonitor(Registry& registry, InstanceServers& servers, PgRuntime& runtime,
                 OperationStarter& starter, const Clock& clock, StorageConfig config);

  //! One pass; returns what it did, as a sentence ("" when nothing).
  std::string MonitorStorageOnce();
  //! What the last pass saw of the instance `resource_id`.
  std::optional<StorageSeen> LastSeen(const std::string& resource_id);
  const StorageConfig& config() const { return config_; }

 private:
  //! Measures one instance and acts on what it finds; says what it did.
  std::string CheckInstance(const InstanceRow& row, int64_t now);
  //! Starts an autoscaling "modify" operation to `target` units; says so when it did.
  std::string Autoscale(const InstanceRow& row, int64_t target);
  //! Records `decision` (full or not, the 90% warning): the servers' setting first, then the
  //! status and the events; says what changed.
  std::string Record(const InstanceRow& row, const StorageDecision& decision, int64_t used);

  Registry& registry_;
  InstanceServers& servers_;
  PgRuntime& runtime_;
  OperationStarter& starter_;
  const Clock& clock_;
  const StorageConfig config_;
  std::mutex mutex_;                          //!< guards the maps below
  std::map<std::string, StorageSeen> seen_;   //!< by resource id
  std::map<std::string, int64_t> low_since_;  //!< by resource id: free space low since (ms)
  //! by resource id: the localrds.storage_full this localrds last applied to the server (none
  //! after a restart: the first pass applies the catalog's, so a full instance stays enforced).
  std::map<std::string, bool> applied_;
};

}  // namespace localrds
