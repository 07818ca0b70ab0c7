// The outage drills over the fake runtime: a Region or an Availability Zone goes down (its
// servers frozen, the state on disk across a restart, the API's Region answering
// ServiceUnavailable) and comes back (thawed; a Multi-AZ instance that failed over keeps its new
// primary and rebuilds its standby; a promoted cross-Region replica stays standalone).
#include <filesystem>
#include <future>

#include "emulator/core/instance_state.h"
#include "emulator/core/request.h"
#include "tests/scopes.h"
#include "tests/unit/multi_az_fixture.h"

namespace localrds {
namespace {

using nlohmann::json;

TEST(OutageZonesTest, FromAFailoversFenceThePrimaryIsTheFormerStandbysZone) {
  InstanceRow row;
  row.scope = kEast;
  row.attrs = {{"MultiAZ", true},
               {"AvailabilityZone", "us-east-1b"},
               {"SecondaryAvailabilityZone", "us-east-1c"}};
  Outages outages(std::filesystem::temp_directory_path() /
                  ("outages-" + std::to_string(::getpid()) + ".json"));
  ASSERT_TRUE(outages.Set({OutageArea::Kind::kZone, "us-east-1b", "us-east-1", 0}, true).ok());
  EXPECT_EQ(PrimaryZone(row), "us-east-1b");
  EXPECT_TRUE(PrimaryOut(outages, row));
  EXPECT_FALSE(StandbyOut(outages, row));
  // Fenced: the catalog names the promoted standby's host the primary; the zones swap later.
  SetFailoverPending(row.attrs, true);
  EXPECT_EQ(PrimaryZone(row), "us-east-1c");
  EXPECT_FALSE(PrimaryOut(outages, row));  // the outage does not freeze the new primary
  EXPECT_TRUE(StandbyOut(outages, row));
  EXPECT_EQ(OutageTakingDown(outages, row, true), "Availability Zone us-east-1b");
  std::filesystem::remove(std::filesystem::temp_directory_path() /
                          ("outages-" + std::to_string(::getpid()) + ".json"));
}

class OutageTest : public MultiAzControlTest {
 protected:
  Result<json> Drill(const std::string& name, bool zone, bool out) {
    std::promise<Result<json>> answer;
    cp_->SetOutageAsync(name, zone, out, [&](Result<json> r) { answer.set_value(std::move(r)); });
    auto f = answer.get_future();
    EXPECT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    return f.get();
  }
  bool Frozen(const std::string& id) { return runtime_.IsPaused(cp_->servers().Server(Row(id))); }
  bool StandbyFrozen(const std::string& id) {
    return runtime_.IsPaused(cp_->servers().StandbyServer(Row(id)));
  }
  // Every event of localrds (any source) whose id is `event_id`, as "source: message".
  std::vector<std::string> EventsWithId(const std::string& event_id) {
    std::vector<std::string> out;
    for (const auto& e : cp_->EventsWithIds(1000).value()) {
      if (e["event_id"] == event_id) {
        out.push_back(e["source_identifier"].get<std::string>() + ": " +
                      e["message"].get<std::string>());
      }
    }
    return out;
  }
};

TEST_F(OutageTest, UnknownRegionsAndZonesAreRefusedLikeTheOtherControls) {
  ExpectError(Drill("mars-east-1", false, true).status(), "InvalidParameterValue", 400,
              "Unknown region 'mars-east-1': not an AWS commercial region.");
  ExpectError(Drill("us-east-1z", true, true).status(), "InvalidParameterValue", 400,
              "Unknown Availability Zone 'us-east-1z': not a zone of an AWS commercial region.");
  ExpectError(Drill("us-east-1", true, false).status(), "InvalidParameterValue", 400,
              "Unknown Availability Zone 'us-east-1': not a zone of an AWS commercial region.");
  EXPECT_TRUE(cp_->Health()["outages"].empty());
}

TEST_F(OutageTest, ARegionOutageFreezesItsServersSurvivesARestartAndRecoveryThawsThem) {
  Create("prod");  // us-east-1
  auto eu = cp_->instances().CreateDBInstance(In(kEu, CreateReq("prod")));
  ASSERT_TRUE(eu.ok()) << eu.status().ToString();
  Wait(eu->operation_id);
  runtime_.AnswerQuery("pg_current_wal_flush_lsn", "0/3000148");

  auto out = Drill("us-east-1", false, true);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)["outage"], "us-east-1");
  EXPECT_EQ((*out)["changed"], true);
  EXPECT_EQ((*out)["servers"], json::array({"prod: froze the primary at 0/3000148"}));
  EXPECT_TRUE(Frozen("prod"));
  EXPECT_TRUE(cp_->RegionInOutage("us-east-1"));
  EXPECT_FALSE(cp_->RegionInOutage("eu-west-1"));
  const InstanceRow eu_row = *cp_->registry().GetInstance(eu->body["DbiResourceId"]);
  EXPECT_FALSE(runtime_.IsPaused(cp_->servers().Server(eu_row)));
  json health = cp_->Health()["outages"];
  ASSERT_EQ(health.size(), 1u);
  EXPECT_EQ(health[0]["kind"], "region");
  EXPECT_EQ(health[0]["name"], "us-east-1");
  EXPECT_TRUE(std::filesystem::exists(layout_->OutagesPath()));
  EXPECT_EQ(EventsWithId("LOCALRDS-OUTAGE"),
            (std::vector<std::string>{
                "us-east-1: Region us-east-1 is in an outage (localrds drill): its PostgreSQL "
                "servers do not answer",
                "prod: The DB instance does not answer: Region us-east-1 is in an outage "
                "(localrds drill). Its server stopped at WAL position 0/3000148."}));
  // The Region's own event is localrds's: DescribeEvents (RDS's source types) leaves it out.
  auto described = cp_->metadata().DescribeEvents(json::object());
  ASSERT_TRUE(described.ok());
  for (const auto& e : (*described)["Events"]) {
    EXPECT_NE(e["SourceType"], "region");
    EXPECT_NE(e["SourceIdentifier"], "us-east-1");
  }
  // Again: nothing changes.
  auto again = Drill("us-east-1", false, true);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)["changed"], false);
  EXPECT_EQ(EventsWithId("LOCALRDS-OUTAGE").size(), 2u);

  // A restart of localrds: the Region stays out, its server frozen; no backup is started for it.
  Restart();
  EXPECT_TRUE(cp_->RegionInOutage("us-east-1"));
  EXPECT_TRUE(Frozen("prod"));
  // A server of the Region that runs unfrozen (started behind localrds' back) is frozen again.
  ASSERT_TRUE(runtime_.Resume(cp_->servers().Server(Row("prod"))).ok());
  EXPECT_EQ(cp_->outages().EnforceOnce(), "prod: froze the primary at 0/3000148.");
  EXPECT_TRUE(Frozen("prod"));

  auto back = Drill("us-east-1", false, false);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ((*back)["recovered"], "us-east-1");
  EXPECT_EQ((*back)["servers"], json::array({"prod: thawed the primary"}));
  EXPECT_FALSE(Frozen("prod"));
  EXPECT_FALSE(cp_->RegionInOutage("us-east-1"));
  EXPECT_TRUE(cp_->Health()["outages"].empty());
  EXPECT_EQ(EventsWithId("LOCALRDS-OUTAGE-RECOVERED"),
            (std::vector<std::string>{
                "us-east-1: Region us-east-1 has recovered (localrds drill): its PostgreSQL "
                "servers answer again",
                "prod: The DB instance answers again: Region us-east-1 has recovered (localrds "
                "drill)."}));
  EXPECT_EQ((*Drill("us-east-1", false, false))["changed"], false);
  EXPECT_EQ(cp_->outages().EnforceOnce(), "");
}

