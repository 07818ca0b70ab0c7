#include "emulator/validation.h"

#include <gtest/gtest.h>

namespace localrds {

TEST(ValidationTest, InstanceIdentifierRules) {
  for (const char* ok : {"a", "test", "Test-1", "a1-b2-c3"}) {
    EXPECT_TRUE(ValidateIdentifier("DBInstanceIdentifier", ok).ok()) << ok;
  }
  EXPECT_TRUE(ValidateIdentifier("DBInstanceIdentifier", std::string(63, 'a')).ok());
  for (std::string bad : {std::string(""), std::string("1abc"), std::string("-abc"),
                          std::string("abc-"), std::string("a--b"), std::string("a_b"),
                          std::string("a.b"), std::string(64, 'a'), std::string("caf\xc3\xa9")}) {
    Status s = ValidateIdentifier("DBInstanceIdentifier", bad);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_STREQ(s.info().code, "InvalidParameterValue");
    EXPECT_EQ(s.info().http_status, 400);
    EXPECT_EQ(s.message(),
              "The parameter DBInstanceIdentifier is not a valid identifier. Identifiers must "
              "begin with a letter; must contain only ASCII letters, digits, and hyphens; and "
              "must not end with a hyphen or contain two consecutive hyphens.");
  }
  EXPECT_TRUE(ValidateIdentifier("DBSnapshotIdentifier", std::string(255, 'a'), 255).ok());
}

TEST(ValidationTest, MasterUsername) {
  EXPECT_TRUE(ValidateMasterUsername("root").ok());
  EXPECT_TRUE(ValidateMasterUsername("postgres").ok());  // RDS's own default
  EXPECT_TRUE(ValidateMasterUsername("app_user1").ok());
  EXPECT_EQ(ValidateMasterUsername("").message(),
            "The parameter MasterUsername must be provided and must not be blank.");
  EXPECT_FALSE(ValidateMasterUsername("1user").ok());
  EXPECT_FALSE(ValidateMasterUsername("us-er").ok());
  EXPECT_FALSE(ValidateMasterUsername(std::string(64, 'u')).ok());
  Status reserved = ValidateMasterUsername("select");
  EXPECT_EQ(reserved.message(), "MasterUsername select cannot be used as it is a reserved word used by the engine");
  EXPECT_FALSE(ValidateMasterUsername("rdsadmin").ok());
  for (const char* refused_by_postgres : {"pg_admin", "PG_x", "public", "none", "session_user",
                                          "current_role"}) {
    EXPECT_FALSE(ValidateMasterUsername(refused_by_postgres).ok()) << refused_by_postgres;
  }
}

TEST(ValidationTest, MasterPassword) {
  EXPECT_TRUE(ValidateMasterPassword("secret99").ok());
  EXPECT_TRUE(ValidateMasterPassword(std::string(128, 'p')).ok());
  EXPECT_EQ(ValidateMasterPassword("short").message(),
            "The parameter MasterUserPassword is not a valid password because it is shorter "
            "than 8 characters.");
  EXPECT_FALSE(ValidateMasterPassword(std::string(129, 'p')).ok());
  for (const char* bad : {"has/slash", "has@at99", "has\"quote", "has space"}) {
    EXPECT_EQ(ValidateMasterPassword(bad).message(),
              "The parameter MasterUserPassword is not a valid password. Only printable ASCII "
              "characters besides '/', '@', '\"', ' ' may be used.")
        << bad;
  }
}

TEST(ValidationTest, DBNameAndNumbers) {
  EXPECT_TRUE(ValidateDBName("test").ok());
  EXPECT_FALSE(ValidateDBName("1db").ok());
  EXPECT_FALSE(ValidateDBName("template1").ok());
  EXPECT_FALSE(ValidateDBName("my-db").ok());
  EXPECT_TRUE(ValidateBackupRetention(0).ok());
  EXPECT_TRUE(ValidateBackupRetention(35).ok());
  EXPECT_FALSE(ValidateBackupRetention(36).ok());
  EXPECT_FALSE(ValidateBackupRetention(-1).ok());
  EXPECT_TRUE(ValidateAllocatedStorage("gp2", 20).ok());
  EXPECT_EQ(ValidateAllocatedStorage("gp2", 19).message(),
            "Invalid storage size for engine name postgres and storage type gp2: 19");
  EXPECT_FALSE(ValidateAllocatedStorage("io1", 50).ok());
  EXPECT_TRUE(ValidateAllocatedStorage("standard", 5).ok());
  EXPECT_FALSE(ValidateAllocatedStorage("gp3", 65537).ok());
  EXPECT_TRUE(ValidatePort(5432).ok());
  EXPECT_FALSE(ValidatePort(80).ok());
  EXPECT_FALSE(ValidatePort(65536).ok());
  EXPECT_FALSE(ValidateStorageType("floppy").ok());
}

TEST(ValidationTest, Windows) {
  EXPECT_TRUE(ValidateBackupWindow("03:00-03:30").ok());
  EXPECT_TRUE(ValidateBackupWindow("23:45-00:15").ok());  // wraps midnight
  EXPECT_FALSE(ValidateBackupWindow("03:00-03:29").ok());
  EXPECT_FALSE(ValidateBackupWindow("3am").ok());
  EXPECT_FALSE(ValidateBackupWindow("25:00-25:30").ok());
  EXPECT_TRUE(ValidateMaintenanceWindow("sun:05:00-sun:05:30").ok());
  EXPECT_TRUE(ValidateMaintenanceWindow("sat:23:50-sun:00:20").ok());
  EXPECT_FALSE(ValidateMaintenanceWindow("sun:05:00-sun:05:10").ok());
  EXPECT_FALSE(ValidateMaintenanceWindow("xyz:05:00-sun:05:30").ok());
  EXPECT_TRUE(WindowsOverlap("05:00-05:30", "sun:05:15-sun:05:45"));
  EXPECT_FALSE(WindowsOverlap("05:00-05:30", "sun:05:30-sun:06:00"));
  EXPECT_TRUE(WindowsOverlap("23:45-00:15", "mon:00:00-mon:00:30"));
}

TEST(ValidationTest, ClassesAndTags) {
  EXPECT_TRUE(IsKnownInstanceClass("db.t3.micro"));
  EXPECT_TRUE(IsKnownInstanceClass("db.r6g.large"));
  EXPECT_FALSE(IsKnownInstanceClass("db.foo.bar"));
  EXPECT_FALSE(IsKnownInstanceClass("t3.micro"));
  EXPECT_TRUE(ValidateTagKey("env").ok());
  EXPECT_FALSE(ValidateTagKey("aws:owner").ok());
  EXPECT_FALSE(ValidateTagKey("").ok());
  EXPECT_FALSE(ValidateTagValue(std::string(257, 'v')).ok());
}

}  // namespace localrds
