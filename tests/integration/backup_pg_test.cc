// Backups over real PostgreSQL: the archive and restore commands as PostgreSQL runs them, WAL
// shipping and LatestRestorableTime (while running, after a stop, after a delete), snapshots and
// their restores, point-in-time restore, and retention expiry. Snapshots interrupted by a crash
// are in backup_pg_crash_test.cc.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <set>
#include <thread>

#include "common/log.h"
#include "common/subprocess.h"
#include "common/time_util.h"
#include "emulator/engine/operation_engine.h"
#include "emulator/postgres/backup_files.h"
#include "emulator/runtime/local_runtime.h"
#include "emulator/service/control_plane.h"
#include "tests/integration/backup_pg_fixture.h"

namespace localrds {
namespace fs = std::filesystem;
namespace bf = backup_files;
using nlohmann::json;

namespace {

constexpr int64_t kDayMs = 24LL * 3600 * 1000;
constexpr const char* kSegment = "000000010000000000000001";

std::string ReadBytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
  return s;
}

// Runs an archive_command or restore_command the way PostgreSQL does: through sh, in the data
// directory, with %p (a path relative to it) and %f (a file name) substituted.
int RunPgCommand(const std::string& command, const fs::path& cwd, const std::string& p,
                 const std::string& f, std::string* out) {
  CommandOptions o;
  o.cwd = cwd.string();
  auto r = RunCommand({"sh", "-c", Replace(Replace(command, "%p", p), "%f", f)}, o);
  *out = r.ok() ? r->output : r.status().ToString();
  return r.ok() ? r->exit_code : -1;
}

// The position (log and segment) of an archived WAL file name, on any timeline.
std::string WalPosition(const std::string& name) { return name.substr(8, 16); }

}  // namespace

TEST(BackupFilesTest, ArchiveAndRestoreCommandsKeepSegmentsExactly) {
  LogLine::SetQuiet(true);
  const fs::path dir = fs::path("/tmp") / ("lrbf-" + std::to_string(getpid()));
  fs::remove_all(dir);
  // A data directory may have a space in its path (CheckConfigSafePath allows it).
  const fs::path pgdata = dir / "pgdata", archive = dir / "wal archive";
  fs::create_directories(pgdata / "pg_wal");
  fs::create_directories(archive);
  std::string segment(16 << 20, '\0');
  std::mt19937 rng(42);
  for (auto& c : segment) c = static_cast<char>(rng() & 0x3f);  // compressible, but not trivially
  const std::string p = std::string("pg_wal/") + kSegment;
  WriteBytes(pgdata / p, segment);
  // A partial temporary file left by an archiver killed mid-copy does not get in the way.
  const fs::path left_over = archive / (std::string(kSegment) + ".gz.12345.tmp");
  WriteBytes(left_over, "half a segm");
  const std::string archive_command = bf::ArchiveCommand(archive);
  std::string out;

  ASSERT_EQ(RunPgCommand(archive_command, pgdata, p, kSegment, &out), 0) << out;
  const fs::path stored = archive / (std::string(kSegment) + ".gz");
  ASSERT_TRUE(fs::exists(stored));
  EXPECT_EQ(fs::file_size(left_over), 11u);          // another archiver's file is not touched
  EXPECT_LT(fs::file_size(stored), segment.size());  // really compressed
  {
    CommandOptions o;
    auto r = RunCommand({"sh", "-c",
                         "gzip -dc " + ShellQuote(stored.string()) + " > " +
                             ShellQuote((dir / "unzipped").string())},
                        o);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->exit_code, 0) << r->output;
    EXPECT_TRUE(ReadBytes(dir / "unzipped") == segment) << "the archive does not hold the segment";
  }
  const std::string stored_bytes = ReadBytes(stored);

  // PostgreSQL retries a segment whose earlier archiving it did not see succeed: same content
  // is fine.
  EXPECT_EQ(RunPgCommand(archive_command, pgdata, p, kSegment, &out), 0) << out;
  EXPECT_TRUE(ReadBytes(stored) == stored_bytes);

  // Different content under the same name (corruption, or a second server archiving into the
  // same place) is refused and the archived segment stays as it was.
  std::string other = segment;
  other[12345] ^= 0x40;
  WriteBytes(pgdata / p, other);
  EXPECT_NE(RunPgCommand(archive_command, pgdata, p, kSegment, &out), 0) << out;
  EXPECT_TRUE(ReadBytes(stored) == stored_bytes) << "a refused segment overwrote the archive";

  // The restore command brings the original back; a segment the archive lacks is an error (that
  // is how recovery learns the archive has ended).
  const std::string restore_command = bf::RestoreCommand(archive);
  ASSERT_EQ(RunPgCommand(restore_command, pgdata, "pg_wal/RECOVERYXLOG", kSegment, &out), 0) << out;
  EXPECT_TRUE(ReadBytes(pgdata / "pg_wal/RECOVERYXLOG") == segment)
      << "the restored segment differs from the archived one";
  EXPECT_NE(RunPgCommand(restore_command, pgdata, "pg_wal/RECOVERYXLOG", "000000010000000000000009",
                         &out),
            0);
  fs::remove_all(dir);
}

