// Read replicas in the control plane over the fake runtime: RDS's rules and errors, what a
// replica's server is configured with, the replication poll and its events, promotion, and
// crashes at every step of creating a replica.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "emulator/core/instance_state.h"
#include "tests/unit/control_plane_fixture.h"

namespace localrds {
namespace fs = std::filesystem;
using nlohmann::json;

class ReplicaControlTest : public ControlPlaneTest {
 protected:
  void SetUp() override {
    ControlPlaneTest::SetUp();
    Streaming(true);
  }
  // What the fake replica's WAL receiver reports (and the replication poll reads).
  void Streaming(bool yes) {
    runtime_.AnswerQuery("SELECT coalesce((SELECT status FROM pg_stat_wal_receiver)",
                         yes ? "streaming" : "");
    runtime_.AnswerQuery("concat_ws('|', coalesce((SELECT status",
                         yes ? "streaming|t|0.25|128" : "|t|-1|-1");
    runtime_.AnswerQuery("pg_is_in_recovery()", "f");
    runtime_.AnswerQuery("FROM pg_replication_slots WHERE slot_name", "none");
  }
  Result<Accepted> CreateReplica(const std::string& id, const std::string& source) {
    auto r = cp_->replicas().CreateDBInstanceReadReplica(
        {{"DBInstanceIdentifier", id}, {"SourceDBInstanceIdentifier", source}});
    if (r.ok()) Wait(r->operation_id);
    return r;
  }
  std::string ReadFile(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::string Rid(const std::string& id) { return Describe(id)["DbiResourceId"]; }
  void EnableBackups(const std::string& id) {
    auto m = cp_->instances().ModifyDBInstance(
        {{"DBInstanceIdentifier", id}, {"BackupRetentionPeriod", 1}, {"ApplyImmediately", true}});
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    Wait(m->operation_id);
  }
};

TEST_F(ReplicaControlTest, AReplicaIsAStandbyOfItsSourceThroughItsOwnSlot) {
  Create("test");
  auto r = CreateReplica("Test-Replica", "test");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body["DBInstanceStatus"], "creating");
  json replica = Describe("test-replica"), source = Describe("test");
  EXPECT_EQ(replica["DBInstanceStatus"], "available");
  EXPECT_EQ(replica["ReadReplicaSourceDBInstanceIdentifier"], "test");
  EXPECT_EQ(replica["StatusInfos"][0]["Status"], "replicating");
  EXPECT_EQ(replica["StatusInfos"][0]["StatusType"], "read replication");
  EXPECT_EQ(replica["StatusInfos"][0]["Normal"], true);
  EXPECT_EQ(replica["BackupRetentionPeriod"], 0);  // replicas are created with backups off
  EXPECT_FALSE(replica.contains("LatestRestorableTime"));
  EXPECT_EQ(replica["MasterUsername"], source["MasterUsername"]);
  EXPECT_EQ(replica["DBName"], "test");
  EXPECT_NE(replica["Endpoint"]["Port"], source["Endpoint"]["Port"]);
  EXPECT_NE(replica["AvailabilityZone"], source["AvailabilityZone"]);
  EXPECT_EQ(source["ReadReplicaDBInstanceIdentifiers"], json::array({"test-replica"}));

