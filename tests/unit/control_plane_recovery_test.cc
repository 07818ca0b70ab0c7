// The control plane's recovery over the fake runtime: crashes of localrds (and of the whole
// machine) at every step of create, delete and the instance operations, restarts, orphan
// directories, the reconciler's restarts and seven-day starts, and resets that race the
// reconciler or outlive an operation.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "emulator/engine/operation_engine.h"
#include "emulator/service/control_plane.h"
#include "tests/unit/control_plane_fixture.h"

namespace localrds {
namespace fs = std::filesystem;
using nlohmann::json;

TEST_F(ControlPlaneTest, CrashAtEveryCreateStepRecoversToAvailable) {
  for (int step = 0; step < 5; ++step) {
    std::string id = "crash" + std::to_string(step);
    OperationEngine::SetCrashHook(
        [step](const std::string& kind, int s) { return !(kind == "create" && s == step); });
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
      r = cp_->instances().ModifyDBInstance(
          {{"DBInstanceIdentifier", id}, {"MasterUserPassword", "newpass123"}});
    }
    ASSERT_TRUE(r.ok()) << kind << " " << r.status().ToString();
    Wait(r->operation_id);
    std::string rid = Describe(id)["DbiResourceId"];
    ServerSpec s;
    s.pgdata = layout_->PgData(rid);
    ASSERT_TRUE(runtime_.Kill(s).ok());
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
    OperationEngine::SetCrashHook(
        [step](const std::string& kind, int s) { return !(kind == "delete" && s == step); });
    auto r = cp_->instances().DeleteDBInstance(
        {{"DBInstanceIdentifier", id}, {"SkipFinalSnapshot", true}});
    ASSERT_TRUE(r.ok());
    Wait(r->operation_id);
    Restart();
    ExpectError(cp_->instances().DescribeDBInstances({{"DBInstanceIdentifier", id}}).status(),
                "DBInstanceNotFound", 404, "DBInstance " + id + " not found.");
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
    ASSERT_TRUE(runtime_.Stop(s).ok());
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
  ASSERT_TRUE(runtime_.Kill(s).ok());
  EXPECT_EQ(cp_->reconciler().ReconcileOnce(),
            "restarting test, whose PostgreSQL server stopped unexpectedly.");
  EXPECT_TRUE(Eventually([&] { return !runtime_.Running().empty(); }));
  EXPECT_EQ(runtime_.Running().size(), 1u);
  EXPECT_EQ(cp_->reconciler().ReconcileOnce(), "");
}

TEST_F(ControlPlaneTest, AnInstanceStoppedForSevenDaysStartsByItself) {
  Create("test");
  auto stop = cp_->instances().StopDBInstance({{"DBInstanceIdentifier", "test"}});
  Wait(stop->operation_id);
  EXPECT_EQ(cp_->reconciler().ReconcileOnce(), "");  // stopped just now: stays stopped
  clock_.Advance(7LL * 24 * 3600 * 1000);
  EXPECT_EQ(cp_->reconciler().ReconcileOnce(), "");  // seven days exactly: still stopped
  clock_.Advance(1000);
  EXPECT_EQ(cp_->reconciler().ReconcileOnce(), "starting test, stopped for more than seven days.");
  EXPECT_TRUE(Eventually([&] { return StatusOf("test") == "available"; }));
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

}  // namespace localrds
