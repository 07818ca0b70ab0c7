// The control plane's backups over the fake runtime: manual snapshots and their statuses,
// RDS's refusals of snapshots and restores, a point-in-time restore, a snapshot resumed after a
// crash or failed by its backup, and automated backups retained or dropped with their instance.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "common/time_util.h"
#include "emulator/engine/operation_engine.h"
#include "emulator/service/control_plane.h"
#include "tests/unit/control_plane_fixture.h"

namespace localrds {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json SnapshotOf(ControlPlane& cp, const std::string& id) {
  auto r = cp.snapshots().DescribeDBSnapshots({{"DBSnapshotIdentifier", id}});
  return r.ok() ? (*r)["DBSnapshots"][0] : json();
}

}  // namespace

TEST_F(ControlPlaneTest, ManualSnapshotsMoveThroughRdsStatuses) {
  Create("test");
  auto automated = cp_->snapshots().DescribeDBSnapshots({{"SnapshotType", "automated"}});
  ASSERT_TRUE(automated.ok());
  ASSERT_EQ((*automated)["DBSnapshots"].size(), 1u);  // taken at creation
  EXPECT_EQ((*automated)["DBSnapshots"][0]["DBSnapshotIdentifier"].get<std::string>().rfind(
                "rds:test-", 0),
            0u);

  // What Describe says while the snapshot's backup runs (the fake's backup is too quick to
  // catch it from here: a read after the call may come after the end).
  std::string during;
  runtime_.OnBackup([&] { during = StatusOf("test"); });
  auto snap = cp_->snapshots().CreateDBSnapshot(
      {{"DBInstanceIdentifier", "test"}, {"DBSnapshotIdentifier", "Multiple-Todos"}});
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  EXPECT_EQ(snap->body["Status"], "creating");
  EXPECT_EQ(snap->body["DBSnapshotIdentifier"], "multiple-todos");
  Wait(snap->operation_id);
  runtime_.OnBackup(nullptr);
  EXPECT_EQ(during, "backing-up");
  json s = SnapshotOf(*cp_, "multiple-todos");
  EXPECT_EQ(s["Status"], "available");
  EXPECT_EQ(s["PercentProgress"], 100);
  EXPECT_EQ(s["SnapshotType"], "manual");
  EXPECT_EQ(s["MasterUsername"], "root");
  EXPECT_EQ(StatusOf("test"), "available");

  ExpectError(cp_->snapshots()
                  .CreateDBSnapshot({{"DBInstanceIdentifier", "test"},
                                     {"DBSnapshotIdentifier", "multiple-todos"}})
                  .status(),
              "DBSnapshotAlreadyExists", 400,
              "Cannot create the snapshot because a snapshot with the identifier multiple-todos "
              "already exists.");
  ExpectError(
      cp_->snapshots()
          .CreateDBSnapshot({{"DBInstanceIdentifier", "nope"}, {"DBSnapshotIdentifier", "x"}})
          .status(),
      "DBInstanceNotFound", 404, "DBInstance nope not found.");
  ExpectError(
      cp_->snapshots()
          .CreateDBSnapshot({{"DBInstanceIdentifier", "test"}, {"DBSnapshotIdentifier", "a--b"}})
          .status(),
      "InvalidParameterValue", 400,
      "The parameter DBSnapshotIdentifier is not a valid identifier. Identifiers must begin with a "
      "letter; must contain only ASCII letters, digits, and hyphens; and must not end with a "
      "hyphen or contain two consecutive hyphens.");
  std::string automated_id = (*automated)["DBSnapshots"][0]["DBSnapshotIdentifier"];
  ExpectError(
      cp_->snapshots().DeleteDBSnapshot({{"DBSnapshotIdentifier", automated_id}}).status(),
      "InvalidDBSnapshotState", 400,
      "Only manual snapshots may be deleted; " + automated_id + " is an automated snapshot.");
  auto del = cp_->snapshots().DeleteDBSnapshot({{"DBSnapshotIdentifier", "multiple-todos"}});
  ASSERT_TRUE(del.ok());
  EXPECT_EQ(del->body["Status"], "deleted");
  ExpectError(
      cp_->snapshots().DescribeDBSnapshots({{"DBSnapshotIdentifier", "multiple-todos"}}).status(),
      "DBSnapshotNotFound", 404, "DBSnapshot multiple-todos not found.");
  ExpectError(
      cp_->snapshots().DeleteDBSnapshot({{"DBSnapshotIdentifier", "multiple-todos"}}).status(),
      "DBSnapshotNotFound", 404, "DBSnapshot multiple-todos not found.");
}

