// The control plane over the fake runtime: statuses, errors, operations, crash recovery.
#include "emulator/postgres/server_config.h"
#include "emulator/service/control_plane.h"

#include <gtest/gtest.h>

#include <sstream>

#include <fstream>

#include <filesystem>
#include <algorithm>
#include <future>

#include "common/log.h"
#include "common/time_util.h"
#include "emulator/engine/operation_engine.h"
#include "emulator/core/validation.h"
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
                "'SCRAM-SHA-256$4096:", 0) == 0) {
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
  ExpectError(cp_->instances().CreateDBInstance(CreateReq("TEST")).status(), "DBInstanceAlreadyExists", 400,
              "DB instance already exists");
  json bad = CreateReq("other");
  bad["Engine"] = "mysql";
  ExpectError(cp_->instances().CreateDBInstance(bad).status(), "InvalidParameterValue", 400);
  bad = CreateReq("other");
  bad["DBInstanceClass"] = "db.foo.bar";
  ExpectError(cp_->instances().CreateDBInstance(bad).status(), "InvalidParameterCombination", 400);
  bad = CreateReq("other");
  bad["EngineVersion"] = "14.9";
  ExpectError(cp_->instances().CreateDBInstance(bad).status(), "InvalidParameterCombination", 400,
              "Cannot find version 14.9 for postgres");
  bad = CreateReq("other");
  bad["BackupRetentionPeriod"] = 36;
  ExpectError(cp_->instances().CreateDBInstance(bad).status(), "InvalidParameterValue", 400);
  bad = CreateReq("other");
  bad["DBParameterGroupName"] = "custom";
  ExpectError(cp_->instances().CreateDBInstance(bad).status(), "DBParameterGroupNotFound", 404);
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
  ExpectError(cp_->instances().StopDBInstance({{"DBInstanceIdentifier", "nope"}}).status(), "DBInstanceNotFound", 404);
  ExpectError(cp_->instances().DeleteDBInstance({{"DBInstanceIdentifier", "nope"}, {"SkipFinalSnapshot", true}}).status(),
              "DBInstanceNotFound", 404);
}

TEST_F(ControlPlaneTest, StopStartRebootMoveThroughRdsStatuses) {
  Create("test");
  ExpectError(cp_->instances().StartDBInstance({{"DBInstanceIdentifier", "test"}}).status(),
              "InvalidDBInstanceState", 400);
  auto stop = cp_->instances().StopDBInstance({{"DBInstanceIdentifier", "test"}});
  ASSERT_TRUE(stop.ok());
  EXPECT_EQ(stop->body["DBInstanceStatus"], "stopping");
  Wait(stop->operation_id);
  EXPECT_EQ(StatusOf("test"), "stopped");
  EXPECT_TRUE(runtime_.Running().empty());
  ExpectError(cp_->instances().StopDBInstance({{"DBInstanceIdentifier", "test"}}).status(), "InvalidDBInstanceState", 400);
  ExpectError(cp_->instances().RebootDBInstance({{"DBInstanceIdentifier", "test"}}).status(), "InvalidDBInstanceState", 400);
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
  ExpectError(cp_->instances().RebootDBInstance({{"DBInstanceIdentifier", "test"}, {"ForceFailover", true}}).status(),
              "InvalidParameterCombination", 400);
  EXPECT_EQ(EventMessages("test"),
            (std::vector<std::string>{"DB instance created", "Backing up DB instance",
                                      "Finished DB Instance backup", "DB instance stopped",
                                      "DB instance started", "DB instance shutdown",
                                      "DB instance restarted"}));
}

TEST_F(ControlPlaneTest, SecondMutationWhileBusyIsRefused) {
  // Hold the create before its start step (the hook "crashes" it: the operation stays running).
  OperationEngine::SetCrashHook([](const std::string& kind, int step) { return !(kind == "create" && step == 2); });
  auto r = cp_->instances().CreateDBInstance(CreateReq("test"));
  ASSERT_TRUE(r.ok());
  Wait(r->operation_id);
  EXPECT_EQ(StatusOf("test"), "creating");
  ExpectError(cp_->instances().DeleteDBInstance({{"DBInstanceIdentifier", "test"}, {"SkipFinalSnapshot", true}}).status(),
              "InvalidDBInstanceState", 400);
  ExpectError(cp_->instances().ModifyDBInstance({{"DBInstanceIdentifier", "test"}, {"MasterUserPassword", "another1"}}).status(),
              "InvalidDBInstanceState", 400);
}

