// Multi-AZ failovers in the control plane over the fake runtime: forced ones (RebootDBInstance
// with ForceFailover), the ones the health monitor starts (a server gone, a server that stops
// answering, a frozen server fenced), a crashed primary without a ready standby restarted in
// place, a failover that cannot promote (finished by the reconciler), a primary that died with
// localrds, and crashes before every step of a failover.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "emulator/core/instance_state.h"
#include "tests/unit/multi_az_fixture.h"

namespace localrds {
namespace fs = std::filesystem;
using nlohmann::json;

TEST_F(MultiAzControlTest, AForcedFailoverSwapsHostsAndZonesAndRebuildsTheOldPrimary) {
  CreateMultiAz("test");
  const json before = Describe("test");
  const int port = before["Endpoint"]["Port"];
  const std::string az = before["AvailabilityZone"],
                    secondary = before["SecondaryAvailabilityZone"];
  const fs::path host_a = HostPgData("test", "a"), host_b = HostPgData("test", "b");
  std::ofstream(host_a / "written-by-the-old-primary") << "x\n";  // gone once host a is rebuilt
  const size_t seen = Events("test").size();
  const int backups = runtime_.Backups();

  // What Describe says while the failover fences the old primary (its clean stop): a read
  // after the call could come after the fake's quick failover ends.
  std::string during;
  runtime_.OnStop([&] {
    if (during.empty()) during = StatusOf("test");
  });
  auto r = ForceFailover("test");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body["DBInstanceStatus"], "rebooting");
  Wait(r->operation_id);
  runtime_.OnStop(nullptr);
  EXPECT_EQ(during, "rebooting");

  json after = Describe("test");
  EXPECT_EQ(after["DBInstanceStatus"], "available");
  EXPECT_EQ(after["AvailabilityZone"], secondary);
  EXPECT_EQ(after["SecondaryAvailabilityZone"], az);
  EXPECT_EQ(after["Endpoint"]["Port"], port);  // the endpoint does not move
  EXPECT_EQ(PrimaryHost("test"), "b");
  EXPECT_EQ(cp_->servers().Server(Row("test")).pgdata, host_b);
  EXPECT_EQ(runtime_.ServingPort(cp_->servers().Server(Row("test"))), port);
  // Host a was wiped and made again from the new primary.
  EXPECT_EQ(runtime_.Backups(), backups + 1);
  EXPECT_EQ(runtime_.BackupSlots().back(), ReplicationSlotName(Rid("test")));
  EXPECT_FALSE(fs::exists(host_a / "written-by-the-old-primary"));
  EXPECT_TRUE(fs::exists(host_a / "backup_label"));
  ExpectHealthy("test", "after the failover");
  EXPECT_EQ(EventsSince("test", seen),
            (std::vector<std::pair<std::string, std::string>>{
                {"RDS-EVENT-0013", "Multi-AZ instance failover started."},
                {"RDS-EVENT-0004", "DB instance shutdown"},
                {"RDS-EVENT-0006", "DB instance restarted"},
                {"RDS-EVENT-0015",
                 "Multi-AZ failover to standby complete - DNS propagation may take a few minutes."},
                {"RDS-EVENT-0049", "Multi-AZ instance failover completed."},
                {"RDS-EVENT-0052", "Multi-AZ instance recovery started."},
                {"RDS-EVENT-0053",
                 "Multi-AZ instance recovery completed. Pending failover or activation."}}));

  // And back again.
  auto back = ForceFailover("test");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  Wait(back->operation_id);
  EXPECT_EQ(PrimaryHost("test"), "a");
  EXPECT_EQ(Describe("test")["AvailabilityZone"], az);
  EXPECT_EQ(Describe("test")["Endpoint"]["Port"], port);
  ExpectHealthy("test", "after failing back");
  EXPECT_EQ(cp_->reconciler().ReconcileOnce(), "");
  EXPECT_EQ(cp_->ha_monitor().MonitorPrimariesOnce(), "");
}

