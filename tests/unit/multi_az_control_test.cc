// Multi-AZ in the control plane over the fake runtime: what a Multi-AZ instance's two servers are
// configured with, commits that wait for the standby, RDS's errors, the reconciler's part for the
// standby (a stopped standby started again, a failed standby built again), ModifyDBInstance
// MultiAZ (also when its standby cannot be built), a restore as Multi-AZ, the standby's slot
// across restarts of the primary and its conninfo across a port change, and a crash inside the
// standby step. Failovers are in multi_az_failover_test.cc.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <utility>

#include "emulator/core/instance_state.h"
#include "emulator/core/validation.h"
#include "tests/unit/multi_az_fixture.h"

namespace localrds {
namespace fs = std::filesystem;
using nlohmann::json;

TEST_F(MultiAzControlTest, AMultiAzInstanceHasAHiddenSynchronousStandby) {
  Accepted created = CreateMultiAz("test");
  EXPECT_EQ(created.body["MultiAZ"], true);
  json d = Describe("test");
  EXPECT_EQ(d["DBInstanceStatus"], "available");
  EXPECT_EQ(d["MultiAZ"], true);
  const std::string az = d["AvailabilityZone"];
  EXPECT_EQ(d["SecondaryAvailabilityZone"], NextAvailabilityZone(az));
  for (const auto& [k, v] : d.items()) EXPECT_NE(k[0], '_') << k;  // no bookkeeping shows

  const InstanceRow row = Row("test");
  const ServerSpec primary = cp_->servers().Server(row),
                   standby = cp_->servers().StandbyServer(row);
  EXPECT_EQ(primary.pgdata, layout_->PgData(row.resource_id));  // host "a"
  EXPECT_EQ(standby.pgdata, layout_->InstanceDir(row.resource_id) / "pgdata-b");
  EXPECT_EQ(runtime_.Running(),
            (std::set<std::string>{primary.pgdata.string(), standby.pgdata.string()}));
  EXPECT_EQ(runtime_.ServingPort(primary), d["Endpoint"]["Port"].get<int>());
  const int standby_port = row.attrs.value("_standby_port", 0);
  EXPECT_GT(standby_port, 0);
  EXPECT_NE(standby_port, row.port);
  EXPECT_EQ(runtime_.ServingPort(standby), standby_port);

  // The standby: no TCP, a hot standby of the primary through the instance's own slot.
  const std::string slot = ReplicationSlotName(row.resource_id);
  const std::string s = StandbyConf("test");
  EXPECT_NE(s.find("listen_addresses = ''\n"), std::string::npos) << s;
  EXPECT_NE(s.find("port = " + std::to_string(standby_port) + "\n"), std::string::npos) << s;
  EXPECT_NE(s.find("primary_conninfo = 'host=" + layout_->SocketDir().string() +
                   " port=" + std::to_string(row.port) + " " +
                   cp_->servers().ReplicationLogin(row) + " application_name=localrds_standby"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find(" user=rdsrepladmin password="), std::string::npos) << s;
  EXPECT_NE(s.find("primary_slot_name = '" + slot + "'"), std::string::npos) << s;
  EXPECT_NE(s.find("hot_standby = on"), std::string::npos) << s;
  EXPECT_NE(s.find("archive_mode = always"), std::string::npos) << s;
  EXPECT_EQ(s.find("synchronous_standby_names"), std::string::npos) << s;
  EXPECT_TRUE(fs::exists(standby.pgdata / "standby.signal"));
  const auto slots = runtime_.BackupSlots();  // the standby's base backup went through it
  EXPECT_NE(std::find(slots.begin(), slots.end(), slot), slots.end());
  const auto sql = runtime_.Sql();
  EXPECT_NE(std::find(sql.begin(), sql.end(),
                      "SELECT pg_create_physical_replication_slot('" + slot + "', true)"),
            sql.end());

  // The primary: on TCP, waiting for the standby on every commit.
  const std::string p = PrimaryConf("test");
  EXPECT_NE(p.find("listen_addresses = '127.0.0.1'"), std::string::npos) << p;
  EXPECT_EQ(Occurrences(p, "synchronous_standby_names = 'localrds_standby'\n"), 1) << p;
  EXPECT_FALSE(fs::exists(primary.pgdata / "standby.signal"));

  json m = MultiAzDetails("test");
  EXPECT_EQ(m["primary_host"], "a");
  EXPECT_EQ(m["standby_host"], "b");
  EXPECT_EQ(m["availability_zone"], az);
  EXPECT_EQ(m["secondary_availability_zone"], NextAvailabilityZone(az));
  EXPECT_EQ(m["standby"]["state"], "ready");
  EXPECT_EQ(m["standby"]["socket_port"], standby_port);
  EXPECT_EQ(m["standby"]["tcp"], false);
  ExpectHealthy("test", "after create");

  // A Single-AZ instance has none of it.
  Create("single");
  json single = Describe("single");
  EXPECT_EQ(single["MultiAZ"], false);
  EXPECT_FALSE(single.contains("SecondaryAvailabilityZone"));
  EXPECT_FALSE((*cp_->InstanceDetails("single")).contains("multi_az"));
  EXPECT_EQ(PrimaryConf("single").find("synchronous_standby_names"), std::string::npos);
  EXPECT_FALSE(fs::exists(layout_->HostPgData(Rid("single"), "b")));
}

TEST_F(MultiAzControlTest, CommitsWaitForTheStandbyOnlyOnceItStreams) {
  Streaming(false);
  runtime_.AnswerQuery("sync_state = 'sync' AND flush_lsn >= ", "f");
  auto r = cp_->instances().CreateDBInstance(MultiAzReq("test"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // The standby runs and does not stream yet: the primary must not wait for it.
  ASSERT_TRUE(Eventually([&] {
    auto row = cp_->registry().GetInstance(r->body["DbiResourceId"]);
    return row && runtime_.IsRunning(cp_->servers().StandbyServer(*row)) &&
           fs::exists(cp_->servers().StandbyServer(*row).pgdata / "localrds.conf");
  }));
  EXPECT_EQ(StatusOf("test"), "creating");
  EXPECT_NE(StandbyState("test"), "ready");
  EXPECT_EQ(PrimaryConf("test").find("synchronous_standby_names"), std::string::npos);

  // It streams: synchronous replication goes on; `ready` only once the standby is in sync.
  Streaming(true);
  ASSERT_TRUE(Eventually(
      [&] { return PrimaryConf("test").find("synchronous_standby_names") != std::string::npos; }));
  EXPECT_NE(StandbyState("test"), "ready");
  EXPECT_EQ(StatusOf("test"), "creating");
  ExpectError(ForceFailover("test").status(), "InvalidDBInstanceState", 400,
              "Instance test is currently creating; wait until it is available and try again.");

  InSync(true);
  Wait(r->operation_id);
  ExpectHealthy("test", "in sync");
}

TEST_F(MultiAzControlTest, MultiAzCallsAreRefusedLikeRds) {
  Create("single");
  ExpectError(ForceFailover("single").status(), "InvalidParameterCombination", 400,
              "Cannot force failover on a DB instance that is not Multi-AZ.");
  ExpectError(ForceFailover("nope").status(), "DBInstanceNotFound", 404,
              "DBInstance nope not found.");
  json bad = MultiAzReq("zoned");
  bad["AvailabilityZone"] = "us-east-1b";
  ExpectError(cp_->instances().CreateDBInstance(bad).status(), "InvalidParameterCombination", 400,
              "Requesting a specific availability zone is not valid for Multi-AZ instances.");
  EXPECT_FALSE(cp_->instances().DescribeDBInstances({{"DBInstanceIdentifier", "zoned"}}).ok());
  auto snap = cp_->snapshots().CreateDBSnapshot(
      {{"DBInstanceIdentifier", "single"}, {"DBSnapshotIdentifier", "s1"}});
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  Wait(snap->operation_id);
  ExpectError(cp_->snapshots()
                  .RestoreDBInstanceFromDBSnapshot({{"DBInstanceIdentifier", "zoned"},
                                                    {"DBSnapshotIdentifier", "s1"},
                                                    {"MultiAZ", true},
                                                    {"AvailabilityZone", "us-east-1b"}})
                  .status(),
              "InvalidParameterCombination", 400,
              "Requesting a specific availability zone is not valid for Multi-AZ instances.");

  // Not available, or busy.
  CreateMultiAz("test");
  auto stop = cp_->instances().StopDBInstance({{"DBInstanceIdentifier", "test"}});
  ASSERT_TRUE(stop.ok()) << stop.status().ToString();
  Wait(stop->operation_id);
  EXPECT_FALSE(runtime_.IsRunning(cp_->servers().Server(Row("test"))));
  EXPECT_FALSE(runtime_.IsRunning(cp_->servers().StandbyServer(Row("test"))));
  ExpectError(ForceFailover("test").status(), "InvalidDBInstanceState", 400,
              "Instance test is not in available state.");
  auto start = cp_->instances().StartDBInstance({{"DBInstanceIdentifier", "test"}});
  ASSERT_TRUE(start.ok()) << start.status().ToString();
  Wait(start->operation_id);
  ExpectHealthy("test", "after a stop and a start");
  OperationEngine::SetCrashHook(
      [](const std::string& k, int s) { return !(k == "failover" && s == 0); });
  auto first = ForceFailover("test");
  ASSERT_TRUE(first.ok());
  Wait(first->operation_id);  // unfinished: the instance stays busy
  ExpectError(ForceFailover("test").status(), "InvalidDBInstanceState", 400,
              "Instance test is currently rebooting; wait until it is available and try again.");
  ExpectError(cp_->instances().RebootDBInstance({{"DBInstanceIdentifier", "test"}}).status(),
              "InvalidDBInstanceState", 400,
              "Instance test is currently rebooting; wait until it is available and try again.");
  Restart();
  ExpectHealthy("test", "after the restart");

  // A standby that is not in sync yet cannot take over.
  runtime_.FailNextBackup(true);
  auto failover = ForceFailover("test");
  ASSERT_TRUE(failover.ok());
  Wait(failover->operation_id);
  ASSERT_EQ(StandbyState("test"), "building");
  ExpectError(ForceFailover("test").status(), "InvalidDBInstanceState", 400,
              "The Multi-AZ standby of DB instance test is not in sync yet; try the failover "
              "again once it is.");
  EXPECT_EQ(StatusOf("test"), "available");
}

TEST_F(MultiAzControlTest, AnInstanceAvailableWhileItsStandbyIsReplacedSaysWhatItWaitsFor) {
  // A failover serves the endpoint (available), then replaces the standby: a call in between
  // is refused, and its message does not say "is currently available; wait until available".
  CreateMultiAz("test");
  OperationEngine::SetCrashHook(
      [](const std::string& k, int s) { return !(k == "failover" && s == 3); });
  auto failover = ForceFailover("test");
  ASSERT_TRUE(failover.ok()) << failover.status().ToString();
  Wait(failover->operation_id);  // stopped before "rebuild": the standby is not back yet
  ASSERT_EQ(StatusOf("test"), "available");
  const std::string busy =
      "Instance test is available, but an operation on it (such as replacing its Multi-AZ "
      "standby) has not ended; wait until it ends and try again.";
  ExpectError(cp_->instances().RebootDBInstance({{"DBInstanceIdentifier", "test"}}).status(),
              "InvalidDBInstanceState", 400, busy);
  ExpectError(cp_->BackupNow(InstanceRef("test")).status(), "InvalidDBInstanceState", 400, busy);
  Restart();  // the failover resumes and ends: the instance takes calls again
  ExpectHealthy("test", "after the restart");
  auto backup = cp_->BackupNow(InstanceRef("test"));
  ASSERT_TRUE(backup.ok()) << backup.status().ToString();
  Wait(backup->operation_id);
}

TEST_F(MultiAzControlTest, AFailedStandbyBuildTurnsSynchronousReplicationOffAndIsRetried) {
  CreateMultiAz("test");
  // The build fails after synchronous replication went on for the new standby.
  runtime_.FailQuery("pg_current_wal_lsn()");
  auto r = ForceFailover("test");
  ASSERT_TRUE(r.ok());
  Wait(r->operation_id);
  EXPECT_EQ(StatusOf("test"), "available");
  EXPECT_EQ(PrimaryHost("test"), "b");
  EXPECT_EQ(StandbyState("test"), "building");
  const std::string conf = PrimaryConf("test");
  EXPECT_EQ(conf.find("synchronous_standby_names"), std::string::npos) << conf;
  EXPECT_EQ(Events("test").back(),
            (std::pair<std::string, std::string>{
                "", "The Multi-AZ standby could not be built (query failed (injected))"}));
  EXPECT_EQ(CountEvents("test", "Multi-AZ instance failover completed."), 1);
  EXPECT_EQ(cp_->ha_monitor().MonitorPrimariesOnce(), "");

  // The reconciler tries again, at most every 30 seconds.
  EXPECT_EQ(cp_->reconciler().ReconcileOnce(), "building the Multi-AZ standby of test again.");
  WaitIdle();
  EXPECT_EQ(
      CountEvents("test", "The Multi-AZ standby could not be built (query failed (injected))"), 2);
  EXPECT_EQ(cp_->reconciler().ReconcileOnce(), "");
  EXPECT_EQ(StatusOf("test"), "available");

  runtime_.FailQuery("");
  Restart();  // the retry clock is in memory
  EXPECT_EQ(cp_->reconciler().ReconcileOnce(), "building the Multi-AZ standby of test again.");
  WaitIdle();
  ExpectHealthy("test", "after the retry");
  EXPECT_EQ(Events("test").back().first, "RDS-EVENT-0053");
  EXPECT_EQ(CountEvents("test", "Multi-AZ instance failover completed."), 1);
}

TEST_F(MultiAzControlTest, AStandbyBuildStopsWaitingWhenItsPrimaryStops) {
  CreateMultiAz("test");
  // The new standby never streams, and the new primary stops while the failover waits for it:
  // the wait ends there (not after its 120 s), and the reconciler takes over.
  Streaming(false);
  const size_t before = runtime_.Sql().size();
  auto r = ForceFailover("test");
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(Eventually([&] {
    const auto sql = runtime_.Sql();
    return std::any_of(
        sql.begin() + static_cast<std::ptrdiff_t>(before), sql.end(),
        [](const std::string& q) { return q.find("pg_stat_wal_receiver") != std::string::npos; });
  }));
  EXPECT_EQ(PrimaryHost("test"), "b");
  ASSERT_TRUE(runtime_.Kill(cp_->servers().Server(Row("test"))).ok());
  Wait(r->operation_id);
  EXPECT_EQ(Events("test").back(),
            (std::pair<std::string, std::string>{
                "",
                "The Multi-AZ standby could not be built (the primary's PostgreSQL stopped "
                "while waiting until the Multi-AZ standby streams from its primary)"}));
  EXPECT_EQ(StandbyState("test"), "building");
}

TEST_F(MultiAzControlTest, AStoppedStandbyIsStartedAgain) {
  CreateMultiAz("test");
  const ServerSpec standby = cp_->servers().StandbyServer(Row("test"));
  ASSERT_TRUE(runtime_.Kill(standby).ok());
  EXPECT_EQ(cp_->ha_monitor().MonitorPrimariesOnce(), "");  // the primary is fine
  EXPECT_EQ(cp_->reconciler().ReconcileOnce(), "restarted the Multi-AZ standby of test.");
  EXPECT_TRUE(runtime_.IsRunning(standby));
  EXPECT_EQ(PrimaryHost("test"), "a");
  ExpectHealthy("test", "after the restart of the standby");
}

TEST_F(MultiAzControlTest, ModifyTurnsMultiAzOnAndOff) {
  Create("test");
  const std::string rid = Rid("test"), az = Describe("test")["AvailabilityZone"];
  // Without ApplyImmediately it waits for the maintenance window.
  auto later =
      cp_->instances().ModifyDBInstance({{"DBInstanceIdentifier", "test"}, {"MultiAZ", true}});
  ASSERT_TRUE(later.ok()) << later.status().ToString();
  EXPECT_EQ(later->operation_id, 0);
  EXPECT_EQ(Describe("test")["PendingModifiedValues"]["MultiAZ"], true);
  EXPECT_EQ(Describe("test")["MultiAZ"], false);

  size_t seen = Events("test").size();
  auto on = cp_->instances().ModifyDBInstance(
      {{"DBInstanceIdentifier", "test"}, {"MultiAZ", true}, {"ApplyImmediately", true}});
  ASSERT_TRUE(on.ok()) << on.status().ToString();
  EXPECT_EQ(on->body["DBInstanceStatus"], "modifying");
  Wait(on->operation_id);
  json d = Describe("test");
  EXPECT_EQ(d["MultiAZ"], true);
  EXPECT_EQ(d["AvailabilityZone"], az);
  EXPECT_EQ(d["SecondaryAvailabilityZone"], NextAvailabilityZone(az));
  EXPECT_FALSE(d["PendingModifiedValues"].contains("MultiAZ"));
  ExpectHealthy("test", "after MultiAZ=true");
  EXPECT_EQ(EventsSince("test", seen),
            (std::vector<std::pair<std::string, std::string>>{
                {"RDS-EVENT-0024", "Applying modification to convert to a Multi-AZ DB instance."},
                {"RDS-EVENT-0025",
                 "Finished applying modification to convert to a Multi-AZ DB instance."}}));

  seen = Events("test").size();
  const ServerSpec standby = cp_->servers().StandbyServer(Row("test"));
  const std::string slot = ReplicationSlotName(rid);
  runtime_.AnswerQuery("SELECT coalesce((SELECT active::text FROM pg_replication_slots", "false");
  auto off = cp_->instances().ModifyDBInstance(
      {{"DBInstanceIdentifier", "test"}, {"MultiAZ", false}, {"ApplyImmediately", true}});
  ASSERT_TRUE(off.ok()) << off.status().ToString();
  Wait(off->operation_id);
  d = Describe("test");
  EXPECT_EQ(d["DBInstanceStatus"], "available");
  EXPECT_EQ(d["MultiAZ"], false);
  EXPECT_FALSE(d.contains("SecondaryAvailabilityZone"));
  EXPECT_FALSE((*cp_->InstanceDetails("test")).contains("multi_az"));
  EXPECT_FALSE(runtime_.IsRunning(standby));
  EXPECT_FALSE(fs::exists(standby.pgdata));
  EXPECT_EQ(PrimaryConf("test").find("synchronous_standby_names"), std::string::npos);
  EXPECT_TRUE(runtime_.IsRunning(cp_->servers().Server(Row("test"))));
  const auto sql = runtime_.Sql();
  EXPECT_NE(std::find(sql.begin(), sql.end(), "SELECT pg_drop_replication_slot('" + slot + "')"),
            sql.end());
  EXPECT_FALSE(Row("test").attrs.contains("_standby_port"));
  EXPECT_FALSE(Row("test").attrs.contains("_standby"));
  EXPECT_EQ(EventsSince("test", seen),
            (std::vector<std::pair<std::string, std::string>>{
                {"RDS-EVENT-0030",
                 "Applying modification to convert to a standard (Single-AZ) DB instance."},
                {"RDS-EVENT-0029",
                 "Finished applying modification to convert to a standard (Single-AZ) DB "
                 "instance."}}));
  // Single-AZ again: a crash is a restart in place.
  ASSERT_TRUE(runtime_.Kill(cp_->servers().Server(Row("test"))).ok());
  EXPECT_EQ(cp_->ha_monitor().MonitorPrimariesOnce(), "");
  EXPECT_EQ(cp_->reconciler().ReconcileOnce(),
            "restarting test, whose PostgreSQL server stopped unexpectedly.");
  WaitIdle();

  // And on again: a new standby.
  auto again = cp_->instances().ModifyDBInstance(
      {{"DBInstanceIdentifier", "test"}, {"MultiAZ", true}, {"ApplyImmediately", true}});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  Wait(again->operation_id);
  ExpectHealthy("test", "after MultiAZ=true again");
}

TEST_F(MultiAzControlTest, AConversionToMultiAzWhoseStandbyCannotBeBuiltSaysSo) {
  Create("test");
  const std::string slot = ReplicationSlotName(Rid("test"));
  runtime_.AnswerQuery("SELECT coalesce((SELECT active::text FROM pg_replication_slots", "false");
  runtime_.FailNextBackup(true);
  const size_t seen = Events("test").size();
  auto on = cp_->instances().ModifyDBInstance(
      {{"DBInstanceIdentifier", "test"}, {"MultiAZ", true}, {"ApplyImmediately", true}});
  ASSERT_TRUE(on.ok()) << on.status().ToString();
  Wait(on->operation_id);
  json d = Describe("test");
  EXPECT_EQ(d["DBInstanceStatus"], "available");
  EXPECT_TRUE(runtime_.IsRunning(cp_->servers().Server(Row("test"))));
  EXPECT_EQ(PrimaryConf("test").find("synchronous_standby_names"), std::string::npos);
  const auto events = EventsSince("test", seen);
  EXPECT_EQ(std::count(events.begin(), events.end(),
                       std::pair<std::string, std::string>{
                           "",
                           "The Multi-AZ standby could not be built (pg_basebackup failed "
                           "(injected))"}),
            1)
      << "no event says the conversion failed";
  if (d["MultiAZ"] == true) {
    // Converted, its standby still to be built: the reconciler builds it, and only then is the
    // conversion finished (RDS-EVENT-0025, once).
    const std::string finished =
        "Finished applying modification to convert to a Multi-AZ DB instance.";
    EXPECT_EQ(CountEvents("test", finished), 0);
    EXPECT_FALSE(d["PendingModifiedValues"].contains("MultiAZ")) << d["PendingModifiedValues"];
    EXPECT_EQ(cp_->reconciler().ReconcileOnce(), "building the Multi-AZ standby of test again.");
    WaitIdle();
    ExpectHealthy("test", "after the retry");
    EXPECT_EQ(CountEvents("test", finished), 1);
    EXPECT_EQ(CountEvents("test",
                          "Multi-AZ instance recovery completed. Pending failover or "
                          "activation."),
              0);
  } else {
    // Not converted: nothing of the attempt is left (a slot would hold WAL forever).
    EXPECT_FALSE(d["PendingModifiedValues"].contains("MultiAZ")) << d["PendingModifiedValues"];
    const auto sql = runtime_.Sql();
    EXPECT_EQ(std::count(sql.begin(), sql.end(),
                         "SELECT pg_create_physical_replication_slot('" + slot + "', true)"),
              std::count(sql.begin(), sql.end(), "SELECT pg_drop_replication_slot('" + slot + "')"))
        << "the standby's replication slot was left on the primary";
  }
}

TEST_F(MultiAzControlTest, ARestoreAsMultiAzGetsAStandby) {
  CreateMultiAz("test");
  auto snap = cp_->snapshots().CreateDBSnapshot(
      {{"DBInstanceIdentifier", "test"}, {"DBSnapshotIdentifier", "s1"}});
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  Wait(snap->operation_id);
  auto single = cp_->snapshots().RestoreDBInstanceFromDBSnapshot(
      {{"DBInstanceIdentifier", "single"}, {"DBSnapshotIdentifier", "s1"}});
  ASSERT_TRUE(single.ok()) << single.status().ToString();
  Wait(single->operation_id);
  EXPECT_EQ(Describe("single")["MultiAZ"], false);  // not copied from the snapshot's instance
  EXPECT_FALSE(Row("single").attrs.contains("_standby"));
  EXPECT_FALSE(Row("single").attrs.contains("_primary_host"));
  auto multi = cp_->snapshots().RestoreDBInstanceFromDBSnapshot(
      {{"DBInstanceIdentifier", "multi"}, {"DBSnapshotIdentifier", "s1"}, {"MultiAZ", true}});
  ASSERT_TRUE(multi.ok()) << multi.status().ToString();
  Wait(multi->operation_id);
  EXPECT_EQ(Describe("multi")["MultiAZ"], true);
  EXPECT_EQ(PrimaryHost("multi"), "a");
  ExpectHealthy("multi", "restored");
}

TEST_F(MultiAzControlTest, ACrashInsideTheStandbyStepIsResumedOnTheStandbysPort) {
  // A crash in the middle of the create's standby step leaves its work without any of it
  // committed: the standby's data directory made, its server running on the port the step had
  // picked. Crash before that step, then leave exactly that behind.
  OperationEngine::SetCrashHook(
      [](const std::string& k, int s) { return !(k == "create" && s == 4); });
  auto r = cp_->instances().CreateDBInstance(MultiAzReq("test"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  Wait(r->operation_id);
  ASSERT_EQ(StatusOf("test"), "creating");
  const InstanceRow row = Row("test");
  ServerSpec standby = cp_->servers().StandbyServer(row);
  ASSERT_FALSE(row.attrs.contains("_standby_port"));
  ASSERT_TRUE(runtime_
                  .BaseBackup(cp_->servers().Server(row), standby.pgdata,
                              ReplicationSlotName(row.resource_id))
                  .ok());
  std::ofstream(standby.pgdata / "standby.signal");
  standby.port = 40999;  // what the interrupted step had picked
  ASSERT_TRUE(runtime_.Start(standby).ok());

  Restart();
  EXPECT_EQ(StatusOf("test"), "available");
  // The standby must run where the catalog says (localrds reaches it only through that socket).
  ExpectHealthy("test", "resumed");
}

TEST_F(MultiAzControlTest, APortChangeTakesTheStandbyAlong) {
  CreateMultiAz("test");
  const int port = FreePort(41500);
  auto r = cp_->instances().ModifyDBInstance(
      {{"DBInstanceIdentifier", "test"}, {"DBPortNumber", port}, {"ApplyImmediately", true}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  Wait(r->operation_id);
  ASSERT_EQ(Row("test").port, port);
  ExpectHealthy("test", "after the port change");  // its primary_conninfo names the new port
  auto failover = ForceFailover("test");
  ASSERT_TRUE(failover.ok()) << failover.status().ToString();
  Wait(failover->operation_id);
  EXPECT_EQ(Describe("test")["Endpoint"]["Port"], port);
  ExpectHealthy("test", "after a failover on the new port");
}

TEST_F(MultiAzControlTest, StartingThePrimaryKeepsTheStandbysSlot) {
  CreateMultiAz("test");
  const std::string slot = ReplicationSlotName(Rid("test"));
  // While the primary starts its standby is not connected yet: the slot is inactive.
  runtime_.AnswerQuery("FROM pg_replication_slots WHERE slot_name LIKE 'localrds", slot);
  auto reboot = cp_->instances().RebootDBInstance({{"DBInstanceIdentifier", "test"}});
  ASSERT_TRUE(reboot.ok()) << reboot.status().ToString();
  Wait(reboot->operation_id);
  auto stop = cp_->instances().StopDBInstance({{"DBInstanceIdentifier", "test"}});
  ASSERT_TRUE(stop.ok()) << stop.status().ToString();
  Wait(stop->operation_id);
  auto start = cp_->instances().StartDBInstance({{"DBInstanceIdentifier", "test"}});
  ASSERT_TRUE(start.ok()) << start.status().ToString();
  Wait(start->operation_id);
  ExpectHealthy("test", "after a reboot, a stop and a start");
  const auto sql = runtime_.Sql();
  EXPECT_EQ(std::count(sql.begin(), sql.end(), "SELECT pg_drop_replication_slot('" + slot + "')"),
            0)
      << "the slot of a ready standby was dropped: it cannot stream, and every commit waits";
}

}  // namespace localrds
