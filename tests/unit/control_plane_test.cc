// The control plane over the fake runtime: statuses, errors, operations (create, stop, start,
// reboot, modify, delete), describe, tags, engines, and what clients may connect from. Backups
// are in control_plane_backup_test.cc, crash recovery in control_plane_recovery_test.cc.
#include "emulator/service/control_plane.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>

#include "common/log.h"
#include "common/time_util.h"
#include "emulator/core/validation.h"
#include "emulator/engine/operation_engine.h"
#include "emulator/postgres/server_config.h"
#include "tests/unit/control_plane_fixture.h"

namespace localrds {
namespace fs = std::filesystem;
using nlohmann::json;

TEST_F(ControlPlaneTest, CreateRunsARealBootstrapAndBecomesAvailable) {
  Accepted a = Create("Test");
  EXPECT_EQ(a.body["DBInstanceStatus"], "creating");
  EXPECT_FALSE(a.body.contains("Endpoint"));  // RDS shows no endpoint while creating
  json d = Describe("test");
  EXPECT_EQ(d["DBInstanceIdentifier"], "test");  // stored lowercase
  EXPECT_EQ(d["DBInstanceStatus"], "available");
  EXPECT_EQ(d["Endpoint"]["Port"], 40000);
  EXPECT_EQ(d["EngineVersion"], "15.18");
  EXPECT_EQ(d["DBInstanceArn"], "arn:aws:rds:us-east-1:000000000000:db:test");
  EXPECT_EQ(d["DbiResourceId"].get<std::string>().rfind("db-", 0), 0u);
  EXPECT_EQ(runtime_.Running().size(), 1u);
  bool role = false, db = false;
  for (const auto& s : runtime_.Sql()) {
    EXPECT_EQ(s.find("secret99"), std::string::npos) << "plaintext password sent: " << s;
    if (s.rfind("CREATE ROLE \"root\" LOGIN CREATEDB CREATEROLE IN ROLE rds_superuser PASSWORD "
                "'SCRAM-SHA-256$4096:",
                0) == 0) {
      role = true;
    }
    if (s == "CREATE DATABASE \"test\" OWNER \"root\"") db = true;
  }
  EXPECT_TRUE(role);
  EXPECT_TRUE(db);
  // The default retention (1 day) takes the first automated backup at creation.
  EXPECT_EQ(EventMessages("test"),
            (std::vector<std::string>{"DB instance created", "Backing up DB instance",
                                      "Finished DB Instance backup"}));
}

TEST_F(ControlPlaneTest, CreateErrors) {
  Create("test");
  ExpectError(cp_->instances().CreateDBInstance(CreateReq("TEST")).status(),
              "DBInstanceAlreadyExists", 400, "DB instance already exists");
  json bad = CreateReq("other");
  bad["Engine"] = "mysql";
  ExpectError(cp_->instances().CreateDBInstance(bad).status(), "InvalidParameterValue", 400,
              "Engine mysql is not available in localrds, which runs only the postgres engine.");
  bad = CreateReq("other");
  bad["DBInstanceClass"] = "db.foo.bar";
  ExpectError(cp_->instances().CreateDBInstance(bad).status(), "InvalidParameterCombination", 400,
              "RDS does not support creating a DB instance with the following combination: "
              "DBInstanceClass=db.foo.bar, Engine=postgres, EngineVersion=15.18, "
              "LicenseModel=postgresql-license. For supported combinations of instance class and "
              "database engine version, see the documentation.");
  bad = CreateReq("other");
  bad["EngineVersion"] = "14.9";
  ExpectError(cp_->instances().CreateDBInstance(bad).status(), "InvalidParameterCombination", 400,
              "Cannot find version 14.9 for postgres");
  bad = CreateReq("other");
  bad["BackupRetentionPeriod"] = 36;
  ExpectError(
      cp_->instances().CreateDBInstance(bad).status(), "InvalidParameterValue", 400,
      "Invalid backup retention period: 36. The retention period must be between 0 and 35 days.");
  bad = CreateReq("other");
  bad["DBParameterGroupName"] = "custom";
  ExpectError(cp_->instances().CreateDBInstance(bad).status(), "DBParameterGroupNotFound", 404,
              "DBParameterGroup not found: custom");
  bad = CreateReq("other");
  bad["MultiAZ"] = true;
  bad["AvailabilityZone"] = "us-east-1a";
  ExpectError(cp_->instances().CreateDBInstance(bad).status(), "InvalidParameterCombination", 400,
              "Requesting a specific availability zone is not valid for Multi-AZ instances.");
  bad = CreateReq("other");
  bad["PreferredBackupWindow"] = "05:00-05:30";
  bad["PreferredMaintenanceWindow"] = "sun:05:15-sun:05:45";
  ExpectError(cp_->instances().CreateDBInstance(bad).status(), "InvalidParameterValue", 400,
              "The backup window and maintenance window must not overlap.");
  EXPECT_EQ(runtime_.Running().size(), 1u);  // nothing half-made by the refused calls
}

TEST_F(ControlPlaneTest, DefaultWindowsAreValidAndDoNotOverlap) {
  for (int i = 0; i < 10; ++i) {
    Create("w" + std::to_string(i));
    json d = Describe("w" + std::to_string(i));
    std::string bw = d["PreferredBackupWindow"], mw = d["PreferredMaintenanceWindow"];
    EXPECT_TRUE(ValidateBackupWindow(bw).ok()) << bw;
    EXPECT_TRUE(ValidateMaintenanceWindow(mw).ok()) << mw;
    EXPECT_FALSE(WindowsOverlap(bw, mw)) << bw << " " << mw;
    int hour = std::stoi(bw.substr(0, 2));
    EXPECT_TRUE(hour >= 3 && hour < 11) << bw;  // us-east-1's block is 03:00-11:00 UTC
  }
}

TEST_F(ControlPlaneTest, NotFound) {
  ExpectError(cp_->instances().DescribeDBInstances({{"DBInstanceIdentifier", "nope"}}).status(),
              "DBInstanceNotFound", 404, "DBInstance nope not found.");
  ExpectError(cp_->instances().StopDBInstance({{"DBInstanceIdentifier", "nope"}}).status(),
              "DBInstanceNotFound", 404, "DBInstance nope not found.");
  ExpectError(cp_->instances()
                  .DeleteDBInstance({{"DBInstanceIdentifier", "nope"}, {"SkipFinalSnapshot", true}})
                  .status(),
              "DBInstanceNotFound", 404, "DBInstance nope not found.");
}

TEST_F(ControlPlaneTest, StopStartRebootMoveThroughRdsStatuses) {
  Create("test");
  ExpectError(cp_->instances().StartDBInstance({{"DBInstanceIdentifier", "test"}}).status(),
              "InvalidDBInstanceState", 400, "Instance test is not in stopped state.");
  auto stop = cp_->instances().StopDBInstance({{"DBInstanceIdentifier", "test"}});
  ASSERT_TRUE(stop.ok());
  EXPECT_EQ(stop->body["DBInstanceStatus"], "stopping");
  Wait(stop->operation_id);
  EXPECT_EQ(StatusOf("test"), "stopped");
  EXPECT_TRUE(runtime_.Running().empty());
  ExpectError(cp_->instances().StopDBInstance({{"DBInstanceIdentifier", "test"}}).status(),
              "InvalidDBInstanceState", 400, "Instance test is not in available state.");
  ExpectError(cp_->instances().RebootDBInstance({{"DBInstanceIdentifier", "test"}}).status(),
              "InvalidDBInstanceState", 400, "Instance test is not in available state.");
  auto start = cp_->instances().StartDBInstance({{"DBInstanceIdentifier", "test"}});
  ASSERT_TRUE(start.ok());
  EXPECT_EQ(start->body["DBInstanceStatus"], "starting");
  Wait(start->operation_id);
  EXPECT_EQ(StatusOf("test"), "available");
  auto reboot = cp_->instances().RebootDBInstance({{"DBInstanceIdentifier", "test"}});
  ASSERT_TRUE(reboot.ok());
  EXPECT_EQ(reboot->body["DBInstanceStatus"], "rebooting");
  Wait(reboot->operation_id);
  EXPECT_EQ(StatusOf("test"), "available");
  ExpectError(cp_->instances()
                  .RebootDBInstance({{"DBInstanceIdentifier", "test"}, {"ForceFailover", true}})
                  .status(),
              "InvalidParameterCombination", 400,
              "Cannot force failover on a DB instance that is not Multi-AZ.");
  EXPECT_EQ(EventMessages("test"),
            (std::vector<std::string>{"DB instance created", "Backing up DB instance",
                                      "Finished DB Instance backup", "DB instance stopped",
                                      "DB instance started", "DB instance shutdown",
                                      "DB instance restarted"}));
}

TEST_F(ControlPlaneTest, SecondMutationWhileBusyIsRefused) {
  // Hold the create before its start step (the hook "crashes" it: the operation stays running).
  OperationEngine::SetCrashHook(
      [](const std::string& kind, int step) { return !(kind == "create" && step == 2); });
  auto r = cp_->instances().CreateDBInstance(CreateReq("test"));
  ASSERT_TRUE(r.ok());
  Wait(r->operation_id);
  EXPECT_EQ(StatusOf("test"), "creating");
  ExpectError(cp_->instances()
                  .DeleteDBInstance({{"DBInstanceIdentifier", "test"}, {"SkipFinalSnapshot", true}})
                  .status(),
              "InvalidDBInstanceState", 400,
              "Instance test is currently creating; wait until it is available and try again.");
  ExpectError(
      cp_->instances()
          .ModifyDBInstance({{"DBInstanceIdentifier", "test"}, {"MasterUserPassword", "another1"}})
          .status(),
      "InvalidDBInstanceState", 400,
      "Instance test is currently creating; wait until it is available and try again.");
}

TEST_F(ControlPlaneTest, FailuresBecomeStatusesAndEvents) {
  runtime_.FailInitdb(true);
  auto r = cp_->instances().CreateDBInstance(CreateReq("broken"));
  ASSERT_TRUE(r.ok());  // accepted: the failure is reported as a status, like RDS
  Wait(r->operation_id);
  EXPECT_EQ(StatusOf("broken"), "failed");
  auto msgs = EventMessages("broken");
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_NE(msgs[0].find("failed state"), std::string::npos);
  runtime_.FailInitdb(false);

  Create("test");
  auto stop = cp_->instances().StopDBInstance({{"DBInstanceIdentifier", "test"}});
  Wait(stop->operation_id);
  runtime_.FailNextStart(true);
  auto start = cp_->instances().StartDBInstance({{"DBInstanceIdentifier", "test"}});
  Wait(start->operation_id);
  EXPECT_EQ(StatusOf("test"), "stopped");  // what is really true
}

TEST_F(ControlPlaneTest, APortTakenBetweenCheckAndBindMovesToAnother) {
  runtime_.FailNextStart(true,
                         "LOG:  could not bind IPv4 address \"127.0.0.1\": Address already in use");
  Create("test");
  json d = Describe("test");
  EXPECT_EQ(d["DBInstanceStatus"], "available");
  int port = d["Endpoint"]["Port"];
  EXPECT_NE(port, 40000);
  EXPECT_GE(port, 40000);
  EXPECT_LE(port, 40999);
}

TEST_F(ControlPlaneTest, APortChangeThatCannotStartKeepsTheOldPort) {
  Create("test");
  int old_port = Describe("test")["Endpoint"]["Port"];
  runtime_.FailNextStart(true);
  const int port = FreePort(40500);
  auto m =
      cp_->instances().ModifyDBInstance({{"DBInstanceIdentifier", "test"}, {"DBPortNumber", port}});
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  Wait(m->operation_id);
  json d = Describe("test");
  EXPECT_EQ(d["DBInstanceStatus"], "available");
  EXPECT_EQ(d["Endpoint"]["Port"], old_port);
  EXPECT_EQ(runtime_.Running().size(), 1u);  // serving again, where it did
  auto ok =
      cp_->instances().ModifyDBInstance({{"DBInstanceIdentifier", "test"}, {"DBPortNumber", port}});
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  Wait(ok->operation_id);
  EXPECT_EQ(Describe("test")["Endpoint"]["Port"], port);
}

TEST_F(ControlPlaneTest, ModifyPasswordRenameAndPendingValues) {
  Create("test");
  auto m = cp_->instances().ModifyDBInstance(
      {{"DBInstanceIdentifier", "test"}, {"MasterUserPassword", "newpass123"}});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->body["DBInstanceStatus"], "modifying");
  EXPECT_EQ(m->body["PendingModifiedValues"]["MasterUserPassword"], "****");
  Wait(m->operation_id);
  EXPECT_EQ(runtime_.Sql().back().rfind("ALTER ROLE \"root\" PASSWORD 'SCRAM-SHA-256$4096:", 0),
            0u);
  EXPECT_EQ(StatusOf("test"), "available");
  EXPECT_TRUE(Describe("test")["PendingModifiedValues"].empty());