TEST_F(MultiAzControlTest, TheMonitorFailsOverWhenThePrimaryServerIsGone) {
  CreateMultiAz("test");
  const json before = Describe("test");
  const size_t seen = Events("test").size();
  const ServerSpec old_primary = cp_->servers().Server(Row("test"));
  EXPECT_EQ(cp_->ha_monitor().MonitorPrimariesOnce(), "");
  ASSERT_TRUE(runtime_.Kill(old_primary).ok());
  // The reconciler leaves it to the failover: no restart in place while a standby is ready.
  EXPECT_EQ(cp_->reconciler().ReconcileOnce(), "");
  EXPECT_FALSE(runtime_.IsRunning(old_primary));
  EXPECT_EQ(cp_->ha_monitor().MonitorPrimariesOnce(),
            "failing over test: the primary's PostgreSQL server is gone.");
  WaitIdle();

  EXPECT_EQ(PrimaryHost("test"), "b");
  json after = Describe("test");
  EXPECT_EQ(after["AvailabilityZone"], before["SecondaryAvailabilityZone"]);
  EXPECT_EQ(after["SecondaryAvailabilityZone"], before["AvailabilityZone"]);
  EXPECT_EQ(after["Endpoint"]["Port"], before["Endpoint"]["Port"]);
  ExpectHealthy("test", "after the failover");
  // Not forced: no shutdown or restart of the instance as RDS reports a reboot.
  EXPECT_EQ(EventsSince("test", seen),
            (std::vector<std::pair<std::string, std::string>>{
                {"RDS-EVENT-0013", "Multi-AZ instance failover started."},
                {"RDS-EVENT-0015",
                 "Multi-AZ failover to standby complete - DNS propagation may take a few minutes."},
                {"RDS-EVENT-0049", "Multi-AZ instance failover completed."},
                {"RDS-EVENT-0052", "Multi-AZ instance recovery started."},
                {"RDS-EVENT-0053",
                 "Multi-AZ instance recovery completed. Pending failover or activation."}}));
  EXPECT_EQ(cp_->ha_monitor().MonitorPrimariesOnce(), "");
  EXPECT_EQ(cp_->reconciler().ReconcileOnce(), "");
}

TEST_F(MultiAzControlTest, TheMonitorFailsOverAPrimaryThatStopsAnswering) {
  CreateMultiAz("test");
  // Answering: passes over twice hung_after start nothing.
  std::string said;
  for (int step = 0; step < 8; ++step) said += MonitorStep();
  EXPECT_EQ(said, "");
  EXPECT_EQ(PrimaryHost("test"), "a");

  // Its server runs but no probe gets an answer any more: the first pass past hung_after since
  // the last answer acts (the steps are a quarter of hung_after).
  runtime_.FailProbes(true);
  said = MonitorUntilItActs();
  EXPECT_EQ(said, "failing over test: the primary has not answered for " +
                      std::to_string(kHungAfter.count() + kHungAfter.count() / 4) + " ms.");
  runtime_.FailProbes(false);
  WaitIdle();
  EXPECT_EQ(PrimaryHost("test"), "b");
  ExpectHealthy("test", "after the failover");
  EXPECT_EQ(CountEvents("test", "Multi-AZ instance failover completed."), 1);
  EXPECT_EQ(CountEvents("test", "DB instance shutdown"), 0);
}

TEST_F(MultiAzControlTest, AFrozenPrimaryIsFencedAndFailedOver) {
  CreateMultiAz("test");
  const ServerSpec old_primary = cp_->servers().Server(Row("test"));
  ASSERT_TRUE(runtime_.Pause(old_primary).ok());
  const std::string said = MonitorUntilItActs();
  EXPECT_EQ(said.rfind("failing over test: the primary has not answered for ", 0), 0u) << said;
  WaitIdle();
  EXPECT_FALSE(runtime_.IsPaused(old_primary));  // killed, and its host rebuilt as the standby
  EXPECT_EQ(PrimaryHost("test"), "b");
  EXPECT_EQ(cp_->servers().StandbyServer(Row("test")).pgdata, old_primary.pgdata);
  ExpectHealthy("test", "after the failover");
}

