#include "emulator/core/validation.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <iterator>
#include <string_view>

#include "emulator/core/instance_classes.h"
#include "emulator/core/regions.h"
#include "emulator/core/request.h"

namespace localrds {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Words RDS refuses as a PostgreSQL master user name (PostgreSQL reserved key words plus the
// roles RDS keeps for itself).
bool IsReservedWord(const std::string& word) {
  static const std::array<const char*, 46> kReserved = {
      "all",        "analyse", "analyze",      "and",          "any",   "array",    "as",
      "asc",        "both",    "case",         "cast",         "check", "collate",  "column",
      "constraint", "create",  "current_user", "default",      "desc",  "distinct", "do",
      "else",       "end",     "except",       "false",        "for",   "from",     "grant",
      "group",      "having",  "in",           "into",         "limit", "not",      "null",
      "or",         "order",   "select",       "table",        "to",    "true",     "union",
      "user",       "where",   "rdsadmin",     "rds_superuser"};
  std::string w = Lower(word);
  return std::find_if(kReserved.begin(), kReserved.end(), [&](const char* r) { return w == r; }) !=
         kReserved.end();
}

// Role names RDS keeps for PostgreSQL master users besides those: the roles it grants the
// master user (rds_replication, rds_password; User Guide, "Understanding the rds_superuser
// role") and "admin" ("MasterUsername admin cannot be used as it is a reserved word used by the
// engine" for PostgreSQL engines, aws/aws-cdk#10597 and #5076).
bool IsRdsReservedRole(const std::string& word) {
  static constexpr std::string_view kRoles[] = {"admin", "rds_replication", "rds_password"};
  const std::string w = Lower(word);
  return std::find(std::begin(kRoles), std::end(kRoles), w) != std::end(kRoles);
}

// Minutes since midnight of "hh:mi", or -1.
int ParseHhMi(const std::string& s) {
  if (s.size() != 5 || s[2] != ':' || !isdigit(s[0]) || !isdigit(s[1]) || !isdigit(s[3]) ||
      !isdigit(s[4])) {
    return -1;
  }
  int h = (s[0] - '0') * 10 + (s[1] - '0');
  int m = (s[3] - '0') * 10 + (s[4] - '0');
  if (h > 23 || m > 59) return -1;
  return h * 60 + m;
}

constexpr std::array<const char*, 7> kDays = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
constexpr int kWeekMinutes = 7 * 1440;

// "hh:mi" of a minute of the day (any integer: taken modulo a day).
std::string HhMi(int minutes) {
  minutes = ((minutes % 1440) + 1440) % 1440;
  char b[8];
  std::snprintf(b, sizeof b, "%02d:%02d", minutes / 60, minutes % 60);
  return b;
}

// "ddd:hh:mi" of a minute of the week from Monday 00:00 (taken modulo a week).
std::string Weekly(int minutes) {
  minutes = ((minutes % kWeekMinutes) + kWeekMinutes) % kWeekMinutes;
  return std::string(kDays[minutes / 1440]) + ":" + HhMi(minutes);
}

// FNV-1a: the same value for the same seed on every build (defaults chosen per resource).
uint32_t Fnv1a(const std::string& s) {
  uint32_t h = 2166136261u;
  for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
  return h;
}

// The start of the region's 8-hour block for default windows (RDS User Guide, "Backup window"),
// in minutes of the day; eu regions' block passes midnight.
int RegionBlockStartMinutes(const std::string& region) {
  if (region.rfind("us-west", 0) == 0) return 6 * 60;
  if (region.rfind("eu-", 0) == 0) return 22 * 60;
  if (region.rfind("ap-", 0) == 0) return 13 * 60;
  return 3 * 60;  // us-east-1, us-east-2 and the rest
}
constexpr int kBlockSlots = 8 * 60 / 30;  // the block's half hours

int DayIndex(const std::string& d) {
  std::string l = Lower(d);
  for (int i = 0; i < 7; ++i) {
    if (l == kDays[i]) return i;
  }
  return -1;
}

// Minutes since Monday 00:00 of "ddd:hh:mi", or -1.
int ParseWeekly(const std::string& s) {
  if (s.size() != 9 || s[3] != ':') return -1;
  int d = DayIndex(s.substr(0, 3));
  int t = ParseHhMi(s.substr(4));
  if (d < 0 || t < 0) return -1;
  return d * 1440 + t;
}

}  // namespace

Status ValidateIdentifier(const std::string& param, const std::string& value, size_t max_len) {
  if (value.empty()) {  // RDS's words for any blank identifier parameter
    return Status::InvalidParameter("The parameter " + param +
                                    " must be provided and must not be blank.");
  }
  bool ok = value.size() <= max_len && std::isalpha(static_cast<unsigned char>(value[0]));
  for (char c : value) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-') ||
        static_cast<unsigned char>(c) > 127) {
      ok = false;
    }
  }
  if (ok && (value.back() == '-' || value.find("--") != std::string::npos)) ok = false;
  if (ok) return Status::Ok();
  return Status::InvalidParameter(
      "The parameter " + param +
      " is not a valid identifier. Identifiers must begin with a letter; must contain only ASCII "
      "letters, digits, and hyphens; and must not end with a hyphen or contain two consecutive "
      "hyphens.");
}

