// The region table (emulator/core/regions.h): lookup, each region's Availability Zones, the zone a
// Multi-AZ standby goes to, and the RDS hosted zone ids that are confirmed.
#include "emulator/core/regions.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

namespace localrds {
namespace {

using ::testing::ElementsAre;

TEST(RegionsTest, FindsKnownRegionsByExactLowerCaseName) {
  const RegionInfo* region = FindRegion("us-east-1");
  ASSERT_NE(region, nullptr);
  EXPECT_EQ(region->name, "us-east-1");
  EXPECT_EQ(region->description, "US East (N. Virginia)");
  for (const char* name : {"mx-central-1", "ap-southeast-5", "ap-southeast-7", "ca-west-1",
                           "il-central-1", "af-south-1", "us-west-2"}) {
    SCOPED_TRACE(name);
    ASSERT_NE(FindRegion(name), nullptr);
    EXPECT_EQ(FindRegion(name)->name, name);
  }
}

TEST(RegionsTest, UnknownUpperCaseAndOtherPartitionsAreNotFound) {
  for (const char* name : {"", "us-east-3", "moon-1", "US-EAST-1", "Us-East-1", "us-east-1a",
                           " us-east-1", "us-gov-west-1", "cn-north-1", "us-iso-east-1"}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(FindRegion(name), nullptr);
  }
}

TEST(RegionsTest, NamesAreSortedUniqueAndThereAreAllCommercialRegions) {
  const std::vector<RegionInfo>& regions = AllRegions();
  EXPECT_EQ(regions.size(), 34u);
  std::set<std::string> names;
  for (size_t i = 0; i < regions.size(); ++i) {
    names.insert(regions[i].name);
    if (i > 0) {
      EXPECT_LT(regions[i - 1].name, regions[i].name);
    }
    EXPECT_FALSE(regions[i].description.empty()) << regions[i].name;
  }
  EXPECT_EQ(names.size(), regions.size());
}

TEST(RegionsTest, UsEast1HasZonesAThroughF) {
  EXPECT_THAT(FindRegion("us-east-1")->zones,
              ElementsAre("us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e",
                          "us-east-1f"));
}

TEST(RegionsTest, ZonesKeepTheirRealLettersWithGaps) {
  EXPECT_THAT(FindRegion("us-west-1")->zones, ElementsAre("us-west-1b", "us-west-1c"));
  EXPECT_THAT(FindRegion("ap-northeast-1")->zones,
              ElementsAre("ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d"));
  EXPECT_THAT(FindRegion("ca-central-1")->zones,
              ElementsAre("ca-central-1a", "ca-central-1b", "ca-central-1d"));
}

// Multi-AZ needs a second zone for the standby; no commercial region has fewer than two.
TEST(RegionsTest, EveryRegionHasAtLeastTwoOrderedZonesOfItsOwn) {
  for (const RegionInfo& region : AllRegions()) {
    SCOPED_TRACE(region.name);
    ASSERT_GE(region.zones.size(), 2u);
    for (size_t i = 0; i < region.zones.size(); ++i) {
      const std::string& zone = region.zones[i];
      ASSERT_EQ(zone.size(), region.name.size() + 1);
      EXPECT_EQ(zone.substr(0, region.name.size()), region.name);
      EXPECT_GE(zone.back(), 'a');
      EXPECT_LE(zone.back(), 'z');
      if (i > 0) {
        EXPECT_LT(region.zones[i - 1], zone);
      }
    }
  }
}

TEST(RegionsTest, IsZoneOfAcceptsOnlyTheRegionsOwnZones) {
  const RegionInfo& east = *FindRegion("us-east-1");
  const RegionInfo& west = *FindRegion("us-west-1");
  EXPECT_TRUE(IsZoneOf(east, "us-east-1a"));
  EXPECT_TRUE(IsZoneOf(east, "us-east-1f"));
  EXPECT_FALSE(IsZoneOf(east, "us-east-1g"));
  EXPECT_FALSE(IsZoneOf(east, "us-east-2a"));
  EXPECT_FALSE(IsZoneOf(east, "us-west-1b"));
  EXPECT_FALSE(IsZoneOf(east, "US-EAST-1A"));
  EXPECT_FALSE(IsZoneOf(east, "us-east-1"));
  EXPECT_FALSE(IsZoneOf(east, ""));
  EXPECT_FALSE(IsZoneOf(west, "us-west-1a"));
  EXPECT_TRUE(IsZoneOf(west, "us-west-1c"));
}

TEST(RegionsTest, NextZoneWrapsAndSkipsMissingLetters) {
  const RegionInfo& west = *FindRegion("us-west-1");
  EXPECT_EQ(NextZone(west, "us-west-1b"), "us-west-1c");
  EXPECT_EQ(NextZone(west, "us-west-1c"), "us-west-1b");
  const RegionInfo& tokyo = *FindRegion("ap-northeast-1");
  EXPECT_EQ(NextZone(tokyo, "ap-northeast-1a"), "ap-northeast-1c");
  EXPECT_EQ(NextZone(tokyo, "ap-northeast-1d"), "ap-northeast-1a");
  const RegionInfo& east = *FindRegion("us-east-1");
  EXPECT_EQ(NextZone(east, "us-east-1e"), "us-east-1f");
  EXPECT_EQ(NextZone(east, "us-east-1f"), "us-east-1a");
}

TEST(RegionsTest, NextZoneOfAForeignZoneIsThatZone) {
  const RegionInfo& west = *FindRegion("us-west-1");
  EXPECT_EQ(NextZone(west, "us-west-1a"), "us-west-1a");
  EXPECT_EQ(NextZone(west, "us-east-1b"), "us-east-1b");
}

TEST(RegionsTest, NextZoneOfAOneZoneRegionIsTheZoneItself) {
  const RegionInfo single{"xx-test-1", "test", {"xx-test-1a"}, ""};
  EXPECT_EQ(NextZone(single, "xx-test-1a"), "xx-test-1a");
}

TEST(RegionsTest, DefaultZoneIsTheFirstZone) {
  EXPECT_EQ(DefaultZone(*FindRegion("us-east-1")), "us-east-1a");
  EXPECT_EQ(DefaultZone(*FindRegion("us-west-1")), "us-west-1b");
  for (const RegionInfo& region : AllRegions()) {
    SCOPED_TRACE(region.name);
    EXPECT_TRUE(IsZoneOf(region, DefaultZone(region)));
    EXPECT_NE(NextZone(region, DefaultZone(region)), DefaultZone(region));
  }
}

TEST(RegionsTest, ConfirmedRdsHostedZoneIds) {
  const std::pair<const char*, const char*> confirmed[] = {
      {"us-east-1", "Z2R2ITUGPM61AM"},      {"us-east-2", "Z2XHWR1WZ565X2"},
      {"us-west-1", "Z10WI91S59XXQN"},      {"us-west-2", "Z1PVIF0B656C1W"},
      {"eu-west-1", "Z29XKXDKYMONMX"},      {"eu-central-1", "Z1RLNUO7B9Q6NB"},
      {"ap-southeast-1", "Z2G0U3KFCY8NZ5"}, {"ap-southeast-2", "Z32T0VRHXEXS0V"},
      {"ap-south-1", "Z2VFMSZA74J7XZ"},     {"ap-northeast-1", "Z24O6O9L7SGTNB"},
      {"ap-northeast-2", "ZLA2NUCOLGUUR"},
  };
  for (const auto& [name, id] : confirmed) {
    SCOPED_TRACE(name);
    EXPECT_EQ(FindRegion(name)->rds_hosted_zone_id, id);
  }
}

// An id is empty or looks like a Route 53 zone id, and no two regions share one.
TEST(RegionsTest, HostedZoneIdsAreWellFormedAndDistinct) {
  std::set<std::string> ids;
  for (const RegionInfo& region : AllRegions()) {
    const std::string& id = region.rds_hosted_zone_id;
    if (id.empty()) continue;
    SCOPED_TRACE(region.name);
    EXPECT_EQ(id.front(), 'Z');
    EXPECT_EQ(id.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"), std::string::npos);
    EXPECT_TRUE(ids.insert(id).second);
  }
}

}  // namespace
}  // namespace localrds
