// ControlPlane's side of backups that runs outside RDS actions: WAL shipping (what makes
// LatestRestorableTime follow the newest commit), the daily backup window, retention expiry,
// snapshot bookkeeping and the clean-up of backup files nobody owns.
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "common/log.h"
#include "common/time_util.h"
#include "emulator/backup_files.h"
#include "emulator/control_plane.h"
#include "emulator/operation_engine.h"
#include "emulator/request.h"

namespace localrds {
namespace fs = std::filesystem;
namespace {

constexpr int64_t kDayMs = 24LL * 3600 * 1000;
// A commit takes its timestamp just before its WAL record is written: LatestRestorableTime stays
// this far behind the moment of a switch, so that every commit stamped before it is archived.
constexpr int64_t kCommitStampMarginMs = 1000;

// Statuses in which the server is a writable primary that archives. A replica archives what it
// replays (archive_mode = always) but cannot switch WAL: its restorable time is its newest base.
bool Archiving(const InstanceRow& row) {
  static const char* kStatuses[] = {"available", "backing-up", "modifying", "renaming"};
  return row.attrs.value("BackupRetentionPeriod", 0) > 0 && !row.attrs.contains("_replica_source") &&
         std::find_if(std::begin(kStatuses), std::end(kStatuses),
                      [&](const char* s) { return row.status == s; }) != std::end(kStatuses);
}

int64_t NewestWalChangeNs(const fs::path& pg_wal) {
  int64_t newest = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(pg_wal, ec)) {
    struct stat st{};
    if (stat(e.path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    newest = std::max<int64_t>(newest, st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec);
  }
  return newest;
}

// "hh24:mi-hh24:mi" → [start, end) minutes of the day.
std::pair<int, int> WindowMinutes(const std::string& w) {
  int h1 = 0, m1 = 0, h2 = 0, m2 = 0;
  std::sscanf(w.c_str(), "%d:%d-%d:%d", &h1, &m1, &h2, &m2);
  return {h1 * 60 + m1, h2 * 60 + m2};
}

}  // namespace

std::optional<SnapshotRow> ControlPlane::GetSnapshot(const std::string& snapshot_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = snapshots_.find(snapshot_id);
  if (it == snapshots_.end()) return std::nullopt;
  return it->second;
}

bool ControlPlane::ResourceExists(const std::string& resource_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  return instances_.count(resource_id) > 0 || snapshots_.count(resource_id) > 0;
}

std::vector<SnapshotRow> ControlPlane::AutomatedSnapshotsOf(const std::string& dbi_resource_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<SnapshotRow> out;
  for (const auto& [id, snap] : snapshots_) {
    if (snap.type == "automated" && snap.dbi_resource_id == dbi_resource_id) out.push_back(snap);
  }
  std::sort(out.begin(), out.end(),
            [](const SnapshotRow& a, const SnapshotRow& b) { return a.created_ms < b.created_ms; });
  return out;
}

std::string ControlPlane::SnapshotArn(const std::string& identifier) const {
  return "arn:aws:rds:" + config_.region + ":" + config_.account_id + ":snapshot:" + identifier;
}

EventRow ControlPlane::MakeSnapshotEvent(const SnapshotRow& snap, const EventSpec& spec,
                                         const std::string& message_override) const {
  return MakeEventFor("db-snapshot", snap.identifier, SnapshotArn(snap.identifier), spec,
                      message_override);
}

std::string NewSnapshotId() {
  static std::atomic<uint64_t> counter{0};
  return "snap-" + std::to_string(NowMs()) + "-" + std::to_string(counter.fetch_add(1));
}

SnapshotRow ControlPlane::NewSnapshotRow(const InstanceRow& row, const std::string& identifier,
                                         const std::string& type, const std::string& status) {
  SnapshotRow snap;
  snap.id = NewSnapshotId();
  snap.identifier = identifier;
  snap.type = type;
  snap.status = status;
  snap.dbi_resource_id = row.resource_id;
  snap.created_ms = NowMs();
  nlohmann::json& a = snap.attrs;
  a = nlohmann::json::object();
  a["DBInstanceIdentifier"] = row.identifier;
  a["PercentProgress"] = 0;
  // What a restore needs to rebuild the instance: its fields and its master password verifier.
  a["_instance"] = row.attrs;
  a["_password_verifier"] = row.password_verifier;
  a["_instance_port"] = row.port;
  a["_instance_created_ms"] = row.created_ms;
  return snap;
}

SnapshotRow ControlPlane::NewAutomatedSnapshotLocked(const InstanceRow& row) {
  int64_t now = NowMs();
  std::string stamp = FormatIso8601(now, false);  // 2026-11-25T10:00:00Z
  std::string name = "rds:" + row.identifier + "-" + stamp.substr(0, 10) + "-" +
                     stamp.substr(11, 2) + "-" + stamp.substr(14, 2);
  std::string unique = name;
  for (int i = 2; SnapshotIdentifierTakenLocked(unique); ++i) unique = name + "-" + std::to_string(i);
  SnapshotRow snap = NewSnapshotRow(row, unique, "automated", "creating");
  snap.attrs["_op_resource"] = row.resource_id;
  return snap;
}

void ControlPlane::RefreshRestoreWindowLocked(const std::string& dbi_resource_id) {
  int64_t earliest = 0, newest_base = 0;
  for (const auto& [id, snap] : snapshots_) {
    if (snap.type != "automated" || snap.dbi_resource_id != dbi_resource_id ||
        snap.status != "available") {
      continue;
    }
    int64_t consistent = snap.attrs.value("_consistent_ms", snap.created_ms);
    if (earliest == 0 || consistent < earliest) earliest = consistent;
    newest_base = std::max(newest_base, consistent);
  }
  if (earliest == 0) {
    restorable_.erase(dbi_resource_id);
  } else {
    int64_t& live = restorable_until_[dbi_resource_id];
    live = std::max(live, backup_files::ReadRestorableUntil(layout_.ArchiveDir(dbi_resource_id))
                              .value_or(0));
    int64_t latest = std::max(newest_base, live);
    restorable_[dbi_resource_id] = {earliest, latest};
  }
  auto it = instances_.find(dbi_resource_id);
  if (it != instances_.end()) {
    rendered_[dbi_resource_id] = std::make_shared<const nlohmann::json>(RenderInstance(it->second));
  }
}

std::optional<std::pair<int64_t, int64_t>> ControlPlane::RestoreWindow(
    const std::string& dbi_resource_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = restorable_.find(dbi_resource_id);
  if (it == restorable_.end()) return std::nullopt;
  return it->second;
}

void ControlPlane::ShipWalOnce() {
  std::vector<InstanceRow> rows;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [rid, row] : instances_) {
      if (Archiving(row)) rows.push_back(row);
    }
  }
  std::lock_guard<std::mutex> ship_lock(ship_mutex_);
  for (auto it = ship_.begin(); it != ship_.end();) {  // forget instances that went away
    bool live = std::any_of(rows.begin(), rows.end(),
                            [&](const InstanceRow& r) { return r.resource_id == it->first; });
    it = live ? std::next(it) : ship_.erase(it);
  }
  const int64_t interval = config_.wal_ship_interval.count();
  for (const auto& row : rows) {
    ServerSpec spec = Server(row);
    if (!runtime_.IsRunning(spec) || runtime_.IsPaused(spec)) continue;
    ShipState& st = ship_[row.resource_id];
    const fs::path archive = layout_.ArchiveDir(row.resource_id);
    const int64_t now = NowMs();
    if (!st.pending_segment.empty()) {
      if (fs::exists(archive / (st.pending_segment + ".gz"))) {
        AdvanceRestorableUntil(row.resource_id, st.pending_until_ms, true);
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
        AdvanceRestorableUntil(row.resource_id, now - kCommitStampMarginMs,
                               now - st.last_persist_ms > interval);
        if (now - st.last_persist_ms > interval) st.last_persist_ms = now;
      }
      continue;
    }
    if (now - st.last_switch_ms < interval) continue;  // at most one switch per interval
    st.wal_mtime_ns = changed;
    const int64_t query_ms = NowMs();
    auto xid = runtime_.QueryValue(spec, "postgres", "SELECT (pg_last_committed_xact()).xid::text");
    if (!xid.ok()) continue;
    if (*xid == st.committed_xid || xid->empty()) {
      // WAL without a new commit (checkpoints, standby snapshots, our own switch) needs no
      // archiving: switching for it would itself write WAL and never let an idle instance
      // rest. The commit a switch archived is visible here, so everything before this query
      // (less the margin) is restorable.
      st.confirmed = true;
      AdvanceRestorableUntil(row.resource_id, query_ms - kCommitStampMarginMs, true);
      st.last_persist_ms = now;
      continue;
    }
    const int64_t switch_ms = NowMs();
    auto segment = runtime_.QueryValue(spec, "postgres", "SELECT pg_walfile_name(pg_switch_wal())");
    if (!segment.ok() || segment->empty()) continue;
    st.confirmed = false;
    st.committed_xid = *xid;
    st.pending_segment = *segment;
    st.pending_until_ms = switch_ms - kCommitStampMarginMs;
    st.last_switch_ms = switch_ms;
  }
}