  auto pend = cp_->instances().ModifyDBInstance(
      {{"DBInstanceIdentifier", "test"}, {"DBInstanceClass", "db.t3.small"}});
  ASSERT_TRUE(pend.ok());
  EXPECT_EQ(pend->operation_id, 0);
  EXPECT_EQ(Describe("test")["PendingModifiedValues"]["DBInstanceClass"], "db.t3.small");
  EXPECT_EQ(Describe("test")["DBInstanceClass"], "db.t3.micro");

  auto now = cp_->instances().ModifyDBInstance({{"DBInstanceIdentifier", "test"},
                                                {"DBInstanceClass", "db.t3.small"},
                                                {"AllocatedStorage", 50},
                                                {"ApplyImmediately", true}});
  ASSERT_TRUE(now.ok()) << now.status().ToString();
  Wait(now->operation_id);
  json d = Describe("test");
  EXPECT_EQ(d["DBInstanceClass"], "db.t3.small");
  EXPECT_EQ(d["AllocatedStorage"], 50);
  EXPECT_FALSE(d["PendingModifiedValues"].contains("DBInstanceClass"));

  ExpectError(cp_->instances()
                  .ModifyDBInstance({{"DBInstanceIdentifier", "test"},
                                     {"AllocatedStorage", 30},
                                     {"ApplyImmediately", true}})
                  .status(),
              "InvalidParameterValue", 400,
              "Invalid storage size: allocated storage can only be increased (current 50 GiB).");
  Create("taken");
  ExpectError(cp_->instances()
                  .ModifyDBInstance({{"DBInstanceIdentifier", "test"},
                                     {"NewDBInstanceIdentifier", "taken"},
                                     {"ApplyImmediately", true}})
                  .status(),
              "DBInstanceAlreadyExists", 400, "DB instance already exists");
  auto rename = cp_->instances().ModifyDBInstance({{"DBInstanceIdentifier", "test"},
                                                   {"NewDBInstanceIdentifier", "Renamed"},
                                                   {"ApplyImmediately", true}});
  ASSERT_TRUE(rename.ok());
  EXPECT_EQ(rename->body["DBInstanceStatus"], "renaming");
  Wait(rename->operation_id);
  ExpectError(cp_->instances().DescribeDBInstances({{"DBInstanceIdentifier", "test"}}).status(),
              "DBInstanceNotFound", 404, "DBInstance test not found.");
  EXPECT_EQ(Describe("renamed")["DBInstanceArn"], "arn:aws:rds:us-east-1:000000000000:db:renamed");
}

