// Multi-AZ over real PostgreSQL: the hidden standby is synchronous (a commit waits for it, and
// it has every commit once the commit returns), read-only and off TCP; a forced failover and the
// health monitor's (a killed primary, a frozen one) move the endpoint's port to the promoted
// standby on a new timeline with every row, never run the old primary again and rebuild it as the
// new standby; ModifyDBInstance MultiAZ off and on removes and rebuilds the standby; a stop and a
// start keep it streaming.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <future>
#include <thread>

#include "emulator/core/instance_state.h"
#include "tests/eventually.h"
#include "tests/integration/pg_fixture.h"

namespace localrds {
namespace fs = std::filesystem;
using nlohmann::json;

class MultiAzPgTest : public PgControlPlaneTest {
 protected:
  MultiAzPgTest() : PgControlPlaneTest("lrmz-", 17000) {}

  void Configure(EmulatorConfig& config) override { QuickHealthChecks(config); }
  // Polls `done` until it holds or `timeout` passes.
  static bool Eventually(const std::function<bool()>& done,
                         std::chrono::seconds timeout = std::chrono::seconds(60)) {
    return localrds::Eventually(done, timeout);
  }
  // Creates a Multi-AZ instance with a table `t(v text)` and waits until it is available;
  // returns its endpoint's port.
  int CreateMultiAz(const std::string& id) {
    json req = {{"DBInstanceIdentifier", id},       {"Engine", "postgres"},
                {"DBInstanceClass", "db.t3.micro"}, {"MasterUsername", "root"},
                {"MasterUserPassword", "secret99"}, {"DBName", "test"},
                {"BackupRetentionPeriod", 1},       {"MultiAZ", true}};
    const int port = WaitAvailable(cp_->instances().CreateDBInstance(req), id);
    if (port > 0) Query(port, "CREATE TABLE t(v text)");
    return port;
  }
  InstanceRow Row(const std::string& id) {
    return *cp_->registry().GetInstance(Describe(id)["DbiResourceId"]);
  }
  ServerSpec Primary(const std::string& id) { return cp_->servers().Server(Row(id)); }
  ServerSpec Standby(const std::string& id) { return cp_->servers().StandbyServer(Row(id)); }
  // A value on one of the instance's servers, as the superuser over its Unix socket.
  std::string On(const ServerSpec& spec, const std::string& sql) {
    auto v = runtime_->QueryValue(spec, "postgres", sql);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : "";
  }
  std::string OnTest(const ServerSpec& spec, const std::string& sql) {
    auto v = runtime_->QueryValue(spec, "test", sql);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : "";
  }
  std::string SyncState(const std::string& id) {
    auto v = runtime_->QueryValue(Primary(id), "postgres",
                                  "SELECT coalesce((SELECT sync_state FROM pg_stat_replication "
                                  "WHERE application_name = 'localrds_standby'), 'none')");
    return v.ok() ? *v : v.status().ToString();
  }
  int Timeline(const ServerSpec& spec) {
    return std::atoi(On(spec, "SELECT timeline_id FROM pg_control_checkpoint()").c_str());
  }
  json MultiAz(const std::string& id) { return (*cp_->InstanceDetails(id))["multi_az"]; }
  // Waits until no operation is unfinished (the monitor's failovers hand out no id).
  bool Idle() { return catalog_->LoadUnfinishedOperations().value().empty(); }
  // psql as the master user over TCP, given up (its process group killed) after `timeout`.
  struct PsqlOutcome {
    int exit_code;
    std::string output;
  };
  static PsqlOutcome PsqlWithin(int port, const std::string& sql, std::chrono::seconds timeout) {
    CommandOptions o;
    o.timeout = timeout;
    o.extra_env = {"PGPASSWORD=secret99", "PGCONNECT_TIMEOUT=5"};
    auto r = RunCommand({"psql", "-h", "127.0.0.1", "-p", std::to_string(port), "-U", "root", "-d",
                         "test", "-v", "ON_ERROR_STOP=1", "-Atc", sql},
                        o);
    return r.ok() ? PsqlOutcome{r->exit_code, r->output} : PsqlOutcome{-1, r.status().ToString()};
  }
  // The instance's RDS event ids after the first `skip`, oldest first.
  std::vector<std::string> EventIds(const std::string& id, size_t skip = 0) {
    std::vector<std::string> ids;
    for (const auto& e : cp_->EventsWithIds(1000).value()) {
      if (e["source_identifier"] == id) ids.push_back(e["event_id"]);
    }
    return {ids.begin() + static_cast<std::ptrdiff_t>(std::min(skip, ids.size())), ids.end()};
  }
  // The last `n` lines of a server's log.
  static std::string LogTail(const fs::path& log, size_t n = 6) {
    std::vector<std::string> lines;
    std::ifstream in(log);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    std::string out;
    for (size_t i = lines.size() > n ? lines.size() - n : 0; i < lines.size(); ++i) {
      out += lines[i] + "\n";
    }
    return out;
  }
  // The postmaster.pid lines of a data directory (empty when there is none).
  static std::vector<std::string> PidFile(const fs::path& pgdata) {
    std::vector<std::string> lines;
    std::ifstream in(pgdata / "postmaster.pid");
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }
  // After a failover: the endpoint serves a writable primary with every row, on a timeline after
  // `old_timeline`; the old host is its standby again, in sync, on the new timeline.
  void ExpectFailedOver(const std::string& id, int port, int rows, int old_timeline,
                        const std::string& new_host) {
    json d = Describe(id);
    EXPECT_EQ(d["DBInstanceStatus"], "available");
    EXPECT_EQ(d["Endpoint"]["Port"], port);
    json m = MultiAz(id);
    EXPECT_EQ(m["primary_host"], new_host);
    EXPECT_EQ(m["standby"]["state"], "ready");
    EXPECT_EQ(Primary(id).pgdata, layout_->HostPgData(Row(id).resource_id, new_host));
    EXPECT_EQ(Query(port, "SELECT pg_is_in_recovery()"), "f\n");
    EXPECT_EQ(Query(port, "SELECT count(*) FROM t"), std::to_string(rows) + "\n");
    Query(port, "INSERT INTO t VALUES ('after the failover')");
    const int timeline = Timeline(Primary(id));
    EXPECT_GT(timeline, old_timeline);
    EXPECT_EQ(On(Standby(id), "SELECT pg_is_in_recovery()"), "t");
    EXPECT_EQ(SyncState(id), "sync");
    EXPECT_EQ(OnTest(Standby(id), "SELECT count(*) FROM t WHERE v = 'after the failover'"), "1");
    EXPECT_EQ(On(Standby(id), "SELECT received_tli FROM pg_stat_wal_receiver"),
              std::to_string(timeline));
  }
};

TEST_F(MultiAzPgTest, TheStandbyIsSynchronousHiddenAndReadOnly) {
  const int port = CreateMultiAz("test");
  ASSERT_GT(port, 0);
  const ServerSpec primary = Primary("test"), standby = Standby("test");
  EXPECT_EQ(On(primary, "SHOW synchronous_standby_names"), "localrds_standby");
  EXPECT_EQ(SyncState("test"), "sync");
  EXPECT_EQ(On(primary, "SELECT active::text FROM pg_replication_slots WHERE slot_name = '" +
                            ReplicationSlotName(Row("test").resource_id) + "'"),
            "true");

  // Read-only, and out of clients' reach (no TCP).
  EXPECT_EQ(On(standby, "SELECT pg_is_in_recovery()"), "t");
  Status write = runtime_->ExecSql(standby, "test", {"INSERT INTO t VALUES ('on the standby')"});
  ASSERT_FALSE(write.ok());
  EXPECT_NE(write.message().find("read-only transaction"), std::string::npos) << write.message();
  EXPECT_EQ(On(standby, "SHOW listen_addresses"), "");
  std::string out;
  EXPECT_NE(Psql(standby.port, "SELECT 1", &out), 0) << out;

  // Every commit is flushed on the standby once it returns (synchronous_commit = on), and
  // visible there as soon as the standby has replayed it.
  for (int i = 0; i < 20; ++i) {
    const std::string v = "row " + std::to_string(i);
    Query(port, "INSERT INTO t VALUES ('" + v + "')");
    EXPECT_TRUE(Eventually(
        [&] { return OnTest(standby, "SELECT count(*) FROM t WHERE v = '" + v + "'") == "1"; },
        std::chrono::seconds(10)))
        << v;
  }
}

TEST_F(MultiAzPgTest, ACommitWaitsWhileTheStandbyIsPaused) {
  const int port = CreateMultiAz("test");
  ASSERT_GT(port, 0);
  const ServerSpec primary = Primary("test"), standby = Standby("test");
  ASSERT_TRUE(runtime_->Pause(standby).ok());
  auto insert = std::async(std::launch::async, [port] {
    return PsqlWithin(port, "INSERT INTO t VALUES ('waits')", std::chrono::seconds(180));
  });
  // The commit is written on the primary and waits for the standby's acknowledgement.
  EXPECT_TRUE(Eventually([&] {
    return On(primary, "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'") == "1";
  }));
  EXPECT_EQ(insert.wait_for(std::chrono::seconds(0)), std::future_status::timeout);

  ASSERT_TRUE(runtime_->Resume(standby).ok());
  ASSERT_EQ(insert.wait_for(std::chrono::seconds(120)), std::future_status::ready);
  const PsqlOutcome done = insert.get();
  EXPECT_EQ(done.exit_code, 0) << done.output;
  EXPECT_EQ(done.output.find("WARNING"), std::string::npos) << done.output;
  EXPECT_EQ(OnTest(standby, "SELECT count(*) FROM t WHERE v = 'waits'"), "1");
  EXPECT_TRUE(Eventually([&] { return SyncState("test") == "sync"; }));
}

TEST_F(MultiAzPgTest, AForcedFailoverKeepsTheEndpointAndEveryCommit) {
  const int port = CreateMultiAz("test");
  ASSERT_GT(port, 0);
  Query(port, "INSERT INTO t SELECT 'row ' || i FROM generate_series(1, 100) i");
  const json before = Describe("test");
  const int timeline = Timeline(Primary("test"));
  const size_t seen = EventIds("test").size();

  auto r = cp_->instances().RebootDBInstance(
      {{"DBInstanceIdentifier", "test"}, {"ForceFailover", true}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body["DBInstanceStatus"], "rebooting");
  EXPECT_EQ(WaitAvailable(r, "test"), port);
  ExpectFailedOver("test", port, 100, timeline, "b");
  json after = Describe("test");
  EXPECT_EQ(after["AvailabilityZone"], before["SecondaryAvailabilityZone"]);
  EXPECT_EQ(after["SecondaryAvailabilityZone"], before["AvailabilityZone"]);
  EXPECT_EQ(EventIds("test", seen),
            (std::vector<std::string>{"RDS-EVENT-0013", "RDS-EVENT-0004", "RDS-EVENT-0006",
                                      "RDS-EVENT-0015", "RDS-EVENT-0049", "RDS-EVENT-0052",
                                      "RDS-EVENT-0053"}));
}

TEST_F(MultiAzPgTest, AKilledPrimaryIsFailedOverByTheMonitorAndNeverRunsAgain) {
  const int port = CreateMultiAz("test");
  ASSERT_GT(port, 0);
  Query(port, "INSERT INTO t SELECT 'row ' || i FROM generate_series(1, 50) i");
  const int timeline = Timeline(Primary("test"));
  const fs::path old_host = Primary("test").pgdata;
  const auto killed = LocalRuntime::LivePostmasterPid(old_host);
  ASSERT_TRUE(killed.has_value());
  cp_->StartBackground();  // the health monitor and the reconciler run

  // From the kill on, every server on the old host is a standby off the endpoint's port.
  std::atomic<bool> stop{false};
  std::string violation;
  std::thread watcher([&] {
    localrds::Eventually(
        [&] {
          auto lines = PidFile(old_host);
          if (lines.size() >= 4 && std::atoi(lines[0].c_str()) != *killed &&
              kill(std::atoi(lines[0].c_str()), 0) == 0) {
            if (lines[3] == std::to_string(port)) {
              violation = "a server ran on the old host on the endpoint's port: pid " + lines[0];
            } else if (!fs::exists(old_host / "standby.signal")) {
              violation = "a server ran on the old host as a primary: pid " + lines[0];
            }
          }
          return stop.load() || !violation.empty();
        },
        std::chrono::minutes(5));
  });
  ASSERT_TRUE(runtime_->Kill(Primary("test")).ok());
  const bool failed_over = Eventually(
      [&] {
        return Idle() && MultiAz("test")["primary_host"] == "b" &&
               MultiAz("test")["standby"]["state"] == "ready";
      },
      std::chrono::seconds(120));
  stop = true;
  watcher.join();
  ASSERT_TRUE(failed_over) << MultiAz("test").dump();
  EXPECT_EQ(violation, "");
  ExpectFailedOver("test", port, 50, timeline, "b");
  EXPECT_EQ(Standby("test").pgdata, old_host);
  EXPECT_NE(LocalRuntime::LivePostmasterPid(old_host), killed);
  const auto ids = EventIds("test");
  EXPECT_EQ(std::count(ids.begin(), ids.end(), "RDS-EVENT-0049"), 1);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), "RDS-EVENT-0006"), 0);  // not a reboot
}

