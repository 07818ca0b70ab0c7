// Timing profiles in the control plane, over the fake runtime and the fixture's FakeClock: the
// operation's real work is done at once, its status (and for a reboot or a failover, the
// endpoint) follows the profile, no worker waits meanwhile, a restart resumes the rest of a hold,
// and the per-instance control switches an instance between fast and aws.
#include <future>
#include <memory>

#include "tests/unit/multi_az_fixture.h"

namespace localrds {
namespace {

class TimingControlTest : public MultiAzControlTest {
 protected:
  // True when operation `op` ends within `ms` of real time (the fake clock does not move).
  bool DoneWithin(int64_t op, int ms) {
    auto done = std::make_shared<std::promise<void>>();
    cp_->WhenOperationDone(op, [done] { done->set_value(); });
    return done->get_future().wait_for(std::chrono::milliseconds(ms)) == std::future_status::ready;
  }
  void SetTiming(const std::string& id, std::optional<TimingProfile> timing) {
    auto r = cp_->SetInstanceTiming(id, timing);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  // The date (fake clock, ms) of the instance's newest event with `message`; -1 when none.
  int64_t DateOf(const std::string& id, const std::string& message) {
    EventQuery q;
    q.source_identifier = id;
    q.limit = 1000;
    int64_t date = -1;
    for (const auto& e : catalog_->QueryEvents(q).value()) {
      if (e.message == message) date = e.date_ms;
    }
    return date;
  }
  bool Serving(const std::string& id, int port) {
    return runtime_.ServingPort(cp_->servers().Server(Row(id))) == port;
  }
};

TEST_F(TimingControlTest, ARebootUnderAwsKeepsTheServerDownAndRebootingForItsDuration) {
  Create("r");
  SetTiming("r", TimingProfile{true, 1.0});  // a reboot: 60 s
  const ServerSpec server = cp_->servers().Server(Row("r"));
  auto r = cp_->instances().RebootDBInstance({{"DBInstanceIdentifier", "r"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(DoneWithin(r->operation_id, 300));  // held, on no worker: the next call runs
  EXPECT_EQ(StatusOf("r"), "rebooting");
  EXPECT_FALSE(runtime_.IsRunning(server));  // the endpoint refuses connections
  clock_.Advance(59'999);
  EXPECT_FALSE(DoneWithin(r->operation_id, 300));
  EXPECT_EQ(StatusOf("r"), "rebooting");
  clock_.Advance(1);
  Wait(r->operation_id);
  EXPECT_EQ(StatusOf("r"), "available");
  EXPECT_TRUE(runtime_.IsRunning(server));
  EXPECT_EQ(DateOf("r", "DB instance restarted") - DateOf("r", "DB instance shutdown"), 60'000);
}

TEST_F(TimingControlTest, AForcedFailoverUnderAwsServesTheEndpointOnlyAfterItsDuration) {
  CreateMultiAz("m");
  const int port = Describe("m")["Endpoint"]["Port"];
  const std::string host = PrimaryHost("m");
  SetTiming("m", TimingProfile{true, 0.5});  // a failover: 45 s
  auto r = ForceFailover("m");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(DoneWithin(r->operation_id, 300));
  // The real work is done at once (the old primary fenced, the standby promoted); the endpoint
  // is not served and the instance is rebooting.
  EXPECT_NE(PrimaryHost("m"), host);
  EXPECT_EQ(StatusOf("m"), "rebooting");
  EXPECT_FALSE(Serving("m", port));
  EXPECT_EQ(DateOf("m", "Multi-AZ instance failover completed."), -1);
  clock_.Advance(44'999);
  EXPECT_FALSE(DoneWithin(r->operation_id, 300));
  EXPECT_FALSE(Serving("m", port));
  clock_.Advance(1);
  Wait(r->operation_id);
  EXPECT_EQ(StatusOf("m"), "available");
  EXPECT_TRUE(Serving("m", port));
  EXPECT_EQ(DateOf("m", "Multi-AZ instance failover completed.") -
                DateOf("m", "Multi-AZ instance failover started."),
            45'000);
  ExpectHealthy("m", "after a timed failover");
}

TEST_F(TimingControlTest, ARestartDuringAHeldFailoverWaitsOnlyForWhatIsLeft) {
  CreateMultiAz("m");
  const int port = Describe("m")["Endpoint"]["Port"];
  SetTiming("m", TimingProfile{true, 1.0});  // a failover: 90 s
  auto r = ForceFailover("m");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(DoneWithin(r->operation_id, 300));
  clock_.Advance(60'000);
  Restart();  // returns at once: a held operation keeps no start waiting
  EXPECT_EQ(StatusOf("m"), "rebooting");
  EXPECT_FALSE(Serving("m", port));
  clock_.Advance(29'999);
  EXPECT_FALSE(DoneWithin(r->operation_id, 300));
  clock_.Advance(1);
  Wait(r->operation_id);
  EXPECT_EQ(StatusOf("m"), "available");
  EXPECT_TRUE(Serving("m", port));
  EXPECT_EQ(CountEvents("m", "Multi-AZ instance failover completed."), 1);
  EXPECT_EQ(DateOf("m", "Multi-AZ instance failover completed.") -
                DateOf("m", "Multi-AZ instance failover started."),
            90'000);
}

TEST_F(TimingControlTest, TheControlSwitchesAnInstanceToFastEvenDuringAHold) {
  Create("a");
  Create("b");
  SetTiming("a", TimingProfile{true, 1.0});
  auto held = cp_->instances().RebootDBInstance({{"DBInstanceIdentifier", "a"}});
  auto fast = cp_->instances().RebootDBInstance({{"DBInstanceIdentifier", "b"}});
  ASSERT_TRUE(held.ok() && fast.ok());
  Wait(fast->operation_id);  // the server's profile (fast): b is not held
  EXPECT_EQ(StatusOf("b"), "available");
  EXPECT_FALSE(DoneWithin(held->operation_id, 300));
  EXPECT_EQ((*cp_->InstanceTiming("a"))["own"],
            (nlohmann::json{{"profile", "aws"}, {"scale", 1.0}}));
  SetTiming("a", TimingProfile{});
  Wait(held->operation_id);  // no clock moved
  EXPECT_EQ(StatusOf("a"), "available");
  // Kept in the catalog: a restart keeps it; cleared, the instance follows the server again.
  Restart();
  EXPECT_EQ((*cp_->InstanceTiming("a"))["own"], (nlohmann::json{{"profile", "fast"}}));
  SetTiming("a", std::nullopt);
  const nlohmann::json t = *cp_->InstanceTiming("a");
  EXPECT_TRUE(t["own"].is_null());
  EXPECT_EQ(t["timing"], (nlohmann::json{{"profile", "fast"}}));
  EXPECT_EQ(t["server"], (nlohmann::json{{"profile", "fast"}}));
  ExpectError(cp_->SetInstanceTiming("nope", TimingProfile{}).status(), "DBInstanceNotFound", 404,
              "DBInstance nope not found.");
  ExpectError(cp_->InstanceTiming("nope").status(), "DBInstanceNotFound", 404,
              "DBInstance nope not found.");
}

TEST_F(TimingControlTest, ASnapshotIsCreatingWithItsProgressForItsDurationItsFilesTakenAtOnce) {
  Create("s");
  SetTiming("s", TimingProfile{true, 1.0});  // a snapshot: 180 s
  auto r = cp_->snapshots().CreateDBSnapshot(
      {{"DBInstanceIdentifier", "s"}, {"DBSnapshotIdentifier", "snap"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto snapshot = [&] {
    return (*cp_->snapshots().DescribeDBSnapshots(
        {{"DBSnapshotIdentifier", "snap"}}))["DBSnapshots"][0];
  };
  EXPECT_FALSE(DoneWithin(r->operation_id, 300));
  EXPECT_EQ(snapshot()["Status"], "creating");
  EXPECT_EQ(snapshot()["PercentProgress"], 0);
  EXPECT_EQ(StatusOf("s"), "backing-up");
  clock_.Advance(90'000);
  EXPECT_TRUE(Eventually([&] { return snapshot()["PercentProgress"] == 50; }));
  EXPECT_EQ(snapshot()["Status"], "creating");
  clock_.Advance(90'000);
  Wait(r->operation_id);
  EXPECT_EQ(snapshot()["Status"], "available");
  EXPECT_EQ(snapshot()["PercentProgress"], 100);
  EXPECT_EQ(StatusOf("s"), "available");
}

TEST_F(TimingControlTest, AnInstanceMadeFromAnotherFollowsTheServersProfile) {
  Create("src");
  SetTiming("src", TimingProfile{true, 0.001});
  auto snap = cp_->snapshots().CreateDBSnapshot(
      {{"DBInstanceIdentifier", "src"}, {"DBSnapshotIdentifier", "s1"}});
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  clock_.Advance(1'000);  // past the snapshot's 0.18 s
  Wait(snap->operation_id);
  auto restored = cp_->snapshots().RestoreDBInstanceFromDBSnapshot(
      {{"DBInstanceIdentifier", "restored"}, {"DBSnapshotIdentifier", "s1"}});
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  Wait(restored->operation_id);
  auto replica = cp_->replicas().CreateDBInstanceReadReplica(
      {{"DBInstanceIdentifier", "replica"}, {"SourceDBInstanceIdentifier", "src"}});
  ASSERT_TRUE(replica.ok()) << replica.status().ToString();
  Wait(replica->operation_id);
  for (const char* id : {"restored", "replica"}) {
    SCOPED_TRACE(id);
    EXPECT_EQ(StatusOf(id), "available");
    const nlohmann::json t = *cp_->InstanceTiming(id);
    EXPECT_TRUE(t["own"].is_null());
    EXPECT_EQ(t["timing"], (nlohmann::json{{"profile", "fast"}}));
  }
  EXPECT_EQ((*cp_->InstanceTiming("src"))["own"]["profile"], "aws");
}

// The server's profile: a create holds `creating` for its duration, after its real work.
class ServerTimingTest : public ControlPlaneTest {
 protected:
  void Tune(EmulatorConfig& config) override { config.timing = TimingProfile{true, 1.0}; }
};

TEST_F(ServerTimingTest, ACreateIsCreatingForItsDurationWithItsServerAlreadyUp) {
  auto r = cp_->instances().CreateDBInstance(CreateReq("c"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const std::string rid = Describe("c")["DbiResourceId"];
  ServerSpec s;
  s.pgdata = layout_->PgData(rid);
  ASSERT_TRUE(Eventually([&] { return runtime_.Running().count(s.pgdata.string()) > 0; }));
  EXPECT_EQ(StatusOf("c"), "creating");
  clock_.Advance(599'999);
  auto done = std::make_shared<std::promise<void>>();
  cp_->WhenOperationDone(r->operation_id, [done] { done->set_value(); });
  EXPECT_NE(done->get_future().wait_for(std::chrono::milliseconds(300)), std::future_status::ready);
  EXPECT_EQ(StatusOf("c"), "creating");
  clock_.Advance(1);
  Wait(r->operation_id);
  EXPECT_EQ(StatusOf("c"), "available");
}

}  // namespace
}  // namespace localrds