Status ValidateSnapshotIdentifier(const std::string& param, const std::string& value) {
  if (!value.empty() && !std::isalpha(static_cast<unsigned char>(value[0]))) {
    // RDS checks a snapshot identifier's first character on its own, and says so with two
    // spaces before the identifier (observed on AWS; moto's InvalidDBSnapshotIdentifier
    // reproduces it).
    return Status::InvalidParameter("Invalid snapshot identifier:  " + value);
  }
  return ValidateIdentifier(param, value, 255);
}

Status ValidateMasterUsername(const std::string& value) {
  if (value.empty()) {
    return Status::InvalidParameter(
        "The parameter MasterUsername must be provided and must not be blank.");
  }
  bool ok = value.size() <= 63 && std::isalpha(static_cast<unsigned char>(value[0]));
  for (char c : value) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) ok = false;
  }
  if (!ok) {
    return Status::InvalidParameter(
        "The parameter MasterUsername is not a valid identifier. It must be 1 to 63 letters, "
        "digits or underscores, and begin with a letter.");
  }
  // PostgreSQL refuses role names starting with pg_ and these special role names (current_user
  // and user are reserved words, above).
  static const std::array<const char*, 4> kRoleSpecs = {"public", "none", "session_user",
                                                        "current_role"};
  std::string lower = Lower(value);
  bool special =
      lower.rfind("pg_", 0) == 0 ||
      std::any_of(kRoleSpecs.begin(), kRoleSpecs.end(), [&](const char* r) { return lower == r; });
  if (IsReservedWord(value) || IsRdsReservedRole(value) || special) {
    return Status::InvalidParameter("MasterUsername " + value +
                                    " cannot be used as it is a reserved word used by the engine");
  }
  return Status::Ok();
}

Status ValidateMasterPassword(const std::string& value) {
  if (value.empty()) {
    return Status::InvalidParameter(
        "The parameter MasterUserPassword must be provided and must not be blank.");
  }
  if (value.size() < 8) {
    return Status::InvalidParameter(
        "The parameter MasterUserPassword is not a valid password because it is shorter than 8 "
        "characters.");
  }
  if (value.size() > 128) {
    return Status::InvalidParameter(
        "The parameter MasterUserPassword is not a valid password because it is longer than 128 "
        "characters.");
  }
  for (char c : value) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x21 || u > 0x7e || c == '/' || c == '@' || c == '"') {
      return Status::InvalidParameter(
          "The parameter MasterUserPassword is not a valid password. Only printable ASCII "
          "characters besides '/', '@', '\"', ' ' may be used.");
    }
  }
  return Status::Ok();
}

Status ValidateDBName(const std::string& value) {
  bool ok =
      !value.empty() && value.size() <= 63 && std::isalpha(static_cast<unsigned char>(value[0]));
  for (char c : value) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) ok = false;
  }
  if (!ok) {
    return Status::InvalidParameter(
        "The parameter DBName is not a valid identifier. It must contain 1 to 63 letters, digits "
        "or underscores and begin with a letter.");
  }
  if (IsReservedWord(value) || Lower(value) == "postgres" || Lower(value) == "template0" ||
      Lower(value) == "template1" || Lower(value) == "rdsadmin") {
    return Status::InvalidParameter("DBName " + value +
                                    " cannot be used as it is a reserved word used by the engine");
  }
  return Status::Ok();
}