TEST_F(ControlPlaneTest, SnapshotOfAStoppedInstanceIsRefused) {
  Create("test");
  auto stop = cp_->instances().StopDBInstance({{"DBInstanceIdentifier", "test"}});
  ASSERT_TRUE(stop.ok());
  Wait(stop->operation_id);
  ExpectError(
      cp_->snapshots()
          .CreateDBSnapshot({{"DBInstanceIdentifier", "test"}, {"DBSnapshotIdentifier", "s"}})
          .status(),
      "InvalidDBInstanceState", 400,
      "Cannot create a snapshot because the database instance test is not currently in the "
      "available state.");
}

TEST_F(ControlPlaneTest, RestoresCheckLikeRds) {
  Create("test");
  json zero = CreateReq("nobackups");
  zero["BackupRetentionPeriod"] = 0;
  auto c = cp_->instances().CreateDBInstance(zero);
  ASSERT_TRUE(c.ok());
  Wait(c->operation_id);
  json base = {{"SourceDBInstanceIdentifier", "test"}, {"TargetDBInstanceIdentifier", "copy"}};
  ExpectError(cp_->snapshots().RestoreDBInstanceToPointInTime(base).status(),
              "InvalidParameterCombination", 400,
              "Either RestoreTime or UseLatestRestorableTime must be specified.");
  json both = base;
  both["UseLatestRestorableTime"] = true;
  both["RestoreTime"] = "2020-01-01T00:00:00Z";
  ExpectError(cp_->snapshots().RestoreDBInstanceToPointInTime(both).status(),
              "InvalidParameterCombination", 400,
              "Cannot specify both RestoreTime and UseLatestRestorableTime.");
  json early = base;
  early["RestoreTime"] = "2020-01-01T00:00:00Z";
  ExpectError(cp_->snapshots().RestoreDBInstanceToPointInTime(early).status(),
              "InvalidRestoreFault", 400,
              testing::StartsWith("The restore time 2020-01-01T00:00:00.000Z is outside the "
                                  "restorable window of test ("));
  json future = base;
  future["RestoreTime"] = "2999-01-01T00:00:00Z";
  ExpectError(cp_->snapshots().RestoreDBInstanceToPointInTime(future).status(),
              "InvalidRestoreFault", 400,
              testing::StartsWith("The restore time 2999-01-01T00:00:00.000Z is outside the "
                                  "restorable window of test ("));
  ExpectError(cp_->snapshots()
                  .RestoreDBInstanceToPointInTime({{"SourceDBInstanceIdentifier", "nobackups"},
                                                   {"TargetDBInstanceIdentifier", "copy"},
                                                   {"UseLatestRestorableTime", true}})
                  .status(),
              "PointInTimeRestoreNotEnabled", 400,
              "Point-in-time restore is not enabled for DB instance nobackups: its "
              "BackupRetentionPeriod is 0.");
  ExpectError(cp_->snapshots()
                  .RestoreDBInstanceToPointInTime({{"SourceDbiResourceId", "db-NOSUCHTHING"},
                                                   {"TargetDBInstanceIdentifier", "copy"},
                                                   {"UseLatestRestorableTime", true}})
                  .status(),
              "DBInstanceAutomatedBackupNotFound", 404,
              "No automated backup found for db-NOSUCHTHING.");
  json latest = base;
  latest["UseLatestRestorableTime"] = true;
  latest["TargetDBInstanceIdentifier"] = "nobackups";
  ExpectError(cp_->snapshots().RestoreDBInstanceToPointInTime(latest).status(),
              "DBInstanceAlreadyExists", 400, "DB instance already exists");
  ExpectError(cp_->snapshots()
                  .RestoreDBInstanceFromDBSnapshot(
                      {{"DBInstanceIdentifier", "x"}, {"DBSnapshotIdentifier", "nope"}})
                  .status(),
              "DBSnapshotNotFound", 404, "DBSnapshot nope not found.");

  latest["TargetDBInstanceIdentifier"] = "copy";
  auto r = cp_->snapshots().RestoreDBInstanceToPointInTime(latest);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body["DBInstanceStatus"], "creating");
  Wait(r->operation_id);
  EXPECT_EQ(StatusOf("copy"), "available");
  EXPECT_NE(Describe("copy")["DbiResourceId"], Describe("test")["DbiResourceId"]);
  auto events = EventMessages("copy");
  EXPECT_NE(std::find(events.begin(), events.end(), "Restored from DB instance test to copy"),
            events.end());
}

