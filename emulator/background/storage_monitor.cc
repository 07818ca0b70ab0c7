#include "emulator/background/storage_monitor.h"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "common/log.h"
#include "emulator/core/instance_state.h"
#include "storage/disk_usage.h"

namespace localrds {
namespace {

bool Watched(DbStatus status) {
  return status == DbStatus::kAvailable || status == DbStatus::kStorageFull;
}

// The instance `rid` as the catalog has it now, when the monitor may still act on it (it exists,
// no operation runs on it, its status is one the monitor watches); null otherwise.
const InstanceRow* StillWatched(Registry::Locked& r, const std::string& rid) {
  auto it = r.instances().find(rid);
  if (it == r.instances().end() || r.active_ops().count(rid) || !Watched(it->second.status)) {
    return nullptr;
  }
  return &it->second;
}

std::string Gib(double bytes) {
  char out[32];
  std::snprintf(out, sizeof out, "%.2f", bytes / static_cast<double>(kGiB));
  return out;
}

}  // namespace

int64_t ScaledMs(int64_t ms, int64_t unit_bytes) {
  return static_cast<int64_t>(static_cast<long double>(ms) * unit_bytes / kGiB);
}

int64_t AutoscaleTarget(int64_t allocated, int64_t max_allocated) {
  const int64_t step = std::max<int64_t>(10, (allocated + 9) / 10);
  const int64_t target = std::min(allocated + step, max_allocated);
  return target > allocated ? target : 0;
}

int64_t NextMeasureMs(int64_t measured_ms, int64_t headroom_bytes) {
  constexpr int64_t kFastestWriterBytesPerSecond = kGiB;
  const int64_t fill_ms = static_cast<int64_t>(static_cast<long double>(headroom_bytes) * 1000 /
                                               kFastestWriterBytesPerSecond);
  if (fill_ms <= 2000) return 0;
  return measured_ms + std::min<int64_t>(fill_ms - 1000, 30000);
}

StorageDecision DecideStorage(const StorageView& v) {
  StorageDecision d;
  const int64_t allocated_bytes = v.allocated * v.unit_bytes;
  d.full = v.used_bytes > allocated_bytes;
  d.above_90 =
      static_cast<long double>(v.used_bytes) * 10 > static_cast<long double>(allocated_bytes) * 9;
  d.low = static_cast<long double>(allocated_bytes - v.used_bytes) * 10 <=
          static_cast<long double>(allocated_bytes);
  // "Free available space is less than or equal to 10 percent of the allocated storage. The
  // low-storage condition lasts at least five minutes. At least six hours have passed since the
  // last storage modification" (User Guide, USER_PIOPS.Autoscaling).
  const bool low_long_enough =
      d.low && v.low_since_ms > 0 &&
      v.now_ms - v.low_since_ms >= ScaledMs(kAutoscaleLowForMs, v.unit_bytes);
  const bool cooled_down = v.modified_ms == 0 ||
                           v.now_ms - v.modified_ms >= ScaledMs(kAutoscaleCooldownMs, v.unit_bytes);
  if (v.max_allocated > v.allocated && low_long_enough && cooled_down) {
    d.autoscale_to = AutoscaleTarget(v.allocated, v.max_allocated);
  }
  return d;
}

std::string LowStorageMessage(const std::string& identifier, int64_t used_bytes, int64_t allocated,
                              int64_t unit_bytes) {
  const double allocated_bytes = static_cast<double>(allocated) * unit_bytes;
  const double free_bytes = std::max(0.0, allocated_bytes - static_cast<double>(used_bytes));
  char pct[16];
  std::snprintf(pct, sizeof pct, "%.2f",
                allocated_bytes > 0 ? 100 * free_bytes / allocated_bytes : 0.0);
  return "The free storage capacity for DB instance: " + identifier + " is low at " + pct +
         "% of the provisioned storage [Provisioned Storage: " + Gib(allocated_bytes) +
         " GB, Free Storage: " + Gib(free_bytes) +
         " GB]. You may want to increase the provisioned storage to address this issue.";
}

StorageMonitor::StorageMonitor(Registry& registry, InstanceServers& servers, PgRuntime& runtime,
                               OperationStarter& starter, const Clock& clock, StorageConfig config)
    : registry_(registry),
      servers_(servers),
      runtime_(runtime),
      starter_(starter),
      clock_(clock),
      config_(std::move(config)) {}

std::optional<StorageSeen> StorageMonitor::LastSeen(const std::string& resource_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = seen_.find(resource_id);
  if (it == seen_.end()) return std::nullopt;
  return it->second;
}

std::string StorageMonitor::MonitorStorageOnce() {
  std::vector<InstanceRow> rows;
  {
    Registry::Locked r = registry_.Lock();
    for (const auto& [rid, row] : r.instances()) {
      // A read replica's storage is not watched (README): it cannot write anyway, and its
      // replay is not stopped.
      if (IsReplica(row) || !Watched(row.status) || row.desired_state != "running" ||
          r.active_ops().count(rid)) {
        continue;
      }
      rows.push_back(row);
    }
  }
  const int64_t now = clock_.NowMs();
  std::string said;
  for (const auto& row : rows) said += CheckInstance(row, now);
  if (!said.empty()) said.pop_back();
  return said;
}

std::string StorageMonitor::CheckInstance(const InstanceRow& row, int64_t now) {
  const ServerSpec spec = servers_.Server(row);
  if (!runtime_.IsRunning(spec) || runtime_.IsPaused(spec)) return "";
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto seen = seen_.find(row.resource_id);
    auto applied = applied_.find(row.resource_id);
    // Nothing to do until it is due, unless the status or the servers' setting must follow the
    // catalog (a storage change, a restart).
    if (seen != seen_.end() && now < seen->second.next_ms &&
        seen->second.allocated_bytes ==
            row.attrs.value("AllocatedStorage", int64_t{0}) * config_.unit_bytes &&
        !StorageFull(row) && row.status == DbStatus::kAvailable && applied != applied_.end() &&
        !applied->second) {
      return "";
    }
  }
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t used = config_.measure ? config_.measure(spec)
                                       : MeasureDiskUsage(spec.pgdata).bytes +
                                             MeasureDiskUsage(spec.log_file).bytes +
                                             MeasureDiskUsage(spec.log_dir).bytes;
  const auto walk =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0);
  StorageView view;
  view.used_bytes = used;
  view.allocated = row.attrs.value("AllocatedStorage", int64_t{0});
  view.max_allocated = row.attrs.value("MaxAllocatedStorage", int64_t{0});
  view.unit_bytes = config_.unit_bytes;
  view.modified_ms = StorageModifiedMs(row);
  view.now_ms = now;
  bool apply = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const int64_t allocated_bytes = view.allocated * config_.unit_bytes;
    seen_[row.resource_id] =
        StorageSeen{used, allocated_bytes, now, NextMeasureMs(now, allocated_bytes - used), walk};
    auto low = low_since_.find(row.resource_id);
    view.low_since_ms = low == low_since_.end() ? now : low->second;
    auto it = applied_.find(row.resource_id);
    apply = it == applied_.end() || it->second != StorageFull(row);
  }
  const StorageDecision decision = DecideStorage(view);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (decision.low) {
      low_since_.emplace(row.resource_id, now);
    } else {
      low_since_.erase(row.resource_id);
    }
  }
  if (apply) {
    // The server's setting follows the catalog: once after every start of localrds (a full
    // instance stays enforced), and after a pass that changed the setting but not the catalog.
    Status st = servers_.ApplyStorageFull(row);
    if (!st.ok()) {
      LogLine("storage") << "cannot apply localrds.storage_full to " << row.identifier << ": "
                         << st.ToString();
      return "";
    }
    std::lock_guard<std::mutex> lock(mutex_);
    applied_[row.resource_id] = StorageFull(row);
  }
  if (decision.autoscale_to > 0) return Autoscale(row, decision.autoscale_to);
  return Record(row, decision, used);
}

