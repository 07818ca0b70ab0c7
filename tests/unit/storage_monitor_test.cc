// The storage monitor over the fake runtime: its decisions (full, the 90% warning, when and by
// how much it autoscales), what it records (status storage-full, RDS's events), and the way out
// (ModifyDBInstance AllocatedStorage, with RDS's rules), across a restart of localrds. The size
// of an instance is a number the test sets; the clock is fake.
#include "emulator/background/storage_monitor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>

#include "tests/unit/control_plane_fixture.h"

namespace localrds {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kMiB = 1LL << 20;

TEST(StorageDecisionTest, AutoscaleGrowsByTheGreaterOfTenUnitsAndTenPercentWithinTheMaximum) {
  EXPECT_EQ(AutoscaleTarget(20, 1000), 30);    // 10 units > 10% (2)
  EXPECT_EQ(AutoscaleTarget(200, 1000), 220);  // 10% (20) > 10 units
  EXPECT_EQ(AutoscaleTarget(105, 1000), 116);  // 10% rounded up
  EXPECT_EQ(AutoscaleTarget(20, 25), 25);      // never above MaxAllocatedStorage
  EXPECT_EQ(AutoscaleTarget(20, 20), 0);       // nowhere to grow
  EXPECT_EQ(AutoscaleTarget(30, 20), 0);
}

TEST(StorageDecisionTest, WaitsScaleWithTheUnit) {
  EXPECT_EQ(ScaledMs(kAutoscaleLowForMs, kGiB), 5 * 60 * 1000);
  EXPECT_EQ(ScaledMs(kAutoscaleCooldownMs, kGiB), 6 * 3600 * 1000);
  EXPECT_EQ(ScaledMs(kAutoscaleLowForMs, kMiB), 292);      // 300 s / 1024
  EXPECT_EQ(ScaledMs(kAutoscaleCooldownMs, kMiB), 21093);  // 6 h / 1024
}

StorageView View(int64_t used_mib, int64_t allocated, int64_t max_allocated = 0) {
  StorageView v;
  v.used_bytes = used_mib * kMiB;
  v.allocated = allocated;
  v.max_allocated = max_allocated;
  v.unit_bytes = kMiB;
  v.now_ms = 1000000;
  v.low_since_ms = v.now_ms;
  return v;
}

TEST(StorageDecisionTest, FullOnlyPastTheAllocationAndWarnedPastNinetyPercent) {
  StorageDecision d = DecideStorage(View(18, 20));
  EXPECT_FALSE(d.full);
  EXPECT_FALSE(d.above_90);  // exactly 90%
  EXPECT_TRUE(d.low);        // free 10%: autoscaling's condition
  d = DecideStorage(View(19, 20));
  EXPECT_TRUE(d.above_90);
  EXPECT_FALSE(d.full);
  EXPECT_FALSE(DecideStorage(View(20, 20)).full);  // exactly full still fits
  d = DecideStorage(View(21, 20));
  EXPECT_TRUE(d.full);
  EXPECT_TRUE(d.low);
  EXPECT_FALSE(DecideStorage(View(17, 20)).low);
}

TEST(StorageDecisionTest, AutoscalesOnlyAfterFiveMinutesLowAndSixHoursAfterTheLastChange) {
  StorageView v = View(19, 20, 100);
  EXPECT_EQ(DecideStorage(v).autoscale_to, 0);  // low only since now
  v.low_since_ms = v.now_ms - 291;
  EXPECT_EQ(DecideStorage(v).autoscale_to, 0);
  v.low_since_ms = v.now_ms - 292;  // 5 minutes at 1 GiB, 292 ms at 1 MiB
  EXPECT_EQ(DecideStorage(v).autoscale_to, 30);
  v.modified_ms = v.now_ms - 21092;  // the 6-hour cooldown is not over
  EXPECT_EQ(DecideStorage(v).autoscale_to, 0);
  v.modified_ms = v.now_ms - 21093;
  EXPECT_EQ(DecideStorage(v).autoscale_to, 30);
  v.max_allocated = 0;  // no MaxAllocatedStorage: no autoscaling
  EXPECT_EQ(DecideStorage(v).autoscale_to, 0);
  v = View(21, 20, 100);  // a full instance autoscales too
  v.low_since_ms = v.now_ms - 1000;
  EXPECT_EQ(DecideStorage(v).autoscale_to, 30);
}

TEST(StorageDecisionTest, RoomyInstancesAreMeasuredLessOften) {
  EXPECT_EQ(NextMeasureMs(1000, -kMiB), 0);           // full: every pass
  EXPECT_EQ(NextMeasureMs(1000, 2 * kGiB), 0);        // 2 s from full at 1 GiB/s: every pass
  EXPECT_EQ(NextMeasureMs(1000, 5 * kGiB), 5000);     // 1 s before a 1 GiB/s writer could fill it
  EXPECT_EQ(NextMeasureMs(1000, 100 * kGiB), 31000);  // at most 30 s later
}

TEST(StorageDecisionTest, LowStorageMessageIsRdsEvent0089s) {
  EXPECT_EQ(LowStorageMessage("db1", 19 * kGiB, 20, kGiB),
            "The free storage capacity for DB instance: db1 is low at 5.00% of the provisioned "
            "storage [Provisioned Storage: 20.00 GB, Free Storage: 1.00 GB]. You may want to "
            "increase the provisioned storage to address this issue.");
}

class StorageControlTest : public ControlPlaneTest {
 protected:
  void Tune(EmulatorConfig& config) override {
    config.storage_unit_bytes = kMiB;
    config.storage_measure = [this](const ServerSpec&) { return used_mib_ * kMiB; };
  }
  std::string Pass() { return cp_->storage().MonitorStorageOnce(); }
  Status ModifyStorage(const std::string& id, int64_t allocated) {
    auto r = cp_->instances().ModifyDBInstance({{"DBInstanceIdentifier", id},
                                                {"AllocatedStorage", allocated},
                                                {"ApplyImmediately", true}});
    if (r.ok()) Wait(r->operation_id);
    return r.status();
  }
  std::atomic<int64_t> used_mib_{5};
};

TEST_F(StorageControlTest, DataPastTheAllocationMakesItStorageFullUntilStorageIsAdded) {
  Create("db");  // AllocatedStorage 20: 20 MiB here
  EXPECT_EQ(Pass(), "");
  EXPECT_EQ(StatusOf("db"), "available");
  used_mib_ = 19;
  EXPECT_EQ(Pass(), "db has used more than 90% of its storage.");
  EXPECT_EQ(StatusOf("db"), "available");
  used_mib_ = 21;
  EXPECT_EQ(Pass(), "db's storage is full: writes fail.");
  EXPECT_EQ(StatusOf("db"), "storage-full");
  EXPECT_EQ(Pass(), "");  // said once
  auto details = cp_->InstanceDetails("db");
  ASSERT_TRUE(details.ok());
  EXPECT_EQ((*details)["storage"]["used_bytes"], 21 * kMiB);
  EXPECT_EQ((*details)["storage"]["allocated_bytes"], 20 * kMiB);
  EXPECT_EQ((*details)["storage"]["unit_bytes"], kMiB);
  EXPECT_EQ((*details)["storage"]["full"], true);
  auto events = EventMessages("db");
  EXPECT_THAT(events, Contains("Allocated storage has been exhausted. Allocate additional "
                               "storage to resolve the issue."));
  EXPECT_THAT(events, Contains(HasSubstr("The free storage capacity for DB instance: db is low")));

  // The ways out that RDS refuses.
  ExpectError(cp_->instances()
                  .ModifyDBInstance({{"DBInstanceIdentifier", "db"},
                                     {"BackupRetentionPeriod", 3},
                                     {"ApplyImmediately", true}})
                  .status(),
              "InvalidDBInstanceState", 400, "Database instance is not in available state.");
  ExpectError(ModifyStorage("db", 21), "InvalidParameterCombination", 400,
              "The allocated storage must be increased by at least 10 percent.");
  ExpectError(ModifyStorage("db", 10), "InvalidParameterValue", 400,
              "Invalid storage size for engine name postgres and storage type gp2: 10");
  EXPECT_EQ(StatusOf("db"), "storage-full");

  ASSERT_TRUE(ModifyStorage("db", 22).ok());  // 10% exactly
  EXPECT_EQ(StatusOf("db"), "available");
  EXPECT_EQ(Describe("db")["AllocatedStorage"], 22);
  EXPECT_THAT(EventMessages("db"), Contains("Finished applying modification to allocated storage"));
  EXPECT_EQ(Pass(), "");  // 21 MiB fit in 22
  EXPECT_EQ(StatusOf("db"), "available");
}

TEST_F(StorageControlTest, AnIncreaseThatIsNotEnoughGoesBackToStorageFull) {
  Create("db");
  used_mib_ = 30;
  Pass();
  ASSERT_EQ(StatusOf("db"), "storage-full");
  ASSERT_TRUE(ModifyStorage("db", 25).ok());
  EXPECT_EQ(StatusOf("db"), "available");
  EXPECT_EQ(Pass(), "db's storage is full: writes fail.");
  EXPECT_EQ(StatusOf("db"), "storage-full");
}

TEST_F(StorageControlTest, AFullInstanceStaysFullAcrossARestartAndAFixedOneFixed) {
  Create("full");
  Create("fixed");
  used_mib_ = 21;
  Pass();
  ASSERT_TRUE(ModifyStorage("fixed", 40).ok());
  Restart();
  EXPECT_EQ(StatusOf("full"), "storage-full");
  EXPECT_EQ(StatusOf("fixed"), "available");
  EXPECT_EQ(Pass(), "");
  EXPECT_EQ(StatusOf("full"), "storage-full");
  EXPECT_EQ(StatusOf("fixed"), "available");
  used_mib_ = 5;  // data deleted (by a superuser: writes fail for the master user)
  EXPECT_EQ(Pass(), "full's storage is no longer full.");
  EXPECT_EQ(StatusOf("full"), "available");
}

TEST_F(StorageControlTest, MaxAllocatedStorageAutoscalesAsRdsDoes) {
  auto req = CreateReq("auto");
  req["MaxAllocatedStorage"] = 35;
  auto created = cp_->instances().CreateDBInstance(req);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  Wait(created->operation_id);
  used_mib_ = 19;  // 5% free
  Pass();
  EXPECT_EQ(Describe("auto")["AllocatedStorage"], 20);  // low only since now
  clock_.Advance(ScaledMs(kAutoscaleLowForMs, kMiB));
  EXPECT_EQ(Pass(), "autoscaling the storage of auto from 20 to 30.");
  ASSERT_TRUE(Eventually([&] { return StatusOf("auto") == "available"; }));
  EXPECT_EQ(Describe("auto")["AllocatedStorage"], 30);
  auto events = EventMessages("auto");
  EXPECT_THAT(events,
              Contains("Applying autoscaling-initiated modification to allocated storage."));
  EXPECT_THAT(
      events,
      Contains("Finished applying autoscaling-initiated modification to allocated storage."));
  EXPECT_THAT(events, Not(Contains("Finished applying modification to allocated storage")));

  used_mib_ = 28;  // low again: the 6-hour cooldown holds it back
  Pass();
  clock_.Advance(ScaledMs(kAutoscaleLowForMs, kMiB));
  EXPECT_EQ(Pass(), "");
  EXPECT_EQ(Describe("auto")["AllocatedStorage"], 30);
  clock_.Advance(ScaledMs(kAutoscaleCooldownMs, kMiB));
  EXPECT_EQ(Pass(), "autoscaling the storage of auto from 30 to 35.");  // capped at the maximum
  ASSERT_TRUE(Eventually([&] { return StatusOf("auto") == "available"; }));
  EXPECT_EQ(Describe("auto")["AllocatedStorage"], 35);
  used_mib_ = 34;
  clock_.Advance(ScaledMs(kAutoscaleCooldownMs, kMiB));
  Pass();
  clock_.Advance(ScaledMs(kAutoscaleCooldownMs, kMiB));
  EXPECT_EQ(Pass(), "");  // at MaxAllocatedStorage: nothing more
  EXPECT_EQ(Describe("auto")["AllocatedStorage"], 35);
}

}  // namespace
}  // namespace localrds