TEST_F(MultiAzPgTest, AFrozenPrimaryIsFencedAndFailedOver) {
  const int port = CreateMultiAz("test");
  ASSERT_GT(port, 0);
  Query(port, "INSERT INTO t SELECT 'row ' || i FROM generate_series(1, 10) i");
  const int timeline = Timeline(Primary("test"));
  const fs::path old_host = Primary("test").pgdata;
  const auto frozen = LocalRuntime::LivePostmasterPid(old_host);
  ASSERT_TRUE(frozen.has_value());
  ASSERT_TRUE(runtime_->Pause(Primary("test")).ok());
  std::string said;
  ASSERT_TRUE(Eventually([&] {
    said = cp_->ha_monitor().MonitorPrimariesOnce();
    return !said.empty();
  }));
  EXPECT_EQ(said.rfind("failing over test: the primary has not answered for ", 0), 0u) << said;
  ASSERT_TRUE(Eventually([&] { return Idle(); }, std::chrono::seconds(120)));
  EXPECT_NE(kill(*frozen, 0), 0) << "the frozen primary still exists";
  ExpectFailedOver("test", port, 10, timeline, "b");
  EXPECT_EQ(Standby("test").pgdata, old_host);
  EXPECT_EQ(cp_->ha_monitor().MonitorPrimariesOnce(), "");
}