TEST_F(ControlPlaneTest, CrashAtEveryCreateStepRecoversToAvailable) {
  for (int step = 0; step < 5; ++step) {
    std::string id = "crash" + std::to_string(step);
    OperationEngine::SetCrashHook([step](const std::string& kind, int s) { return !(kind == "create" && s == step); });
    auto r = cp_->instances().CreateDBInstance(CreateReq(id));
    ASSERT_TRUE(r.ok());
    Wait(r->operation_id);
    EXPECT_EQ(StatusOf(id), "creating") << step;
    Restart();
    EXPECT_EQ(StatusOf(id), "available") << "crash before create step " << step;
    json d = Describe(id);
    EXPECT_TRUE(fs::exists(layout_->PgData(d["DbiResourceId"]) / "PG_VERSION"));
  }
  // Every resumed instance runs, and every directory belongs to an instance.
  EXPECT_EQ(runtime_.Running().size(), 5u);
  int dirs = 0;
  for (auto& e : fs::directory_iterator(layout_->InstancesDir())) {
    (void)e;
    ++dirs;
  }
  EXPECT_EQ(dirs, 5);
}

TEST_F(ControlPlaneTest, HostCrashDuringEveryStepStillEndsAvailable) {
  // localrds and every PostgreSQL server die together (a machine crash): resumed steps that
  // need the server must start it, and `available` must mean it runs.
  const std::vector<std::pair<std::string, int>> points = {
      {"create", 3}, {"create", 4}, {"reboot", 3}, {"start", 2}, {"modify", 0}, {"modify", 2}};
  int n = 0;
  for (const auto& [kind, step] : points) {
    std::string id = "h" + std::to_string(n++);
    if (kind != "create") Create(id);
    if (kind == "start") {
      auto stop = cp_->instances().StopDBInstance({{"DBInstanceIdentifier", id}});
      Wait(stop->operation_id);
    }
    OperationEngine::SetCrashHook([kind = kind, step = step](const std::string& k, int s) {
      return !(k == kind && s == step);
    });
    Result<Accepted> r = Status::Internal("unset");
    if (kind == "create") r = cp_->instances().CreateDBInstance(CreateReq(id));
    if (kind == "reboot") r = cp_->instances().RebootDBInstance({{"DBInstanceIdentifier", id}});
    if (kind == "start") r = cp_->instances().StartDBInstance({{"DBInstanceIdentifier", id}});
    if (kind == "modify") {
      r = cp_->instances().ModifyDBInstance({{"DBInstanceIdentifier", id}, {"MasterUserPassword", "newpass123"}});
    }
    ASSERT_TRUE(r.ok()) << kind << " " << r.status().ToString();
    Wait(r->operation_id);
    std::string rid = Describe(id)["DbiResourceId"];
    ServerSpec s;
    s.pgdata = layout_->PgData(rid);
    runtime_.Kill(s);
    Restart();
    EXPECT_EQ(StatusOf(id), "available") << kind << ":" << step;
    EXPECT_TRUE(runtime_.Running().count(s.pgdata.string())) << kind << ":" << step;
  }
  // The password change resumed after the crash really reached PostgreSQL.
  auto sql = runtime_.Sql();
  EXPECT_TRUE(std::any_of(sql.begin(), sql.end(), [](const std::string& q) {
    return q.rfind("ALTER ROLE \"root\" PASSWORD", 0) == 0;
  }));
}

TEST_F(ControlPlaneTest, CrashAtEveryDeleteStepRecoversToGone) {
  for (int step = 0; step < 3; ++step) {
    std::string id = "del" + std::to_string(step);
    Create(id);
    std::string rid = Describe(id)["DbiResourceId"];
    OperationEngine::SetCrashHook([step](const std::string& kind, int s) { return !(kind == "delete" && s == step); });
    auto r = cp_->instances().DeleteDBInstance({{"DBInstanceIdentifier", id}, {"SkipFinalSnapshot", true}});
    ASSERT_TRUE(r.ok());
    Wait(r->operation_id);
    Restart();
    ExpectError(cp_->instances().DescribeDBInstances({{"DBInstanceIdentifier", id}}).status(), "DBInstanceNotFound", 404);
    EXPECT_FALSE(fs::exists(layout_->InstanceDir(rid))) << step;
  }
  EXPECT_TRUE(runtime_.Running().empty());
}

TEST_F(ControlPlaneTest, RestartBringsBackRunningInstancesOnly) {
  Create("up");
  Create("down");
  auto stop = cp_->instances().StopDBInstance({{"DBInstanceIdentifier", "down"}});
  Wait(stop->operation_id);
  // Everything stops (as after a machine reboot); the restart starts only what should run.
  for (const char* id : {"up", "down"}) {
    json d = Describe(id);
    ServerSpec s;
    s.pgdata = layout_->PgData(d["DbiResourceId"]);
    runtime_.Stop(s);
  }
  Restart();
  EXPECT_EQ(StatusOf("up"), "available");
  EXPECT_EQ(StatusOf("down"), "stopped");
  EXPECT_EQ(runtime_.Running().size(), 1u);
}

