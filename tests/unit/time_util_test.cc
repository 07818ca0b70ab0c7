#include "common/time_util.h"

#include <gtest/gtest.h>

namespace localrds {

TEST(TimeUtilTest, FormatsUtcIso8601) {
  EXPECT_EQ(FormatIso8601(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatIso8601(1764028800123LL), "2025-11-25T00:00:00.123Z");
  EXPECT_EQ(FormatIso8601(1764028800123LL, false), "2025-11-25T00:00:00Z");
}

TEST(TimeUtilTest, ParsesWhatAwsClientsSend) {
  EXPECT_EQ(ParseIso8601("2025-11-25T00:00:00Z"), 1764028800000LL);
  EXPECT_EQ(ParseIso8601("2025-11-25T00:00:00.5Z"), 1764028800500LL);
  EXPECT_EQ(ParseIso8601("2025-11-25T01:00:00+01:00"), 1764028800000LL);
  EXPECT_EQ(ParseIso8601("2025-11-25T00:00:00"), 1764028800000LL);
  EXPECT_EQ(ParseIso8601("1764028800"), 1764028800000LL);
}

TEST(TimeUtilTest, RejectsGarbage) {
  EXPECT_FALSE(ParseIso8601("yesterday").has_value());
  EXPECT_FALSE(ParseIso8601("2025-13-01T00:00:00Z").has_value());
  EXPECT_FALSE(ParseIso8601("2025-11-25T00:00:00Zjunk").has_value());
  EXPECT_FALSE(ParseIso8601("").has_value());
}

}  // namespace localrds