TEST_F(MultiAzPgTest, MultiAzOffAndOnRemovesAndRebuildsTheStandby) {
  const int port = CreateMultiAz("test");
  ASSERT_GT(port, 0);
  Query(port, "INSERT INTO t VALUES ('multi-az')");
  const ServerSpec old_standby = Standby("test");

  auto off = cp_->instances().ModifyDBInstance(
      {{"DBInstanceIdentifier", "test"}, {"MultiAZ", false}, {"ApplyImmediately", true}});
  EXPECT_EQ(WaitAvailable(off, "test"), port);
  EXPECT_EQ(Describe("test")["MultiAZ"], false);
  EXPECT_FALSE(LocalRuntime::LivePostmasterPid(old_standby.pgdata).has_value());
  EXPECT_FALSE(fs::exists(old_standby.pgdata));
  EXPECT_EQ(On(Primary("test"), "SHOW synchronous_standby_names"), "");
  EXPECT_EQ(On(Primary("test"), "SELECT count(*) FROM pg_replication_slots"), "0");
  const PsqlOutcome single =
      PsqlWithin(port, "INSERT INTO t VALUES ('single-az')", std::chrono::seconds(60));
  EXPECT_EQ(single.exit_code, 0) << single.output;

  auto on = cp_->instances().ModifyDBInstance(
      {{"DBInstanceIdentifier", "test"}, {"MultiAZ", true}, {"ApplyImmediately", true}});
  EXPECT_EQ(WaitAvailable(on, "test"), port);
  EXPECT_EQ(Describe("test")["MultiAZ"], true);
  EXPECT_EQ(MultiAz("test")["standby"]["state"], "ready");
  EXPECT_EQ(SyncState("test"), "sync");
  EXPECT_EQ(OnTest(Standby("test"), "SELECT string_agg(v, ',' ORDER BY v) FROM t"),
            "multi-az,single-az");
  Query(port, "INSERT INTO t VALUES ('multi-az again')");
  EXPECT_EQ(OnTest(Standby("test"), "SELECT count(*) FROM t WHERE v = 'multi-az again'"), "1");
}