TEST_F(BackupPgTest, ARunningServerArchivesAndLatestRestorableTimeReachesTheCommit) {
  const std::string rid = Create("arch", 1);
  ASSERT_FALSE(rid.empty());
  const int port = Port("arch");
  const int64_t committed = Commit(port, "CREATE TABLE t(x int); INSERT INTO t VALUES (1), (2)");
  // No further writes: an idle instance's last commit must still become restorable. (RDS keeps
  // LatestRestorableTime within minutes of now whether or not the instance is busy.)
  // A correct implementation gets there within about wal_ship_interval plus a second.
  EXPECT_TRUE(ShipWalUntil(rid, committed, /*heartbeat=*/false, std::chrono::seconds(10)))
      << "LatestRestorableTime stays at " << FormatIso8601(LatestRestorable(rid))
      << ", before the commit at " << FormatIso8601(committed) << " (BUG: it never advances on an "
      << "idle instance when the switch came less than a second after the last commit)";
  EXPECT_FALSE(ArchivedWal(rid).empty()) << "no *.gz segment in " << layout_->ArchiveDir(rid);
  EXPECT_TRUE(bf::ReadRestorableUntil(layout_->ArchiveDir(rid)).has_value());
  EXPECT_EQ(Describe("arch")["LatestRestorableTime"], FormatIso8601(LatestRestorable(rid)));
}

TEST_F(BackupPgTest, ASnapshotRestoresIntoAWritableInstanceWithTheData) {
  ASSERT_FALSE(Create("src", 1).empty());
  const int port = Port("src");
  Commit(port, "CREATE TABLE t(x int); INSERT INTO t VALUES (1), (2), (3)");
  auto s = cp_->snapshots().CreateDBSnapshot(
      {{"DBInstanceIdentifier", "src"}, {"DBSnapshotIdentifier", "snap1"}});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  Wait(s->operation_id);
  json snap = (*cp_->snapshots().DescribeDBSnapshots(
      {{"DBSnapshotIdentifier", "snap1"}}))["DBSnapshots"][0];
  EXPECT_EQ(snap["Status"], "available");
  EXPECT_EQ(snap["SnapshotType"], "manual");
  EXPECT_EQ(Describe("src")["DBInstanceStatus"], "available");
  Commit(port, "INSERT INTO t VALUES (4)");  // after the snapshot: not in it

  const int restored =
      WaitAvailable(cp_->snapshots().RestoreDBInstanceFromDBSnapshot(
                        {{"DBInstanceIdentifier", "copy"}, {"DBSnapshotIdentifier", "snap1"}}),
                    "copy");
  ASSERT_NE(restored, 0);
  EXPECT_NE(restored, port);
  EXPECT_EQ(Query(restored, "SELECT string_agg(x::text, ',' ORDER BY x) FROM t"), "1,2,3\n");
  ExpectWritable(restored);
  EXPECT_NE(Describe("copy")["DbiResourceId"], Describe("src")["DbiResourceId"]);
  // The source is untouched by the restore.
  EXPECT_EQ(Query(port, "SELECT count(*) FROM t"), "4\n");
}

