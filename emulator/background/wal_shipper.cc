#include "emulator/background/wal_shipper.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include "common/log.h"
#include "emulator/core/instance_state.h"

namespace localrds {
namespace fs = std::filesystem;
namespace {

// A commit takes its timestamp just before its WAL record is written: LatestRestorableTime stays
// this far behind the moment of a switch, so that every commit stamped before it is archived.
constexpr int64_t kCommitStampMarginMs = 1000;

// Statuses in which the server is a writable primary that archives. A replica archives what it
// replays (archive_mode = always) but cannot switch WAL: its restorable time is its newest base.
bool Archiving(const InstanceRow& row) {
  static constexpr DbStatus kStatuses[] = {DbStatus::kAvailable, DbStatus::kBackingUp,
                                           DbStatus::kModifying, DbStatus::kRenaming,
                                           DbStatus::kStorageFull};
  return row.attrs.value("BackupRetentionPeriod", 0) > 0 && !IsReplica(row) &&
         std::find(std::begin(kStatuses), std::end(kStatuses), row.status) != std::end(kStatuses);
}

int64_t NewestWalChangeNs(const fs::path& pg_wal) {
  int64_t newest = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(pg_wal, ec)) {
    struct stat st {};
    if (stat(e.path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    newest = std::max<int64_t>(newest, st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec);
  }
  return newest;
}

}  // namespace

std::string WalShipper::ShipWalOnce() {
  std::vector<InstanceRow> rows;
  for (auto& row : registry_.Instances()) {
    if (Archiving(row)) rows.push_back(std::move(row));
  }
  std::lock_guard<std::mutex> ship_lock(mutex_);
  for (auto it = ship_.begin(); it != ship_.end();) {  // forget instances that went away
    bool live = std::any_of(rows.begin(), rows.end(),
                            [&](const InstanceRow& r) { return r.resource_id == it->first; });
    it = live ? std::next(it) : ship_.erase(it);
  }
  for (const auto& row : rows) {
    // Under a timing profile LatestRestorableTime trails now by about RDS's five minutes
    // (scaled): WAL is switched at most that often, and an idle instance's stays that far behind.
    const int64_t lag =
        EffectiveTiming(row, registry_.config().timing).DurationMs(TimedWork::kRestoreLag);
    const int64_t interval = std::max<int64_t>(interval_.count(), lag);
    const int64_t behind = std::max<int64_t>(kCommitStampMarginMs, lag);
    ServerSpec spec = servers_.Server(row);
    if (!runtime_.IsRunning(spec) || runtime_.IsPaused(spec)) continue;
    ShipState& st = ship_[row.resource_id];
    const fs::path archive = layout_.ArchiveDir(row.resource_id);
    const int64_t now = clock_.NowMs();
    if (!st.pending_segment.empty()) {
      if (fs::exists(archive / (st.pending_segment + ".gz"))) {
        registry_.AdvanceRestorableUntil(row.resource_id, st.pending_until_ms, true);
        st.pending_segment.clear();
      } else if (now - st.last_switch_ms > 120000) {
        LogLine("wal") << row.identifier << ": segment " << st.pending_segment
                       << " is still not archived; see the server log";
        st.pending_segment.clear();
      }
      continue;
    }
    // Cheap test first: has the server written any WAL since the last look? A commit writes
    // WAL, so when nothing was written and every earlier commit is archived, everything up to
    // now is restorable (an idle instance's LatestRestorableTime keeps up, as on RDS).
    const int64_t changed = NewestWalChangeNs(spec.pgdata / "pg_wal");
    if (changed == st.wal_mtime_ns) {
      if (st.confirmed) {
        registry_.AdvanceRestorableUntil(row.resource_id, now - behind,
                                         now - st.last_persist_ms > interval);
        if (now - st.last_persist_ms > interval) st.last_persist_ms = now;
      }
      continue;
    }
    if (now - st.last_switch_ms < interval) continue;  // at most one switch per interval
    st.wal_mtime_ns = changed;
    const int64_t query_ms = clock_.NowMs();
    auto xid = runtime_.QueryValue(spec, "postgres", "SELECT (pg_last_committed_xact()).xid::text");
    if (!xid.ok()) continue;
    if (*xid == st.committed_xid || xid->empty()) {
      // WAL without a new commit (checkpoints, standby snapshots, our own switch) needs no
      // archiving: switching for it would itself write WAL and never let an idle instance
      // rest. The commit a switch archived is visible here, so everything before this query
      // (less the margin) is restorable.
      st.confirmed = true;
      registry_.AdvanceRestorableUntil(row.resource_id, query_ms - behind, true);
      st.last_persist_ms = now;
      continue;
    }
    const int64_t switch_ms = clock_.NowMs();
    auto segment = runtime_.QueryValue(spec, "postgres", "SELECT pg_walfile_name(pg_switch_wal())");
    if (!segment.ok() || segment->empty()) continue;
    st.confirmed = false;
    st.committed_xid = *xid;
    st.pending_segment = *segment;
    st.pending_until_ms = switch_ms - kCommitStampMarginMs;
    st.last_switch_ms = switch_ms;
  }
  return "";
}

}  // namespace localrds
