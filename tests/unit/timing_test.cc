// Timing profiles (emulator/core/timing.h): parsing --timing and the control's body, the
// durations per kind of work and scale, an instance's own profile.
#include "emulator/core/timing.h"

#include <gtest/gtest.h>

#include <set>

namespace localrds {
namespace {

TEST(TimingTest, ParsesFastAwsAndAScale) {
  EXPECT_FALSE(TimingProfile::Parse("fast")->aws);
  EXPECT_TRUE(TimingProfile::Parse("aws")->aws);
  EXPECT_EQ(TimingProfile::Parse("aws")->scale, 1.0);
  EXPECT_EQ(TimingProfile::Parse("aws:0.05")->scale, 0.05);
  EXPECT_EQ(TimingProfile::Parse("aws:2")->scale, 2.0);
  EXPECT_EQ(TimingProfile::Parse("aws:100")->scale, 100.0);
  EXPECT_EQ(TimingProfile::Parse("fast")->ToString(), "fast");
  EXPECT_EQ(TimingProfile::Parse("aws")->ToString(), "aws");
  EXPECT_EQ(TimingProfile::Parse("aws:0.05")->ToString(), "aws:0.05");
}

TEST(TimingTest, RefusesAnythingElseSayingWhatIsAllowed) {
  for (const char* bad : {"", "slow", "AWS", "aws:", "aws:0", "aws:-1", "aws:abc", "aws:1e3",
                          "aws:101", "aws:0.1x", "aws:nan", "aws:inf", "fast:2", " aws"}) {
    SCOPED_TRACE(bad);
    auto r = TimingProfile::Parse(bad);
    ASSERT_FALSE(r.ok());
    EXPECT_STREQ(r.status().info().code, "InvalidParameterValue");
    EXPECT_EQ(r.status().info().http_status, 400);
    EXPECT_EQ(r.status().message(),
              std::string("timing must be fast, aws or aws:<scale> (0 < scale <= 100), not '") +
                  bad + "'");
  }
}

TEST(TimingTest, FastTakesNoTimeAndAwsTakesTheTablesDurationsTimesTheScale) {
  const TimingProfile fast;
  const TimingProfile aws{true, 1.0};
  const TimingProfile tenth = *TimingProfile::Parse("aws:0.05");
  std::set<TimedWork> seen;
  for (const auto& spec : AwsDurations()) {
    SCOPED_TRACE(spec.name);
    seen.insert(spec.work);
    EXPECT_EQ(fast.DurationMs(spec.work), 0);
    EXPECT_EQ(aws.DurationMs(spec.work), spec.seconds * 1000);
    EXPECT_EQ(tenth.DurationMs(spec.work), spec.seconds * 50);
    EXPECT_GT(spec.seconds, 0);
    EXPECT_NE(std::string(spec.rds_says), "");
  }
  EXPECT_EQ(seen.size(), 8u);  // every kind of TimedWork has a row
  // RDS's numbers: failover 60-120 s, LatestRestorableTime about 5 minutes behind.
  EXPECT_GE(aws.DurationMs(TimedWork::kFailover), 60000);
  EXPECT_LE(aws.DurationMs(TimedWork::kFailover), 120000);
  EXPECT_EQ(aws.DurationMs(TimedWork::kRestoreLag), 300000);
  EXPECT_EQ(tenth.DurationMs(TimedWork::kFailover), 4500);
}

TEST(TimingTest, TheControlsBody) {
  EXPECT_EQ(*TimingProfile::FromJson({{"profile", "fast"}}), TimingProfile{});
  EXPECT_EQ(*TimingProfile::FromJson({{"profile", "aws"}}), (TimingProfile{true, 1.0}));
  EXPECT_EQ(*TimingProfile::FromJson({{"profile", "aws"}, {"scale", 0.05}}),
            (TimingProfile{true, 0.05}));
  const std::string usage =
      "the body must be {\"profile\": \"fast\"} or {\"profile\": \"aws\", \"scale\": <number, "
      "0 < scale <= 100, default 1>}";
  for (const nlohmann::json& bad :
       {nlohmann::json(), nlohmann::json::array(), nlohmann::json{{"scale", 1}},
        nlohmann::json{{"profile", "slow"}}, nlohmann::json{{"profile", 1}},
        nlohmann::json{{"profile", "aws"}, {"scale", "1"}},
        nlohmann::json{{"profile", "aws"}, {"scale", 0}},
        nlohmann::json{{"profile", "aws"}, {"scale", 1000}}}) {
    SCOPED_TRACE(bad.dump());
    auto r = TimingProfile::FromJson(bad);
    ASSERT_FALSE(r.ok());
    EXPECT_STREQ(r.status().info().code, "InvalidParameterValue");
    EXPECT_EQ(r.status().message(), usage);
  }
  auto r = TimingProfile::FromJson({{"profile", "fast"}, {"scale", 2}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "fast takes no scale");
  EXPECT_EQ(TimingProfile{}.ToJson(), (nlohmann::json{{"profile", "fast"}}));
  EXPECT_EQ((TimingProfile{true, 0.5}.ToJson()),
            (nlohmann::json{{"profile", "aws"}, {"scale", 0.5}}));
}

TEST(TimingTest, AnInstancesOwnProfileOverridesTheServersAndIsHidden) {
  InstanceRow row;
  row.attrs = nlohmann::json::object();
  const TimingProfile server{true, 0.1};
  EXPECT_FALSE(InstanceTiming(row));
  EXPECT_EQ(EffectiveTiming(row, server), server);
  SetInstanceTiming(row.attrs, TimingProfile{});
  EXPECT_EQ(EffectiveTiming(row, server), TimingProfile{});
  for (const auto& [key, value] : row.attrs.items()) EXPECT_EQ(key[0], '_');  // never rendered
  SetInstanceTiming(row.attrs, std::nullopt);
  EXPECT_EQ(EffectiveTiming(row, server), server);
  EXPECT_TRUE(row.attrs.empty());
}

}  // namespace
}  // namespace localrds