Status ValidateBackupRetention(int value) {
  if (value < 0 || value > 35) {
    return Status::InvalidParameter("Invalid backup retention period: " + std::to_string(value) +
                                    ". The retention period must be between 0 and 35 days.");
  }
  return Status::Ok();
}

Status ValidateStorageType(const std::string& storage_type) {
  if (storage_type == "gp2" || storage_type == "gp3" || storage_type == "io1" ||
      storage_type == "io2" || storage_type == "standard") {
    return Status::Ok();
  }
  return Status::InvalidParameter("Invalid storage type: " + storage_type);
}

Status ValidateAllocatedStorage(const std::string& storage_type, int gib) {
  int lo = 20, hi = 65536;
  if (storage_type == "io1" || storage_type == "io2") lo = 100;
  if (storage_type == "standard") {
    lo = 5;
    hi = 3072;
  }
  if (gib < lo || gib > hi) {
    return Status::InvalidParameter(
        "Invalid storage size for engine name postgres and storage type " + storage_type + ": " +
        std::to_string(gib));
  }
  return Status::Ok();
}

Status ValidatePort(int port) {
  if (port < 1150 || port > 65535) {
    return Status::InvalidParameter("Invalid port " + std::to_string(port) +
                                    ". The port must be between 1150 and 65535.");
  }
  return Status::Ok();
}

Status ValidateBackupWindow(const std::string& window) {
  int a = window.size() == 11 && window[5] == '-' ? ParseHhMi(window.substr(0, 5)) : -1;
  int b = a >= 0 ? ParseHhMi(window.substr(6)) : -1;
  if (a < 0 || b < 0) {
    return Status::InvalidParameter(
        "The parameter PreferredBackupWindow must be in the format "
        "hh24:mi-hh24:mi, in Universal Coordinated Time (UTC).");
  }
  int len = (b - a + 1440) % 1440;
  if (len < 30) {
    return Status::InvalidParameter(
        "The backup window must be at least 30 minutes (PreferredBackupWindow " + window + ").");
  }
  return Status::Ok();
}

Status ValidateMaintenanceWindow(const std::string& window) {
  // RDS's checks and words, in its order (moto's valid_preferred_maintenance_window carries the
  // same messages): the shape, then the values, then the length (30 minutes to 24 hours).
  auto shaped = [](const std::string& w) {
    if (w.size() != 19 || w[9] != '-') return false;
    for (size_t base : {size_t{0}, size_t{10}}) {
      for (size_t i = 0; i < 9; ++i) {
        const unsigned char c = static_cast<unsigned char>(w[base + i]);
        const bool ok = i < 3 ? std::islower(c) : (i == 3 || i == 6) ? c == ':' : std::isdigit(c);
        if (!ok) return false;
      }
    }
    return true;
  };
  if (!shaped(window)) {
    return Status::InvalidParameter(
        "Invalid maintenance window format: " + window +
        ". Should be specified as a range ddd:hh24:mi-ddd:hh24:mi (24H Clock UTC). Example: "
        "Sun:23:45-Mon:00:15");
  }
  const int a = ParseWeekly(window.substr(0, 9));
  const int b = ParseWeekly(window.substr(10));
  if (a < 0 || b < 0) {
    return Status::InvalidParameter("Invalid day:hour:minute value: " + window);
  }
  const int len = (b - a + 7 * 1440) % (7 * 1440);
  if (len < 30) {
    return Status::InvalidParameter("The maintenance window must be at least 30 minutes.");
  }
  if (len > 1440) {
    return Status::InvalidParameter("Maintenance window must be less than 24 hours.");
  }
  return Status::Ok();
}