  const std::string rid = replica["DbiResourceId"], slot = ReplicationSlotName(rid);
  EXPECT_EQ(
      slot, "localrds_" + [&] {
        std::string s = rid;
        for (auto& c : s) c = c == '-' ? '_' : static_cast<char>(std::tolower(c));
        return s;
      }());
  EXPECT_EQ(runtime_.BackupSlots().back(), slot);  // the base backup streamed through the slot
  bool slot_created = false;
  for (const auto& s : runtime_.Sql()) {
    if (s == "SELECT pg_create_physical_replication_slot('" + slot + "', true)")
      slot_created = true;
  }
  EXPECT_TRUE(slot_created);
  const fs::path pgdata = layout_->PgData(rid);
  EXPECT_TRUE(fs::exists(pgdata / "standby.signal"));
  const std::string conf = ReadFile(pgdata / "localrds.conf");
  EXPECT_NE(conf.find("primary_conninfo = 'host=" + layout_->SocketDir().string() +
                      " port=" + std::to_string(source["Endpoint"]["Port"].get<int>()) +
                      " user=rdsrepladmin password="),
            std::string::npos)
      << conf;
  EXPECT_NE(conf.find("primary_slot_name = '" + slot + "'"), std::string::npos) << conf;
  EXPECT_NE(conf.find("archive_mode = always"), std::string::npos) << conf;
  const auto events = EventMessages("test-replica");
  EXPECT_EQ(events, (std::vector<std::string>{"DB instance created",
                                              "Replication for the Read Replica resumed."}));
}

TEST_F(ReplicaControlTest, CreateReadReplicaChecksLikeRds) {
  Create("test");
  ExpectError(cp_->replicas().CreateDBInstanceReadReplica({{"DBInstanceIdentifier", "r"}}).status(),
              "MissingParameter", 400,
              "The request must contain the parameter SourceDBInstanceIdentifier.");
  ExpectError(cp_->replicas()
                  .CreateDBInstanceReadReplica(
                      {{"DBInstanceIdentifier", "r"}, {"SourceDBInstanceIdentifier", "nope"}})
                  .status(),
              "DBInstanceNotFound", 404, "DBInstance nope not found.");
  ExpectError(cp_->replicas()
                  .CreateDBInstanceReadReplica(
                      {{"DBInstanceIdentifier", "r"}, {"SourceDBClusterIdentifier", "c"}})
                  .status(),
              "DBClusterNotFoundFault", 404,
              "DBCluster c not found (localrds has no DB clusters).");
  ExpectError(cp_->replicas()
                  .CreateDBInstanceReadReplica(
                      {{"DBInstanceIdentifier", "test"}, {"SourceDBInstanceIdentifier", "test"}})
                  .status(),
              "DBInstanceAlreadyExists", 400, "DB instance already exists");
  ExpectError(cp_->replicas()
                  .CreateDBInstanceReadReplica({{"DBInstanceIdentifier", "r"},
                                                {"SourceDBInstanceIdentifier", "test"},
                                                {"MultiAZ", true},
                                                {"AvailabilityZone", "us-east-1b"}})
                  .status(),
              "InvalidParameterCombination", 400,
              "Requesting a specific availability zone is not valid for Multi-AZ instances.");
  ExpectError(cp_->replicas()
                  .CreateDBInstanceReadReplica(
                      {{"DBInstanceIdentifier", "-bad"}, {"SourceDBInstanceIdentifier", "test"}})
                  .status(),
              "InvalidParameterValue", 400,
              "The parameter DBInstanceIdentifier is not a valid identifier. Identifiers must "
              "begin with a letter; must contain only ASCII letters, digits, and hyphens; and must "
              "not end with a hyphen or contain two consecutive hyphens.");
  // A source given by its ARN (how cross-Region replicas name theirs) works.
  ASSERT_TRUE(CreateReplica("by-arn", "arn:aws:rds:us-east-1:000000000000:db:test").ok());
  EXPECT_EQ(Describe("by-arn")["ReadReplicaSourceDBInstanceIdentifier"], "test");
  // A source without automated backups (the replica itself, here).
  ExpectError(CreateReplica("r2", "by-arn").status(), "InvalidDBInstanceState", 400,
              "Automated backups are not enabled for this database instance. To enable automated "
              "backups, use ModifyDBInstance to set the backup retention period to a non-zero "
              "value.");
  EXPECT_FALSE(cp_->instances()
                   .DescribeDBInstances({{"DBInstanceIdentifier", "r"}})
                   .ok());  // nothing half made
}

TEST_F(ReplicaControlTest, ChainsHaveThreeLevelsAndSourcesAtMostFifteenReplicas) {
  Create("test");
  ASSERT_TRUE(CreateReplica("l1", "test").ok());
  EnableBackups("l1");
  ASSERT_TRUE(CreateReplica("l2", "l1").ok());
  EnableBackups("l2");
  ASSERT_TRUE(CreateReplica("l3", "l2").ok());
  EXPECT_EQ(Describe("l3")["ReadReplicaSourceDBInstanceIdentifier"], "l2");
  EnableBackups("l3");
  ExpectError(CreateReplica("l4", "l3").status(), "InvalidDBInstanceState", 400,
              "Cannot create a read replica of l3: a chain of read replicas can have at most 3 "
              "levels.");
  for (int i = 2; i <= 15; ++i)
    ASSERT_TRUE(CreateReplica("r" + std::to_string(i), "test").ok()) << i;
  EXPECT_EQ(Describe("test")["ReadReplicaDBInstanceIdentifiers"].size(), 15u);
  ExpectError(CreateReplica("r16", "test").status(), "InstanceQuotaExceeded", 400,
              "DB instance test already has 15 read replicas, the most RDS allows (15).");
}

TEST_F(ReplicaControlTest, SourcesAndReplicasRefuseWhatRdsRefuses) {
  Create("test");
  ASSERT_TRUE(CreateReplica("test-replica", "test").ok());
  ExpectError(cp_->instances().StopDBInstance({{"DBInstanceIdentifier", "test-replica"}}).status(),
              "InvalidDBInstanceState", 400, "Cannot stop or start a Read-Replica instance");
  ExpectError(cp_->instances().StopDBInstance({{"DBInstanceIdentifier", "test"}}).status(),
              "InvalidDBInstanceState", 400,
              "Cannot stop or start a DB instance that has read replicas (test-replica).");
  ExpectError(cp_->instances()
                  .StopDBInstance({{"DBInstanceIdentifier", "test"}, {"DBSnapshotIdentifier", "s"}})
                  .status(),
              "InvalidDBInstanceState", 400,
              "Cannot stop or start a DB instance that has read replicas (test-replica).");
  ExpectError(cp_->instances()
                  .ModifyDBInstance({{"DBInstanceIdentifier", "test"},
                                     {"BackupRetentionPeriod", 0},
                                     {"ApplyImmediately", true}})
                  .status(),
              "InvalidParameterCombination", 400,
              "BackupRetentionPeriod can't be set to 0 for a DB instance that is a source to read "
              "replicas (test-replica).");
  ExpectError(cp_->instances()
                  .ModifyDBInstance({{"DBInstanceIdentifier", "test-replica"},
                                     {"MasterUserPassword", "another-one"}})
                  .status(),
              "InvalidParameterCombination", 400,
              "The master user password of a read replica is its source's: change it on the source "
              "DB instance.");
  ExpectError(cp_->replicas().PromoteReadReplica({{"DBInstanceIdentifier", "test"}}).status(),
              "InvalidDBInstanceState", 400, "DB Instance is not a read replica.");
  ExpectError(cp_->replicas().PromoteReadReplica({{"DBInstanceIdentifier", "nope"}}).status(),
              "DBInstanceNotFound", 404, "DBInstance nope not found.");
  ExpectError(
      cp_->replicas()
          .PromoteReadReplica(
              {{"DBInstanceIdentifier", "test-replica"}, {"BackupRetentionPeriod", 36}})
          .status(),
      "InvalidParameterValue", 400,
      "Invalid backup retention period: 36. The retention period must be between 0 and 35 days.");
  ExpectError(cp_->instances()
                  .DeleteDBInstance({{"DBInstanceIdentifier", "test-replica"},
                                     {"FinalDBSnapshotIdentifier", "final"}})
                  .status(),
              "InvalidParameterCombination", 400,
              "FinalDBSnapshotIdentifier can not be specified when deleting a replica instance");
  EXPECT_EQ(StatusOf("test"), "available");
  EXPECT_EQ(StatusOf("test-replica"), "available");
  // A replica needs no final-snapshot choice; its slot goes with it.
  auto d = cp_->instances().DeleteDBInstance({{"DBInstanceIdentifier", "test-replica"}});
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  Wait(d->operation_id);
  EXPECT_EQ(Describe("test")["ReadReplicaDBInstanceIdentifiers"], json::array());
  auto stop = cp_->instances().StopDBInstance({{"DBInstanceIdentifier", "test"}});
  EXPECT_TRUE(stop.ok()) << stop.status().ToString();  // no replicas left
  Wait(stop->operation_id);
}

TEST_F(ReplicaControlTest, ThePollReportsErrorsAndRecoveryWithRdsEvents) {
  Create("test");
  ASSERT_TRUE(CreateReplica("test-replica", "test").ok());
  EXPECT_EQ(cp_->replication().PollReplicationOnce(), "");
  auto details = *cp_->InstanceDetails("test-replica");
  EXPECT_EQ(details["replication"]["replica_lag_seconds"], 0.25);
  EXPECT_EQ(details["replication"]["replay_lag_bytes"], 128);
  EXPECT_EQ(details["replication"]["source"], "test");
  EXPECT_EQ((*cp_->InstanceDetails("test"))["read_replicas"], json::array({"test-replica"}));

  Streaming(false);
  EXPECT_EQ(cp_->replication().PollReplicationOnce(), "replication of test-replica is error.");
  json info = Describe("test-replica")["StatusInfos"][0];
  EXPECT_EQ(info["Status"], "error");
  EXPECT_EQ(info["Normal"], false);
  EXPECT_EQ(info["Message"],
            "The WAL receiver is not running: replication from the source DB instance is not "
            "streaming.");
  EXPECT_EQ((*cp_->InstanceDetails("test-replica"))["replication"]["replica_lag_seconds"], -1);
  EXPECT_EQ(cp_->replication().PollReplicationOnce(), "");  // no second event for the same state

  Streaming(true);
  EXPECT_EQ(cp_->replication().PollReplicationOnce(),
            "replication of test-replica is replicating.");
  EXPECT_EQ(Describe("test-replica")["StatusInfos"][0]["Status"], "replicating");
  EXPECT_FALSE(Describe("test-replica")["StatusInfos"][0].contains("Message"));
  const auto events = EventMessages("test-replica");
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[2].rfind("Replication has stopped.", 0), 0u) << events[2];
  EXPECT_EQ(events[3], "Replication for the Read Replica resumed.");
}