TEST_F(ControlPlaneTest, ARunningRenameReservesItsNewIdentifier) {
  Create("a");
  OperationEngine::SetCrashHook(
      [](const std::string& k, int s) { return !(k == "modify" && s == 2); });
  auto r = cp_->instances().ModifyDBInstance({{"DBInstanceIdentifier", "a"},
                                              {"NewDBInstanceIdentifier", "b"},
                                              {"ApplyImmediately", true}});
  ASSERT_TRUE(r.ok());
  Wait(r->operation_id);
  EXPECT_EQ(StatusOf("a"), "renaming");
  ExpectError(cp_->instances().CreateDBInstance(CreateReq("b")).status(), "DBInstanceAlreadyExists",
              400, "DB instance already exists");
  Create("c");
  ExpectError(cp_->instances()
                  .ModifyDBInstance({{"DBInstanceIdentifier", "c"},
                                     {"NewDBInstanceIdentifier", "b"},
                                     {"ApplyImmediately", true}})
                  .status(),
              "DBInstanceAlreadyExists", 400, "DB instance already exists");
  Restart();  // the reservation survives a restart, and the rename completes
  EXPECT_EQ(StatusOf("b"), "available");
  ExpectError(cp_->instances().DescribeDBInstances({{"DBInstanceIdentifier", "a"}}).status(),
              "DBInstanceNotFound", 404, "DBInstance a not found.");
  Create("a");  // the old name is free again
}

