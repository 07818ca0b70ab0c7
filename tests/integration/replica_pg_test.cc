// Read replicas over real PostgreSQL: a standby made with pg_basebackup through a slot streams
// and refuses writes, promotion makes it a writable primary and drops its slot, replication
// survives a restart of localrds and a crash in the middle of creating a replica, the poll sees a
// hung source, and the replicas of a deleted source are promoted.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <thread>

#include "emulator/core/instance_state.h"
#include "tests/eventually.h"
#include "tests/integration/pg_fixture.h"

namespace localrds {
namespace fs = std::filesystem;
using nlohmann::json;

class ReplicaPgTest : public PgControlPlaneTest {
 protected:
  ReplicaPgTest() : PgControlPlaneTest("lrrp-", 27000) {}

  // Creates a read replica of `source` and waits until it is available; returns its port.
  int CreateReplica(const std::string& id, const std::string& source) {
    return WaitAvailable(
        cp_->replicas().CreateDBInstanceReadReplica(
            {{"DBInstanceIdentifier", id}, {"SourceDBInstanceIdentifier", source}}),
        id);
  }
  // Polls `done` until it holds or `timeout` passes.
  static bool Eventually(const std::function<bool()>& done,
                         std::chrono::seconds timeout = std::chrono::seconds(20)) {
    return localrds::Eventually(done, timeout);
  }
  // A value on the instance's server, as the superuser (slots are not the master user's).
  std::string Superuser(const std::string& id, const std::string& sql) {
    auto row = cp_->registry().GetInstance(Describe(id)["DbiResourceId"]);
    auto v = runtime_->QueryValue(cp_->servers().Server(*row), "postgres", sql);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : "";
  }
  std::string ReplicationStatus(const std::string& id) {
    json d = Describe(id);
    return d.contains("StatusInfos") ? d["StatusInfos"][0].value("Status", "") : "";
  }
  bool Replicated(int replica_port, const std::string& value) {
    std::string out;
    return Psql(replica_port, "SELECT count(*) FROM t WHERE v = '" + value + "'", &out) == 0 &&
           out == "1\n";
  }
};

TEST_F(ReplicaPgTest, AStandbyStreamsTheSourcesCommitsAndRefusesWrites) {
  const std::string source_rid = Create("test", 1);
  const int source = Port("test");
  Query(source, "CREATE TABLE t(v text); INSERT INTO t VALUES ('before')");
  const int replica = CreateReplica("test-replica", "test");
  ASSERT_GT(replica, 0);
  EXPECT_NE(replica, source);

  // Data from before the replica existed, and commits made after, with the source's password.
  EXPECT_TRUE(Replicated(replica, "before"));
  Query(source, "INSERT INTO t VALUES ('after')");
  EXPECT_TRUE(Eventually([&] { return Replicated(replica, "after"); }));
  std::string out;
  EXPECT_NE(Psql(replica, "INSERT INTO t VALUES ('on the replica')", &out), 0);
  EXPECT_NE(out.find("cannot execute INSERT in a read-only transaction"), std::string::npos) << out;
  EXPECT_EQ(Query(replica, "SELECT pg_is_in_recovery()"), "t\n");

  // Both sides say so, as RDS does.
  json r = Describe("test-replica"), s = Describe("test");
  EXPECT_EQ(r["ReadReplicaSourceDBInstanceIdentifier"], "test");
  EXPECT_EQ(r["StatusInfos"], json::parse(R"([{"StatusType":"read replication","Normal":true,
                                                "Status":"replicating"}])"));
  EXPECT_EQ(r["BackupRetentionPeriod"], 0);
  EXPECT_EQ(s["ReadReplicaDBInstanceIdentifiers"], json::array({"test-replica"}));
  EXPECT_FALSE(s.contains("ReadReplicaSourceDBInstanceIdentifier"));

  // The source streams to it through its slot (WAL is kept for it while it is away).
  const std::string replica_rid = r["DbiResourceId"];
  EXPECT_EQ(Superuser("test", "SELECT active::text FROM pg_replication_slots WHERE slot_name = '" +
                                  ReplicationSlotName(replica_rid) + "'"),
            "true");
  EXPECT_EQ(Superuser("test", "SELECT state FROM pg_stat_replication WHERE application_name = '" +
                                  replica_rid + "'"),
            "streaming");
  auto details = cp_->InstanceDetails("test-replica");
  ASSERT_TRUE(details.ok());
  EXPECT_EQ((*details)["replication"]["source"], "test");
  EXPECT_EQ(cp_->replication().PollReplicationOnce(), "");  // still replicating: nothing to say
  details = cp_->InstanceDetails("test-replica");
  EXPECT_EQ((*details)["replication"]["wal_receiver"], "streaming");
  EXPECT_GE((*details)["replication"]["replica_lag_seconds"].get<double>(), 0.0);
  (void)source_rid;
}