// An instance restored from a snapshot has the snapshot's own files as its first backup (hard
// links, no pg_basebackup): they and the new instance's archive, which continues the
// snapshot's WAL, restore it to a point in time between two of its own commits.
TEST_F(BackupPgTest, AnInstanceRestoredFromASnapshotRestoresToAPointInTime) {
  ASSERT_FALSE(Create("src", 1).empty());
  Commit(Port("src"), "CREATE TABLE t(x text); INSERT INTO t VALUES ('A')");
  auto s = cp_->snapshots().CreateDBSnapshot(
      {{"DBInstanceIdentifier", "src"}, {"DBSnapshotIdentifier", "snap1"}});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  Wait(s->operation_id);
  const int copy =
      WaitAvailable(cp_->snapshots().RestoreDBInstanceFromDBSnapshot(
                        {{"DBInstanceIdentifier", "copy"}, {"DBSnapshotIdentifier", "snap1"}}),
                    "copy");
  ASSERT_NE(copy, 0);
  const std::string copy_rid = Describe("copy")["DbiResourceId"];
  const int64_t b_done = Commit(copy, "INSERT INTO t VALUES ('B')");
  // The restore time: a whole second after B; C commits a little after it (a gap in wall-clock
  // time; the sleep waits for nothing).
  const int64_t target = (b_done / 1000 + 1) * 1000;
  std::this_thread::sleep_until(
      std::chrono::system_clock::time_point(std::chrono::milliseconds(target + 300)));
  const int64_t c_done = Commit(copy, "INSERT INTO t VALUES ('C')");
  ASSERT_TRUE(ShipWalUntil(copy_rid, c_done, /*heartbeat=*/true))
      << "LatestRestorableTime is " << FormatIso8601(LatestRestorable(copy_rid));

  const int again = WaitAvailable(cp_->snapshots().RestoreDBInstanceToPointInTime(
                                      {{"SourceDBInstanceIdentifier", "copy"},
                                       {"TargetDBInstanceIdentifier", "again"},
                                       {"RestoreTime", FormatIso8601(target, false)}}),
                                  "again");
  ASSERT_NE(again, 0);
  EXPECT_EQ(Query(again, "SELECT string_agg(x, ',' ORDER BY x) FROM t"), "A,B\n");
  ExpectWritable(again);
}

TEST_F(BackupPgTest, PointInTimeRestoreStopsBetweenTwoCommits) {
  const std::string rid = Create("src", 1);
  ASSERT_FALSE(rid.empty());
  const int port = Port("src");
  const int64_t a_done = Commit(port, "CREATE TABLE t(x text); INSERT INTO t VALUES ('A')");
  // The restore time: a whole second (as clients usually send it) after A's commit. B commits
  // a little after it. These sleeps make a gap in wall-clock time; they wait for nothing.
  const int64_t target = (a_done / 1000 + 1) * 1000;
  std::this_thread::sleep_until(
      std::chrono::system_clock::time_point(std::chrono::milliseconds(target + 300)));
  const int64_t b_done = Commit(port, "INSERT INTO t VALUES ('B')");
  ASSERT_TRUE(ShipWalUntil(rid, b_done, /*heartbeat=*/true))
      << "LatestRestorableTime is " << FormatIso8601(LatestRestorable(rid));

  const int restored = WaitAvailable(cp_->snapshots().RestoreDBInstanceToPointInTime(
                                         {{"SourceDBInstanceIdentifier", "src"},
                                          {"TargetDBInstanceIdentifier", "pitr"},
                                          {"RestoreTime", FormatIso8601(target, false)}}),
                                     "pitr");
  ASSERT_NE(restored, 0);
  EXPECT_EQ(Query(restored, "SELECT string_agg(x, ',' ORDER BY x) FROM t"), "A\n");
  ExpectWritable(restored);
  // Its frozen view of the source's archive is gone once it has recovered.
  EXPECT_FALSE(fs::exists(layout_->RestoreWalDir(Describe("pitr")["DbiResourceId"])));
}