TEST_F(ControlPlaneTest, DeleteRules) {
  Create("test");
  ExpectError(cp_->instances().DeleteDBInstance({{"DBInstanceIdentifier", "test"}}).status(),
              "InvalidParameterCombination", 400,
              "FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.");
  ExpectError(cp_->instances()
                  .DeleteDBInstance(
                      {{"DBInstanceIdentifier", "test"}, {"FinalDBSnapshotIdentifier", "-bad"}})
                  .status(),
              "InvalidParameterValue", 400, "Invalid snapshot identifier:  -bad");
  auto m = cp_->instances().ModifyDBInstance(
      {{"DBInstanceIdentifier", "test"}, {"DeletionProtection", true}});
  ASSERT_TRUE(m.ok());
  ExpectError(
      cp_->instances()
          .DeleteDBInstance({{"DBInstanceIdentifier", "test"}, {"SkipFinalSnapshot", true}})
          .status(),
      "InvalidParameterCombination", 400,
      "Cannot delete protected DB Instance, please disable deletion protection and try again.");
  ASSERT_TRUE(
      cp_->instances()
          .ModifyDBInstance({{"DBInstanceIdentifier", "test"}, {"DeletionProtection", false}})
          .ok());
  std::string rid = Describe("test")["DbiResourceId"];
  auto del = cp_->instances().DeleteDBInstance(
      {{"DBInstanceIdentifier", "test"}, {"SkipFinalSnapshot", true}});
  ASSERT_TRUE(del.ok());
  EXPECT_EQ(del->body["DBInstanceStatus"], "deleting");
  Wait(del->operation_id);
  ExpectError(cp_->instances().DescribeDBInstances({{"DBInstanceIdentifier", "test"}}).status(),
              "DBInstanceNotFound", 404, "DBInstance test not found.");
  EXPECT_FALSE(fs::exists(layout_->InstanceDir(rid)));
  EXPECT_TRUE(runtime_.Running().empty());
  auto events = EventMessages("test");
  EXPECT_EQ(events.back(), "DB instance deleted");
}

