// MultiAzControlTest: ControlPlaneTest with a fast health monitor and a fake standby that streams
// and is in sync, plus the Multi-AZ helpers its suites share: create a Multi-AZ instance, read
// its two servers' settings, its events and its standby's state, run the monitor until it acts,
// force a failover, and check everything a healthy Multi-AZ instance is.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "emulator/core/instance_state.h"
#include "tests/eventually.h"
#include "tests/unit/control_plane_fixture.h"

namespace localrds {

class MultiAzControlTest : public ControlPlaneTest {
 protected:
  // The health monitor's timings, on the fixture's fake clock: a probe every 10 ms, a primary hung
  // after 1 s without an answer.
  static constexpr std::chrono::milliseconds kHungAfter{1000};

  void SetUp() override {
    ControlPlaneTest::SetUp();
    InSync(true);
  }
  void Tune(EmulatorConfig& config) override {
    config.monitor_interval = std::chrono::milliseconds(10);
    config.probe_interval = std::chrono::milliseconds(10);
    config.probe_timeout = std::chrono::milliseconds(100);
    config.hung_after = kHungAfter;
  }
  // What the fake standby's WAL receiver and the primary's pg_stat_replication report.
  void InSync(bool yes) {
    Streaming(yes);
    runtime_.AnswerQuery("sync_state = 'sync' AND flush_lsn >= ", yes ? "t" : "f");
  }
  void Streaming(bool yes) {
    runtime_.AnswerQuery("SELECT coalesce((SELECT status FROM pg_stat_wal_receiver), '')",
                         yes ? "streaming" : "");
  }
  nlohmann::json MultiAzReq(const std::string& id) {
    nlohmann::json req = CreateReq(id);
    req["MultiAZ"] = true;
    return req;
  }
  Accepted CreateMultiAz(const std::string& id) {
    auto r = cp_->instances().CreateDBInstance(MultiAzReq(id));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return {};
    Wait(r->operation_id);
    EXPECT_EQ(StatusOf(id), "available");
    return *r;
  }
  std::string Rid(const std::string& id) { return Describe(id)["DbiResourceId"]; }
  InstanceRow Row(const std::string& id) { return *cp_->registry().GetInstance(Rid(id)); }
  nlohmann::json MultiAzDetails(const std::string& id) {
    auto d = cp_->InstanceDetails(id);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? (*d)["multi_az"] : nlohmann::json();
  }
  std::string StandbyState(const std::string& id) {
    return MultiAzDetails(id)["standby"].value("state", "");
  }
  std::string PrimaryHost(const std::string& id) {
    return MultiAzDetails(id).value("primary_host", "");
  }
  std::filesystem::path HostPgData(const std::string& id, const std::string& host) {
    return layout_->HostPgData(Rid(id), host);
  }
  static std::string ReadFile(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  static int Occurrences(const std::string& text, const std::string& what) {
    int n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  }
  std::string PrimaryConf(const std::string& id) {
    return ReadFile(cp_->servers().Server(Row(id)).pgdata / "localrds.conf");
  }
  std::string StandbyConf(const std::string& id) {
    return ReadFile(cp_->servers().StandbyServer(Row(id)).pgdata / "localrds.conf");
  }
  // The instance's events as (RDS event id, message), oldest first.
  std::vector<std::pair<std::string, std::string>> Events(const std::string& id) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& e : cp_->EventsWithIds(1000).value()) {
      if (e["source_identifier"] == id) out.emplace_back(e["event_id"], e["message"]);
    }
    return out;
  }
  // The events of `id` after the first `skip`.
  std::vector<std::pair<std::string, std::string>> EventsSince(const std::string& id, size_t skip) {
    auto all = Events(id);
    return {all.begin() + static_cast<std::ptrdiff_t>(std::min(skip, all.size())), all.end()};
  }
  int CountEvents(const std::string& id, const std::string& message) {
    int n = 0;
    for (const auto& [event_id, m] : Events(id)) n += m == message;
    return n;
  }
  // Waits until no operation is unfinished in the catalog: the monitor and the reconciler start
  // theirs without handing out its id.
  void WaitIdle() {
    ASSERT_TRUE(
        localrds::Eventually([&] { return catalog_->LoadUnfinishedOperations().value().empty(); },
                             std::chrono::seconds(30)));
  }
  // Runs the health monitor's passes until one does something; returns what it said ("" when
  // none did within 30 s, a failure).
  // One pass of the health monitor, then a quarter of hung_after on the fake clock once every
  // probe the pass sent has its answer; returns what the pass said.
  std::string MonitorStep() {
    const std::string said = cp_->ha_monitor().MonitorPrimariesOnce();
    EXPECT_TRUE(localrds::Eventually([&] { return !cp_->ha_monitor().ProbeInFlight(); },
                                     std::chrono::seconds(10)))
        << "a probe never ended";
    clock_.Advance(kHungAfter.count() / 4);
    return said;
  }
  // Monitor steps until the monitor acts (at most three times hung_after); returns what it said.
  std::string MonitorUntilItActs() {
    for (int step = 0; step < 12; ++step) {
      const std::string said = MonitorStep();
      if (!said.empty()) return said;
    }
    ADD_FAILURE() << "the health monitor did not act within 3 x hung_after";
    return "";
  }
  Result<Accepted> ForceFailover(const std::string& id) {
    return cp_->instances().RebootDBInstance(
        {{"DBInstanceIdentifier", id}, {"ForceFailover", true}});
  }
  // Everything a healthy Multi-AZ instance is after a failover or a standby build: available,
  // the primary on the endpoint's port with synchronous replication on, the hidden standby on
  // its socket-only port streaming from it, nothing else of this instance running.
  void ExpectHealthy(const std::string& id, const std::string& where) {
    SCOPED_TRACE(where);
    const InstanceRow row = Row(id);
    const ServerSpec primary = cp_->servers().Server(row),
                     standby = cp_->servers().StandbyServer(row);
    EXPECT_EQ(row.status, DbStatus::kAvailable);
    EXPECT_EQ(StandbyState(id), "ready");
    EXPECT_NE(primary.pgdata, standby.pgdata);
    EXPECT_EQ(runtime_.ServingPort(primary), row.port);
    EXPECT_EQ(runtime_.ServingPort(standby), row.attrs.value("_standby_port", -1));
    EXPECT_NE(row.attrs.value("_standby_port", -1), row.port);
    int servers = 0;
    for (const auto& path : runtime_.Running())
      servers += path.find(row.resource_id) != std::string::npos;
    EXPECT_EQ(servers, 2);
    const std::string p = PrimaryConf(id), s = StandbyConf(id);
    EXPECT_NE(p.find("listen_addresses = '127.0.0.1'"), std::string::npos) << p;
    EXPECT_EQ(Occurrences(p, "synchronous_standby_names = 'localrds_standby'\n"), 1) << p;
    EXPECT_EQ(p.find("primary_conninfo"), std::string::npos) << p;
    EXPECT_NE(s.find("listen_addresses = ''\n"), std::string::npos) << s;
    EXPECT_NE(s.find("port=" + std::to_string(row.port) + " user=rdsrepladmin password="),
              std::string::npos)
        << s;
    EXPECT_NE(s.find(" application_name=localrds_standby"), std::string::npos) << s;
    EXPECT_EQ(s.find("synchronous_standby_names"), std::string::npos) << s;
    EXPECT_TRUE(std::filesystem::exists(standby.pgdata / "standby.signal"));
  }
};

}  // namespace localrds