bool WindowsOverlap(const std::string& backup_window, const std::string& maintenance_window) {
  int ba = ParseHhMi(backup_window.substr(0, 5));
  int bb = ParseHhMi(backup_window.substr(6));
  int ma = ParseWeekly(maintenance_window.substr(0, 9));
  int mb = ParseWeekly(maintenance_window.substr(10));
  if (ba < 0 || bb < 0 || ma < 0 || mb < 0) return false;
  int blen = (bb - ba + 1440) % 1440;
  int mlen = (mb - ma + 7 * 1440) % (7 * 1440);
  // The backup window recurs every day: check each day's occurrence against the weekly window.
  for (int day = 0; day < 7; ++day) {
    int s1 = day * 1440 + ba;
    for (int shift : {-7 * 1440, 0, 7 * 1440}) {
      int s2 = ma + shift;
      if (s1 < s2 + mlen && s2 < s1 + blen) return true;
    }
  }
  return false;
}

bool IsKnownInstanceClass(const std::string& db_instance_class) {
  return FindInstanceClass(db_instance_class) != nullptr;
}

Status ValidateTagKey(const std::string& key) {
  if (key.empty() || key.size() > 128) {
    return Status::InvalidParameter("Tag keys must be between 1 and 128 Unicode characters.");
  }
  if (key.rfind("aws:", 0) == 0 || key.rfind("rds:", 0) == 0) {
    return Status::InvalidParameter("Tag keys must not begin with \"aws:\" or \"rds:\".");
  }
  return Status::Ok();
}

Status ValidateTagValue(const std::string& value) {
  if (value.size() > 256) {
    return Status::InvalidParameter("Tag values must be at most 256 Unicode characters.");
  }
  return Status::Ok();
}

std::string DefaultBackupWindow(const std::string& region, const std::string& seed) {
  const int start =
      RegionBlockStartMinutes(region) + static_cast<int>(Fnv1a(seed) % kBlockSlots) * 30;
  return HhMi(start) + "-" + HhMi(start + 30);
}

std::string DefaultMaintenanceWindow(const std::string& region, const std::string& seed,
                                     const std::string& backup_window) {
  const uint32_t h = Fnv1a(seed + "maintenance");
  const int day = static_cast<int>(h % 7);
  const int first = static_cast<int>((h >> 8) % kBlockSlots);
  // Half hour `slot` after the block's start on `day`: a block that passes midnight goes on
  // into the next day (eu: sun:23:30-mon:00:00, then mon:00:00-mon:00:30).
  auto window = [&](int slot) {
    const int start = day * 1440 + RegionBlockStartMinutes(region) + slot * 30;
    return Weekly(start) + "-" + Weekly(start + 30);
  };
  // The random half hour of the block, else the next ones that miss the backup window (a
  // default backup window takes one of them; a long chosen one can take more: then the rest of
  // the day, and when none is left the first one, which the caller refuses as overlapping).
  for (int i = 0; i < 48; ++i) {
    const int slot = i < kBlockSlots ? (first + i) % kBlockSlots : i;
    const std::string w = window(slot);
    if (!WindowsOverlap(backup_window, w)) return w;
  }
  return window(first);
}

std::string NextAvailabilityZone(const std::string& az) {
  if (az.empty()) return az;
  const RegionInfo* region = FindRegion(std::string_view(az).substr(0, az.size() - 1));
  return region ? NextZone(*region, az) : az;
}

std::string ZoneForNewInstance(const std::string& region_name, const std::string& seed) {
  const RegionInfo* region = FindRegion(region_name);
  if (!region || region->zones.empty()) return region_name + "a";
  const uint32_t h = Fnv1a(seed);  // the same zone for the same seed on every build
  // Spread over the first three zones, as RDS spreads instances a user places nowhere.
  return region->zones[h % std::min<size_t>(3, region->zones.size())];
}

Status ValidateMultiAzZone(bool multi_az, bool az_given) {
  if (multi_az && az_given) {
    return Status::Error(AwsError::kInvalidParameterCombination,
                         "Requesting a specific availability zone is not valid for Multi-AZ "
                         "instances.");
  }
  return Status::Ok();
}

Status ValidateAvailabilityZone(const std::string& region_name, const std::string& az) {
  const RegionInfo* region = FindRegion(region_name);
  if (!region || !IsZoneOf(*region, az)) {
    return Status::InvalidParameter("Invalid availability zone: " + az);
  }
  return Status::Ok();
}