TEST_F(ControlPlaneTest, DescribeFiltersAndPagination) {
  for (int i = 0; i < 23; ++i) Create("i" + std::string(i < 10 ? "0" : "") + std::to_string(i));
  auto first = cp_->instances().DescribeDBInstances({{"MaxRecords", 20}});
  ASSERT_TRUE(first.ok());
  EXPECT_EQ((*first)["DBInstances"].size(), 20u);
  ASSERT_TRUE(first->contains("Marker"));
  auto second =
      cp_->instances().DescribeDBInstances({{"MaxRecords", 20}, {"Marker", (*first)["Marker"]}});
  ASSERT_TRUE(second.ok());
  EXPECT_EQ((*second)["DBInstances"].size(), 3u);
  EXPECT_FALSE(second->contains("Marker"));
  EXPECT_EQ((*second)["DBInstances"][0]["DBInstanceIdentifier"], "i20");
  ExpectError(cp_->instances().DescribeDBInstances({{"MaxRecords", 5}}).status(),
              "InvalidParameterValue", 400,
              "Invalid value 5 for MaxRecords. Must be between 20 and 100");

  auto byarn = cp_->instances().DescribeDBInstances(
      {{"DBInstanceIdentifier", "arn:aws:rds:us-east-1:000000000000:db:i07"}});
  ASSERT_TRUE(byarn.ok());
  EXPECT_EQ((*byarn)["DBInstances"][0]["DBInstanceIdentifier"], "i07");
  ExpectError(cp_->instances()
                  .DescribeDBInstances(
                      {{"DBInstanceIdentifier", "arn:aws:rds:us-east-1:000000000000:db:zz"}})
                  .status(),
              "DBInstanceNotFound", 404, "DBInstance zz not found.");
  auto byid = cp_->instances().DescribeDBInstances(
      {{"Filters", {{{"Name", "db-instance-id"}, {"Values", {"i01", "i02"}}}}}});
  EXPECT_EQ((*byid)["DBInstances"].size(), 2u);
  std::string rid = Describe("i05")["DbiResourceId"];
  auto byrid = cp_->instances().DescribeDBInstances(
      {{"Filters", {{{"Name", "dbi-resource-id"}, {"Values", {rid}}}}}});
  ASSERT_EQ((*byrid)["DBInstances"].size(), 1u);
  EXPECT_EQ((*byrid)["DBInstances"][0]["DBInstanceIdentifier"], "i05");
  auto mysql = cp_->instances().DescribeDBInstances(
      {{"Filters", {{{"Name", "engine"}, {"Values", {"mysql"}}}}}});
  EXPECT_TRUE((*mysql)["DBInstances"].empty());
  ExpectError(cp_->instances()
                  .DescribeDBInstances({{"Filters", {{{"Name", "colour"}, {"Values", {"x"}}}}}})
                  .status(),
              "InvalidParameterValue", 400, "Unrecognized filter name: colour.");
}

