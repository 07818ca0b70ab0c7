#include "emulator/core/validation.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>

#include "emulator/core/paging.h"

namespace localrds {

TEST(ValidationTest, InstanceIdentifierRules) {
  for (const char* ok : {"a", "test", "Test-1", "a1-b2-c3"}) {
    EXPECT_TRUE(ValidateIdentifier("DBInstanceIdentifier", ok).ok()) << ok;
  }
  EXPECT_TRUE(ValidateIdentifier("DBInstanceIdentifier", std::string(63, 'a')).ok());
  for (std::string bad :
       {std::string("1abc"), std::string("-abc"), std::string("abc-"), std::string("a--b"),
        std::string("a_b"), std::string("a.b"), std::string(64, 'a'), std::string("caf\xc3\xa9")}) {
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

// RDS's words for a blank identifier and for a snapshot identifier's first character; the rest
// of a snapshot identifier's rules say what an instance identifier's say.
TEST(ValidationTest, BlankAndSnapshotIdentifiers) {
  auto expect = [](const Status& s, const std::string& message) {
    ASSERT_FALSE(s.ok()) << message;
    EXPECT_STREQ(s.info().code, "InvalidParameterValue");
    EXPECT_EQ(s.info().http_status, 400);
    EXPECT_EQ(s.message(), message);
  };
  expect(ValidateIdentifier("DBInstanceIdentifier", ""),
         "The parameter DBInstanceIdentifier must be provided and must not be blank.");
  expect(ValidateSnapshotIdentifier("DBSnapshotIdentifier", ""),
         "The parameter DBSnapshotIdentifier must be provided and must not be blank.");
  expect(ValidateSnapshotIdentifier("DBSnapshotIdentifier", "-snap"),
         "Invalid snapshot identifier:  -snap");
  expect(ValidateSnapshotIdentifier("DBSnapshotIdentifier", "1snap"),
         "Invalid snapshot identifier:  1snap");
  const std::string rules =
      " is not a valid identifier. Identifiers must begin with a letter; must contain only ASCII "
      "letters, digits, and hyphens; and must not end with a hyphen or contain two consecutive "
      "hyphens.";
  expect(ValidateSnapshotIdentifier("DBSnapshotIdentifier", "snap-"),
         "The parameter DBSnapshotIdentifier" + rules);
  expect(ValidateSnapshotIdentifier("TargetDBSnapshotIdentifier", "sn--ap"),
         "The parameter TargetDBSnapshotIdentifier" + rules);
  expect(ValidateSnapshotIdentifier("DBSnapshotIdentifier", std::string(256, 'a')),
         "The parameter DBSnapshotIdentifier" + rules);
  EXPECT_TRUE(ValidateSnapshotIdentifier("DBSnapshotIdentifier", std::string(255, 'a')).ok());
  expect(ValidateIdentifier("DBInstanceIdentifier", "db-"),
         "The parameter DBInstanceIdentifier" + rules);
}

// PreferredMaintenanceWindow: the shape, the values, 30 minutes to 24 hours, each in RDS's words.
TEST(ValidationTest, MaintenanceWindowMessages) {
  auto expect = [](const std::string& window, const std::string& message) {
    Status s = ValidateMaintenanceWindow(window);
    ASSERT_FALSE(s.ok()) << window;
    EXPECT_STREQ(s.info().code, "InvalidParameterValue");
    EXPECT_EQ(s.info().http_status, 400);
    EXPECT_EQ(s.message(), message);
  };
  for (const char* bad : {"sun:05:00", "sun:5:00-sun:05:30", "sun05:00-sun:05:30x", "1:2-3:4"}) {
    expect(bad, std::string("Invalid maintenance window format: ") + bad +
                    ". Should be specified as a range ddd:hh24:mi-ddd:hh24:mi (24H Clock UTC). "
                    "Example: Sun:23:45-Mon:00:15");
  }
  expect("xyz:05:00-sun:05:30", "Invalid day:hour:minute value: xyz:05:00-sun:05:30");
  expect("sun:25:00-sun:25:30", "Invalid day:hour:minute value: sun:25:00-sun:25:30");
  expect("sun:05:00-sun:05:29", "The maintenance window must be at least 30 minutes.");
  expect("sun:05:00-sun:05:00", "The maintenance window must be at least 30 minutes.");
  expect("sun:05:00-mon:05:01", "Maintenance window must be less than 24 hours.");
  EXPECT_TRUE(ValidateMaintenanceWindow("sun:05:00-mon:05:00").ok());
  EXPECT_TRUE(ValidateMaintenanceWindow("sun:23:45-mon:00:15").ok());
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
  EXPECT_EQ(reserved.message(),
            "MasterUsername select cannot be used as it is a reserved word used by the engine");
  EXPECT_FALSE(ValidateMasterUsername("rdsadmin").ok());
  for (const char* refused_by_postgres :
       {"pg_admin", "PG_x", "public", "none", "session_user", "current_role"}) {
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

// The defaults a create without windows gets: half hours of the region's 8-hour block (eu's
// passes midnight), valid, never overlapping (a create failed on its own defaults once in an eu
// region), the same for the same seed.
TEST(ValidationTest, DefaultWindowsAreValidInTheRegionsBlockAndNeverOverlap) {
  const std::pair<const char*, int> blocks[] = {{"us-east-1", 3 * 60},
                                                {"us-west-2", 6 * 60},
                                                {"eu-west-1", 22 * 60},
                                                {"ap-south-1", 13 * 60}};
  auto minute = [](const std::string& hh_mi) {
    return std::stoi(hh_mi.substr(0, 2)) * 60 + std::stoi(hh_mi.substr(3, 2));
  };
  auto in_block = [](int m, int block) { return (m - block + 1440) % 1440 < 8 * 60; };
  for (const auto& [region, block] : blocks) {
    std::set<std::string> days;
    for (int i = 0; i < 3000; ++i) {
      const std::string seed = "db-" + std::to_string(i);
      const std::string backup = DefaultBackupWindow(region, seed);
      const std::string maint = DefaultMaintenanceWindow(region, seed, backup);
      ASSERT_TRUE(ValidateBackupWindow(backup).ok()) << region << " " << backup;
      ASSERT_TRUE(ValidateMaintenanceWindow(maint).ok()) << region << " " << maint;
      ASSERT_FALSE(WindowsOverlap(backup, maint)) << region << " " << backup << " " << maint;
      EXPECT_EQ((minute(backup.substr(6)) - minute(backup) + 1440) % 1440, 30) << backup;
      EXPECT_EQ((minute(maint.substr(14)) - minute(maint.substr(4)) + 1440) % 1440, 30) << maint;
      EXPECT_TRUE(in_block(minute(backup), block)) << region << " " << backup;
      EXPECT_TRUE(in_block(minute(maint.substr(4)), block)) << region << " " << maint;
      EXPECT_EQ(DefaultMaintenanceWindow(region, seed, backup), maint);
      days.insert(maint.substr(0, 3));
    }
    EXPECT_EQ(days.size(), 7u) << region;
  }
  EXPECT_EQ(DefaultBackupWindow("eu-west-1", "db-1"), DefaultBackupWindow("eu-west-1", "db-1"));
  // A chosen backup window over the whole block: the maintenance window goes after it.
  const std::string late = DefaultMaintenanceWindow("us-east-1", "db-1", "03:00-11:00");
  EXPECT_FALSE(WindowsOverlap("03:00-11:00", late)) << late;
  // One that leaves no half hour free: no window misses it (the create refuses the overlap).
  EXPECT_TRUE(
      WindowsOverlap("00:00-23:59", DefaultMaintenanceWindow("us-east-1", "db-1", "00:00-23:59")));
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

namespace {

// The code, HTTP status and message of a refusal, in one comparable string.
std::string Refusal(const Status& s) {
  if (s.ok()) return "OK";
  return std::string(s.info().code) + " " + std::to_string(s.info().http_status) + " " +
         s.message();
}

}  // namespace

TEST(ValidationTest, MasterUsernameRefusesRdsRoles) {
  for (const char* role : {"rds_replication", "rds_password", "RDS_Replication", "admin"}) {
    EXPECT_EQ(Refusal(ValidateMasterUsername(role)),
              std::string("InvalidParameterValue 400 MasterUsername ") + role +
                  " cannot be used as it is a reserved word used by the engine");
  }
  EXPECT_TRUE(ValidateMasterUsername("rds_app").ok());
  EXPECT_TRUE(ValidateMasterUsername("administrator").ok());
  EXPECT_TRUE(ValidateDBName("admin").ok());  // a database may still be called so
}

TEST(ValidationTest, MonitoringInterval) {
  for (int ok : {0, 1, 5, 10, 15, 30, 60}) EXPECT_TRUE(ValidateMonitoringInterval(ok).ok()) << ok;
  for (int bad : {-1, 2, 20, 61, 120}) {
    EXPECT_EQ(Refusal(ValidateMonitoringInterval(bad)),
              "InvalidParameterValue 400 Invalid value " + std::to_string(bad) +
                  " for MonitoringInterval. Must be one of 0, 1, 5, 10, 15, 30, 60");
  }
}

TEST(ValidationTest, PromotionTier) {
  EXPECT_TRUE(ValidatePromotionTier(0).ok());
  EXPECT_TRUE(ValidatePromotionTier(15).ok());
  EXPECT_EQ(Refusal(ValidatePromotionTier(-1)),
            "InvalidParameterValue 400 Invalid value -1 for PromotionTier. Must be between 0 and "
            "15");
  EXPECT_FALSE(ValidatePromotionTier(16).ok());
}

TEST(ValidationTest, PerformanceInsightsRetention) {
  for (int ok : {7, 31, 93, 341, 589, 713, 731}) {
    EXPECT_TRUE(ValidatePerformanceInsightsRetention(ok).ok()) << ok;
  }
  for (int bad : {-1, 0, 8, 62 + 1, 94, 744, 730, 732}) {
    EXPECT_EQ(Refusal(ValidatePerformanceInsightsRetention(bad)),
              "InvalidParameterValue 400 Invalid value " + std::to_string(bad) +
                  " for PerformanceInsightsRetentionPeriod. Must be 7, 731, or a multiple of 31 "
                  "between 31 and 713")
        << bad;
  }
}

TEST(ValidationTest, IopsAndStorageThroughput) {
  EXPECT_EQ(Refusal(ValidateIops("gp2", -1, 20)),
            "InvalidParameterValue 400 Invalid value -1 for Iops. Must not be negative");
  EXPECT_EQ(Refusal(ValidateIops("io1", -1, 100)),
            "InvalidParameterValue 400 Invalid value -1 for Iops. Must not be negative");
  EXPECT_TRUE(ValidateIops("io1", 1000, 100).ok());
  EXPECT_TRUE(ValidateIops("io1", 50, 100).ok());    // 0.5 per GiB
  EXPECT_TRUE(ValidateIops("io2", 5000, 100).ok());  // 50 per GiB
  EXPECT_EQ(Refusal(ValidateIops("io1", 30, 100)),
            "InvalidParameterCombination 400 Invalid iops to storage (GB) ratio for engine name "
            "postgres and storage type io1: 0.3000");
  EXPECT_FALSE(ValidateIops("io2", 5001, 100).ok());
  EXPECT_EQ(Refusal(ValidateIops("gp2", 1000, 20)),
            "InvalidParameterCombination 400 Invalid iops value for engine name postgres and "
            "storage type gp2: 1000");
  EXPECT_EQ(Refusal(ValidateIops("standard", 1000, 20)),
            "InvalidParameterCombination 400 Invalid iops value for engine name postgres and "
            "storage type standard: 1000");
  EXPECT_TRUE(ValidateIops("gp2", 0, 20).ok());
  EXPECT_TRUE(ValidateIops("gp3", 3000, 20).ok());

  EXPECT_EQ(Refusal(ValidateStorageThroughput("gp3", -1)),
            "InvalidParameterValue 400 Invalid value -1 for StorageThroughput. Must not be "
            "negative");
  EXPECT_TRUE(ValidateStorageThroughput("gp3", 125).ok());
  EXPECT_TRUE(ValidateStorageThroughput("gp2", 0).ok());
  EXPECT_EQ(Refusal(ValidateStorageThroughput("gp2", 125)),
            "InvalidParameterCombination 400 You can't specify storage throughput for engine "
            "postgres and storage type gp2.");
}

TEST(ValidationTest, EngineOptionsOnlyPostgresHas) {
  using nlohmann::json;
  EXPECT_TRUE(ValidateEngineOptions(json::object()).ok());
  EXPECT_TRUE(ValidateEngineOptions({{"LicenseModel", "postgresql-license"},
                                     {"MasterUserAuthenticationType", "password"},
                                     {"TdeCredentialArn", ""}})
                  .ok());  // empty is absent
  EXPECT_EQ(Refusal(ValidateEngineOptions({{"LicenseModel", "$(id)"}})),
            "InvalidParameterCombination 400 Invalid license model '$(id)' for engine "
            "'postgres'. Valid license models are: postgresql-license");
  EXPECT_EQ(Refusal(ValidateEngineOptions({{"MasterUserAuthenticationType", "token"}})),
            "InvalidParameterValue 400 Invalid value token for MasterUserAuthenticationType. Must "
            "be one of password, iam-db-auth");
  EXPECT_EQ(Refusal(ValidateEngineOptions({{"MasterUserAuthenticationType", "iam-db-auth"}})),
            "InvalidParameterCombination 400 localrds has no IAM: the master user authenticates "
            "with its password (MasterUserAuthenticationType=password).");
  EXPECT_EQ(Refusal(ValidateEngineOptions({{"TdeCredentialArn", "arn:aws:x"}})),
            "InvalidParameterCombination 400 TDE credentials are not supported for engine "
            "postgres.");
  EXPECT_EQ(Refusal(ValidateInstanceSettings({{"LicenseModel", "x"}}, "gp2", 20)),
            "InvalidParameterCombination 400 Invalid license model 'x' for engine 'postgres'. "
            "Valid license models are: postgresql-license");
}

TEST(ValidationTest, MaxAllocatedStorage) {
  EXPECT_TRUE(ValidateMaxAllocatedStorage(0, 20).ok());  // autoscaling off
  EXPECT_TRUE(ValidateMaxAllocatedStorage(22, 20).ok());
  EXPECT_TRUE(ValidateMaxAllocatedStorage(1100, 1000).ok());
  for (int bad : {-1, 1, 19, 20}) {
    EXPECT_EQ(Refusal(ValidateMaxAllocatedStorage(bad, 20)),
              "InvalidParameterCombination 400 Max storage size must be greater than storage "
              "size")
        << bad;
  }
  EXPECT_EQ(Refusal(ValidateMaxAllocatedStorage(1099, 1000)),
            "InvalidParameterCombination 400 The maximum allocated storage must be increased by "
            "at least 10 percent.");
}

TEST(ValidationTest, InstanceSettingsChecksEachGivenSetting) {
  EXPECT_TRUE(ValidateInstanceSettings(nlohmann::json::object(), "gp2", 20).ok());
  EXPECT_TRUE(ValidateInstanceSettings({{"MonitoringInterval", 60},
                                        {"PromotionTier", 3},
                                        {"PerformanceInsightsRetentionPeriod", 7},
                                        {"StorageThroughput", 125},
                                        {"Iops", 3000},
                                        {"MaxAllocatedStorage", 100}},
                                       "gp3", 20)
                  .ok());
  EXPECT_EQ(ValidateInstanceSettings({{"MonitoringInterval", -1}}, "gp2", 20).message(),
            "Invalid value -1 for MonitoringInterval. Must be one of 0, 1, 5, 10, 15, 30, 60");
  EXPECT_EQ(ValidateInstanceSettings({{"PromotionTier", -1}}, "gp2", 20).message(),
            "Invalid value -1 for PromotionTier. Must be between 0 and 15");
  EXPECT_FALSE(
      ValidateInstanceSettings({{"PerformanceInsightsRetentionPeriod", -1}}, "gp2", 20).ok());
  EXPECT_FALSE(ValidateInstanceSettings({{"Iops", -1}}, "gp2", 20).ok());
  EXPECT_FALSE(ValidateInstanceSettings({{"StorageThroughput", -1}}, "gp3", 20).ok());
  EXPECT_EQ(Refusal(ValidateInstanceSettings({{"MaxAllocatedStorage", 10}}, "gp2", 20)),
            "InvalidParameterCombination 400 Max storage size must be greater than storage size");
}

TEST(ValidationTest, PointInTimeSourceIsNamedExactlyOnce) {
  EXPECT_TRUE(ValidatePointInTimeSource(true, false, false).ok());
  EXPECT_TRUE(ValidatePointInTimeSource(false, true, false).ok());
  EXPECT_TRUE(ValidatePointInTimeSource(false, false, true).ok());
  EXPECT_EQ(Refusal(ValidatePointInTimeSource(false, false, false)),
            "InvalidParameterCombination 400 One of SourceDBInstanceIdentifier, "
            "SourceDbiResourceId or SourceDBInstanceAutomatedBackupsArn must be specified.");
  const std::string more_than_one =
      "InvalidParameterCombination 400 Specify only one of SourceDBInstanceIdentifier, "
      "SourceDbiResourceId and SourceDBInstanceAutomatedBackupsArn.";
  EXPECT_EQ(Refusal(ValidatePointInTimeSource(true, true, false)), more_than_one);
  EXPECT_EQ(Refusal(ValidatePointInTimeSource(true, false, true)), more_than_one);
  EXPECT_EQ(Refusal(ValidatePointInTimeSource(false, true, true)), more_than_one);
  EXPECT_EQ(Refusal(ValidatePointInTimeSource(true, true, true)), more_than_one);
}

TEST(PagingTest, MaxRecordsHasRdsWording) {
  EXPECT_EQ(*MaxRecordsArg({{"MaxRecords", 20}}, 20, 100, 100), 20);
  EXPECT_EQ(*MaxRecordsArg(nlohmann::json::object(), 20, 100, 100), 100);
  EXPECT_EQ(Refusal(MaxRecordsArg({{"MaxRecords", 5}}, 20, 100, 100).status()),
            "InvalidParameterValue 400 Invalid value 5 for MaxRecords. Must be between 20 and "
            "100");
}

TEST(PagingTest, OffsetMarkersAreDigitsOnly) {
  auto page = PageArgs({{"MaxRecords", 20}, {"Marker", "40"}}, 20, 100, 100);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->first, 20);
  EXPECT_EQ(page->second, 40);
  const std::string refused =
      "InvalidParameterValue 400 Invalid value for Marker: pass the Marker returned by the "
      "previous page of the same request.";
  for (std::string bad : {std::string("garbage"), std::string(""), std::string("-1"),
                          std::string("+5"), std::string(" 5"), std::string("5 "),
                          std::string("20\0junk", 7), std::string("0x10"), std::string(19, '9')}) {
    EXPECT_EQ(Refusal(PageArgs({{"Marker", bad}}, 20, 100, 100).status()), refused) << bad;
    EXPECT_EQ(Refusal(ParseOffsetMarker(bad).status()), refused) << bad;
  }
}

TEST(PagingTest, InstanceMarkersAreIdentifiers) {
  EXPECT_TRUE(CheckIdentifierMarker("db-20").ok());
  for (std::string bad : {std::string("garbage!"), std::string(""), std::string("1abc"),
                          std::string("a--b"), std::string("x\0y", 3), std::string(64, 'a')}) {
    EXPECT_EQ(Refusal(CheckIdentifierMarker(bad)),
              "InvalidParameterValue 400 Invalid value for Marker: pass the Marker returned by "
              "the previous page of the same request.")
        << bad;
  }
}

}  // namespace localrds
