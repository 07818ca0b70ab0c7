// RDS's parameter rules for PostgreSQL DB instances, as pure functions.
//
// Each returns OK or the exact AWS error a client would get from RDS (code + message).
// Thread-safe, no I/O.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace localrds {

//! DBInstanceIdentifier (and snapshot ids with max_len 255): 1..max_len letters, digits or
//! hyphens, a letter first, no "--", no trailing hyphen.
Status ValidateIdentifier(const std::string& param, const std::string& value, size_t max_len = 63);
Status ValidateMasterUsername(const std::string& value);
Status ValidateMasterPassword(const std::string& value);
Status ValidateDBName(const std::string& value);
Status ValidateBackupRetention(int value);
Status ValidateAllocatedStorage(const std::string& storage_type, int gib);
Status ValidatePort(int port);
Status ValidateStorageType(const std::string& storage_type);
//! "hh24:mi-hh24:mi", at least 30 minutes.
Status ValidateBackupWindow(const std::string& window);
//! "ddd:hh24:mi-ddd:hh24:mi", at least 30 minutes.
Status ValidateMaintenanceWindow(const std::string& window);
//! The two windows must not overlap (backup is daily, maintenance weekly).
bool WindowsOverlap(const std::string& backup_window, const std::string& maintenance_window);
//! An availability zone of `region`: the region's name and a letter a-f (us-east-1a).
//! The zone after `az` in its region (a → b → c → a): a Multi-AZ standby's, a replica's default.
std::string NextAvailabilityZone(const std::string& az);
//! RDS refuses a chosen AvailabilityZone with MultiAZ (InvalidParameterCombination).
Status ValidateMultiAzZone(bool multi_az, bool az_given);
Status ValidateAvailabilityZone(const std::string& region, const std::string& az);
//! True when the class is one localrds offers (DescribeOrderableDBInstanceOptions).
bool IsKnownInstanceClass(const std::string& db_instance_class);
Status ValidateTagKey(const std::string& key);
Status ValidateTagValue(const std::string& value);
//! A Tags list: at most 50, each key and value valid.
Status ValidateTags(const nlohmann::json& tags);

}  // namespace localrds