TEST_F(ControlPlaneTest, TagsByArn) {
  Create("test");
  const std::string arn = "arn:aws:rds:us-east-1:000000000000:db:test";
  ASSERT_TRUE(
      cp_->metadata()
          .AddTagsToResource(
              {{"ResourceName", arn},
               {"Tags", {{{"Key", "env"}, {"Value", "dev"}}, {{"Key", "team"}, {"Value", "a"}}}}})
          .ok());
  ASSERT_TRUE(cp_->metadata()
                  .AddTagsToResource(
                      {{"ResourceName", arn}, {"Tags", {{{"Key", "env"}, {"Value", "prod"}}}}})
                  .ok());
  auto list = cp_->metadata().ListTagsForResource({{"ResourceName", arn}});
  ASSERT_TRUE(list.ok());
  EXPECT_EQ((*list)["TagList"],
            json({{{"Key", "env"}, {"Value", "prod"}}, {{"Key", "team"}, {"Value", "a"}}}));
  ASSERT_TRUE(
      cp_->metadata().RemoveTagsFromResource({{"ResourceName", arn}, {"TagKeys", {"team"}}}).ok());
  EXPECT_EQ(Describe("test")["TagList"].size(), 1u);
  ExpectError(
      cp_->metadata()
          .ListTagsForResource({{"ResourceName", "arn:aws:rds:us-east-1:000000000000:db:nope"}})
          .status(),
      "DBInstanceNotFound", 404, "DBInstance nope not found.");
  ExpectError(cp_->metadata().ListTagsForResource({{"ResourceName", "not-an-arn"}}).status(),
              "InvalidParameterValue", 400,
              "The specified resource name not-an-arn is not a valid Amazon RDS ARN.");
  ExpectError(cp_->metadata().AddTagsToResource(
                  {{"ResourceName", arn}, {"Tags", {{{"Key", "aws:x"}, {"Value", "v"}}}}}),
              "InvalidParameterValue", 400, "Tag keys must not begin with \"aws:\" or \"rds:\".");
}