TEST_F(ControlPlaneTest, OrphanDirectoriesAreRemovedAtStart) {
  fs::create_directories(layout_->InstanceDir("db-ORPHAN") / "pgdata");
  Restart();
  EXPECT_FALSE(fs::exists(layout_->InstanceDir("db-ORPHAN")));
}

TEST_F(ControlPlaneTest, ReconcilerRestartsACrashedServerAndSaysSo) {
  Create("test");
  json d = Describe("test");
  ServerSpec s;
  s.pgdata = layout_->PgData(d["DbiResourceId"]);
  runtime_.Kill(s);
  EXPECT_EQ(cp_->reconciler().ReconcileOnce(), "restarting test, whose PostgreSQL server stopped unexpectedly.");
  for (int i = 0; i < 200 && runtime_.Running().empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(runtime_.Running().size(), 1u);
  EXPECT_EQ(cp_->reconciler().ReconcileOnce(), "");
}

TEST_F(ControlPlaneTest, AnInstanceStoppedForSevenDaysStartsByItself) {
  Create("test");
  auto stop = cp_->instances().StopDBInstance({{"DBInstanceIdentifier", "test"}});
  Wait(stop->operation_id);
  EXPECT_EQ(cp_->reconciler().ReconcileOnce(), "");  // stopped just now: stays stopped
  InstanceRow row = *cp_->registry().GetInstance(Describe("test")["DbiResourceId"]);
  row.stopped_ms -= 7LL * 24 * 3600 * 1000 + 1000;
  Mutation m;
  m.put.push_back(row);
  ASSERT_TRUE(cp_->registry().Commit(m).ok());
  EXPECT_EQ(cp_->reconciler().ReconcileOnce(), "starting test, stopped for more than seven days.");
  for (int i = 0; i < 200 && StatusOf("test") != "available"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(StatusOf("test"), "available");
  auto events = EventMessages("test");
  EXPECT_NE(std::find(events.begin(), events.end(),
                      "DB instance is being started due to it exceeding the maximum allowed time "
                      "being stopped."),
            events.end());
  EXPECT_EQ(events.back(), "DB instance started");
}

TEST_F(ControlPlaneTest, ResetRemovesEverythingAndTheReconcilerDoesNotUndoIt) {
  for (int i = 0; i < 3; ++i) Create("r" + std::to_string(i));
  EXPECT_EQ(runtime_.Running().size(), 3u);
  // Each time the reset stops a server, a reconciler pass starts at that very moment; the reset
  // gives it up to 200 ms to run before going on (it must not get to run before the reset ends).
  std::mutex m;
  std::vector<std::thread> passes;
  std::vector<std::string> said;
  runtime_.OnStop([&] {
    auto finished = std::make_shared<std::promise<void>>();
    std::lock_guard<std::mutex> l(m);
    passes.emplace_back([&, finished] {
      std::string s = cp_->reconciler().ReconcileOnce();
      {
        std::lock_guard<std::mutex> l2(m);
        said.push_back(s);
      }
      finished->set_value();
    });
    finished->get_future().wait_for(std::chrono::milliseconds(200));
  });
  std::promise<Status> done;
  cp_->ResetAsync([&](Status st) { done.set_value(st); });
  auto f = done.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_TRUE(f.get().ok());
  runtime_.OnStop(nullptr);
  {
    std::unique_lock<std::mutex> l(m);
    auto threads = std::move(passes);
    l.unlock();
    for (auto& t : threads) t.join();
  }
  EXPECT_EQ(said, std::vector<std::string>(3, ""));  // no pass restarted anything
  EXPECT_TRUE(runtime_.Running().empty());
  EXPECT_TRUE((*cp_->instances().DescribeDBInstances(json::object()))["DBInstances"].empty());
  EXPECT_TRUE(fs::is_empty(layout_->InstancesDir()));
  EXPECT_EQ(cp_->Health()["instances"]["total"], 0);
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
  runtime_.FailNextStart(true, "LOG:  could not bind IPv4 address \"127.0.0.1\": Address already in use");
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
  auto m = cp_->instances().ModifyDBInstance({{"DBInstanceIdentifier", "test"}, {"DBPortNumber", port}});
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  Wait(m->operation_id);
  json d = Describe("test");
  EXPECT_EQ(d["DBInstanceStatus"], "available");
  EXPECT_EQ(d["Endpoint"]["Port"], old_port);
  EXPECT_EQ(runtime_.Running().size(), 1u);  // serving again, where it did
  auto ok = cp_->instances().ModifyDBInstance({{"DBInstanceIdentifier", "test"}, {"DBPortNumber", port}});
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  Wait(ok->operation_id);
  EXPECT_EQ(Describe("test")["Endpoint"]["Port"], port);
}

TEST_F(ControlPlaneTest, ModifyPasswordRenameAndPendingValues) {
  Create("test");
  auto m = cp_->instances().ModifyDBInstance({{"DBInstanceIdentifier", "test"}, {"MasterUserPassword", "newpass123"}});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->body["DBInstanceStatus"], "modifying");
  EXPECT_EQ(m->body["PendingModifiedValues"]["MasterUserPassword"], "****");
  Wait(m->operation_id);
  EXPECT_EQ(runtime_.Sql().back().rfind("ALTER ROLE \"root\" PASSWORD 'SCRAM-SHA-256$4096:", 0), 0u);
  EXPECT_EQ(StatusOf("test"), "available");
  EXPECT_TRUE(Describe("test")["PendingModifiedValues"].empty());

  auto pend = cp_->instances().ModifyDBInstance({{"DBInstanceIdentifier", "test"}, {"DBInstanceClass", "db.t3.small"}});
  ASSERT_TRUE(pend.ok());
  EXPECT_EQ(pend->operation_id, 0);
  EXPECT_EQ(Describe("test")["PendingModifiedValues"]["DBInstanceClass"], "db.t3.small");
  EXPECT_EQ(Describe("test")["DBInstanceClass"], "db.t3.micro");

  auto now = cp_->instances().ModifyDBInstance({{"DBInstanceIdentifier", "test"}, {"DBInstanceClass", "db.t3.small"},
                                    {"AllocatedStorage", 50}, {"ApplyImmediately", true}});
  ASSERT_TRUE(now.ok()) << now.status().ToString();
  Wait(now->operation_id);
  json d = Describe("test");
  EXPECT_EQ(d["DBInstanceClass"], "db.t3.small");
  EXPECT_EQ(d["AllocatedStorage"], 50);
  EXPECT_FALSE(d["PendingModifiedValues"].contains("DBInstanceClass"));

  ExpectError(cp_->instances().ModifyDBInstance({{"DBInstanceIdentifier", "test"}, {"AllocatedStorage", 30},
                                     {"ApplyImmediately", true}}).status(),
              "InvalidParameterValue", 400);
  Create("taken");
  ExpectError(cp_->instances().ModifyDBInstance({{"DBInstanceIdentifier", "test"}, {"NewDBInstanceIdentifier", "taken"},
                                     {"ApplyImmediately", true}}).status(),
              "DBInstanceAlreadyExists", 400);
  auto rename = cp_->instances().ModifyDBInstance({{"DBInstanceIdentifier", "test"}, {"NewDBInstanceIdentifier", "Renamed"},
                                       {"ApplyImmediately", true}});
  ASSERT_TRUE(rename.ok());
  EXPECT_EQ(rename->body["DBInstanceStatus"], "renaming");
  Wait(rename->operation_id);
  ExpectError(cp_->instances().DescribeDBInstances({{"DBInstanceIdentifier", "test"}}).status(), "DBInstanceNotFound", 404);
  EXPECT_EQ(Describe("renamed")["DBInstanceArn"], "arn:aws:rds:us-east-1:000000000000:db:renamed");
}

TEST_F(ControlPlaneTest, ARunningRenameReservesItsNewIdentifier) {
  Create("a");
  OperationEngine::SetCrashHook([](const std::string& k, int s) { return !(k == "modify" && s == 2); });
  auto r = cp_->instances().ModifyDBInstance({{"DBInstanceIdentifier", "a"}, {"NewDBInstanceIdentifier", "b"},
                                  {"ApplyImmediately", true}});
  ASSERT_TRUE(r.ok());
  Wait(r->operation_id);
  EXPECT_EQ(StatusOf("a"), "renaming");
  ExpectError(cp_->instances().CreateDBInstance(CreateReq("b")).status(), "DBInstanceAlreadyExists", 400);
  Create("c");
  ExpectError(cp_->instances().ModifyDBInstance({{"DBInstanceIdentifier", "c"}, {"NewDBInstanceIdentifier", "b"},
                                     {"ApplyImmediately", true}}).status(),
              "DBInstanceAlreadyExists", 400);
  Restart();  // the reservation survives a restart, and the rename completes
  EXPECT_EQ(StatusOf("b"), "available");
  ExpectError(cp_->instances().DescribeDBInstances({{"DBInstanceIdentifier", "a"}}).status(), "DBInstanceNotFound", 404);
  Create("a");  // the old name is free again
}

TEST_F(ControlPlaneTest, AnOperationThatOutlivesAResetLeavesNoGhost) {
  Create("test");
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  OperationEngine::SetCrashHook([released](const std::string& k, int s) {
    if (k == "stop" && s == 1) released.wait();  // the stop is slow: still running at the reset
    return true;
  });
  auto stop = cp_->instances().StopDBInstance({{"DBInstanceIdentifier", "test"}});
  ASSERT_TRUE(stop.ok());
  std::promise<Status> done;
  cp_->ResetAsync([&](Status st) { done.set_value(st); });
  auto f = done.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_TRUE(f.get().ok());
  release.set_value();
  Wait(stop->operation_id);
  auto all = cp_->instances().DescribeDBInstances(json::object());
  EXPECT_TRUE((*all)["DBInstances"].empty()) << (*all).dump();
  Restart();
  EXPECT_TRUE((*cp_->instances().DescribeDBInstances(json::object()))["DBInstances"].empty());
}

TEST_F(ControlPlaneTest, DeleteRules) {
  Create("test");
  ExpectError(cp_->instances().DeleteDBInstance({{"DBInstanceIdentifier", "test"}}).status(),
              "InvalidParameterCombination", 400,
              "FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.");
  ExpectError(cp_->instances().DeleteDBInstance({{"DBInstanceIdentifier", "test"}, {"FinalDBSnapshotIdentifier", "-bad"}}).status(),
              "InvalidParameterValue", 400);
  auto m = cp_->instances().ModifyDBInstance({{"DBInstanceIdentifier", "test"}, {"DeletionProtection", true}});
  ASSERT_TRUE(m.ok());
  ExpectError(cp_->instances().DeleteDBInstance({{"DBInstanceIdentifier", "test"}, {"SkipFinalSnapshot", true}}).status(),
              "InvalidParameterCombination", 400,
              "Cannot delete protected DB Instance, please disable deletion protection and try again.");
  ASSERT_TRUE(cp_->instances().ModifyDBInstance({{"DBInstanceIdentifier", "test"}, {"DeletionProtection", false}}).ok());
  std::string rid = Describe("test")["DbiResourceId"];
  auto del = cp_->instances().DeleteDBInstance({{"DBInstanceIdentifier", "test"}, {"SkipFinalSnapshot", true}});
  ASSERT_TRUE(del.ok());
  EXPECT_EQ(del->body["DBInstanceStatus"], "deleting");
  Wait(del->operation_id);
  ExpectError(cp_->instances().DescribeDBInstances({{"DBInstanceIdentifier", "test"}}).status(), "DBInstanceNotFound", 404);
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
  auto second = cp_->instances().DescribeDBInstances({{"MaxRecords", 20}, {"Marker", (*first)["Marker"]}});
  ASSERT_TRUE(second.ok());
  EXPECT_EQ((*second)["DBInstances"].size(), 3u);
  EXPECT_FALSE(second->contains("Marker"));
  EXPECT_EQ((*second)["DBInstances"][0]["DBInstanceIdentifier"], "i20");
  ExpectError(cp_->instances().DescribeDBInstances({{"MaxRecords", 5}}).status(), "InvalidParameterValue", 400);

  auto byarn = cp_->instances().DescribeDBInstances(
      {{"DBInstanceIdentifier", "arn:aws:rds:us-east-1:000000000000:db:i07"}});
  ASSERT_TRUE(byarn.ok());
  EXPECT_EQ((*byarn)["DBInstances"][0]["DBInstanceIdentifier"], "i07");
  ExpectError(cp_->instances().DescribeDBInstances({{"DBInstanceIdentifier", "arn:aws:rds:us-east-1:000000000000:db:zz"}}).status(),
              "DBInstanceNotFound", 404);
  auto byid = cp_->instances().DescribeDBInstances(
      {{"Filters", {{{"Name", "db-instance-id"}, {"Values", {"i01", "i02"}}}}}});
  EXPECT_EQ((*byid)["DBInstances"].size(), 2u);
  std::string rid = Describe("i05")["DbiResourceId"];
  auto byrid = cp_->instances().DescribeDBInstances({{"Filters", {{{"Name", "dbi-resource-id"}, {"Values", {rid}}}}}});
  ASSERT_EQ((*byrid)["DBInstances"].size(), 1u);
  EXPECT_EQ((*byrid)["DBInstances"][0]["DBInstanceIdentifier"], "i05");
  auto mysql = cp_->instances().DescribeDBInstances({{"Filters", {{{"Name", "engine"}, {"Values", {"mysql"}}}}}});
  EXPECT_TRUE((*mysql)["DBInstances"].empty());
  ExpectError(cp_->instances().DescribeDBInstances({{"Filters", {{{"Name", "colour"}, {"Values", {"x"}}}}}}).status(),
              "InvalidParameterValue", 400);
}

TEST_F(ControlPlaneTest, TagsByArn) {
  Create("test");
  const std::string arn = "arn:aws:rds:us-east-1:000000000000:db:test";
  ASSERT_TRUE(cp_->metadata().AddTagsToResource({{"ResourceName", arn},
                                      {"Tags", {{{"Key", "env"}, {"Value", "dev"}}, {{"Key", "team"}, {"Value", "a"}}}}}).ok());
  ASSERT_TRUE(cp_->metadata().AddTagsToResource({{"ResourceName", arn}, {"Tags", {{{"Key", "env"}, {"Value", "prod"}}}}}).ok());
  auto list = cp_->metadata().ListTagsForResource({{"ResourceName", arn}});
  ASSERT_TRUE(list.ok());
  EXPECT_EQ((*list)["TagList"], json({{{"Key", "env"}, {"Value", "prod"}}, {{"Key", "team"}, {"Value", "a"}}}));
  ASSERT_TRUE(cp_->metadata().RemoveTagsFromResource({{"ResourceName", arn}, {"TagKeys", {"team"}}}).ok());
  EXPECT_EQ(Describe("test")["TagList"].size(), 1u);
  ExpectError(cp_->metadata().ListTagsForResource({{"ResourceName", "arn:aws:rds:us-east-1:000000000000:db:nope"}}).status(),
              "DBInstanceNotFound", 404);
  ExpectError(cp_->metadata().ListTagsForResource({{"ResourceName", "not-an-arn"}}).status(), "InvalidParameterValue", 400);
  ExpectError(cp_->metadata().AddTagsToResource({{"ResourceName", arn}, {"Tags", {{{"Key", "aws:x"}, {"Value", "v"}}}}}),
              "InvalidParameterValue", 400);
}

TEST_F(ControlPlaneTest, EnginesAndOrderableOptions) {
  auto v = cp_->metadata().DescribeDBEngineVersions({{"Engine", "postgres"}});
  ASSERT_TRUE(v.ok());
  ASSERT_EQ((*v)["DBEngineVersions"].size(), 1u);
  EXPECT_EQ((*v)["DBEngineVersions"][0]["DBParameterGroupFamily"], "postgres15");
  auto none = cp_->metadata().DescribeDBEngineVersions({{"Engine", "mysql"}});
  EXPECT_TRUE((*none)["DBEngineVersions"].empty());
  auto o = cp_->metadata().DescribeOrderableDBInstanceOptions({{"Engine", "postgres"}, {"DBInstanceClass", "db.t3.micro"}});
  ASSERT_TRUE(o.ok());
  ASSERT_FALSE((*o)["OrderableDBInstanceOptions"].empty());
  EXPECT_EQ((*o)["OrderableDBInstanceOptions"][0]["DBInstanceClass"], "db.t3.micro");
  EXPECT_EQ((*o)["OrderableDBInstanceOptions"][0]["MinStorageSize"], 20);
  // Pagination: every option exactly once across pages.
  auto all = cp_->metadata().DescribeOrderableDBInstanceOptions({{"Engine", "postgres"}, {"MaxRecords", 10000}});
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

// --- backups ------------------------------------------------------------------------------

json SnapshotOf(ControlPlane& cp, const std::string& id) {
  auto r = cp.snapshots().DescribeDBSnapshots({{"DBSnapshotIdentifier", id}});
  return r.ok() ? (*r)["DBSnapshots"][0] : json();
}

TEST_F(ControlPlaneTest, ManualSnapshotsMoveThroughRdsStatuses) {
  Create("test");
  auto automated = cp_->snapshots().DescribeDBSnapshots({{"SnapshotType", "automated"}});
  ASSERT_TRUE(automated.ok());
  ASSERT_EQ((*automated)["DBSnapshots"].size(), 1u);  // taken at creation
  EXPECT_EQ((*automated)["DBSnapshots"][0]["DBSnapshotIdentifier"].get<std::string>().rfind("rds:test-", 0), 0u);

  auto snap = cp_->snapshots().CreateDBSnapshot({{"DBInstanceIdentifier", "test"}, {"DBSnapshotIdentifier", "Multiple-Todos"}});
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  EXPECT_EQ(snap->body["Status"], "creating");
  EXPECT_EQ(snap->body["DBSnapshotIdentifier"], "multiple-todos");
  EXPECT_EQ(StatusOf("test"), "backing-up");
  Wait(snap->operation_id);
  json s = SnapshotOf(*cp_, "multiple-todos");
  EXPECT_EQ(s["Status"], "available");
  EXPECT_EQ(s["PercentProgress"], 100);
  EXPECT_EQ(s["SnapshotType"], "manual");
  EXPECT_EQ(s["MasterUsername"], "root");
  EXPECT_EQ(StatusOf("test"), "available");

  ExpectError(cp_->snapshots().CreateDBSnapshot({{"DBInstanceIdentifier", "test"}, {"DBSnapshotIdentifier", "multiple-todos"}}).status(),
              "DBSnapshotAlreadyExists", 400);
  ExpectError(cp_->snapshots().CreateDBSnapshot({{"DBInstanceIdentifier", "nope"}, {"DBSnapshotIdentifier", "x"}}).status(),
              "DBInstanceNotFound", 404);
  ExpectError(cp_->snapshots().CreateDBSnapshot({{"DBInstanceIdentifier", "test"}, {"DBSnapshotIdentifier", "a--b"}}).status(),
              "InvalidParameterValue", 400);
  std::string automated_id = (*automated)["DBSnapshots"][0]["DBSnapshotIdentifier"];
  ExpectError(cp_->snapshots().DeleteDBSnapshot({{"DBSnapshotIdentifier", automated_id}}).status(),
              "InvalidDBSnapshotState", 400);
  auto del = cp_->snapshots().DeleteDBSnapshot({{"DBSnapshotIdentifier", "multiple-todos"}});
  ASSERT_TRUE(del.ok());
  EXPECT_EQ(del->body["Status"], "deleted");
  ExpectError(cp_->snapshots().DescribeDBSnapshots({{"DBSnapshotIdentifier", "multiple-todos"}}).status(),
              "DBSnapshotNotFound", 404);
  ExpectError(cp_->snapshots().DeleteDBSnapshot({{"DBSnapshotIdentifier", "multiple-todos"}}).status(),
              "DBSnapshotNotFound", 404);
}

TEST_F(ControlPlaneTest, SnapshotOfAStoppedInstanceIsRefused) {
  Create("test");
  auto stop = cp_->instances().StopDBInstance({{"DBInstanceIdentifier", "test"}});
  ASSERT_TRUE(stop.ok());
  Wait(stop->operation_id);
  ExpectError(cp_->snapshots().CreateDBSnapshot({{"DBInstanceIdentifier", "test"}, {"DBSnapshotIdentifier", "s"}}).status(),
              "InvalidDBInstanceState", 400);
}

TEST_F(ControlPlaneTest, RestoresCheckLikeRds) {
  Create("test");
  json zero = CreateReq("nobackups");
  zero["BackupRetentionPeriod"] = 0;
  auto c = cp_->instances().CreateDBInstance(zero);
  ASSERT_TRUE(c.ok());
  Wait(c->operation_id);
  json base = {{"SourceDBInstanceIdentifier", "test"}, {"TargetDBInstanceIdentifier", "copy"}};
  ExpectError(cp_->snapshots().RestoreDBInstanceToPointInTime(base).status(), "InvalidParameterCombination", 400);
  json both = base;
  both["UseLatestRestorableTime"] = true;
  both["RestoreTime"] = "2020-01-01T00:00:00Z";
  ExpectError(cp_->snapshots().RestoreDBInstanceToPointInTime(both).status(), "InvalidParameterCombination", 400);
  json early = base;
  early["RestoreTime"] = "2020-01-01T00:00:00Z";
  ExpectError(cp_->snapshots().RestoreDBInstanceToPointInTime(early).status(), "InvalidRestoreFault", 400);
  json future = base;
  future["RestoreTime"] = "2999-01-01T00:00:00Z";
  ExpectError(cp_->snapshots().RestoreDBInstanceToPointInTime(future).status(), "InvalidRestoreFault", 400);
  ExpectError(cp_->snapshots().RestoreDBInstanceToPointInTime({{"SourceDBInstanceIdentifier", "nobackups"},
                                                   {"TargetDBInstanceIdentifier", "copy"},
                                                   {"UseLatestRestorableTime", true}}).status(),
              "PointInTimeRestoreNotEnabled", 400);
  ExpectError(cp_->snapshots().RestoreDBInstanceToPointInTime({{"SourceDbiResourceId", "db-NOSUCHTHING"},
                                                   {"TargetDBInstanceIdentifier", "copy"},
                                                   {"UseLatestRestorableTime", true}}).status(),
              "DBInstanceAutomatedBackupNotFound", 404);
  json latest = base;
  latest["UseLatestRestorableTime"] = true;
  latest["TargetDBInstanceIdentifier"] = "nobackups";
  ExpectError(cp_->snapshots().RestoreDBInstanceToPointInTime(latest).status(), "DBInstanceAlreadyExists", 400);
  ExpectError(cp_->snapshots().RestoreDBInstanceFromDBSnapshot({{"DBInstanceIdentifier", "x"}, {"DBSnapshotIdentifier", "nope"}}).status(),
              "DBSnapshotNotFound", 404);

  latest["TargetDBInstanceIdentifier"] = "copy";
  auto r = cp_->snapshots().RestoreDBInstanceToPointInTime(latest);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body["DBInstanceStatus"], "creating");
  Wait(r->operation_id);
  EXPECT_EQ(StatusOf("copy"), "available");
  EXPECT_NE(Describe("copy")["DbiResourceId"], Describe("test")["DbiResourceId"]);
  auto events = EventMessages("copy");
  EXPECT_NE(std::find(events.begin(), events.end(), "Restored from DB instance test to copy"), events.end());
}

TEST_F(ControlPlaneTest, ACrashDuringASnapshotResumesAfterRestart) {
  Create("test");
  OperationEngine::SetCrashHook([](const std::string& kind, int step) { return !(kind == "snapshot" && step == 0); });
  auto snap = cp_->snapshots().CreateDBSnapshot({{"DBInstanceIdentifier", "test"}, {"DBSnapshotIdentifier", "s1"}});
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
  auto snap = cp_->snapshots().CreateDBSnapshot({{"DBInstanceIdentifier", "test"}, {"DBSnapshotIdentifier", "s1"}});
  ASSERT_TRUE(snap.ok());
  Wait(snap->operation_id);
  EXPECT_EQ(SnapshotOf(*cp_, "s1")["Status"], "failed");
  EXPECT_EQ(StatusOf("test"), "available");
  ExpectError(cp_->snapshots().RestoreDBInstanceFromDBSnapshot({{"DBInstanceIdentifier", "x"}, {"DBSnapshotIdentifier", "s1"}}).status(),
              "InvalidDBSnapshotState", 400);
}

TEST_F(ControlPlaneTest, RetainedBackupsOutliveTheInstanceUntilTheyExpire) {
  Create("test");
  std::string rid = Describe("test")["DbiResourceId"];
  auto del = cp_->instances().DeleteDBInstance({{"DBInstanceIdentifier", "test"}, {"SkipFinalSnapshot", true},
                                    {"DeleteAutomatedBackups", false}});
  ASSERT_TRUE(del.ok());
  Wait(del->operation_id);
  auto list = cp_->snapshots().DescribeDBInstanceAutomatedBackups(json::object());
  ASSERT_TRUE(list.ok());
  ASSERT_EQ((*list)["DBInstanceAutomatedBackups"].size(), 1u);
  EXPECT_EQ((*list)["DBInstanceAutomatedBackups"][0]["Status"], "retained");
  EXPECT_EQ((*list)["DBInstanceAutomatedBackups"][0]["DbiResourceId"], rid);
  ExpectError(cp_->snapshots().DeleteDBInstanceAutomatedBackup({{"DbiResourceId", "db-NOPE"}}).status(),
              "DBInstanceAutomatedBackupNotFound", 404);
  // Retention is 7 days: nothing expires after 6, everything after 8.
  const int64_t day = 24LL * 3600 * 1000;
  EXPECT_EQ(cp_->backups().ExpireBackups(NowMs() + 6 * day), "");
  EXPECT_NE(cp_->backups().ExpireBackups(NowMs() + 8 * day), "");
  ExpectError(cp_->snapshots().DescribeDBInstanceAutomatedBackups({{"DbiResourceId", rid}}).status(),
              "DBInstanceAutomatedBackupNotFound", 404);
  EXPECT_FALSE(fs::exists(layout_->ArchiveDir(rid)));
}

TEST_F(ControlPlaneTest, DeletingDropsAutomatedBackupsByDefault) {
  Create("test");
  auto del = cp_->instances().DeleteDBInstance({{"DBInstanceIdentifier", "test"}, {"FinalDBSnapshotIdentifier", "final"}});
  ASSERT_TRUE(del.ok());
  Wait(del->operation_id);
  auto all = cp_->snapshots().DescribeDBSnapshots(json::object());
  ASSERT_TRUE(all.ok());
  ASSERT_EQ((*all)["DBSnapshots"].size(), 1u) << all->dump();
  EXPECT_EQ((*all)["DBSnapshots"][0]["DBSnapshotIdentifier"], "final");
  EXPECT_EQ((*all)["DBSnapshots"][0]["Status"], "available");
  EXPECT_TRUE((*cp_->snapshots().DescribeDBInstanceAutomatedBackups(json::object()))["DBInstanceAutomatedBackups"].empty());
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
  const auto pgdata = cp_->servers().Server(*cp_->registry().GetInstance(Describe("test")["DbiResourceId"])).pgdata;
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
  const auto pgdata = cp_->servers().Server(*cp_->registry().GetInstance(Describe("test")["DbiResourceId"])).pgdata;
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