TEST_F(MultiAzPgTest, TheStandbyStreamsAgainAfterARebootAndAStopAndAStart) {
  const int port = CreateMultiAz("test");
  ASSERT_GT(port, 0);
  auto reboot = cp_->instances().RebootDBInstance({{"DBInstanceIdentifier", "test"}});
  EXPECT_EQ(WaitAvailable(reboot, "test"), port);
  EXPECT_TRUE(Eventually([&] { return SyncState("test") == "sync"; }, std::chrono::seconds(20)))
      << SyncState("test") << "; slots: "
      << On(Primary("test"), "SELECT string_agg(slot_name, ',') FROM pg_replication_slots")
      << "; the standby's log ends:\n"
      << LogTail(Standby("test").log_file);
  auto stop = cp_->instances().StopDBInstance({{"DBInstanceIdentifier", "test"}});
  ASSERT_TRUE(stop.ok()) << stop.status().ToString();
  Wait(stop->operation_id);
  EXPECT_FALSE(LocalRuntime::LivePostmasterPid(Standby("test").pgdata).has_value());
  auto start = cp_->instances().StartDBInstance({{"DBInstanceIdentifier", "test"}});
  EXPECT_EQ(WaitAvailable(start, "test"), port);
  EXPECT_TRUE(Eventually([&] { return SyncState("test") == "sync"; }, std::chrono::seconds(20)))
      << SyncState("test") << "; slots: "
      << On(Primary("test"), "SELECT string_agg(slot_name, ',') FROM pg_replication_slots")
      << "; the standby's log ends:\n"
      << LogTail(Standby("test").log_file);
  const PsqlOutcome insert =
      PsqlWithin(port, "INSERT INTO t VALUES ('after the start')", std::chrono::seconds(20));
  EXPECT_EQ(insert.exit_code, 0) << "the commit did not return: " << insert.output;
}

}  // namespace localrds
