// The backup operation kinds: snapshot and backup (a base backup of a running instance),
// copy-snapshot, and restore (from a snapshot or to a point in time); and the backup steps the
// instance kinds share (the first automated backup, backups switched on and off, the archive
// marked at a clean stop). Each step looks at reality first so that running it twice (after a
// crash) is harmless.
#include <algorithm>
#include <filesystem>
#include <fstream>

#include "common/log.h"
#include "common/time_util.h"
#include "emulator/core/instance_state.h"
#include "emulator/engine/operation_engine.h"
#include "emulator/engine/operation_steps.h"
#include "emulator/postgres/backup_files.h"
#include "emulator/runtime/server_logs.h"

namespace localrds {
namespace fs = std::filesystem;
namespace bf = backup_files;

namespace {

// When a clean shutdown has archived every segment, everything committed before it is
// restorable.
void MarkArchivedAtStop(OpContext& c, int64_t stop_requested_ms) {
  if (c.instance.attrs.value("BackupRetentionPeriod", 0) <= 0) return;
  std::error_code ec;
  for (const auto& e :
       fs::directory_iterator(c.Server().pgdata / "pg_wal" / "archive_status", ec)) {
    if (e.path().extension() == ".ready") return;  // not all archived: keep the older mark
  }
  LogIfFailed(
      bf::WriteRestorableUntil(c.env.layout.ArchiveDir(c.instance.resource_id), stop_requested_ms),
      "wal", "cannot record the restorable time of " + c.instance.identifier);
  c.env.registry.RestorableUntilChanged(c.instance.resource_id);
}

// A manual snapshot: its files are taken at once; under a timing profile it stays `creating`
// (the next step publishes it), else it is `available` at once.
Status TakeSnapshotFiles(OpContext& c) {
  const TimingProfile timing = EffectiveTiming(c.instance, c.env.registry.config().timing);
  if (timing.DurationMs(TimedWork::kSnapshot) == 0) return steps::TakeSnapshot(c);
  auto id = steps::ParamString(c, "snapshot_id");
  if (!id) return Status::Ok();
  return steps::CopySnapshotFiles(c, *id);
}

// Holds the snapshot `creating` for the profile's duration, its PercentProgress following the
// clock (in steps of 10, so that a hold writes the catalog at most ten times), then publishes it.
Status PublishSnapshot(OpContext& c) {
  auto id = steps::ParamString(c, "snapshot_id");
  if (id && steps::HeldByTiming(c, TimedWork::kSnapshot)) {
    auto snap = c.env.registry.GetSnapshot(*id);
    const int64_t duration = EffectiveTiming(c.instance, c.env.registry.config().timing)
                                 .DurationMs(TimedWork::kSnapshot);
    if (snap && duration > 0) {
      const int64_t elapsed = c.env.registry.Now() - c.op.created_ms;
      const int percent = static_cast<int>(std::clamp<int64_t>(elapsed * 10 / duration, 0, 9) * 10);
      if (snap->attrs.value("PercentProgress", 0) != percent) {
        snap->attrs["PercentProgress"] = percent;
        c.PutSnapshot(*snap);
      }
    }
    return Status::Ok();
  }
  LOCALRDS_RETURN_IF_ERROR(steps::TakeSnapshot(c));
  return steps::FinishBackup(c);
}

}  // namespace

namespace steps {

// The files of the snapshot `id`: an online pg_basebackup into snapshots/<id>.tmp, one syncfs,
// and a rename (nothing when they are there already; hard links to the snapshot a restore came
// from, for its first backup).
Status CopySnapshotFiles(OpContext& c, const std::string& id) {
  const Layout& layout = c.env.layout;
  const fs::path final_dir = layout.SnapshotDir(id);
  if (fs::exists(final_dir / "backup_label")) return Status::Ok();
  const auto restored_from = ParamString(c, "base_snapshot_id");
  if (restored_from && !ParamString(c, "pitr_source_resource_id")) {
    // The first backup of an instance restored from a snapshot: the snapshot itself, hard
    // links (a snapshot's files never change). Its data plus this instance's archive, which
    // continues the snapshot's WAL, restores to any time from now on, as a fresh base backup
    // would; but the copy costs no I/O. (A point-in-time restore's data differs from its base
    // snapshot: it takes a real backup below, as does this one if the snapshot was deleted
    // meanwhile.)
    LogIfFailed(bf::CopyTree(layout.SnapshotDir(*restored_from), final_dir, /*link=*/true), "ops",
                "linking the first backup of " + c.instance.identifier);
    if (fs::exists(final_dir / "backup_label")) return Status::Ok();
  }
  LOCALRDS_RETURN_IF_ERROR(EnsureRunning(c));
  return BaseBackupInto(c, c.env.servers.ReplicationSource(c.instance), final_dir, "");
}

Status BaseBackupInto(OpContext& c, const ServerSpec& source, const fs::path& dest,
                      const std::string& slot) {
  fs::path tmp = dest;
  tmp += ".tmp";
  std::error_code ec;
  fs::remove_all(tmp, ec);
  LOCALRDS_RETURN_IF_ERROR(c.env.runtime.PrepareDirectory(tmp));
  LOCALRDS_RETURN_IF_ERROR(c.env.runtime.BaseBackup(source, tmp, slot));
  LOCALRDS_RETURN_IF_ERROR(bf::SyncFileSystem(tmp));
  fs::rename(tmp, dest, ec);
  if (ec) return Status::Internal("cannot rename " + tmp.string() + ": " + ec.message());
  return Status::Ok();
}

// Takes the base backup of the snapshot named in the operation's params (if any). The snapshot
// becomes `available` only once its files are renamed into place: never with partial data.
Status TakeSnapshot(OpContext& c) {
  auto id = ParamString(c, "snapshot_id");
  if (!id) return Status::Ok();
  auto snap = c.env.registry.GetSnapshot(*id);
  if (!snap) return Status::Internal("snapshot " + *id + " no longer exists");
  if (snap->status == "available") return Status::Ok();
  const fs::path final_dir = c.env.layout.SnapshotDir(*id);
  LOCALRDS_RETURN_IF_ERROR(CopySnapshotFiles(c, *id));
  auto start_wal = bf::StartWalFile(final_dir);
  if (!start_wal.ok()) return start_wal.status();
  snap->status = "available";
  snap->attrs["PercentProgress"] = 100;
  snap->attrs["_start_wal"] = *start_wal;
  snap->attrs["_consistent_ms"] = NowMs();  // the backup was consistent by now
  snap->attrs["AllocatedStorage"] = c.instance.attrs.value("AllocatedStorage", 20);
  c.PutSnapshot(*snap);
  if (snap->type == "automated") {
    c.SnapshotEvent(*snap, rds_events::kAutomatedSnapshotCreated);
    c.Event(rds_events::kBackupFinished);
  } else {
    c.SnapshotEvent(*snap, rds_events::kManualSnapshotCreated);
  }
  return Status::Ok();
}

Status StopServerMarkingArchive(OpContext& c) {
  const int64_t t0 = NowMs();
  LOCALRDS_RETURN_IF_ERROR(StopServers(c));
  MarkArchivedAtStop(c, t0);
  return Status::Ok();
}

// The instance's status goes back to what it was before the snapshot (`available`).
Status FinishBackup(OpContext& c) {
  LOCALRDS_RETURN_IF_ERROR(EnsureRunning(c));
  SetStatus(c, DbStatus::kAvailable);
  return Status::Ok();
}

// After create or restore: the instance exists; it is `backing-up` while its first automated
// backup is taken.
Status Created(OpContext& c) {
  LOCALRDS_RETURN_IF_ERROR(EnsureRunning(c));
  if (auto from = ParamString(c, "restored_from_snapshot")) {
    c.Event(rds_events::kRestoredFromSnapshot,
            std::string(rds_events::kRestoredFromSnapshot.message) + " " + *from);
  } else if (auto src = ParamString(c, "restored_from_instance")) {
    c.Event(rds_events::kRestoredFromInstance,
            std::string(rds_events::kRestoredFromInstance.message) + " " + *src + " to " +
                c.instance.identifier);
  } else {
    c.Event(rds_events::kCreated);
  }
  if (auto id = ParamString(c, "snapshot_id")) {
    SetStatus(c, DbStatus::kBackingUp);
    c.Event(rds_events::kBackupStarted);
    if (auto snap = c.env.registry.GetSnapshot(*id))
      c.SnapshotEvent(*snap, rds_events::kAutomatedSnapshotCreating);
  }
  return Status::Ok();
}

// Modify: turning automated backups on or off (BackupRetentionPeriod 0 <-> N). The new
// retention is already in the instance's attributes.
Status ModifyBackups(OpContext& c) {
  auto change = ParamString(c, "backups");
  if (!change) return Status::Ok();
  LOCALRDS_RETURN_IF_ERROR(c.env.servers.WriteServerConfig(c.instance));
  if (*change == "on") {
    // Restart, so that no segment written from now on can reach the old command (RDS also
    // has an outage here).
    LOCALRDS_RETURN_IF_ERROR(StopServer(c));
    LOCALRDS_RETURN_IF_ERROR(StartServer(c));
    if (auto id = ParamString(c, "snapshot_id")) {
      c.Event(rds_events::kBackupStarted);
      if (auto snap = c.env.registry.GetSnapshot(*id))
        c.SnapshotEvent(*snap, rds_events::kAutomatedSnapshotCreating);
    }
    return Status::Ok();
  }
  LOCALRDS_RETURN_IF_ERROR(EnsureRunning(c));
  LOCALRDS_RETURN_IF_ERROR(
      c.env.runtime.ExecSql(c.Server(), "postgres", {"SELECT pg_reload_conf()"}));
  for (const auto& snap : c.env.registry.AutomatedSnapshotsOf(c.instance.resource_id)) {
    c.staged.remove_snapshots.push_back(snap.id);
  }
  return Status::Ok();
}

// Removes the files of automated backups whose rows are gone (after retention 0 or a delete).
Status RemoveDroppedBackupFiles(OpContext& c) {
  const Layout& layout = c.env.layout;
  bool keep_archive = false;
  if (c.env.registry.GetInstance(c.op.resource_id)) {
    keep_archive = c.instance.attrs.value("BackupRetentionPeriod", 0) > 0;
  }
  if (c.op.params.value("retain_automated_backups", false)) keep_archive = true;
  if (!keep_archive) Layout::RemoveTree(layout.ArchiveDir(c.op.resource_id), layout.TrashDir());
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(layout.SnapshotsDir(), ec)) {
    std::string name = e.path().filename().string();
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0) continue;  // in progress
    if (!c.env.registry.GetSnapshot(name)) Layout::RemoveTree(e.path(), layout.TrashDir());
  }
  return Status::Ok();
}

}  // namespace steps

