// Pending modifications applied at reboot and in the maintenance window (on the fixture's fake
// clock), a crash at every step of applying them, the pending maintenance actions, and
// ModifyDBSnapshot, over the fake runtime.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "emulator/core/maintenance_window.h"
#include "tests/unit/control_plane_fixture.h"

namespace localrds {
namespace {

using json = nlohmann::json;
using testing::Contains;

// Monday 2024-01-01 00:00 UTC.
constexpr int64_t kMonday = 1704067200000;
constexpr int64_t kHourMs = 3600 * 1000;

class MaintenanceTest : public ControlPlaneTest {
 protected:
  // An instance with its windows where the tests expect them, and a class change and a storage
  // increase left pending (ApplyImmediately=false).
  void CreateWithPending(const std::string& id) {
    Create(id);
    auto m =
        cp_->instances().ModifyDBInstance({{"DBInstanceIdentifier", id},
                                           {"PreferredMaintenanceWindow", "Mon:10:00-Mon:11:00"},
                                           {"PreferredBackupWindow", "03:00-03:30"},
                                           {"DBInstanceClass", "db.t3.small"},
                                           {"AllocatedStorage", 30},
                                           {"ApplyImmediately", false}});
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    EXPECT_EQ(m->operation_id, 0);
    json d = Describe(id);
    EXPECT_EQ(d["DBInstanceStatus"], "available");
    EXPECT_EQ(d["DBInstanceClass"], "db.t3.micro");
    EXPECT_EQ(d["PendingModifiedValues"]["DBInstanceClass"], "db.t3.small");
    EXPECT_EQ(d["PendingModifiedValues"]["AllocatedStorage"], 30);
    EXPECT_EQ(d["PreferredMaintenanceWindow"], "mon:10:00-mon:11:00");
  }
  void ExpectApplied(const std::string& id) {
    json d = Describe(id);
    EXPECT_EQ(d["DBInstanceStatus"], "available");
    EXPECT_EQ(d["DBInstanceClass"], "db.t3.small");
    EXPECT_EQ(d["AllocatedStorage"], 30);
    EXPECT_TRUE(d["PendingModifiedValues"].empty()) << d["PendingModifiedValues"];
  }
};

TEST_F(MaintenanceTest, RebootAppliesPendingModificationsAndRestartsTheServer) {
  CreateWithPending("test");
  const int starts = runtime_.Starts();
  auto r = cp_->instances().RebootDBInstance({{"DBInstanceIdentifier", "test"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body["DBInstanceStatus"], "rebooting");
  // While it reboots, the values are still the pending ones.
  EXPECT_EQ(r->body["PendingModifiedValues"]["DBInstanceClass"], "db.t3.small");
  Wait(r->operation_id);
  ExpectApplied("test");
  EXPECT_GT(runtime_.Starts(), starts);  // the server really restarted
  auto events = EventMessages("test");
  EXPECT_THAT(events, Contains("DB instance shutdown"));
  EXPECT_THAT(events, Contains("DB instance restarted"));
  EXPECT_THAT(events,
              Contains(testing::HasSubstr("Finished applying modification to DB instance class")));
  // A reboot with nothing pending is a plain reboot.
  auto again = cp_->instances().RebootDBInstance({{"DBInstanceIdentifier", "test"}});
  ASSERT_TRUE(again.ok());
  Wait(again->operation_id);
  EXPECT_EQ(StatusOf("test"), "available");
}

TEST_F(MaintenanceTest, MaintenanceWindowAppliesPendingModifications) {
  CreateWithPending("test");
  clock_.Set(kMonday + 9 * kHourMs);  // Monday 09:00: the window opens at 10:00
  EXPECT_EQ(cp_->maintenance().ApplyInMaintenanceWindowsOnce(), "");
  EXPECT_EQ(Describe("test")["PendingModifiedValues"]["DBInstanceClass"], "db.t3.small");
  clock_.Set(kMonday + 11 * kHourMs);  // 11:00: closed again
  EXPECT_EQ(cp_->maintenance().ApplyInMaintenanceWindowsOnce(), "");
  clock_.Set(kMonday + 7 * 24 * kHourMs + 10 * kHourMs + 15 * 60000);  // next Monday 10:15
  EXPECT_EQ(cp_->maintenance().ApplyInMaintenanceWindowsOnce(),
            "applying the pending modifications of test in its maintenance window.");
  EXPECT_TRUE(Eventually([&] { return StatusOf("test") == "available"; }));
  ExpectApplied("test");
  EXPECT_EQ(cp_->maintenance().ApplyInMaintenanceWindowsOnce(), "");  // nothing left
}

TEST_F(MaintenanceTest, PendingRenameAndBackupsApplyInTheWindow) {
  Create("test");
  auto m = cp_->instances().ModifyDBInstance({{"DBInstanceIdentifier", "test"},
                                              {"PreferredMaintenanceWindow", "sun:23:45-mon:00:15"},
                                              {"PreferredBackupWindow", "03:00-03:30"},
                                              {"NewDBInstanceIdentifier", "renamed"},
                                              {"BackupRetentionPeriod", 0}});
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  json pending = Describe("test")["PendingModifiedValues"];
  EXPECT_EQ(pending["DBInstanceIdentifier"], "renamed");
  EXPECT_EQ(pending["BackupRetentionPeriod"], 0);
  clock_.Set(kMonday + 5 * 60000);  // Monday 00:05, inside a window across midnight
  EXPECT_NE(cp_->maintenance().ApplyInMaintenanceWindowsOnce(), "");
  EXPECT_TRUE(Eventually([&] {
    auto r = cp_->instances().DescribeDBInstances({{"DBInstanceIdentifier", "renamed"}});
    return r.ok() && (*r)["DBInstances"][0]["DBInstanceStatus"] == "available";
  }));
  json d = Describe("renamed");
  EXPECT_EQ(d["BackupRetentionPeriod"], 0);
  EXPECT_TRUE(d["PendingModifiedValues"].empty()) << d["PendingModifiedValues"];
  auto events = cp_->metadata().DescribeEvents({{"SourceType", "db-instance"}});
  ASSERT_TRUE(events.ok());
  std::vector<std::string> messages;
  for (auto& e : (*events)["Events"]) messages.push_back(e["Message"]);
  EXPECT_THAT(messages, Contains("Automated backups for this DB instance have been disabled"));
  EXPECT_THAT(messages, Contains("Renamed instance from test to renamed"));
}

// Under a timing profile a reboot that applies pending values keeps the server down for the
// reboot's duration, as a plain reboot does.
TEST_F(MaintenanceTest, RebootWithPendingValuesFollowsTheTimingProfile) {
  CreateWithPending("test");
  ASSERT_TRUE(cp_->SetInstanceTiming("test", TimingProfile{true, 1.0}).ok());  // a reboot: 60 s
  const std::string pgdata = layout_->PgData(Describe("test")["DbiResourceId"]).string();
  auto r = cp_->instances().RebootDBInstance({{"DBInstanceIdentifier", "test"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(Eventually([&] { return !runtime_.Running().count(pgdata); }));
  EXPECT_EQ(StatusOf("test"), "rebooting");
  clock_.Advance(60'000);
  Wait(r->operation_id);
  ExpectApplied("test");
  EXPECT_TRUE(runtime_.Running().count(pgdata));
}

// ApplyImmediately applies this request and what earlier ones left pending.
TEST_F(MaintenanceTest, ApplyImmediatelyAlsoAppliesWhatWasPending) {
  Create("test");
  auto later = cp_->instances().ModifyDBInstance({{"DBInstanceIdentifier", "test"},
                                                  {"DBInstanceClass", "db.t3.small"},
                                                  {"BackupRetentionPeriod", 0}});
  ASSERT_TRUE(later.ok()) << later.status().ToString();
  EXPECT_EQ(later->operation_id, 0);
  auto now = cp_->instances().ModifyDBInstance(
      {{"DBInstanceIdentifier", "test"}, {"AllocatedStorage", 30}, {"ApplyImmediately", true}});
  ASSERT_TRUE(now.ok()) << now.status().ToString();
  EXPECT_EQ(now->body["DBInstanceStatus"], "modifying");
  Wait(now->operation_id);
  json d = Describe("test");
  EXPECT_EQ(d["DBInstanceClass"], "db.t3.small");
  EXPECT_EQ(d["AllocatedStorage"], 30);
  EXPECT_EQ(d["BackupRetentionPeriod"], 0);
  EXPECT_TRUE(d["PendingModifiedValues"].empty()) << d["PendingModifiedValues"];
  auto events = EventMessages("test");
  EXPECT_THAT(events, Contains("Finished applying modification to DB instance class"));
  EXPECT_THAT(events, Contains("Automated backups for this DB instance have been disabled"));
  // A value the request sets anew wins over the pending one.
  ASSERT_TRUE(cp_->instances()
                  .ModifyDBInstance({{"DBInstanceIdentifier", "test"},
                                     {"DBInstanceClass", "db.t3.medium"},
                                     {"ApplyImmediately", false}})
                  .ok());
  auto anew = cp_->instances().ModifyDBInstance({{"DBInstanceIdentifier", "test"},
                                                 {"DBInstanceClass", "db.t3.large"},
                                                 {"ApplyImmediately", true}});
  ASSERT_TRUE(anew.ok()) << anew.status().ToString();
  Wait(anew->operation_id);
  d = Describe("test");
  EXPECT_EQ(d["DBInstanceClass"], "db.t3.large");
  EXPECT_TRUE(d["PendingModifiedValues"].empty()) << d["PendingModifiedValues"];
}

TEST_F(MaintenanceTest, CrashAtEveryStepOfApplyingAtRebootRecovers) {
  for (int step = 0; step < 9; ++step) {
    const std::string id = "crash" + std::to_string(step);
    CreateWithPending(id);
    OperationEngine::SetCrashHook(
        [step](const std::string& kind, int s) { return !(kind == "modify" && s == step); });
    auto r = cp_->instances().RebootDBInstance({{"DBInstanceIdentifier", id}});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    Wait(r->operation_id);
    EXPECT_EQ(StatusOf(id), "rebooting") << step;
    Restart();
    EXPECT_TRUE(Eventually([&] { return StatusOf(id) == "available"; })) << step;
    ExpectApplied(id);
    std::string rid = Describe(id)["DbiResourceId"];
    EXPECT_TRUE(runtime_.Running().count(layout_->PgData(rid).string())) << step;
  }
}

TEST_F(MaintenanceTest, PendingMaintenanceActions) {
  Create("test");
  const std::string arn = Describe("test")["DBInstanceArn"];
  auto all = cp_->maintenance().DescribePendingMaintenanceActions(json::object());
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, (json{{"PendingMaintenanceActions", json::array()}}));
  auto one = cp_->maintenance().DescribePendingMaintenanceActions(
      {{"ResourceIdentifier", arn},
       {"Filters", {{{"Name", "db-instance-id"}, {"Values", {"test"}}}}},
       {"MaxRecords", 20}});
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  EXPECT_TRUE((*one)["PendingMaintenanceActions"].empty());
  const std::string missing = "arn:aws:rds:us-east-1:000000000000:db:nope";
  ExpectError(cp_->maintenance()
                  .DescribePendingMaintenanceActions({{"ResourceIdentifier", missing}})
                  .status(),
              "ResourceNotFoundFault", 404,
              "The specified resource ARN " + missing + " was not found.");
  ExpectError(cp_->maintenance()
                  .DescribePendingMaintenanceActions(
                      {{"Filters", {{{"Name", "engine"}, {"Values", {"postgres"}}}}}})
                  .status(),
              "InvalidParameterValue", 400, "Unrecognized filter name: engine.");
  ExpectError(cp_->maintenance().DescribePendingMaintenanceActions({{"MaxRecords", 5}}).status(),
              "InvalidParameterValue", 400, testing::HasSubstr("MaxRecords"));

  ExpectError(cp_->maintenance()
                  .ApplyPendingMaintenanceAction({{"ResourceIdentifier", arn},
                                                  {"ApplyAction", "db-upgrade"},
                                                  {"OptInType", "immediate"}})
                  .status(),
              "InvalidParameterCombination", 400,
              "There is no pending db-upgrade action for " + arn);
  ExpectError(cp_->maintenance()
                  .ApplyPendingMaintenanceAction({{"ResourceIdentifier", missing},
                                                  {"ApplyAction", "system-update"},
                                                  {"OptInType", "next-maintenance"}})
                  .status(),
              "ResourceNotFoundFault", 404,
              "The specified resource ARN " + missing + " was not found.");
  ExpectError(cp_->maintenance()
                  .ApplyPendingMaintenanceAction({{"ResourceIdentifier", arn},
                                                  {"ApplyAction", "system-update"},
                                                  {"OptInType", "later"}})
                  .status(),
              "InvalidParameterValue", 400,
              "Invalid value later for OptInType. Valid values are: immediate, next-maintenance, "
              "undo-opt-in.");
}

TEST_F(MaintenanceTest, ModifyDBSnapshot) {
  Create("test");
  auto snap = cp_->snapshots().CreateDBSnapshot(
      {{"DBInstanceIdentifier", "test"}, {"DBSnapshotIdentifier", "snap"}});
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  Wait(snap->operation_id);
  ExpectError(cp_->maintenance().ModifyDBSnapshot({{"DBSnapshotIdentifier", ""}}).status(),
              "InvalidParameterValue", 400,
              "The parameter DBSnapshotIdentifier must be provided and must not be blank.");
  ExpectError(cp_->maintenance().ModifyDBSnapshot({{"DBSnapshotIdentifier", "nope"}}).status(),
              "DBSnapshotNotFound", 404, "DBSnapshot nope not found.");
  const std::string version = snap->body["EngineVersion"];
  auto same = cp_->maintenance().ModifyDBSnapshot(
      {{"DBSnapshotIdentifier", "snap"}, {"EngineVersion", version}});
  ASSERT_TRUE(same.ok()) << same.status().ToString();
  EXPECT_EQ(same->body["DBSnapshotIdentifier"], "snap");
  EXPECT_EQ(same->body["EngineVersion"], version);
  ExpectError(cp_->maintenance()
                  .ModifyDBSnapshot({{"DBSnapshotIdentifier", "snap"}, {"EngineVersion", "99.1"}})
                  .status(),
              "InvalidParameterCombination", 400,
              "Cannot find upgrade path from " + version + " to 99.1.");
  ExpectError(cp_->maintenance()
                  .ModifyDBSnapshot({{"DBSnapshotIdentifier", "snap"}, {"EngineVersion", "9.6"}})
                  .status(),
              "InvalidParameterCombination", 400,
              "Cannot upgrade postgres from " + version + " to 9.6");
  ExpectError(cp_->maintenance()
                  .ModifyDBSnapshot({{"DBSnapshotIdentifier", "snap"}, {"OptionGroupName", "mine"}})
                  .status(),
              "InvalidParameterCombination", 400,
              "OptionGroupName can be specified only when upgrading an Oracle DB snapshot.");
  // A snapshot taken before the installed minor came: relabelled to it, and it stays so.
  {
    SnapshotRow older;
    {
      Registry::Locked reg = cp_->registry().Lock();
      older = *reg.FindSnapshot(cp_->registry().DefaultScope(), "snap");
    }
    older.attrs["_instance"]["EngineVersion"] = "15.2";
    Mutation m;
    m.put_snapshots.push_back(older);
    ASSERT_TRUE(cp_->registry().Commit(m).ok());
  }
  auto upgraded = cp_->maintenance().ModifyDBSnapshot(
      {{"DBSnapshotIdentifier", "snap"}, {"EngineVersion", "15.18"}});
  ASSERT_TRUE(upgraded.ok()) << upgraded.status().ToString();
  EXPECT_EQ(upgraded->body["EngineVersion"], "15.18");
  Restart();
  auto described = cp_->snapshots().DescribeDBSnapshots({{"DBSnapshotIdentifier", "snap"}});
  ASSERT_TRUE(described.ok());
  EXPECT_EQ((*described)["DBSnapshots"][0]["EngineVersion"], "15.18");
  ExpectError(cp_->maintenance()
                  .ModifyDBSnapshot({{"DBSnapshotIdentifier", "snap"}, {"EngineVersion", "15.2"}})
                  .status(),
              "InvalidParameterCombination", 400, "Cannot upgrade postgres from 15.18 to 15.2");
  auto automated = cp_->snapshots().DescribeDBSnapshots({{"SnapshotType", "automated"}});
  ASSERT_TRUE(automated.ok());
  ASSERT_FALSE((*automated)["DBSnapshots"].empty());
  const std::string auto_id = (*automated)["DBSnapshots"][0]["DBSnapshotIdentifier"];
  ExpectError(
      cp_->maintenance()
          .ModifyDBSnapshot({{"DBSnapshotIdentifier", auto_id}, {"EngineVersion", version}})
          .status(),
      "InvalidDBSnapshotState", 400,
      "Only manual DB snapshots can be upgraded: " + auto_id + " is an automated snapshot.");
}

// The maintenance-window rules as ModifyDBInstance and CreateDBInstance answer them.
TEST_F(MaintenanceTest, WindowRulesThroughTheActions) {
  Create("test");
  ExpectError(cp_->instances()
                  .ModifyDBInstance({{"DBInstanceIdentifier", "test"},
                                     {"PreferredMaintenanceWindow", "mon:10:00-mon:10:10"}})
                  .status(),
              "InvalidParameterValue", 400, "The maintenance window must be at least 30 minutes.");
  ExpectError(cp_->instances()
                  .ModifyDBInstance({{"DBInstanceIdentifier", "test"},
                                     {"PreferredBackupWindow", "10:00-10:30"},
                                     {"PreferredMaintenanceWindow", "mon:10:15-mon:10:45"}})
                  .status(),
              "InvalidParameterValue", 400,
              "The backup window and maintenance window must not overlap.");
  json req = CreateReq("other");
  req["PreferredMaintenanceWindow"] = "monday";
  ExpectError(cp_->instances().CreateDBInstance(req).status(), "InvalidParameterValue", 400,
              testing::StartsWith("Invalid maintenance window format: monday."));
  ExpectError(
      cp_->snapshots()
          .CreateDBSnapshot({{"DBInstanceIdentifier", "test"}, {"DBSnapshotIdentifier", ""}})
          .status(),
      "InvalidParameterValue", 400,
      "The parameter DBSnapshotIdentifier must be provided and must not be blank.");
  ExpectError(
      cp_->snapshots()
          .CreateDBSnapshot({{"DBInstanceIdentifier", "test"}, {"DBSnapshotIdentifier", "-x"}})
          .status(),
      "InvalidParameterValue", 400, "Invalid snapshot identifier:  -x");
}

// Where a weekly window lies: days, hours and minutes in UTC, and windows across midnight and
// across the end of the week.
TEST(MaintenanceWindowTest, OpenWhenTheWeekSaysSo) {
  const int64_t minute = 60000;
  EXPECT_TRUE(MaintenanceWindowOpen("mon:10:00-mon:11:00", kMonday + 10 * kHourMs));
  EXPECT_TRUE(MaintenanceWindowOpen("mon:10:00-mon:11:00", kMonday + 11 * kHourMs - minute));
  EXPECT_FALSE(MaintenanceWindowOpen("mon:10:00-mon:11:00", kMonday + 11 * kHourMs));
  EXPECT_FALSE(MaintenanceWindowOpen("mon:10:00-mon:11:00", kMonday + 24 * kHourMs + 10 * kHourMs));
  EXPECT_TRUE(MaintenanceWindowOpen("tue:23:45-wed:00:15", kMonday + 47 * kHourMs + 50 * minute));
  EXPECT_TRUE(MaintenanceWindowOpen("tue:23:45-wed:00:15", kMonday + 48 * kHourMs + 5 * minute));
  EXPECT_TRUE(MaintenanceWindowOpen("sun:23:45-mon:00:15", kMonday - 10 * minute));
  EXPECT_TRUE(MaintenanceWindowOpen("SUN:23:45-MON:00:15", kMonday + 14 * minute));
  EXPECT_FALSE(MaintenanceWindowOpen("sun:23:45-mon:00:15", kMonday + 15 * minute));
  EXPECT_FALSE(MaintenanceWindowOpen("someday", kMonday));
  EXPECT_FALSE(MaintenanceWindowOpen("", kMonday));
}

}  // namespace
}  // namespace localrds