TEST_F(ReplicaControlTest, PromotionDetachesTheReplicaAndTakesItsFirstBackup) {
  Create("test");
  ASSERT_TRUE(CreateReplica("test-replica", "test").ok());
  const std::string rid = Rid("test-replica");
  auto p = cp_->replicas().PromoteReadReplica({{"DBInstanceIdentifier", "test-replica"},
                                               {"BackupRetentionPeriod", 3},
                                               {"PreferredBackupWindow", "01:00-01:30"}});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->body["DBInstanceStatus"], "modifying");
  Wait(p->operation_id);
  json d = Describe("test-replica");
  EXPECT_EQ(d["DBInstanceStatus"], "available");
  EXPECT_FALSE(d.contains("ReadReplicaSourceDBInstanceIdentifier"));
  EXPECT_FALSE(d.contains("StatusInfos"));
  EXPECT_EQ(d["BackupRetentionPeriod"], 3);
  EXPECT_EQ(d["PreferredBackupWindow"], "01:00-01:30");
  EXPECT_TRUE(d.contains("LatestRestorableTime"));
  EXPECT_EQ(Describe("test")["ReadReplicaDBInstanceIdentifiers"], json::array());
  EXPECT_EQ(cp_->registry().AutomatedSnapshotsOf(rid).size(), 1u);
  const std::string conf = ReadFile(layout_->PgData(rid) / "localrds.conf");
  EXPECT_EQ(conf.find("primary_conninfo"), std::string::npos) << conf;
  const auto events = EventMessages("test-replica");
  EXPECT_NE(std::find(events.begin(), events.end(), "Replication streaming has been terminated."),
            events.end());
  EXPECT_EQ(events.back(), "Read replica has been promoted to a standalone DB instance");
  // Restarted as a primary (no standby.signal written back).
  Restart();
  EXPECT_EQ(StatusOf("test-replica"), "available");
}