TEST_F(BackupPgTest, ExpiryDropsOldBackupsAndTheirWalButKeepsTheNewestRestorable) {
  const std::string rid = Create("exp", 1);  // the first automated backup is taken at creation
  ASSERT_FALSE(rid.empty());
  const int port = Port("exp");
  Commit(port, "CREATE TABLE t(x int); INSERT INTO t VALUES (1)");
  for (int i = 0; i < 2; ++i) {
    auto b = cp_->BackupNow("exp");
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    Wait(b->operation_id);
    Commit(port, "INSERT INTO t VALUES (" + std::to_string(i + 2) + ")");
  }
  auto autos = cp_->registry().AutomatedSnapshotsOf(rid);
  ASSERT_EQ(autos.size(), 3u);
  for (const auto& s : autos) ASSERT_EQ(s.status, "available") << s.identifier;
  const SnapshotRow newest = autos.back();
  const std::string start = newest.attrs.value("_start_wal", "");
  ASSERT_TRUE(bf::IsWalFileName(start)) << start;
  ASSERT_TRUE(WaitAllArchived(rid));
  const std::set<std::string> before = ArchivedWal(rid);
  std::set<std::string> older, kept;
  for (const auto& n : before) (WalPosition(n) < WalPosition(start) ? older : kept).insert(n);
  ASSERT_FALSE(older.empty()) << "the older backups left no WAL to expire";
  ASSERT_FALSE(kept.empty());

  EXPECT_EQ(cp_->backups().ExpireBackups(NowMs()), "");  // nothing is past retention yet
  EXPECT_EQ(cp_->backups().ExpireBackups(NowMs() + 2 * kDayMs),
            "expired 2 automated snapshot(s) and " + std::to_string(older.size()) +
                " WAL file(s) of exp.");
  json snaps = Snapshots("exp");
  ASSERT_EQ(snaps.size(), 1u) << snaps.dump();
  EXPECT_EQ(snaps[0]["DBSnapshotIdentifier"], newest.identifier);
  EXPECT_EQ(snaps[0]["SnapshotType"], "automated");
  for (size_t i = 0; i + 1 < autos.size(); ++i) {
    EXPECT_FALSE(fs::exists(layout_->SnapshotDir(autos[i].id))) << autos[i].identifier;
  }
  EXPECT_TRUE(fs::exists(layout_->SnapshotDir(newest.id) / "backup_label"));
  const std::set<std::string> after = ArchivedWal(rid);
  for (const auto& n : older) EXPECT_FALSE(after.count(n)) << n << " precedes " << start;
  for (const auto& n : kept) EXPECT_TRUE(after.count(n)) << n << " was removed";
  // The restorable window now starts at the newest backup; a time before it is refused.
  ASSERT_TRUE(cp_->registry().Window(rid).has_value());
  EXPECT_EQ(cp_->registry().Window(rid)->first, newest.attrs.value("_consistent_ms", int64_t{0}));
  auto too_early = cp_->snapshots().RestoreDBInstanceToPointInTime(
      {{"SourceDBInstanceIdentifier", "exp"},
       {"TargetDBInstanceIdentifier", "early"},
       {"RestoreTime", FormatIso8601(autos[1].attrs.value("_consistent_ms", int64_t{0}))}});
  ASSERT_FALSE(too_early.ok());
  EXPECT_EQ(too_early.status().code(), AwsError::kInvalidRestoreFault);

  // The newest backup and the WAL after it still restore to a time after it.
  const int64_t x_done = Commit(port, "INSERT INTO t VALUES (100)");
  ASSERT_TRUE(ShipWalUntil(rid, x_done, /*heartbeat=*/true));
  const int restored = WaitAvailable(
      cp_->snapshots().RestoreDBInstanceToPointInTime({{"SourceDBInstanceIdentifier", "exp"},
                                                       {"TargetDBInstanceIdentifier", "later"},
                                                       {"UseLatestRestorableTime", true},
                                                       {"BackupRetentionPeriod", 0}}),
      "later");
  ASSERT_NE(restored, 0);
  EXPECT_EQ(Query(restored, "SELECT string_agg(x::text, ',' ORDER BY x) FROM t"), "1,2,3,100\n");

  // A retained backup (its instance deleted) goes entirely once its retention has passed.
  auto del = cp_->instances().DeleteDBInstance({{"DBInstanceIdentifier", "exp"},
                                                {"SkipFinalSnapshot", true},
                                                {"DeleteAutomatedBackups", false}});
  ASSERT_TRUE(del.ok()) << del.status().ToString();
  Wait(del->operation_id);
  json retained = (*cp_->snapshots().DescribeDBInstanceAutomatedBackups(
      json::object()))["DBInstanceAutomatedBackups"];
  ASSERT_EQ(retained.size(), 1u) << retained.dump();
  EXPECT_EQ(retained[0]["Status"], "retained");
  EXPECT_TRUE(fs::exists(layout_->ArchiveDir(rid)));
  EXPECT_EQ(cp_->backups().ExpireBackups(NowMs()), "");
  EXPECT_EQ(cp_->backups().ExpireBackups(NowMs() + 3 * kDayMs),
            "expired 1 automated snapshot(s) and 0 WAL file(s) of exp.");
  EXPECT_TRUE((*cp_->snapshots().DescribeDBInstanceAutomatedBackups(
      json::object()))["DBInstanceAutomatedBackups"]
                  .empty());
  EXPECT_TRUE(Snapshots("exp").empty());
  EXPECT_FALSE(fs::exists(layout_->ArchiveDir(rid)));
  EXPECT_FALSE(fs::exists(layout_->SnapshotDir(newest.id)));
}

