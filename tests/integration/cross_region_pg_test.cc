// Cross-region disaster recovery over real PostgreSQL: a read replica in another region streams
// its source's commits no sooner than the inter-region latency after them; automated backups
// replicated to another region (base backups and WAL copied there) restore to a second between
// two commits, and still after the source is deleted.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "emulator/core/request.h"
#include "tests/integration/backup_pg_fixture.h"
#include "tests/scopes.h"

namespace localrds {
namespace {
using nlohmann::json;

const std::string kSourceArn = "arn:aws:rds:us-east-1:000000000000:db:prod";

class CrossRegionPgTest : public BackupPgTest {
 protected:
  CrossRegionPgTest() : BackupPgTest("lrxr-", 9000) {}
  json DescribeIn(const Scope& scope, const std::string& id) {
    auto r = cp_->instances().DescribeDBInstances(In(scope, {{"DBInstanceIdentifier", id}}));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? (*r)["DBInstances"][0] : json();
  }
  int WaitAvailableIn(const Scope& scope, const Result<Accepted>& r, const std::string& id) {
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return 0;
    Wait(r->operation_id);
    json d = DescribeIn(scope, id);
    EXPECT_EQ(d["DBInstanceStatus"], "available") << d.dump();
    return d.contains("Endpoint") ? d["Endpoint"].value("Port", 0) : 0;
  }
};

TEST_F(CrossRegionPgTest, AReplicaInAnotherRegionSeesACommitNoSoonerThanTheLatency) {
  ASSERT_FALSE(Create("prod", 1).empty());
  const int source = Port("prod");
  Query(source, "CREATE TABLE t(x int)");
  const int replica = WaitAvailableIn(
      kEu,
      cp_->replicas().CreateDBInstanceReadReplica(
          In(kEu, {{"DBInstanceIdentifier", "dr"}, {"SourceDBInstanceIdentifier", kSourceArn}})),
      "dr");
  ASSERT_NE(replica, 0);
  EXPECT_EQ(Query(replica, "SHOW recovery_min_apply_delay"), "40ms\n");
  // The commit is applied on the replica at its commit time plus 40 ms, never before: from just
  // before the INSERT to the first read that sees it is at least that (a lower bound, which the
  // machine's load cannot break).
  for (int round = 1; round <= 3; ++round) {
    const auto before = std::chrono::steady_clock::now();
    Query(source, "INSERT INTO t VALUES (" + std::to_string(round) + ")");
    ASSERT_TRUE(Eventually(
        [&] { return Query(replica, "SELECT count(*) FROM t") == std::to_string(round) + "\n"; },
        std::chrono::seconds(30)));
    const auto seen = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - before);
    EXPECT_GE(seen.count(), 40) << "round " << round;
  }
  std::string out;
  EXPECT_NE(Psql(replica, "INSERT INTO t VALUES (9)", &out), 0);
  EXPECT_NE(out.find("read-only transaction"), std::string::npos) << out;
}

TEST_F(CrossRegionPgTest, ReplicatedBackupsRestoreToASecondBetweenTwoCommitsInTheirRegion) {
  const std::string rid = Create("prod", 1);
  ASSERT_FALSE(rid.empty());
  const int port = Port("prod");
  auto started = cp_->snapshots().StartDBInstanceAutomatedBackupsReplication(
      In(kEu, {{"SourceDBInstanceArn", kSourceArn}, {"BackupRetentionPeriod", 7}}));
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  const std::string ab_arn = started->body["DBInstanceAutomatedBackupsArn"];
  const int64_t a_done = Commit(port, "CREATE TABLE t(x text); INSERT INTO t VALUES ('A')");
  const int64_t target = (a_done / 1000 + 1) * 1000;  // a whole second after A; B after it
  std::this_thread::sleep_until(
      std::chrono::system_clock::time_point(std::chrono::milliseconds(target + 300)));
  const int64_t b_done = Commit(port, "INSERT INTO t VALUES ('B')");
  ASSERT_TRUE(ShipWalUntil(rid, b_done, /*heartbeat=*/true));

  // The copy in eu-west-1 catches up: its own files, its own restorable window.
  std::string key;
  ASSERT_TRUE(Eventually(
      [&] {
        cp_->backup_replicator().ReplicateOnce();
        auto reg = cp_->registry().Lock();
        for (const auto& [k, ret] : reg.retained()) {
          auto w = reg.Window(k);
          if (ret.instance.scope == kEu && w && w->second >= b_done) key = k;
        }
        return !key.empty();
      },
      std::chrono::seconds(30)));
  EXPECT_TRUE(std::filesystem::exists(layout_->ArchiveDir(key)));
  EXPECT_FALSE(ArchivedWal(key).empty());

  const int restored = WaitAvailableIn(kEu,
                                       cp_->snapshots().RestoreDBInstanceToPointInTime(In(
                                           kEu, {{"SourceDBInstanceAutomatedBackupsArn", ab_arn},
                                                 {"TargetDBInstanceIdentifier", "between"},
                                                 {"RestoreTime", FormatIso8601(target, false)}})),
                                       "between");
  ASSERT_NE(restored, 0);
  EXPECT_EQ(Query(restored, "SELECT string_agg(x, ',' ORDER BY x) FROM t"), "A\n");
  ExpectWritable(restored);

  // The source is deleted with its own backups: the copy stays, retained, and still restores.
  auto del = cp_->instances().DeleteDBInstance(In(kEast, {{"DBInstanceIdentifier", "prod"},
                                                          {"SkipFinalSnapshot", true},
                                                          {"DeleteAutomatedBackups", true}}));
  ASSERT_TRUE(del.ok()) << del.status().ToString();
  Wait(del->operation_id);
  cp_->backup_replicator().ReplicateOnce();
  Open();  // and a restart of localrds
  const int latest = WaitAvailableIn(kEu,
                                     cp_->snapshots().RestoreDBInstanceToPointInTime(
                                         In(kEu, {{"SourceDBInstanceAutomatedBackupsArn", ab_arn},
                                                  {"TargetDBInstanceIdentifier", "latest"},
                                                  {"UseLatestRestorableTime", true}})),
                                     "latest");
  ASSERT_NE(latest, 0);
  EXPECT_EQ(Query(latest, "SELECT string_agg(x, ',' ORDER BY x) FROM t"), "A,B\n");
}

}  // namespace
}  // namespace localrds
