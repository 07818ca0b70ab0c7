#include "emulator/background/backup_scheduler.h"

#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "common/log.h"
#include "emulator/core/instance_state.h"
#include "emulator/postgres/backup_files.h"

namespace localrds {
namespace fs = std::filesystem;
namespace {

constexpr int64_t kDayMs = 24LL * 3600 * 1000;

// "hh24:mi-hh24:mi" → [start, end) minutes of the day.
std::pair<int, int> WindowMinutes(const std::string& w) {
  int h1 = 0, m1 = 0, h2 = 0, m2 = 0;
  std::sscanf(w.c_str(), "%d:%d-%d:%d", &h1, &m1, &h2, &m2);
  return {h1 * 60 + m1, h2 * 60 + m2};
}

}  // namespace

std::string BackupScheduler::ScheduleBackups(Registry::Locked& r, int64_t now_ms) {
  std::string said;
  const int minute_of_day = static_cast<int>((now_ms % kDayMs) / 60000);
  const int64_t day_start = now_ms - now_ms % kDayMs;
  std::vector<InstanceRow> due;
  for (const auto& [rid, row] : r.instances()) {
    if (row.status != DbStatus::kAvailable || r.active_ops().count(rid) ||
        row.attrs.value("BackupRetentionPeriod", 0) <= 0 ||
        PrimaryOut(registry_.outages(), row)) {  // an outage drill: no server to back up
      continue;
    }
    auto [start, end] = WindowMinutes(row.attrs.value("PreferredBackupWindow", "00:00-00:30"));
    bool open = start <= end ? (minute_of_day >= start && minute_of_day < end)
                             : (minute_of_day >= start || minute_of_day < end);
    if (!open) continue;
    // When the window opened (yesterday, for a window across midnight that we are past).
    int64_t opened = day_start + start * 60000LL;
    if (opened > now_ms) opened -= kDayMs;
    bool done = false;
    for (const auto& [id, snap] : r.snapshots()) {
      if (snap.type == "automated" && snap.dbi_resource_id == rid && snap.created_ms >= opened) {
        done = true;
      }
    }
    if (!done) due.push_back(row);
  }
  for (auto row : due) {
    if (starter_.StartBackup(r, row).ok()) {
      said += "started the daily backup of " + row.identifier + ". ";
    }
  }
  return said;
}

std::string BackupScheduler::ExpireBackups(int64_t now_ms) {
  // Whose backups expire, with their retention: live instances that run, and retained backups.
  std::map<std::string, std::pair<std::string, int>> owners;  // rid -> (identifier, days)
  {
    Registry::Locked r = registry_.Lock();
    for (const auto& [rid, row] : r.instances()) {
      // Time spent stopped does not count toward retention (RDS User Guide).
      if (row.status == DbStatus::kStopped || r.active_ops().count(rid)) continue;
      int days = row.attrs.value("BackupRetentionPeriod", 0);
      if (days > 0) owners[rid] = {row.identifier, days};
    }
    for (const auto& [rid, ret] : r.retained()) {
      owners[rid] = {ret.instance.identifier, ret.instance.attrs.value("BackupRetentionPeriod", 1)};
    }
  }
  std::string said;
  for (const auto& [rid, who] : owners) {
    auto autos = registry_.AutomatedSnapshotsOf(rid);
    std::vector<SnapshotRow> available;
    for (const auto& s : autos) {
      if (s.status == "available") available.push_back(s);
    }
    if (available.empty()) continue;
    const int64_t cutoff = now_ms - who.second * kDayMs;
    Mutation m;
    for (size_t i = 0; i + 1 < available.size(); ++i) {  // the newest one always stays
      if (available[i].created_ms < cutoff) m.remove_snapshots.push_back(available[i].id);
    }
    bool retained_gone = false;
    {
      Registry::Locked r = registry_.Lock();
      // A retained backup whose newest snapshot is past retention is gone entirely.
      // (A replicated copy stays while it replicates: its source keeps sending new ones.)
      if (r.retained().count(rid) &&
          BackupReplicationStatus(r.retained().at(rid).instance) == "retained" &&
          available.back().created_ms < cutoff) {
        m.remove_snapshots.push_back(available.back().id);
        m.remove_retained.push_back(rid);
        retained_gone = true;
      }
    }
    if (m.remove_snapshots.empty()) continue;
    if (!registry_.Commit(m).ok()) continue;
    for (const auto& id : m.remove_snapshots) {
      Layout::RemoveTree(layout_.SnapshotDir(id), layout_.TrashDir());
    }
    int wal_removed = 0;
    if (retained_gone) {
      Layout::RemoveTree(layout_.ArchiveDir(rid), layout_.TrashDir());
    } else {
      const SnapshotRow& oldest = available[m.remove_snapshots.size()];
      wal_removed = backup_files::RemoveWalBefore(layout_.ArchiveDir(rid),
                                                  oldest.attrs.value("_start_wal", ""));
    }
    said += "expired " + std::to_string(m.remove_snapshots.size()) + " automated snapshot(s) and " +
            std::to_string(wal_removed) + " WAL file(s) of " + who.first + ". ";
  }
  if (!said.empty()) said.pop_back();
  return said;
}

void BackupScheduler::RemoveBackupOrphans() {
  std::set<std::string> snapshots, owners;
  {
    Registry::Locked r = registry_.Lock();
    for (const auto& [id, snap] : r.snapshots()) snapshots.insert(id);
    for (const auto& [rid, row] : r.instances()) owners.insert(rid);
    for (const auto& [rid, ret] : r.retained()) owners.insert(rid);
  }
  std::error_code ec;
  // A snapshot directory appears by an atomic rename of a complete backup: a *.tmp one (or one
  // no row owns) is the remains of an interrupted backup or deletion.
  for (const auto& e : fs::directory_iterator(layout_.SnapshotsDir(), ec)) {
    if (snapshots.count(e.path().filename().string())) continue;
    Layout::RemoveTree(e.path(), layout_.TrashDir());
    LogLine("reconciler") << "removed orphan snapshot directory " << e.path().filename().string();
  }
  for (const auto& e : fs::directory_iterator(layout_.data_dir() / "archive", ec)) {
    if (owners.count(e.path().filename().string())) continue;
    Layout::RemoveTree(e.path(), layout_.TrashDir());
    LogLine("reconciler") << "removed orphan WAL archive " << e.path().filename().string();
  }
}

}  // namespace localrds