Status ValidateTags(const nlohmann::json& tags) {
  if (!tags.is_array()) return Status::Ok();
  if (tags.size() > 50) return Status::InvalidParameter("A resource can have at most 50 tags.");
  for (const auto& t : tags) {
    LOCALRDS_RETURN_IF_ERROR(ValidateTagKey(t.value("Key", "")));
    LOCALRDS_RETURN_IF_ERROR(ValidateTagValue(t.value("Value", "")));
  }
  return Status::Ok();
}

// The messages below follow RDS's "Invalid value 3412 for MaxRecords. Must be between 20 and 1000"
// (hashicorp/terraform-provider-aws#37221) where no RDS message for the parameter was found.

Status ValidateMonitoringInterval(int64_t seconds) {
  static constexpr int64_t kIntervals[] = {0, 1, 5, 10, 15, 30, 60};
  if (std::find(std::begin(kIntervals), std::end(kIntervals), seconds) != std::end(kIntervals)) {
    return Status::Ok();
  }
  return Status::InvalidParameter(
      "Invalid value " + std::to_string(seconds) +
      " for MonitoringInterval. Must be one of 0, 1, 5, 10, 15, 30, 60");
}

Status ValidatePromotionTier(int64_t tier) {
  if (tier >= 0 && tier <= 15) return Status::Ok();
  return Status::InvalidParameter("Invalid value " + std::to_string(tier) +
                                  " for PromotionTier. Must be between 0 and 15");
}

Status ValidatePerformanceInsightsRetention(int64_t days) {
  if (days == 7 || days == 731 || (days % 31 == 0 && days >= 31 && days <= 23 * 31)) {
    return Status::Ok();
  }
  return Status::InvalidParameter("Invalid value " + std::to_string(days) +
                                  " for PerformanceInsightsRetentionPeriod. Must be 7, 731, or a "
                                  "multiple of 31 between 31 and 713");
}

Status ValidateIops(const std::string& storage_type, int64_t iops, int64_t allocated_gib) {
  if (iops < 0) {
    return Status::InvalidParameter("Invalid value " + std::to_string(iops) +
                                    " for Iops. Must not be negative");
  }
  if (iops > 0 && (storage_type == "gp2" || storage_type == "standard")) {
    // RDS's own words (hashicorp/terraform-provider-aws#9667).
    return Status::Error(AwsError::kInvalidParameterCombination,
                         "Invalid iops value for engine name postgres and storage type " +
                             storage_type + ": " + std::to_string(iops));
  }
  if ((storage_type == "io1" || storage_type == "io2") && allocated_gib > 0) {
    // "Must be a multiple between .5 and 50 of the storage amount" (API reference, Iops).
    const double ratio = static_cast<double>(iops) / static_cast<double>(allocated_gib);
    if (ratio < 0.5 || ratio > 50) {
      char text[32];
      std::snprintf(text, sizeof text, "%.4f", ratio);
      // RDS's own wording (hashicorp/terraform-provider-aws#26092).
      return Status::Error(AwsError::kInvalidParameterCombination,
                           "Invalid iops to storage (GB) ratio for engine name postgres and "
                           "storage type " +
                               storage_type + ": " + text);
    }
  }
  return Status::Ok();
}

Status ValidateEngineOptions(const nlohmann::json& req) {
  // An empty value is an absent one, as RDS takes it (Terraform sends some parameters empty).
  const auto given = [&](const char* name) { return ReqString(req, name).value_or(""); };
  if (std::string license = given("LicenseModel");
      !license.empty() && license != "postgresql-license") {
    // RDS's own words (ansible/ansible#53407).
    return Status::Error(AwsError::kInvalidParameterCombination,
                         "Invalid license model '" + license +
                             "' for engine 'postgres'. Valid license models are: "
                             "postgresql-license");
  }
  if (std::string auth = given("MasterUserAuthenticationType"); auth == "iam-db-auth") {
    return Status::Error(AwsError::kInvalidParameterCombination,
                         "localrds has no IAM: the master user authenticates with its password "
                         "(MasterUserAuthenticationType=password).");
  } else if (!auth.empty() && auth != "password") {
    return Status::InvalidParameter("Invalid value " + auth +
                                    " for MasterUserAuthenticationType. Must be one of password, "
                                    "iam-db-auth");
  }
  if (!given("TdeCredentialArn").empty() || !given("TdeCredentialPassword").empty()) {
    // Transparent Data Encryption is Oracle's and SQL Server's (API reference, TdeCredentialArn).
    return Status::Error(AwsError::kInvalidParameterCombination,
                         "TDE credentials are not supported for engine postgres.");
  }
  return Status::Ok();
}

