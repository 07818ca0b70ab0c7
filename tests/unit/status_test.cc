#include "common/status.h"

#include <gtest/gtest.h>

namespace localrds {

TEST(StatusTest, OkByDefault) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "OK");
}

TEST(StatusTest, ErrorsCarryTheModelsCodeAndHttpStatus) {
  Status nf = Status::Error(AwsError::kDBInstanceNotFound, "DBInstance x not found.");
  EXPECT_FALSE(nf.ok());
  EXPECT_STREQ(nf.info().code, "DBInstanceNotFound");
  EXPECT_EQ(nf.info().http_status, 404);
  EXPECT_TRUE(nf.info().sender_fault);
  EXPECT_EQ(nf.ToString(), "DBInstanceNotFound: DBInstance x not found.");

  EXPECT_EQ(Info(AwsError::kInvalidDBInstanceState).http_status, 400);
  EXPECT_STREQ(Info(AwsError::kDBSubnetGroupNotFoundFault).code, "DBSubnetGroupNotFoundFault");
  EXPECT_EQ(Info(AwsError::kMalformedQueryString).http_status, 404);
  EXPECT_EQ(Info(AwsError::kInternalFailure).http_status, 500);
  EXPECT_FALSE(Info(AwsError::kInternalFailure).sender_fault);
  EXPECT_EQ(Info(AwsError::kMissingAuthenticationToken).http_status, 403);
}

TEST(StatusTest, ResultHoldsValueOrStatus) {
  Result<int> ok = 5;
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 5);
  Result<int> bad = Status::InvalidParameter("nope");
  ASSERT_FALSE(bad.ok());
  EXPECT_STREQ(bad.status().info().code, "InvalidParameterValue");
}

}  // namespace localrds