// RDS keeps a deleted instance's automated backups restorable up to the deletion. The last
// commits before the delete were never shipped; PostgreSQL archives them at its shutdown and the
// delete's stop step records that in the archive (restorable-until). The restore window must
// follow at once, not only after localrds restarts.
TEST_F(BackupPgTest, ARetainedBackupRestoresTheLastCommitBeforeTheDelete) {
  const std::string rid = Create("gone", 1);
  ASSERT_FALSE(rid.empty());
  const int port = Port("gone");
  const int64_t committed = Commit(port, "CREATE TABLE t(x int); INSERT INTO t VALUES (5)");
  auto del = cp_->instances().DeleteDBInstance({{"DBInstanceIdentifier", "gone"},
                                                {"SkipFinalSnapshot", true},
                                                {"DeleteAutomatedBackups", false}});
  ASSERT_TRUE(del.ok()) << del.status().ToString();
  Wait(del->operation_id);
  ASSERT_TRUE(cp_->registry().Window(rid).has_value());
  const int64_t latest = cp_->registry().Window(rid)->second;
  EXPECT_GE(latest, committed)
      << "BUG: LatestRestorableTime of the retained backup is stale; the stop step wrote "
      << FormatIso8601(bf::ReadRestorableUntil(layout_->ArchiveDir(rid)).value_or(0))
      << " to the archive but the in-memory window was not refreshed";

  const int restored = WaitAvailable(
      cp_->snapshots().RestoreDBInstanceToPointInTime({{"SourceDbiResourceId", rid},
                                                       {"TargetDBInstanceIdentifier", "back"},
                                                       {"UseLatestRestorableTime", true},
                                                       {"BackupRetentionPeriod", 0}}),
      "back");
  ASSERT_NE(restored, 0);
  // With the stale window above, "latest" is the base backup and the commit is lost.
  std::string out;
  EXPECT_EQ(Psql(restored, "SELECT x FROM t", &out), 0) << out;
  EXPECT_EQ(out, "5\n") << "restored to " << FormatIso8601(latest) << ", commit at "
                        << FormatIso8601(committed);
  // The archive itself had it: a restart (which rereads restorable-until) sees the window.
  Open();
  ASSERT_TRUE(cp_->registry().Window(rid).has_value());
  EXPECT_GE(cp_->registry().Window(rid)->second, committed);
}

// The same for a stopped instance: its last commits are restorable as soon as it is stopped.
TEST_F(BackupPgTest, StoppingAnInstanceMakesItsLastCommitRestorable) {
  const std::string rid = Create("rest", 1);
  ASSERT_FALSE(rid.empty());
  const int64_t committed = Commit(Port("rest"), "CREATE TABLE t(x int); INSERT INTO t VALUES (5)");
  auto stop = cp_->instances().StopDBInstance({{"DBInstanceIdentifier", "rest"}});
  ASSERT_TRUE(stop.ok()) << stop.status().ToString();
  Wait(stop->operation_id);
  ASSERT_EQ(Describe("rest")["DBInstanceStatus"], "stopped");
  ASSERT_GE(bf::ReadRestorableUntil(layout_->ArchiveDir(rid)).value_or(0), committed);
  ASSERT_TRUE(cp_->registry().Window(rid).has_value());
  EXPECT_GE(cp_->registry().Window(rid)->second, committed)
      << "BUG: the stop step wrote restorable-until to the archive but LatestRestorableTime ("
      << Describe("rest").value("LatestRestorableTime", "none") << ") was not refreshed";
}

}  // namespace localrds