TEST_F(OutageTest, ACleanStopKillsTheServersOfAnAreaOutWhichStayDownUntilItRecovers) {
  Create("prod");
  ASSERT_TRUE(Drill("us-east-1", false, true).ok());
  const ServerSpec spec = cp_->servers().Server(Row("prod"));
  cp_->Shutdown(true);  // a frozen server is killed: it sends its replicas nothing more
  EXPECT_FALSE(runtime_.IsRunning(spec));
  Restart();
  EXPECT_FALSE(runtime_.IsRunning(spec));  // not brought back at startup
  EXPECT_THAT(cp_->reconciler().ReconcileOnce(), testing::Not(testing::HasSubstr("prod")));
  EXPECT_FALSE(runtime_.IsRunning(spec));
  ASSERT_TRUE(Drill("us-east-1", false, false).ok());
  EXPECT_THAT(cp_->reconciler().ReconcileOnce(),
              testing::HasSubstr("restarting prod, whose PostgreSQL server stopped unexpectedly"));
  WaitIdle();
  EXPECT_TRUE(runtime_.IsRunning(spec));
  EXPECT_FALSE(runtime_.IsPaused(spec));
}

TEST_F(OutageTest, AZoneOutageFailsAMultiAzPrimaryOverAndRecoveryRebuildsItsStandby) {
  CreateMultiAz("ha");
  const json before = Describe("ha");
  const std::string az = before["AvailabilityZone"], second = before["SecondaryAvailabilityZone"];
  ASSERT_NE(az, second);
  const std::string old_host = PrimaryHost("ha");

  ASSERT_TRUE(Drill(az, true, true).ok());
  EXPECT_TRUE(Frozen("ha"));
  EXPECT_FALSE(StandbyFrozen("ha"));
  EXPECT_FALSE(cp_->RegionInOutage("us-east-1"));  // a zone: the Region's API still answers
  // The health monitor finds the frozen primary hung and fails over to the standby.
  EXPECT_THAT(MonitorUntilItActs(), testing::HasSubstr("failing over ha"));
  WaitIdle();
  const json after = Describe("ha");
  EXPECT_EQ(after["DBInstanceStatus"], "available");
  EXPECT_EQ(after["AvailabilityZone"], second);
  EXPECT_EQ(after["SecondaryAvailabilityZone"], az);
  EXPECT_NE(PrimaryHost("ha"), old_host);
  // No standby is built in the zone that is out; the new primary commits without one.
  EXPECT_EQ(StandbyState("ha"), "rebuild");
  EXPECT_EQ(PrimaryConf("ha").find("synchronous_standby_names"), std::string::npos);
  EXPECT_EQ(CountEvents("ha", "Multi-AZ instance failover completed."), 1);
  EXPECT_EQ(CountEvents("ha", "The Multi-AZ standby could not be built (its Availability Zone " +
                                  az + " is in an outage (localrds drill))"),
            1);
  // The reconciler does not try again while the zone is out.
  clock_.Advance(60'000);
  EXPECT_THAT(cp_->reconciler().ReconcileOnce(), testing::Not(testing::HasSubstr("ha")));

  auto back = Drill(az, true, false);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ((*back)["servers"], json::array({"ha: rebuilding its Multi-AZ standby"}));
  WaitIdle();
  ExpectHealthy("ha", "after the zone's recovery");
  EXPECT_EQ(Describe("ha")["AvailabilityZone"], second);  // the new primary stays
  EXPECT_EQ(CountEvents("ha",
                        "Multi-AZ instance recovery completed. Pending failover or "
                        "activation."),
            1);
}

TEST_F(OutageTest, AStandbyZoneOutageStopsCommitsWaitingForTheStandbyUntilItIsBack) {
  CreateMultiAz("ha");
  const std::string second = Describe("ha")["SecondaryAvailabilityZone"];
  ASSERT_TRUE(Drill(second, true, true).ok());
  EXPECT_FALSE(Frozen("ha"));
  EXPECT_TRUE(StandbyFrozen("ha"));
  EXPECT_EQ(StandbyState("ha"), "building");
  EXPECT_EQ(PrimaryConf("ha").find("synchronous_standby_names"), std::string::npos);
  EXPECT_EQ(CountEvents("ha", "Multi-AZ instance recovery started."), 1);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(MonitorStep(), "");  // nothing to fail over to

  ASSERT_TRUE(Drill(second, true, false).ok());
  WaitIdle();
  EXPECT_FALSE(StandbyFrozen("ha"));
  ExpectHealthy("ha", "after the standby's zone recovered");
  EXPECT_EQ(CountEvents("ha",
                        "Multi-AZ instance recovery completed. Pending failover or "
                        "activation."),
            1);
}

TEST_F(OutageTest, ARegionOutageFailsNothingOverInsideIt) {
  CreateMultiAz("ha");
  ASSERT_TRUE(Drill("us-east-1", false, true).ok());
  EXPECT_TRUE(Frozen("ha"));
  EXPECT_TRUE(StandbyFrozen("ha"));
  EXPECT_EQ(StandbyState("ha"), "ready");  // both out: no standby is given up
  for (int i = 0; i < 8; ++i) EXPECT_EQ(MonitorStep(), "");
  ASSERT_TRUE(Drill("us-east-1", false, false).ok());
  EXPECT_FALSE(Frozen("ha"));
  EXPECT_FALSE(StandbyFrozen("ha"));
  for (int i = 0; i < 8; ++i) EXPECT_EQ(MonitorStep(), "");  // healthy again, not "hung"
  ExpectHealthy("ha", "after the Region's recovery");
}

TEST_F(OutageTest, ACrossRegionReplicaOfASourceInTheRegionOutIsPromotedAndStaysStandalone) {
  ReplicasStream();
  auto created = cp_->instances().CreateDBInstance(In(kEast, CreateReq("prod")));
  ASSERT_TRUE(created.ok());
  Wait(created->operation_id);
  auto r = cp_->replicas().CreateDBInstanceReadReplica(
      In(kEu, {{"DBInstanceIdentifier", "dr"},
               {"SourceDBInstanceIdentifier", "arn:aws:rds:us-east-1:000000000000:db:prod"}}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  Wait(r->operation_id);
  runtime_.AnswerQuery("pg_current_wal_flush_lsn", "0/3000148");
  runtime_.AnswerQuery("pg_last_wal_receive_lsn()::text", "0/3000148|0");

  ASSERT_TRUE(Drill("us-east-1", false, true).ok());
  EXPECT_TRUE(Frozen("prod"));
  const InstanceRow dr = *cp_->registry().GetInstance(r->body["DbiResourceId"]);
  EXPECT_FALSE(runtime_.IsPaused(cp_->servers().Server(dr)));
  EXPECT_THAT(EventsWithId("LOCALRDS-OUTAGE"),
              testing::Contains("dr: The source DB instance prod (us-east-1) does not answer "
                                "(localrds outage drill). This replica has its WAL up to "
                                "0/3000148 of 0/3000148: 0 bytes not received."));
  // DR code promotes it in its own Region, whose API answers.
  auto promoted = cp_->replicas().PromoteReadReplica(In(kEu, {{"DBInstanceIdentifier", "dr"}}));
  ASSERT_TRUE(promoted.ok()) << promoted.status().ToString();
  Wait(promoted->operation_id);
  json described = cp_->instances()
                       .DescribeDBInstances(In(kEu, {{"DBInstanceIdentifier", "dr"}}))
                       .value()["DBInstances"][0];
  EXPECT_EQ(described["DBInstanceStatus"], "available");
  EXPECT_FALSE(described.contains("ReadReplicaSourceDBInstanceIdentifier"));

  ASSERT_TRUE(Drill("us-east-1", false, false).ok());
  EXPECT_FALSE(Frozen("prod"));
  // No split brain: the source has no replica any more, the promoted one stays standalone.
  json prod = cp_->instances()
                  .DescribeDBInstances(In(kEast, {{"DBInstanceIdentifier", "prod"}}))
                  .value()["DBInstances"][0];
  EXPECT_EQ(prod["ReadReplicaDBInstanceIdentifiers"], json::array());
  described = cp_->instances()
                  .DescribeDBInstances(In(kEu, {{"DBInstanceIdentifier", "dr"}}))
                  .value()["DBInstances"][0];
  EXPECT_FALSE(described.contains("ReadReplicaSourceDBInstanceIdentifier"));
}

TEST_F(OutageTest, NewInstancesGoToZonesThatAreUpAndNothingIsMadeFromAServerThatIsOut) {
  Create("prod");
  const std::string az = Describe("prod")["AvailabilityZone"];
  ASSERT_TRUE(Drill(az, true, true).ok());
  ASSERT_TRUE(Drill("us-east-1a", true, true).ok());
  // Asked in a zone that is out: no capacity there.
  json req = CreateReq("asked");
  req["AvailabilityZone"] = "us-east-1a";
  ExpectError(cp_->instances().CreateDBInstance(req).status(), "InsufficientDBInstanceCapacity",
              400,
              "Cannot create a DB instance in us-east-1a: the Availability Zone is in an outage "
              "(localrds drill). Choose another Availability Zone or none.");
  // Placed by localrds (a Multi-AZ standby too): never in a zone that is out.
  for (const char* id : {"a1", "a2", "a3", "a4"}) {
    json multi = CreateReq(id);
    multi["MultiAZ"] = true;
    multi["BackupRetentionPeriod"] = 0;
    auto r = cp_->instances().CreateDBInstance(multi);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    const json& d = r->body;
    for (const char* member : {"AvailabilityZone", "SecondaryAvailabilityZone"}) {
      EXPECT_NE(d[member], az) << id << " " << member;
      EXPECT_NE(d[member], "us-east-1a") << id << " " << member;
    }
    EXPECT_NE(d["AvailabilityZone"], d["SecondaryAvailabilityZone"]);
    Wait(r->operation_id);
  }
  // A read replica of a source that is out: its copy would wait on a server that answers nothing.
  ExpectError(cp_->replicas()
                  .CreateDBInstanceReadReplica(
                      {{"DBInstanceIdentifier", "dr"}, {"SourceDBInstanceIdentifier", "prod"}})
                  .status(),
              "InvalidDBInstanceState", 400,
              "The source DB instance prod cannot be reached: its Availability Zone " + az +
                  " is in an outage (localrds drill).");
  // Nor does anything else act on its frozen server; a delete still goes ahead.
  ExpectError(cp_->snapshots()
                  .CreateDBSnapshot({{"DBInstanceIdentifier", "prod"},
                                     {"DBSnapshotIdentifier", "during-the-outage"}})
                  .status(),
              "InvalidDBInstanceState", 400,
              "DB instance prod cannot be reached: its Availability Zone " + az +
                  " is in an outage (localrds drill).");
  ExpectError(cp_->instances().RebootDBInstance({{"DBInstanceIdentifier", "prod"}}).status(),
              "InvalidDBInstanceState", 400, testing::HasSubstr("cannot be reached"));
  auto deleted = cp_->instances().DeleteDBInstance(
      {{"DBInstanceIdentifier", "prod"}, {"SkipFinalSnapshot", true}});
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  Wait(deleted->operation_id);
}

}  // namespace
}  // namespace localrds