TEST_F(MultiAzControlTest, WithoutAReadyStandbyACrashedPrimaryIsRestartedInPlace) {
  CreateMultiAz("test");
  // The failover's new standby cannot be built: the instance stays available, without one.
  runtime_.FailNextBackup(true);
  auto r = ForceFailover("test");
  ASSERT_TRUE(r.ok());
  Wait(r->operation_id);
  ASSERT_EQ(StandbyState("test"), "building");
  EXPECT_EQ(StatusOf("test"), "available");
  EXPECT_EQ(Events("test").back().second,
            "The Multi-AZ standby could not be built (pg_basebackup failed (injected))");
  EXPECT_EQ(PrimaryConf("test").find("synchronous_standby_names"), std::string::npos);

  const ServerSpec primary = cp_->servers().Server(Row("test"));
  ASSERT_TRUE(runtime_.Kill(primary).ok());
  EXPECT_EQ(cp_->ha_monitor().MonitorPrimariesOnce(), "");  // nothing to fail over to
  EXPECT_EQ(cp_->reconciler().ReconcileOnce(),
            "restarting test, whose PostgreSQL server stopped unexpectedly.");
  WaitIdle();
  EXPECT_TRUE(runtime_.IsRunning(primary));
  EXPECT_EQ(PrimaryHost("test"), "b");
  EXPECT_EQ(StatusOf("test"), "available");

  // The next pass builds the standby again.
  EXPECT_EQ(cp_->reconciler().ReconcileOnce(), "building the Multi-AZ standby of test again.");
  WaitIdle();
  ExpectHealthy("test", "after the standby was built again");
  EXPECT_EQ(Events("test").back(),
            (std::pair<std::string, std::string>{
                "RDS-EVENT-0053",
                "Multi-AZ instance recovery completed. Pending failover or activation."}));
  EXPECT_EQ(CountEvents("test", "Multi-AZ instance failover completed."), 1);
}

TEST_F(MultiAzControlTest, AFailoverThatCannotPromoteIsFinishedByTheReconciler) {
  CreateMultiAz("test");
  const json before = Describe("test");
  const int port = before["Endpoint"]["Port"];
  runtime_.FailQuery("SELECT pg_is_in_recovery()");
  auto r = ForceFailover("test");
  ASSERT_TRUE(r.ok());
  Wait(r->operation_id);
  // The old primary is fenced and the standby not promoted: nothing serves the endpoint, and the
  // instance says so (still rebooting) and takes no other action meanwhile.
  EXPECT_EQ(StatusOf("test"), "rebooting");
  EXPECT_EQ(Events("test").back(),
            (std::pair<std::string, std::string>{
                "", "Multi-AZ instance failover failed (query failed (injected))"}));
  EXPECT_FALSE(runtime_.IsRunning(cp_->servers().StandbyServer(Row("test"))))
      << "the fenced old primary runs again";
  ExpectError(ForceFailover("test").status(), "InvalidDBInstanceState", 400,
              "Instance test is not in available state.");
  ExpectError(
      cp_->instances()
          .ModifyDBInstance(
              {{"DBInstanceIdentifier", "test"}, {"MultiAZ", false}, {"ApplyImmediately", true}})
          .status(),
      "InvalidDBInstanceState", 400, "Database instance is not in available state.");
  // While promotion still fails, the reconciler tries again (at most every 5 s) and the instance
  // stays as it is.
  EXPECT_EQ(cp_->reconciler().ReconcileOnce(), "finishing the failover of test.");
  WaitIdle();
  EXPECT_EQ(StatusOf("test"), "rebooting");
  EXPECT_EQ(cp_->reconciler().ReconcileOnce(), "");

  // Once the standby can be promoted, the next try finishes the failover.
  runtime_.FailQuery("");
  Restart();  // a restart of localrds finishes it too (and forgets the 5 s)
  const json after = Describe("test");
  EXPECT_EQ(after["DBInstanceStatus"], "available");
  EXPECT_EQ(after["Endpoint"]["Port"], port);
  EXPECT_EQ(after["AvailabilityZone"], before["SecondaryAvailabilityZone"]);
  EXPECT_EQ(after["SecondaryAvailabilityZone"], before["AvailabilityZone"]);
  EXPECT_EQ(PrimaryHost("test"), "b");
  ExpectHealthy("test", "after the failover was finished");
  EXPECT_EQ(CountEvents("test", "Multi-AZ instance failover completed."), 1);
  EXPECT_EQ(cp_->reconciler().ReconcileOnce(), "");
}