std::string StorageMonitor::Autoscale(const InstanceRow& row, int64_t target) {
  Registry::Locked r = registry_.Lock();
  const InstanceRow* current = StillWatched(r, row.resource_id);
  if (!current) return "";
  InstanceRow updated = *current;
  const int64_t was = updated.attrs.value("AllocatedStorage", int64_t{0});
  updated.status = DbStatus::kModifying;
  nlohmann::json params = {{"attrs", {{"AllocatedStorage", target}}}, {"autoscale", true}};
  auto started = starter_.Start(r, updated, OpKind::kModify, std::move(params),
                                {registry_.MakeEvent(updated, rds_events::kStorageAutoscaling)});
  if (!started.ok()) {
    LogLine("storage") << "cannot autoscale " << row.identifier << ": "
                       << started.status().ToString();
    return "";
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    low_since_.erase(row.resource_id);
  }
  return "autoscaling the storage of " + row.identifier + " from " + std::to_string(was) + " to " +
         std::to_string(target) + ". ";
}

std::string StorageMonitor::Record(const InstanceRow& row, const StorageDecision& decision,
                                   int64_t used) {
  InstanceRow current;
  {
    Registry::Locked r = registry_.Lock();
    const InstanceRow* now = StillWatched(r, row.resource_id);
    if (!now) return "";
    current = *now;
  }
  if (StorageFull(current) != decision.full) {
    // The servers first: once the status says storage-full, writes fail; once it says
    // available again, they work.
    InstanceRow next = current;
    SetStorageFull(next.attrs, decision.full);
    Status st = servers_.ApplyStorageFull(next);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (st.ok()) {
        applied_[row.resource_id] = decision.full;
      } else {
        applied_.erase(row.resource_id);  // the next pass applies the catalog's setting again
      }
    }
    if (!st.ok()) {
      LogLine("storage") << "cannot apply localrds.storage_full to " << row.identifier << ": "
                         << st.ToString();
      return "";
    }
  }
  Registry::Locked r = registry_.Lock();
  const InstanceRow* live = StillWatched(r, row.resource_id);
  if (!live) return "";  // the next pass makes the servers' setting follow the catalog again
  InstanceRow updated = *live;
  const bool was_full = StorageFull(updated);
  SetStorageFull(updated.attrs, decision.full);
  updated.status = decision.full ? DbStatus::kStorageFull : DbStatus::kAvailable;
  Mutation m;
  std::string said;
  if (decision.above_90 && !StorageLowWarned(updated)) {
    SetStorageLowWarned(updated.attrs, true);
    const int64_t allocated = updated.attrs.value("AllocatedStorage", int64_t{0});
    m.events.push_back(registry_.MakeEvent(
        updated, rds_events::kStorageLow,
        LowStorageMessage(updated.identifier, used, allocated, config_.unit_bytes)));
    said += row.identifier + " has used more than 90% of its storage. ";
  } else if (!decision.above_90 && StorageLowWarned(updated)) {
    SetStorageLowWarned(updated.attrs, false);
  }
  if (decision.full && !was_full) {
    m.events.push_back(registry_.MakeEvent(updated, rds_events::kStorageExhausted));
    said += row.identifier + "'s storage is full: writes fail. ";
  } else if (!decision.full && was_full) {
    said += row.identifier + "'s storage is no longer full. ";
  }
  if (updated.status == live->status && updated.attrs == live->attrs) return said;
  m.put.push_back(updated);
  LogIfFailed(r.Commit(m), "storage", "cannot record the storage of " + row.identifier);
  return said;
}

}  // namespace localrds
