#include "emulator/background/backup_replicator.h"

#include <functional>
#include <set>
#include <vector>

#include "common/log.h"
#include "emulator/core/instance_state.h"
#include "emulator/postgres/backup_files.h"

namespace localrds {
namespace {

// What one replicated backup needs this pass, read under the registry's lock.
struct Job {
  RetainedBackupRow copy;
  std::optional<InstanceRow> source;           //!< nullopt: the source is gone
  std::vector<SnapshotRow> new_bases;          //!< the source's base backups not copied yet
  std::optional<RestoreWindow> source_window;  //!< read before any WAL is copied
  bool has_base = false;                       //!< a base backup is copied already
};

std::vector<Job> PendingJobs(Registry::Locked& reg) {
  std::vector<Job> jobs;
  for (const auto& [key, ret] : reg.retained()) {
    const std::string from = ReplicatedFrom(ret.instance);
    if (from.empty() || BackupReplicationStatus(ret.instance) == "retained") continue;
    Job job;
    job.copy = ret;
    auto live = reg.instances().find(from);
    if (live != reg.instances().end()) job.source = live->second;
    std::set<std::string> copied;
    for (const auto& [id, snap] : reg.snapshots()) {
      if (snap.dbi_resource_id == key && snap.type == "automated") {
        copied.insert(ReplicatedSnapshotOf(snap));
        job.has_base = true;
      }
    }
    for (const auto& [id, snap] : reg.snapshots()) {
      if (snap.dbi_resource_id == from && snap.type == "automated" && snap.status == "available" &&
          snap.attrs.contains("_start_wal") && !copied.count(id)) {
        job.new_bases.push_back(snap);
      }
    }
    job.source_window = reg.Window(from);
    jobs.push_back(std::move(job));
  }
  return jobs;
}

// Commits `m` if the replicated backup `key` is still there and still replicating (a Stop or a
// Delete may have come since the pass looked); `change` edits its row first, when given.
bool CommitIfStillReplicating(Registry& registry, const std::string& key, Mutation m,
                              const std::function<void(RetainedBackupRow&)>& change = nullptr) {
  Registry::Locked reg = registry.Lock();
  auto it = reg.retained().find(key);
  if (it == reg.retained().end() || BackupReplicationStatus(it->second.instance) == "retained") {
    return false;
  }
  if (change) {
    RetainedBackupRow row = it->second;
    change(row);
    m.put_retained.push_back(row);
  }
  return reg.Commit(m).ok();
}

}  // namespace

std::string BackupReplicator::ReplicateOnce() {
  std::vector<Job> jobs;
  {
    Registry::Locked reg = registry_.Lock();
    jobs = PendingJobs(reg);
  }
  std::string said;
  for (Job& job : jobs) {
    const std::string& key = job.copy.resource_id;
    InstanceRow& inst = job.copy.instance;
    if (!job.source || job.source->attrs.value("BackupRetentionPeriod", 0) <= 0) {
      // The source was deleted or stopped its backups: what is here stays, retained.
      const int64_t now = clock_.NowMs();
      if (CommitIfStillReplicating(registry_, key, {}, [now](RetainedBackupRow& row) {
            SetBackupReplicationStatus(row.instance.attrs, "retained");
            row.deleted_ms = now;
          })) {
        said += "the automated backups of " + inst.identifier + " in " + inst.scope.region +
                " are retained (their source is gone). ";
      }
      continue;
    }
    // A Region in an outage ships nothing (a drill: /_localrds/regions/<r>/outage); what was
    // copied before it stays restorable here, up to the time it covers.
    if (registry_.outages().RegionOut(job.source->scope.region)) continue;
    bool gone = false;
    for (const SnapshotRow& base : job.new_bases) {
      SnapshotRow copy = base;
      copy.id = NewSnapshotId();
      copy.scope = inst.scope;
      copy.dbi_resource_id = key;
      SetReplicatedSnapshotOf(copy.attrs, base.id);
      copy.attrs.erase("_op_resource");
      Status st = backup_files::CopyTree(layout_.SnapshotDir(base.id), layout_.SnapshotDir(copy.id),
                                         /*link=*/false);
      if (st.ok()) {
        Mutation m;
        m.put_snapshots.push_back(copy);
        if (!CommitIfStillReplicating(registry_, key, std::move(m))) {
          Layout::RemoveTree(layout_.SnapshotDir(copy.id), layout_.TrashDir());
          gone = true;  // stopped or deleted meanwhile
          break;
        }
      }
      if (!st.ok()) {
        LogLine("backup-replication") << inst.identifier << ": cannot copy " << base.identifier
                                      << " to " << inst.scope.region << ": " << st.ToString();
        continue;
      }
      job.has_base = true;
      said += "copied " + base.identifier + " to " + inst.scope.region + ". ";
    }
    if (gone || !job.source_window) continue;
    auto copied = backup_files::CopyNewArchiveFiles(layout_.ArchiveDir(job.source->resource_id),
                                                    layout_.ArchiveDir(key));
    if (!copied.ok()) {
      LogLine("backup-replication") << inst.identifier << ": " << copied.status().ToString();
      continue;
    }
    const int64_t until = job.source_window->second;
    if (until > backup_files::ReadRestorableUntil(layout_.ArchiveDir(key)).value_or(0)) {
      Status st = backup_files::WriteRestorableUntil(layout_.ArchiveDir(key), until);
      if (!st.ok()) {
        LogLine("backup-replication") << inst.identifier << ": " << st.ToString();
        continue;
      }
      registry_.RestorableUntilChanged(key);
    }
    if (BackupReplicationStatus(inst) == "pending" && job.has_base) {
      if (CommitIfStillReplicating(registry_, key, {}, [](RetainedBackupRow& row) {
            SetBackupReplicationStatus(row.instance.attrs, "replicating");
          })) {
        said += "the automated backups of " + inst.identifier + " replicate to " +
                inst.scope.region + ". ";
      }
    }
  }
  if (!said.empty()) said.pop_back();
  return said;
}

}  // namespace localrds