TEST_F(ControlPlaneTest, TagsOnSnapshotArnsManualAndAutomated) {
  Create("test");  // backups on: an automated snapshot
  auto snap = cp_->snapshots().CreateDBSnapshot(
      {{"DBInstanceIdentifier", "test"}, {"DBSnapshotIdentifier", "s1"}});
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  Wait(snap->operation_id);
  auto autos = cp_->snapshots().DescribeDBSnapshots({{"SnapshotType", "automated"}});
  ASSERT_TRUE(autos.ok());
  std::string automated;
  for (const auto& s : (*autos)["DBSnapshots"]) automated = s["DBSnapshotArn"];
  ASSERT_FALSE(automated.empty());
  for (const std::string& arn :
       std::vector<std::string>{"arn:aws:rds:us-east-1:000000000000:snapshot:s1", automated}) {
    ASSERT_TRUE(cp_->metadata()
                    .AddTagsToResource({{"ResourceName", arn},
                                        {"Tags",
                                         {{{"Key", "keep"}, {"Value", "30d"}},
                                          {{"Key", "team"}, {"Value", "a"}}}}})
                    .ok())
        << arn;
    ASSERT_TRUE(cp_->metadata()
                    .RemoveTagsFromResource({{"ResourceName", arn}, {"TagKeys", {"team"}}})
                    .ok());
    auto list = cp_->metadata().ListTagsForResource({{"ResourceName", arn}});
    ASSERT_TRUE(list.ok()) << list.status().ToString();
    EXPECT_EQ((*list)["TagList"], json({{{"Key", "keep"}, {"Value", "30d"}}})) << arn;
  }
  Restart();  // in the catalog
  auto described = cp_->snapshots().DescribeDBSnapshots({{"DBSnapshotIdentifier", "s1"}});
  ASSERT_TRUE(described.ok());
  EXPECT_EQ((*described)["DBSnapshots"][0]["TagList"], json({{{"Key", "keep"}, {"Value", "30d"}}}));
  ExpectError(cp_->metadata()
                  .ListTagsForResource(
                      {{"ResourceName", "arn:aws:rds:us-east-1:000000000000:snapshot:nope"}})
                  .status(),
              "DBSnapshotNotFound", 404, "DBSnapshot nope not found.");
}