// The first automated backup of an instance restored from a snapshot is that snapshot's files,
// hard-linked (no pg_basebackup); a point-in-time restore, whose data differ from its base, still
// takes a real one.
TEST_F(ControlPlaneTest, ARestoreFromASnapshotTakesItsFirstBackupFromTheSnapshot) {
  Create("test");
  auto snap = cp_->snapshots().CreateDBSnapshot(
      {{"DBInstanceIdentifier", "test"}, {"DBSnapshotIdentifier", "s1"}});
  ASSERT_TRUE(snap.ok());
  Wait(snap->operation_id);
  ASSERT_EQ(SnapshotOf(*cp_, "s1")["Status"], "available");
  const size_t backups_before = runtime_.BackupSlots().size();

  auto r = cp_->snapshots().RestoreDBInstanceFromDBSnapshot(
      {{"DBInstanceIdentifier", "copy"}, {"DBSnapshotIdentifier", "s1"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  Wait(r->operation_id);
  EXPECT_EQ(StatusOf("copy"), "available");
  EXPECT_EQ(runtime_.BackupSlots().size(), backups_before);  // no pg_basebackup
  auto automated = cp_->snapshots().DescribeDBSnapshots(
      {{"DBInstanceIdentifier", "copy"}, {"SnapshotType", "automated"}});
  ASSERT_TRUE(automated.ok());
  ASSERT_EQ((*automated)["DBSnapshots"].size(), 1u);
  EXPECT_EQ((*automated)["DBSnapshots"][0]["Status"], "available");
  // Its backup_label is the snapshot's own file: two names, one inode.
  int linked = 0;
  for (const auto& e : fs::directory_iterator(layout_->SnapshotsDir())) {
    if (fs::exists(e.path() / "backup_label") &&
        fs::hard_link_count(e.path() / "backup_label") == 2) {
      ++linked;
    }
  }
  EXPECT_EQ(linked, 2);

  auto pitr =
      cp_->snapshots().RestoreDBInstanceToPointInTime({{"SourceDBInstanceIdentifier", "copy"},
                                                       {"TargetDBInstanceIdentifier", "later"},
                                                       {"UseLatestRestorableTime", true}});
  ASSERT_TRUE(pitr.ok()) << pitr.status().ToString();
  Wait(pitr->operation_id);
  EXPECT_EQ(StatusOf("later"), "available");
  EXPECT_EQ(runtime_.BackupSlots().size(), backups_before + 1);
}

TEST_F(ControlPlaneTest, ACrashDuringASnapshotResumesAfterRestart) {
  Create("test");
  OperationEngine::SetCrashHook(
      [](const std::string& kind, int step) { return !(kind == "snapshot" && step == 0); });
  auto snap = cp_->snapshots().CreateDBSnapshot(
      {{"DBInstanceIdentifier", "test"}, {"DBSnapshotIdentifier", "s1"}});
  ASSERT_TRUE(snap.ok());
  Wait(snap->operation_id);
  EXPECT_EQ(SnapshotOf(*cp_, "s1")["Status"], "creating");
  // A half-written backup left behind by the crash.
  fs::path half = layout_->SnapshotsDir() / "snap-half.tmp";
  fs::create_directories(half);
  Restart();
  EXPECT_EQ(SnapshotOf(*cp_, "s1")["Status"], "available");
  EXPECT_EQ(StatusOf("test"), "available");
  EXPECT_FALSE(fs::exists(half));
}

TEST_F(ControlPlaneTest, AFailedBackupFailsTheSnapshotNotTheInstance) {
  Create("test");
  runtime_.FailNextBackup(true);
  auto snap = cp_->snapshots().CreateDBSnapshot(
      {{"DBInstanceIdentifier", "test"}, {"DBSnapshotIdentifier", "s1"}});
  ASSERT_TRUE(snap.ok());
  Wait(snap->operation_id);
  EXPECT_EQ(SnapshotOf(*cp_, "s1")["Status"], "failed");
  EXPECT_EQ(StatusOf("test"), "available");
  ExpectError(cp_->snapshots()
                  .RestoreDBInstanceFromDBSnapshot(
                      {{"DBInstanceIdentifier", "x"}, {"DBSnapshotIdentifier", "s1"}})
                  .status(),
              "InvalidDBSnapshotState", 400, "Snapshot s1 is not available (it is failed).");
}

TEST_F(ControlPlaneTest, RetainedBackupsOutliveTheInstanceUntilTheyExpire) {
  Create("test");
  std::string rid = Describe("test")["DbiResourceId"];
  auto del = cp_->instances().DeleteDBInstance({{"DBInstanceIdentifier", "test"},
                                                {"SkipFinalSnapshot", true},
                                                {"DeleteAutomatedBackups", false}});
  ASSERT_TRUE(del.ok());
  Wait(del->operation_id);
  auto list = cp_->snapshots().DescribeDBInstanceAutomatedBackups(json::object());
  ASSERT_TRUE(list.ok());
  ASSERT_EQ((*list)["DBInstanceAutomatedBackups"].size(), 1u);
  EXPECT_EQ((*list)["DBInstanceAutomatedBackups"][0]["Status"], "retained");
  EXPECT_EQ((*list)["DBInstanceAutomatedBackups"][0]["DbiResourceId"], rid);
  ExpectError(
      cp_->snapshots().DeleteDBInstanceAutomatedBackup({{"DbiResourceId", "db-NOPE"}}).status(),
      "DBInstanceAutomatedBackupNotFound", 404, "No automated backup found for db-NOPE.");
  // Retention is 7 days: nothing expires after 6, everything after 8.
  const int64_t day = 24LL * 3600 * 1000;
  clock_.Advance(6 * day);
  EXPECT_EQ(cp_->reconciler().ReconcileOnce(), "");
  clock_.Advance(2 * day);
  EXPECT_EQ(cp_->reconciler().ReconcileOnce(),
            "expired 1 automated snapshot(s) and 0 WAL file(s) of test.");
  ExpectError(
      cp_->snapshots().DescribeDBInstanceAutomatedBackups({{"DbiResourceId", rid}}).status(),
      "DBInstanceAutomatedBackupNotFound", 404, "No automated backup found for " + rid + ".");
  EXPECT_FALSE(fs::exists(layout_->ArchiveDir(rid)));
}

TEST_F(ControlPlaneTest, TheDailyBackupRunsOnceInEachDaysWindow) {
  clock_.Set(*ParseIso8601("2026-12-07T02:00:00Z"));
  json req = CreateReq("test");
  req["PreferredBackupWindow"] = "03:00-03:30";
  req["PreferredMaintenanceWindow"] = "sun:05:00-sun:05:30";
  auto created = cp_->instances().CreateDBInstance(req);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  Wait(created->operation_id);
  auto automated = [&] {
    auto r = cp_->snapshots().DescribeDBSnapshots(
        {{"DBInstanceIdentifier", "test"}, {"SnapshotType", "automated"}});
    std::vector<std::string> ids;
    for (const auto& s : (*r)["DBSnapshots"]) ids.push_back(s["DBSnapshotIdentifier"]);
    std::sort(ids.begin(), ids.end());
    return ids;
  };
  const auto backed_up = [&] { return StatusOf("test") == "available"; };
  EXPECT_EQ(automated(), std::vector<std::string>{"rds:test-2026-12-07-02-00"});  // the first
  EXPECT_EQ(cp_->reconciler().ReconcileOnce(), "");  // 02:00: the window is not open

  clock_.Set(*ParseIso8601("2026-12-07T03:10:00Z"));
  EXPECT_EQ(cp_->reconciler().ReconcileOnce(), "started the daily backup of test.");
  ASSERT_TRUE(Eventually(backed_up));
  EXPECT_EQ(automated(),
            (std::vector<std::string>{"rds:test-2026-12-07-02-00", "rds:test-2026-12-07-03-10"}));
  EXPECT_EQ(cp_->reconciler().ReconcileOnce(), "");  // one a day, even with the window open
  clock_.Set(*ParseIso8601("2026-12-07T03:40:00Z"));
  EXPECT_EQ(cp_->reconciler().ReconcileOnce(), "");

  clock_.Set(*ParseIso8601("2026-12-08T03:00:00Z"));  // the next day's window
  EXPECT_EQ(cp_->reconciler().ReconcileOnce(), "started the daily backup of test.");
  ASSERT_TRUE(Eventually(backed_up));
  EXPECT_EQ(automated().size(), 3u);
  EXPECT_EQ(automated().back(), "rds:test-2026-12-08-03-00");
}

TEST_F(ControlPlaneTest, DeletingDropsAutomatedBackupsByDefault) {
  Create("test");
  auto del = cp_->instances().DeleteDBInstance(
      {{"DBInstanceIdentifier", "test"}, {"FinalDBSnapshotIdentifier", "final"}});
  ASSERT_TRUE(del.ok());
  Wait(del->operation_id);
  auto all = cp_->snapshots().DescribeDBSnapshots(json::object());
  ASSERT_TRUE(all.ok());
  ASSERT_EQ((*all)["DBSnapshots"].size(), 1u) << all->dump();
  EXPECT_EQ((*all)["DBSnapshots"][0]["DBSnapshotIdentifier"], "final");
  EXPECT_EQ((*all)["DBSnapshots"][0]["Status"], "available");
  EXPECT_TRUE((*cp_->snapshots().DescribeDBInstanceAutomatedBackups(
      json::object()))["DBInstanceAutomatedBackups"]
                  .empty());
}

}  // namespace localrds