TEST_F(ReplicaControlTest, TheReplicasOfADeletedSourceArePromoted) {
  Create("test");
  ASSERT_TRUE(CreateReplica("a", "test").ok());
  ASSERT_TRUE(CreateReplica("b", "test").ok());
  auto d = cp_->instances().DeleteDBInstance(
      {{"DBInstanceIdentifier", "test"}, {"SkipFinalSnapshot", true}});
  ASSERT_TRUE(d.ok());
  Wait(d->operation_id);
  const std::string said = cp_->replication().PollReplicationOnce();  // in resource id order
  EXPECT_NE(said.find("promoting a, whose source was deleted."), std::string::npos) << said;
  EXPECT_NE(said.find("promoting b, whose source was deleted."), std::string::npos) << said;
  // The promotions run on the engine's workers.
  EXPECT_TRUE(
      Eventually([&] { return StatusOf("a") == "available" && StatusOf("b") == "available"; }));
  for (const char* id : {"a", "b"}) {
    json r = Describe(id);
    EXPECT_EQ(r["DBInstanceStatus"], "available") << id;
    EXPECT_FALSE(r.contains("StatusInfos")) << id;
    EXPECT_EQ(r["BackupRetentionPeriod"], 0) << id;  // they keep their own setting
    EXPECT_EQ(EventMessages(id).back(),
              "Read replica has been promoted to a standalone DB instance (its source DB instance "
              "was deleted)");
  }
}