TEST_F(ReplicaPgTest, PromotionMakesAWritablePrimaryAndDropsItsSlot) {
  Create("test", 1);
  const int source = Port("test");
  Query(source, "CREATE TABLE t(v text); INSERT INTO t VALUES ('one')");
  const int replica = CreateReplica("test-replica", "test");
  const std::string slot = ReplicationSlotName(Describe("test-replica")["DbiResourceId"]);
  Query(source, "INSERT INTO t VALUES ('two')");
  ASSERT_TRUE(Eventually([&] { return Replicated(replica, "two"); }));

  auto r = cp_->replicas().PromoteReadReplica({{"DBInstanceIdentifier", "test-replica"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body["DBInstanceStatus"], "modifying");
  EXPECT_EQ(WaitAvailable(r, "test-replica"), replica);  // same endpoint

  EXPECT_EQ(Query(replica, "SELECT pg_is_in_recovery()"), "f\n");
  Query(replica, "INSERT INTO t VALUES ('promoted')");
  EXPECT_EQ(Query(replica, "SELECT string_agg(v, ',' ORDER BY v) FROM t"), "one,promoted,two\n");
  EXPECT_EQ(Superuser("test",
                      "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" + slot + "'"),
            "0");
  json p = Describe("test-replica"), s = Describe("test");
  EXPECT_FALSE(p.contains("ReadReplicaSourceDBInstanceIdentifier"));
  EXPECT_FALSE(p.contains("StatusInfos"));
  EXPECT_EQ(p["BackupRetentionPeriod"], 1);         // PromoteReadReplica's default
  EXPECT_TRUE(p.contains("LatestRestorableTime"));  // its first automated backup was taken
  EXPECT_EQ(s["ReadReplicaDBInstanceIdentifiers"], json::array());
  // The two have parted: the source's new commits stay on the source.
  Query(source, "INSERT INTO t VALUES ('source only')");
  EXPECT_EQ(Query(replica, "SELECT count(*) FROM t WHERE v = 'source only'"), "0\n");
}

TEST_F(ReplicaPgTest, DeletingAReplicaDropsItsSlotOnTheSource) {
  Create("test", 1);
  CreateReplica("test-replica", "test");
  const std::string slot = ReplicationSlotName(Describe("test-replica")["DbiResourceId"]);
  ASSERT_EQ(Superuser("test", "SELECT count(*) FROM pg_replication_slots"), "1");
  auto r = cp_->instances().DeleteDBInstance({{"DBInstanceIdentifier", "test-replica"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  Wait(r->operation_id);
  EXPECT_FALSE(
      cp_->instances().DescribeDBInstances({{"DBInstanceIdentifier", "test-replica"}}).ok());
  EXPECT_EQ(Superuser("test", "SELECT count(*) FROM pg_replication_slots"), "0");
  EXPECT_EQ(Describe("test")["ReadReplicaDBInstanceIdentifiers"], json::array());
}

TEST_F(ReplicaPgTest, ACrashWhileCopyingTheSourceIsResumedAndTheReplicaStreams) {
  Create("test", 1);
  const int source = Port("test");
  Query(source, "CREATE TABLE t(v text); INSERT INTO t VALUES ('one')");
  // Crash before the copy-data step (step 1): the slot exists, no data directory yet. A
  // half-written pgdata.tmp, as a killed pg_basebackup leaves it, must not get in the way.
  OperationEngine::SetCrashHook(
      [](const std::string& k, int s) { return !(k == "create-replica" && s == 1); });
  auto r = cp_->replicas().CreateDBInstanceReadReplica(
      {{"DBInstanceIdentifier", "test-replica"}, {"SourceDBInstanceIdentifier", "test"}});
  ASSERT_TRUE(r.ok());
  Wait(r->operation_id);
  ASSERT_EQ(Describe("test-replica")["DBInstanceStatus"], "creating");
  const std::string rid = Describe("test-replica")["DbiResourceId"];
  fs::path tmp = layout_->PgData(rid);
  tmp += ".tmp";
  fs::create_directories(tmp / "base");
  std::ofstream(tmp / "PG_VERSION") << "15\n";
  OperationEngine::SetCrashHook(nullptr);

  Open();  // the restart resumes the operation at copy-data
  ASSERT_TRUE(
      Eventually([&] { return Describe("test-replica")["DBInstanceStatus"] == "available"; }));
  const int replica = Port("test-replica");
  Query(source, "INSERT INTO t VALUES ('two')");
  EXPECT_TRUE(Eventually([&] { return Replicated(replica, "two"); }));
  EXPECT_FALSE(fs::exists(tmp));
  EXPECT_EQ(Superuser("test", "SELECT count(*) FROM pg_replication_slots"), "1");
}

TEST_F(ReplicaPgTest, ReplicationContinuesThroughARestartOfLocalrdsAndReboots) {
  Create("test", 1);
  const int source = Port("test");
  Query(source, "CREATE TABLE t(v text)");
  const int replica = CreateReplica("test-replica", "test");
  const std::string rid = Describe("test-replica")["DbiResourceId"];
  const auto pid = LocalRuntime::LivePostmasterPid(layout_->PgData(rid));

  Open();  // localrds restarts; its servers kept running
  EXPECT_EQ(LocalRuntime::LivePostmasterPid(layout_->PgData(rid)), pid)
      << "the replica was restarted";
  Query(source, "INSERT INTO t VALUES ('after restart')");
  EXPECT_TRUE(Eventually([&] { return Replicated(replica, "after restart"); }));

  for (const char* who : {"test", "test-replica"}) {
    auto r = cp_->instances().RebootDBInstance({{"DBInstanceIdentifier", who}});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    WaitAvailable(r, who);
    const std::string value = std::string("after rebooting ") + who;
    Query(source, "INSERT INTO t VALUES ('" + value + "')");
    EXPECT_TRUE(Eventually([&] { return Replicated(replica, value); })) << value;
  }
  EXPECT_EQ(Port("test-replica"), replica);
  EXPECT_EQ(ReplicationStatus("test-replica"), "replicating");
}

TEST_F(ReplicaPgTest, AFrozenSourceShowsAsAnErrorUntilItThaws) {
  Create("test", 1);
  const int source = Port("test");
  Query(source, "CREATE TABLE t(v text)");
  const int replica = CreateReplica("test-replica", "test");
  const ServerSpec source_spec =
      cp_->servers().Server(*cp_->registry().GetInstance(Describe("test")["DbiResourceId"]));
  ASSERT_TRUE(runtime_->Pause(source_spec).ok());
  EXPECT_TRUE(runtime_->IsPaused(source_spec));
  // The replica's WAL receiver gives up after wal_receiver_timeout (10 s). CI once missed this at
  // 40 s (cause not found; it passes in 13-20 s here, loaded or not): a wider deadline, and a
  // miss says what the replication monitor last saw.
  std::string said;
  ASSERT_TRUE(Eventually(
      [&] {
        said += cp_->replication().PollReplicationOnce();
        return ReplicationStatus("test-replica") == "error";
      },
      std::chrono::seconds(60)))
      << "last seen: receiver '" <<
      [&] {
        auto seen = cp_->replication().LastSeen(Describe("test-replica")["DbiResourceId"]);
        return seen ? seen->receiver + "' polled at " + std::to_string(seen->polled_ms)
                    : std::string("' never polled");
      }()
      << "; status " << Describe("test-replica")["StatusInfos"].dump();
  EXPECT_EQ(said, "replication of test-replica is error.");
  json info = Describe("test-replica")["StatusInfos"][0];
  EXPECT_EQ(info["Normal"], false);
  EXPECT_EQ(info["Message"], "The source DB instance test is not reachable.");
  EXPECT_EQ((*cp_->InstanceDetails("test-replica"))["replication"]["replica_lag_seconds"], -1);

  ASSERT_TRUE(runtime_->Resume(source_spec).ok());
  ASSERT_TRUE(Eventually(
      [&] {
        cp_->replication().PollReplicationOnce();
        return ReplicationStatus("test-replica") == "replicating";
      },
      std::chrono::seconds(30)));
  Query(source, "INSERT INTO t VALUES ('after thaw')");
  EXPECT_TRUE(Eventually([&] { return Replicated(replica, "after thaw"); }));
  auto events = cp_->EventsWithIds(100).value();
  std::vector<std::string> ids;
  for (const auto& e : events) {
    if (e["source_identifier"] == "test-replica") ids.push_back(e["event_id"]);
  }
  // Created (with its first "resumed", as RDS sends it), stopped, resumed.
  EXPECT_EQ(ids, (std::vector<std::string>{"RDS-EVENT-0005", "RDS-EVENT-0046", "RDS-EVENT-0045",
                                           "RDS-EVENT-0046"}));
}

TEST_F(ReplicaPgTest, TheReplicasOfADeletedSourceArePromotedWithAllItsData) {
  Create("test", 1);
  const int source = Port("test");
  Query(source, "CREATE TABLE t(v text)");
  const int replica = CreateReplica("test-replica", "test");
  Query(source, "INSERT INTO t VALUES ('last words')");
  auto r = cp_->instances().DeleteDBInstance(
      {{"DBInstanceIdentifier", "test"}, {"SkipFinalSnapshot", true}});
  ASSERT_TRUE(r.ok());
  Wait(r->operation_id);
  EXPECT_EQ(Describe("test-replica").value("ReadReplicaSourceDBInstanceIdentifier", ""), "");
  EXPECT_EQ(cp_->replication().PollReplicationOnce(),
            "promoting test-replica, whose source was deleted.");
  ASSERT_TRUE(
      Eventually([&] { return Describe("test-replica")["DBInstanceStatus"] == "available"; }));
  EXPECT_FALSE(Describe("test-replica").contains("StatusInfos"));
  EXPECT_EQ(Query(replica, "SELECT v FROM t"), "last words\n");
  Query(replica, "INSERT INTO t VALUES ('standalone')");
}

TEST_F(ReplicaPgTest, SlotsNoReplicaOwnsAreDroppedWhenTheSourceStarts) {
  Create("test", 1);
  const int source = Port("test");
  ASSERT_TRUE(runtime_
                  ->ExecSql(cp_->servers().Server(
                                *cp_->registry().GetInstance(Describe("test")["DbiResourceId"])),
                            "postgres",
                            {"SELECT pg_create_physical_replication_slot('localrds_db_gone', true)",
                             "SELECT pg_create_physical_replication_slot('users_own_slot', true)"})
                  .ok());
  auto r = cp_->instances().RebootDBInstance({{"DBInstanceIdentifier", "test"}});
  EXPECT_EQ(WaitAvailable(r, "test"), source);
  EXPECT_EQ(Superuser("test", "SELECT string_agg(slot_name, ',') FROM pg_replication_slots"),
            "users_own_slot");
}

TEST_F(ReplicaPgTest, AReplicaOfAReplicaStreamsAndFollowsItsPromotion) {
  Create("test", 1);
  const int top = Port("test");
  Query(top, "CREATE TABLE t(v text)");
  CreateReplica("r1", "test");
  // A replica is a source only with backups on (RDS's rule for every source).
  auto refused = cp_->replicas().CreateDBInstanceReadReplica(
      {{"DBInstanceIdentifier", "r2"}, {"SourceDBInstanceIdentifier", "r1"}});
  ASSERT_FALSE(refused.ok());
  EXPECT_STREQ(refused.status().info().code, "InvalidDBInstanceState");
  auto m = cp_->instances().ModifyDBInstance(
      {{"DBInstanceIdentifier", "r1"}, {"BackupRetentionPeriod", 1}, {"ApplyImmediately", true}});
  WaitAvailable(m, "r1");
  const int bottom = CreateReplica("r2", "r1");
  Query(top, "INSERT INTO t VALUES ('from the top')");
  EXPECT_TRUE(Eventually([&] { return Replicated(bottom, "from the top"); }));
  EXPECT_EQ(Describe("r2")["ReadReplicaSourceDBInstanceIdentifier"], "r1");

  // The middle becomes a primary on a new timeline; the bottom follows it.
  auto p = cp_->replicas().PromoteReadReplica({{"DBInstanceIdentifier", "r1"}});
  const int middle = WaitAvailable(p, "r1");
  Query(middle, "INSERT INTO t VALUES ('from the middle')");
  EXPECT_TRUE(Eventually([&] { return Replicated(bottom, "from the middle"); }));
  EXPECT_EQ(Describe("r1")["ReadReplicaDBInstanceIdentifiers"], json::array({"r2"}));
}

TEST_F(ReplicaPgTest, ASnapshotOfAReplicaRestoresAsAWritablePrimary) {
  Create("test", 1);
  const int source = Port("test");
  Query(source, "CREATE TABLE t(v text); INSERT INTO t VALUES ('one')");
  const int replica = CreateReplica("test-replica", "test");
  ASSERT_TRUE(Eventually([&] { return Replicated(replica, "one"); }));
  auto snap = cp_->snapshots().CreateDBSnapshot(
      {{"DBInstanceIdentifier", "test-replica"}, {"DBSnapshotIdentifier", "of-the-replica"}});
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  Wait(snap->operation_id);
  auto r = cp_->snapshots().RestoreDBInstanceFromDBSnapshot(
      {{"DBInstanceIdentifier", "restored"}, {"DBSnapshotIdentifier", "of-the-replica"}});
  const int restored = WaitAvailable(r, "restored");
  EXPECT_EQ(Query(restored, "SELECT pg_is_in_recovery()"), "f\n");
  EXPECT_EQ(Query(restored, "SELECT v FROM t"), "one\n");
  Query(restored, "INSERT INTO t VALUES ('restored')");
  json d = Describe("restored");
  EXPECT_FALSE(d.contains("ReadReplicaSourceDBInstanceIdentifier"));
  EXPECT_FALSE(d.contains("StatusInfos"));
  EXPECT_EQ(Describe("test")["ReadReplicaDBInstanceIdentifiers"], json::array({"test-replica"}));
}

}  // namespace localrds