namespace {
using namespace steps;

// Restore: the data of a snapshot (and, for a point in time, a frozen view of the source's
// archive) in the new instance's directory.
Status CopyRestoreData(OpContext& c) {
  const Layout& layout = c.env.layout;
  const std::string rid = c.instance.resource_id;
  fs::path pgdata = layout.PgData(rid);
  if (fs::exists(pgdata / "PG_VERSION")) return Status::Ok();
  auto snap_id = ParamString(c, "base_snapshot_id");
  if (!snap_id) return Status::Internal("restore without a base snapshot");
  LOCALRDS_RETURN_IF_ERROR(c.env.runtime.PrepareDirectory(layout.InstanceDir(rid)));
  if (auto source = ParamString(c, "pitr_source_resource_id")) {
    LOCALRDS_RETURN_IF_ERROR(
        bf::FreezeArchive(layout.ArchiveDir(*source), layout.RestoreWalDir(rid)));
  }
  LOCALRDS_RETURN_IF_ERROR(bf::CopyTree(layout.SnapshotDir(*snap_id), pgdata, /*link=*/false));
  return Status::Ok();
}

std::string RecoverySettings(OpContext& c, bool with_target) {
  std::string out = "restore_command = '" +
                    bf::RestoreCommand(c.env.layout.RestoreWalDir(c.instance.resource_id)) +
                    "'\nrecovery_target_timeline = 'latest'\nrecovery_target_action = 'promote'\n";
  auto target = c.op.params.find("restore_time_ms");
  if (with_target && target != c.op.params.end()) {
    std::string t = FormatIso8601(target->get<int64_t>(), true);  // 2026-11-25T10:00:00.500Z
    t[10] = ' ';
    t.pop_back();
    out += "recovery_target_time = '" + t + "+00'\n";
  }
  return out;
}

fs::path RecoveredMarker(OpContext& c) {
  return c.env.layout.InstanceDir(c.instance.resource_id) / "recovered";
}

Status ConfigureRestore(OpContext& c) {
  // A snapshot of a read replica holds its standby.signal: the restored instance is a primary.
  std::error_code ec;
  fs::remove(c.env.layout.PgData(c.instance.resource_id) / "standby.signal", ec);
  LOCALRDS_RETURN_IF_ERROR(Configure(c));
  if (!ParamString(c, "pitr_source_resource_id") || fs::exists(RecoveredMarker(c))) {
    return Status::Ok();
  }
  LOCALRDS_RETURN_IF_ERROR(c.env.servers.WriteServerConfig(c.instance, RecoverySettings(c, true)));
  std::ofstream(c.env.layout.PgData(c.instance.resource_id) / "recovery.signal");
  return Status::Ok();
}

// Starts the restored server and waits until it has recovered and been promoted. A target
// time after the archive's last commit makes PostgreSQL stop with "recovery ended before
// configured recovery target was reached"; every commit up to the target is then in the frozen
// archive (the target is at most LatestRestorableTime), so replaying all of it is the answer.
Status RecoverRestore(OpContext& c) {
  if (fs::exists(RecoveredMarker(c))) return EnsureRunning(c);
  const ServerSpec server = c.Server();
  bool fell_back = false;
  for (;;) {
    const ServerLogMark log_mark = MarkServerLog(server);
    Status st = StartServer(c);
    if (st.ok()) {
      st = WaitForAnswer(c, "SELECT pg_is_in_recovery()", "f", std::chrono::hours(6),
                         "recovery ends");
    }
    if (st.ok()) break;
    const std::string said = ServerLogSince(server, log_mark);
    if (fell_back || said.find("recovery ended before configured recovery target was reached") ==
                         std::string::npos) {
      return st;
    }
    LogLine("ops") << c.instance.identifier
                   << ": no commit after the target in the archive; replaying all of it";
    LOCALRDS_RETURN_IF_ERROR(c.env.runtime.Stop(c.Server()));
    LOCALRDS_RETURN_IF_ERROR(
        c.env.servers.WriteServerConfig(c.instance, RecoverySettings(c, false)));
    std::ofstream(c.env.layout.PgData(c.instance.resource_id) / "recovery.signal");
    fell_back = true;
  }
  std::ofstream(RecoveredMarker(c)) << NowMs() << "\n";
  LOCALRDS_RETURN_IF_ERROR(c.env.servers.WriteServerConfig(c.instance));
  const Layout& layout = c.env.layout;
  Layout::RemoveTree(layout.RestoreWalDir(c.instance.resource_id), layout.TrashDir());
  return Status::Ok();
}

// Copy of a snapshot, on the new snapshot's id: in its region, hard links (a snapshot's files
// never change); into another region, a copy of every byte, as regions share no storage (so a
// drill that damages one region's files leaves the other's intact). Both write to <id>.tmp and
// rename: a crash leaves nothing half-made, and the step starts the copy again.
Status CopySnapshot(OpContext& c) {
  auto target = c.env.registry.GetSnapshot(c.op.resource_id);
  auto source = ParamString(c, "source_snapshot_id");
  if (!target || !source) return Status::Internal("snapshot copy without its snapshots");
  if (target->status == "available") return Status::Ok();
  const bool cross_region = c.op.params.value("cross_region", false);
  LOCALRDS_RETURN_IF_ERROR(bf::CopyTree(c.env.layout.SnapshotDir(*source),
                                        c.env.layout.SnapshotDir(target->id),
                                        /*link=*/!cross_region));
  target->status = "available";
  target->attrs["PercentProgress"] = 100;
  c.PutSnapshot(*target);
  c.SnapshotEvent(
      *target, rds_events::kSnapshotCopied,
      "Finished copy of snapshot " + target->attrs.value("SourceDBSnapshotIdentifier", ""));
  return Status::Ok();
}

void FailCopy(OpContext& c, const Status& why) {
  auto target = c.env.registry.GetSnapshot(c.op.resource_id);
  if (!target || target->status != "creating") return;
  target->status = "failed";
  c.PutSnapshot(*target);
  c.SnapshotEvent(*target, rds_events::kSnapshotFailed,
                  std::string(rds_events::kSnapshotFailed.message) + ": " + why.message());
}

}  // namespace

void AddBackupOperationKinds(std::map<OpKind, OperationKind>& kinds) {
  kinds[OpKind::kRestore] = {{{"copy-data", CopyRestoreData},
                              {"configure", ConfigureRestore},
                              {"recover", RecoverRestore},
                              {"standby", BuildStandby},
                              {"created", AfterTiming(TimedWork::kRestore, Created)},
                              {"backup", TakeSnapshot},
                              {"finish", FinishBackup}},
                             FailInstance};
  kinds[OpKind::kSnapshot] = {{{"backup", TakeSnapshotFiles}, {"finish", PublishSnapshot}},
                              ReflectReality};
  kinds[OpKind::kBackup] = {{{"backup", TakeSnapshot}, {"finish", FinishBackup}}, ReflectReality};
  kinds[OpKind::kCopySnapshot] = {{{"copy", CopySnapshot}}, FailCopy};
}

}  // namespace localrds