TEST_F(ReplicaControlTest, ACrashAtAnyStepOfCreatingAReplicaIsResumed) {
  Create("test");
  for (int step = 0; step < 5; ++step) {
    const std::string id = "crash-at-" + std::to_string(step);
    OperationEngine::SetCrashHook(
        [step](const std::string& k, int s) { return !(k == "create-replica" && s == step); });
    auto r = cp_->replicas().CreateDBInstanceReadReplica(
        {{"DBInstanceIdentifier", id}, {"SourceDBInstanceIdentifier", "test"}});
    ASSERT_TRUE(r.ok());
    Wait(r->operation_id);
    EXPECT_EQ(StatusOf(id), "creating");
    Restart();  // Recover resumes the operation and waits for it
    EXPECT_EQ(StatusOf(id), "available") << "crash before step " << step;
    EXPECT_EQ(Describe(id)["StatusInfos"][0]["Status"], "replicating");
    EXPECT_TRUE(fs::exists(layout_->PgData(Rid(id)) / "standby.signal"));
  }
}

TEST_F(ReplicaControlTest, AReplicaThatCannotStreamFailsAndGivesBackItsSlot) {
  Create("test");
  runtime_.AnswerQuery("FROM pg_replication_slots WHERE slot_name", "false");  // idle slot
  runtime_.FailNextBackup(true);
  auto r = CreateReplica("test-replica", "test");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(StatusOf("test-replica"), "failed");
  const auto events = EventMessages("test-replica");
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front().rfind("Read replica creation failed.", 0), 0u) << events.front();
  const std::string slot = ReplicationSlotName(Rid("test-replica"));
  bool dropped = false;
  for (const auto& s : runtime_.Sql()) {
    if (s == "SELECT pg_drop_replication_slot('" + slot + "')") dropped = true;
  }
  EXPECT_TRUE(dropped);
  runtime_.AnswerQuery("FROM pg_replication_slots WHERE slot_name", "none");
  auto d = cp_->instances().DeleteDBInstance({{"DBInstanceIdentifier", "test-replica"}});
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  Wait(d->operation_id);
  EXPECT_EQ(Describe("test")["ReadReplicaDBInstanceIdentifiers"], json::array());
}

TEST_F(ReplicaControlTest, RenamesShowOnBothSides) {
  Create("test");
  ASSERT_TRUE(CreateReplica("test-replica", "test").ok());
  for (auto [from, to] : {std::pair{"test", "primary"}, std::pair{"test-replica", "copy"}}) {
    auto m = cp_->instances().ModifyDBInstance({{"DBInstanceIdentifier", from},
                                                {"NewDBInstanceIdentifier", to},
                                                {"ApplyImmediately", true}});
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    Wait(m->operation_id);
  }
  EXPECT_EQ(Describe("copy")["ReadReplicaSourceDBInstanceIdentifier"], "primary");
  EXPECT_EQ(Describe("primary")["ReadReplicaDBInstanceIdentifiers"], json::array({"copy"}));
  Restart();  // rendered again from the catalog
  EXPECT_EQ(Describe("copy")["ReadReplicaSourceDBInstanceIdentifier"], "primary");
  EXPECT_EQ(Describe("primary")["ReadReplicaDBInstanceIdentifiers"], json::array({"copy"}));
}

TEST_F(ReplicaControlTest, ACrashAtAnyStepOfAPromotionIsResumed) {
  Create("test");
  for (int step = 0; step < 6; ++step) {
    const std::string id = "promote-crash-" + std::to_string(step);
    ASSERT_TRUE(CreateReplica(id, "test").ok());
    OperationEngine::SetCrashHook(
        [step](const std::string& k, int s) { return !(k == "promote" && s == step); });
    auto p = cp_->replicas().PromoteReadReplica({{"DBInstanceIdentifier", id}});
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    Wait(p->operation_id);
    EXPECT_EQ(StatusOf(id), step < 4 ? "modifying" : "backing-up");  // unfinished
    Restart();
    json d = Describe(id);
    EXPECT_EQ(d["DBInstanceStatus"], "available") << "crash before step " << step;
    EXPECT_FALSE(d.contains("ReadReplicaSourceDBInstanceIdentifier")) << step;
    EXPECT_FALSE(d.contains("StatusInfos")) << step;
    EXPECT_EQ(d["BackupRetentionPeriod"], 1) << step;
    EXPECT_EQ(cp_->registry().AutomatedSnapshotsOf(d["DbiResourceId"]).size(), 1u) << step;
    // Configured as a primary from the detach on: never a standby again after a restart.
    EXPECT_EQ(
        ReadFile(layout_->PgData(d["DbiResourceId"]) / "localrds.conf").find("primary_conninfo"),
        std::string::npos)
        << step;
  }
  EXPECT_EQ(Describe("test")["ReadReplicaDBInstanceIdentifiers"], json::array());
}

}  // namespace localrds