void ControlPlane::AdvanceRestorableUntil(const std::string& resource_id, int64_t until_ms,
                                          bool persist) {
  std::lock_guard<std::mutex> lock(mutex_);
  int64_t& current = restorable_until_[resource_id];
  if (until_ms <= current) return;
  current = until_ms;
  if (persist) backup_files::WriteRestorableUntil(layout_.ArchiveDir(resource_id), until_ms);
  RefreshRestoreWindowLocked(resource_id);
}

void ControlPlane::RestorableUntilChanged(const std::string& resource_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  restorable_until_.erase(resource_id);  // the file is newer
  RefreshRestoreWindowLocked(resource_id);
}

std::string ControlPlane::ScheduleBackupsLocked(int64_t now_ms) {
  std::string said;
  const int minute_of_day = static_cast<int>((now_ms % kDayMs) / 60000);
  const int64_t day_start = now_ms - now_ms % kDayMs;
  std::vector<InstanceRow> due;
  for (const auto& [rid, row] : instances_) {
    if (row.status != "available" || active_ops_.count(rid) ||
        row.attrs.value("BackupRetentionPeriod", 0) <= 0) {
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
    for (const auto& [id, snap] : snapshots_) {
      if (snap.type == "automated" && snap.dbi_resource_id == rid && snap.created_ms >= opened) {
        done = true;
      }
    }
    if (!done) due.push_back(row);
  }
  for (auto row : due) {
    if (StartBackupLocked(row).ok()) {
      said += "started the daily backup of " + row.identifier + ". ";
    }
  }
  return said;
}

Result<Accepted> ControlPlane::BackupNow(const std::string& identifier) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = FindLocked(identifier);
  if (!found.ok()) return found.status();
  InstanceRow row = *found;
  LOCALRDS_RETURN_IF_ERROR(CheckIdleLocked(row));
  if (row.attrs.value("BackupRetentionPeriod", 0) <= 0) {
    return Status::Error(AwsError::kInvalidDBInstanceState,
                         "Automated backups are disabled for " + row.identifier +
                             " (BackupRetentionPeriod is 0).");
  }
  if (row.status != "available") {
    return Status::Error(AwsError::kInvalidDBInstanceState,
                         "DB instance " + row.identifier + " is not available (it is " + row.status + ").");
  }
  return StartBackupLocked(row);
}

