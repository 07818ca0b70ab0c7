// RDS's parameter rules for PostgreSQL DB instances, as pure functions.
//
// Each returns OK or the exact AWS error a client would get from RDS (code + message).
// Thread-safe, no I/O.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"

namespace localrds {

//! DBInstanceIdentifier (and snapshot ids with max_len 255): 1..max_len letters, digits or
//! hyphens, a letter first, no "--", no trailing hyphen.
Status ValidateIdentifier(const std::string& param, const std::string& value, size_t max_len = 63);
//! A DB snapshot identifier (1..255): ValidateIdentifier, except that a first character other
//! than a letter gets RDS's own message for snapshots ("Invalid snapshot identifier:  x").
Status ValidateSnapshotIdentifier(const std::string& param, const std::string& value);
Status ValidateMasterUsername(const std::string& value);
Status ValidateMasterPassword(const std::string& value);
Status ValidateDBName(const std::string& value);
Status ValidateBackupRetention(int value);
Status ValidateAllocatedStorage(const std::string& storage_type, int gib);
Status ValidatePort(int port);
Status ValidateStorageType(const std::string& storage_type);
//! "hh24:mi-hh24:mi", at least 30 minutes.
Status ValidateBackupWindow(const std::string& window);
//! "ddd:hh24:mi-ddd:hh24:mi" (lower case: callers lower it first), 30 minutes to 24 hours.
Status ValidateMaintenanceWindow(const std::string& window);
//! The two windows must not overlap (backup is daily, maintenance weekly).
bool WindowsOverlap(const std::string& backup_window, const std::string& maintenance_window);
//! RDS's default backup window: a random half hour of the region's 8-hour block, always the same
//! for the same `seed` (the instance's resource id).
std::string DefaultBackupWindow(const std::string& region, const std::string& seed);
//! RDS's default maintenance window: a random half hour of the region's block on a random day
//! (the same for the same `seed`) that does not overlap `backup_window`.
std::string DefaultMaintenanceWindow(const std::string& region, const std::string& seed,
                                     const std::string& backup_window);
//! The zone after `az` in its region's list (us-east-1a → b → … → f → a; us-west-1b → c → b): a
//! Multi-AZ standby's, a replica's default.
std::string NextAvailabilityZone(const std::string& az);
//! The zone of `region` an instance goes to when the request names none: one of its first three
//! zones, always the same for the same `seed` (the instance's resource id, or its identifier).
std::string ZoneForNewInstance(const std::string& region, const std::string& seed);
//! RDS refuses a chosen AvailabilityZone with MultiAZ (InvalidParameterCombination).
Status ValidateMultiAzZone(bool multi_az, bool az_given);
//! An Availability Zone of `region` as AWS names them (regions.h); InvalidParameterValue else.
Status ValidateAvailabilityZone(const std::string& region, const std::string& az);
//! True when the class is one localrds offers (DescribeOrderableDBInstanceOptions).
bool IsKnownInstanceClass(const std::string& db_instance_class);
Status ValidateTagKey(const std::string& key);
Status ValidateTagValue(const std::string& value);
//! A Tags list: at most 50, each key and value valid.
Status ValidateTags(const nlohmann::json& tags);

//! LicenseModel (postgresql-license only), MasterUserAuthenticationType (password; localrds
//! has no IAM) and TdeCredentialArn/Password (not for PostgreSQL), with RDS's errors.
Status ValidateEngineOptions(const nlohmann::json& req);

//! Enhanced Monitoring interval: 0 (off), 1, 5, 10, 15, 30 or 60 seconds.
Status ValidateMonitoringInterval(int64_t seconds);
//! Failover priority of a replica: 0 to 15.
Status ValidatePromotionTier(int64_t tier);
//! Performance Insights retention: 7, 731, or 31 days times 1 to 23 months.
Status ValidatePerformanceInsightsRetention(int64_t days);
//! Provisioned IOPS: never negative; on io1/io2, 0.5 to 50 IOPS per GiB of `allocated_gib`.
Status ValidateIops(const std::string& storage_type, int64_t iops, int64_t allocated_gib);
//! Storage throughput (MiBps): never negative, and only gp3 storage takes one.
Status ValidateStorageThroughput(const std::string& storage_type, int64_t mibps);
//! Storage autoscaling's ceiling: 0 (off), or at least 10% above AllocatedStorage.
Status ValidateMaxAllocatedStorage(int64_t max_gib, int64_t allocated_gib);
//! The settings above, each checked when `req` (a decoded Create, Modify, restore or read
//! replica request) has it. `storage_type` and `allocated_gib` are the instance's once the
//! request is applied.
Status ValidateInstanceSettings(const nlohmann::json& req, const std::string& storage_type,
                                int64_t allocated_gib);
//! RestoreDBInstanceToPointInTime names its source exactly once: by SourceDBInstanceIdentifier,
//! SourceDbiResourceId or SourceDBInstanceAutomatedBackupsArn.
Status ValidatePointInTimeSource(bool by_identifier, bool by_resource_id, bool by_backups_arn);

}  // namespace localrds