Status ValidateStorageThroughput(const std::string& storage_type, int64_t mibps) {
  if (mibps < 0) {
    return Status::InvalidParameter("Invalid value " + std::to_string(mibps) +
                                    " for StorageThroughput. Must not be negative");
  }
  if (mibps > 0 && storage_type != "gp3") {
    // After RDS's "You can't specify IOPS or storage throughput for engine mysql and a storage
    // size less than 400." (cloudtools/troposphere#2153).
    return Status::Error(AwsError::kInvalidParameterCombination,
                         "You can't specify storage throughput for engine postgres and storage "
                         "type " +
                             storage_type + ".");
  }
  return Status::Ok();
}

Status ValidateMaxAllocatedStorage(int64_t max_gib, int64_t allocated_gib) {
  if (max_gib == 0) return Status::Ok();  // autoscaling off
  // RDS's own wording for both (ministryofjustice/cloud-platform-environments#7483, #24422);
  // the User Guide: "Set the maximum storage threshold to at least 10% more than the current
  // allocated storage."
  if (max_gib <= allocated_gib) {
    return Status::Error(AwsError::kInvalidParameterCombination,
                         "Max storage size must be greater than storage size");
  }
  if (max_gib * 10 < allocated_gib * 11) {
    return Status::Error(AwsError::kInvalidParameterCombination,
                         "The maximum allocated storage must be increased by at least 10 "
                         "percent.");
  }
  return Status::Ok();
}

Status ValidateInstanceSettings(const nlohmann::json& req, const std::string& storage_type,
                                int64_t allocated_gib) {
  LOCALRDS_RETURN_IF_ERROR(ValidateEngineOptions(req));
  if (auto v = ReqInt(req, "MonitoringInterval")) {
    LOCALRDS_RETURN_IF_ERROR(ValidateMonitoringInterval(*v));
  }
  if (auto v = ReqInt(req, "PromotionTier")) LOCALRDS_RETURN_IF_ERROR(ValidatePromotionTier(*v));
  if (auto v = ReqInt(req, "PerformanceInsightsRetentionPeriod")) {
    LOCALRDS_RETURN_IF_ERROR(ValidatePerformanceInsightsRetention(*v));
  }
  if (auto v = ReqInt(req, "Iops")) {
    LOCALRDS_RETURN_IF_ERROR(ValidateIops(storage_type, *v, allocated_gib));
  }
  if (auto v = ReqInt(req, "StorageThroughput")) {
    LOCALRDS_RETURN_IF_ERROR(ValidateStorageThroughput(storage_type, *v));
  }
  if (auto v = ReqInt(req, "MaxAllocatedStorage")) {
    LOCALRDS_RETURN_IF_ERROR(ValidateMaxAllocatedStorage(*v, allocated_gib));
  }
  return Status::Ok();
}

Status ValidatePointInTimeSource(bool by_identifier, bool by_resource_id, bool by_backups_arn) {
  const int named = int{by_identifier} + int{by_resource_id} + int{by_backups_arn};
  if (named == 1) return Status::Ok();
  return Status::Error(AwsError::kInvalidParameterCombination,
                       named == 0 ? "One of SourceDBInstanceIdentifier, SourceDbiResourceId or "
                                    "SourceDBInstanceAutomatedBackupsArn must be specified."
                                  : "Specify only one of SourceDBInstanceIdentifier, "
                                    "SourceDbiResourceId and SourceDBInstanceAutomatedBackupsArn.");
}

}  // namespace localrds