Result<Accepted> ControlPlane::StartBackupLocked(InstanceRow row) {
  SnapshotRow snap = NewAutomatedSnapshotLocked(row);
  row.status = "backing-up";
  std::vector<EventRow> events = {MakeEvent(row, rds_events::kBackupStarted),
                                  MakeSnapshotEvent(snap, rds_events::kAutomatedSnapshotCreating)};
  return StartOperationLocked(row, "backup", {{"snapshot_id", snap.id}}, std::move(events), {snap});
}

std::string ControlPlane::ExpireBackups(int64_t now_ms) {
  // Whose backups expire, with their retention: live instances that run, and retained backups.
  std::map<std::string, std::pair<std::string, int>> owners;  // rid -> (identifier, days)
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [rid, row] : instances_) {
      // Time spent stopped does not count toward retention (RDS User Guide).
      if (row.status == "stopped" || active_ops_.count(rid)) continue;
      int days = row.attrs.value("BackupRetentionPeriod", 0);
      if (days > 0) owners[rid] = {row.identifier, days};
    }
    for (const auto& [rid, r] : retained_) {
      owners[rid] = {r.instance.identifier, r.instance.attrs.value("BackupRetentionPeriod", 1)};
    }
  }
  std::string said;
  for (const auto& [rid, who] : owners) {
    auto autos = AutomatedSnapshotsOf(rid);
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
      std::lock_guard<std::mutex> lock(mutex_);
      auto r = retained_.find(rid);
      // A retained backup whose newest snapshot is past retention is gone entirely.
      if (r != retained_.end() && available.back().created_ms < cutoff) {
        m.remove_snapshots.push_back(available.back().id);
        m.remove_retained.push_back(rid);
        retained_gone = true;
      }
    }
    if (m.remove_snapshots.empty()) continue;
    if (!Commit(m).ok()) continue;
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

void ControlPlane::RemoveBackupOrphans() {
  std::set<std::string> snapshots, owners;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [id, snap] : snapshots_) snapshots.insert(id);
    for (const auto& [rid, row] : instances_) owners.insert(rid);
    for (const auto& [rid, r] : retained_) owners.insert(rid);
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