TEST_F(MultiAzControlTest, APrimaryThatDiedWithLocalrdsIsFailedOverAtRestart) {
  CreateMultiAz("test");
  const json before = Describe("test");
  // localrds and the primary die together; the standby survives.
  ASSERT_TRUE(runtime_.Kill(cp_->servers().Server(Row("test"))).ok());
  Restart();
  const json after = Describe("test");
  EXPECT_EQ(PrimaryHost("test"), "b");
  EXPECT_EQ(after["AvailabilityZone"], before["SecondaryAvailabilityZone"]);
  EXPECT_EQ(after["Endpoint"]["Port"], before["Endpoint"]["Port"]);
  ExpectHealthy("test", "failed over at restart");
  EXPECT_EQ(CountEvents("test", "Multi-AZ instance failover completed."), 1);

  // Both die (the machine restarted): the primary is restarted where it is, with its standby.
  ASSERT_TRUE(runtime_.Kill(cp_->servers().Server(Row("test"))).ok());
  ASSERT_TRUE(runtime_.Kill(cp_->servers().StandbyServer(Row("test"))).ok());
  Restart();
  EXPECT_EQ(PrimaryHost("test"), "b");
  ExpectHealthy("test", "restarted in place");
  EXPECT_EQ(CountEvents("test", "Multi-AZ instance failover completed."), 1);
}

TEST_F(MultiAzControlTest, ACrashBeforeAnyStepOfAFailoverIsResumed) {
  CreateMultiAz("test");
  const int port = Describe("test")["Endpoint"]["Port"];
  for (int step = 0; step < 6; ++step) {
    SCOPED_TRACE("crash before step " + std::to_string(step));
    const json before = Describe("test");
    const std::string host = PrimaryHost("test");
    OperationEngine::SetCrashHook(
        [step](const std::string& k, int s) { return !(k == "failover" && s == step); });
    auto r = ForceFailover("test");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    Wait(r->operation_id);
    EXPECT_EQ(StatusOf("test"), step <= 2 ? "rebooting" : "available");  // `serve` is step 2
    Restart();  // Recover resumes the failover and waits for it

    json after = Describe("test");
    EXPECT_EQ(after["DBInstanceStatus"], "available");
    EXPECT_EQ(PrimaryHost("test"), host == "a" ? "b" : "a");  // flipped exactly once
    EXPECT_EQ(after["AvailabilityZone"], before["SecondaryAvailabilityZone"]);
    EXPECT_EQ(after["SecondaryAvailabilityZone"], before["AvailabilityZone"]);
    EXPECT_EQ(after["Endpoint"]["Port"], port);
    ExpectHealthy("test", "resumed");
    EXPECT_EQ(CountEvents("test", "Multi-AZ instance failover started."), step + 1);
    EXPECT_EQ(CountEvents("test", "Multi-AZ instance failover completed."), step + 1);
    EXPECT_EQ(CountEvents("test",
                          "Multi-AZ instance recovery completed. Pending failover or activation."),
              step + 1);
    EXPECT_EQ(CountEvents("test", "Multi-AZ instance failover failed"), 0);
    EXPECT_EQ(cp_->reconciler().ReconcileOnce(), "");
    EXPECT_EQ(cp_->ha_monitor().MonitorPrimariesOnce(), "");
  }
}

}  // namespace localrds