TEST_F(ControlPlaneTest, EnginesAndOrderableOptions) {
  auto v = cp_->metadata().DescribeDBEngineVersions({{"Engine", "postgres"}});
  ASSERT_TRUE(v.ok());
  ASSERT_EQ((*v)["DBEngineVersions"].size(), 1u);
  EXPECT_EQ((*v)["DBEngineVersions"][0]["DBParameterGroupFamily"], "postgres15");
  auto none = cp_->metadata().DescribeDBEngineVersions({{"Engine", "mysql"}});
  EXPECT_TRUE((*none)["DBEngineVersions"].empty());
  auto o = cp_->metadata().DescribeOrderableDBInstanceOptions(
      {{"Engine", "postgres"}, {"DBInstanceClass", "db.t3.micro"}});
  ASSERT_TRUE(o.ok());
  ASSERT_FALSE((*o)["OrderableDBInstanceOptions"].empty());
  EXPECT_EQ((*o)["OrderableDBInstanceOptions"][0]["DBInstanceClass"], "db.t3.micro");
  EXPECT_EQ((*o)["OrderableDBInstanceOptions"][0]["MinStorageSize"], 20);
  // Pagination: every option exactly once across pages.
  auto all = cp_->metadata().DescribeOrderableDBInstanceOptions(
      {{"Engine", "postgres"}, {"MaxRecords", 10000}});
  size_t total = (*all)["OrderableDBInstanceOptions"].size();
  EXPECT_FALSE(all->contains("Marker"));
  size_t seen = 0;
  json page_req = {{"Engine", "postgres"}, {"MaxRecords", 20}};
  for (int pages = 0; pages < 100; ++pages) {
    auto p = cp_->metadata().DescribeOrderableDBInstanceOptions(page_req);
    ASSERT_TRUE(p.ok());
    seen += (*p)["OrderableDBInstanceOptions"].size();
    if (!p->contains("Marker")) break;
    page_req["Marker"] = (*p)["Marker"];
  }
  EXPECT_EQ(seen, total);
  EXPECT_GT(total, 20u);
}

namespace {
std::string FileText(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

TEST_F(ControlPlaneTest, ClientsConnectOverLoopbackWithAScramPasswordOnly) {
  Create("test");
  const auto pgdata =
      cp_->servers().Server(*cp_->registry().GetInstance(Describe("test")["DbiResourceId"])).pgdata;
  const std::string conf = FileText(pgdata / "localrds.conf");
  EXPECT_NE(conf.find("listen_addresses = '127.0.0.1'\n"), std::string::npos) << conf;
  EXPECT_NE(conf.find("hba_file = '" + (pgdata / "localrds_hba.conf").string() + "'\n"),
            std::string::npos)
      << conf;
  const std::string hba = FileText(pgdata / "localrds_hba.conf");
  EXPECT_NE(hba.find("host    all          all   127.0.0.1/32    scram-sha-256\n"),
            std::string::npos)
      << hba;
  EXPECT_EQ(hba.find("0.0.0.0/0"), std::string::npos) << hba;
  std::istringstream lines(hba);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("trust") != std::string::npos) {
      EXPECT_EQ(line.rfind("local ", 0), 0u) << "trust is for the socket directory only: " << line;
    }
  }
  EXPECT_EQ(hba.find("host    all          all   ::/0"), std::string::npos) << hba;
}

// Inside the localrds image, servers listen on every address: published ports arrive from the
// container's own network, not from its loopback.
class ListenEverywhereTest : public ControlPlaneTest {
 protected:
  void Tune(EmulatorConfig& config) override { config.pg_listen_address = "*"; }
};

TEST_F(ListenEverywhereTest, ClientsConnectFromAnywhereWithAScramPassword) {
  Create("test");
  const auto pgdata =
      cp_->servers().Server(*cp_->registry().GetInstance(Describe("test")["DbiResourceId"])).pgdata;
  EXPECT_NE(FileText(pgdata / "localrds.conf").find("listen_addresses = '*'\n"), std::string::npos);
  const std::string hba = FileText(pgdata / "localrds_hba.conf");
  EXPECT_NE(hba.find("host    all          all   0.0.0.0/0       scram-sha-256\n"),
            std::string::npos)
      << hba;
  EXPECT_NE(hba.find("host    all          all   ::/0            scram-sha-256\n"),
            std::string::npos)
      << hba;
  EXPECT_EQ(HbaRules("127.0.0.1").find("0.0.0.0/0"), std::string::npos);
  EXPECT_EQ(HbaRules("localhost").find("0.0.0.0/0"), std::string::npos);
  EXPECT_EQ(HbaRules("").find("0.0.0.0/0"), std::string::npos);
  EXPECT_NE(HbaRules("0.0.0.0").find("0.0.0.0/0"), std::string::npos);
}

}  // namespace localrds
