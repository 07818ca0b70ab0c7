// Snapshots interrupted by a crash of localrds, over real PostgreSQL: whatever the step had done
// on disk, the resumed snapshot ends complete (and restores) or failed, never available without
// its files.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "emulator/engine/operation_engine.h"
#include "emulator/service/control_plane.h"
#include "tests/integration/backup_pg_fixture.h"

namespace localrds {
namespace fs = std::filesystem;
using nlohmann::json;

// A crash before the snapshot's backup step, with the remains of a half-written backup on disk:
// after the restart the snapshot is complete and restores, or it failed; it is never available
// without its files.
TEST_F(BackupPgTest, ASnapshotInterruptedByACrashEndsCompleteOrFailed) {
  ASSERT_FALSE(Create("src", 0).empty());
  const int port = Port("src");
  Commit(port, "CREATE TABLE t(x int); INSERT INTO t VALUES (7)");
  OperationEngine::SetCrashHook(
      [](const std::string& k, int s) { return !(k == "snapshot" && s == 0); });
  auto s = cp_->snapshots().CreateDBSnapshot(
      {{"DBInstanceIdentifier", "src"}, {"DBSnapshotIdentifier", "snap1"}});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  Wait(s->operation_id);
  json snap = (*cp_->snapshots().DescribeDBSnapshots(
      {{"DBSnapshotIdentifier", "snap1"}}))["DBSnapshots"][0];
  ASSERT_EQ(snap["Status"], "creating");
  std::string id;
  for (const auto& e : fs::directory_iterator(layout_->SnapshotsDir())) {
    id = e.path().filename().string();
  }
  EXPECT_TRUE(id.empty()) << "the backup step did not run, yet " << id << " exists";
  // What a crash in the middle of pg_basebackup leaves: a partial copy. The snapshot's directory
  // is named by its immutable id, which only the catalog row has.
  std::string snap_dir_id;
  for (const auto& row : catalog_->LoadSnapshots().value()) {
    if (row.identifier == "snap1") snap_dir_id = row.id;
  }
  ASSERT_FALSE(snap_dir_id.empty());
  fs::path partial = layout_->SnapshotDir(snap_dir_id);
  partial += ".tmp";
  fs::create_directories(partial);
  WriteBytes(partial / "PG_VERSION", "15\n");

  OperationEngine::SetCrashHook(nullptr);
  Open();  // the restart: resumes the snapshot
  snap = (*cp_->snapshots().DescribeDBSnapshots(
      {{"DBSnapshotIdentifier", "snap1"}}))["DBSnapshots"][0];
  ASSERT_TRUE(snap["Status"] == "available" || snap["Status"] == "failed") << snap.dump();
  EXPECT_FALSE(fs::exists(partial));
  if (snap["Status"] == "failed") {
    EXPECT_FALSE(fs::exists(layout_->SnapshotDir(snap_dir_id)));
    return;
  }
  ASSERT_TRUE(fs::exists(layout_->SnapshotDir(snap_dir_id) / "backup_label"));
  EXPECT_EQ(Describe("src")["DBInstanceStatus"], "available");
  const int restored =
      WaitAvailable(cp_->snapshots().RestoreDBInstanceFromDBSnapshot(
                        {{"DBInstanceIdentifier", "copy"}, {"DBSnapshotIdentifier", "snap1"}}),
                    "copy");
  ASSERT_NE(restored, 0);
  EXPECT_EQ(Query(restored, "SELECT x FROM t"), "7\n");
}

// As the crash above, but later in the step: pg_basebackup finished and its directory was renamed
// into place, and the crash came before the catalog recorded it. The resumed step keeps it.
TEST_F(BackupPgTest, ASnapshotWhoseBackupLandedBeforeTheCrashIsKept) {
  ASSERT_FALSE(Create("src", 0).empty());
  const int port = Port("src");
  Commit(port, "CREATE TABLE t(x int); INSERT INTO t VALUES (8)");
  OperationEngine::SetCrashHook(
      [](const std::string& k, int s) { return !(k == "snapshot" && s == 0); });
  auto s = cp_->snapshots().CreateDBSnapshot(
      {{"DBInstanceIdentifier", "src"}, {"DBSnapshotIdentifier", "snap1"}});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  Wait(s->operation_id);
  std::string snap_dir_id;
  for (const auto& row : catalog_->LoadSnapshots().value()) {
    if (row.identifier == "snap1") snap_dir_id = row.id;
  }
  ASSERT_FALSE(snap_dir_id.empty());
  // The step's work, done by hand: the backup in its final place.
  const InstanceRow src = *cp_->registry().GetInstance(Describe("src")["DbiResourceId"]);
  const fs::path final_dir = layout_->SnapshotDir(snap_dir_id);
  ASSERT_TRUE(runtime_->PrepareDirectory(final_dir).ok());
  ASSERT_TRUE(runtime_->BaseBackup(cp_->servers().ReplicationSource(src), final_dir, "").ok());
  Commit(port, "INSERT INTO t VALUES (9)");  // after the backup: a re-run would include it

  OperationEngine::SetCrashHook(nullptr);
  Open();
  json snap = (*cp_->snapshots().DescribeDBSnapshots(
      {{"DBSnapshotIdentifier", "snap1"}}))["DBSnapshots"][0];
  ASSERT_EQ(snap["Status"], "available") << snap.dump();
  EXPECT_EQ(Describe("src")["DBInstanceStatus"], "available");
  const int restored =
      WaitAvailable(cp_->snapshots().RestoreDBInstanceFromDBSnapshot(
                        {{"DBInstanceIdentifier", "copy"}, {"DBSnapshotIdentifier", "snap1"}}),
                    "copy");
  ASSERT_NE(restored, 0);
  EXPECT_EQ(Query(restored, "SELECT string_agg(x::text, ',' ORDER BY x) FROM t"), "8\n");
}

}  // namespace localrds
