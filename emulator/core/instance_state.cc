#include "emulator/core/instance_state.h"

#include <algorithm>
#include <cctype>

#include "emulator/core/validation.h"

namespace localrds {
namespace {
// The bookkeeping keys in an instance row's attributes (never rendered: they start with '_').
constexpr const char* kReplicaSource = "_replica_source";
constexpr const char* kReplicationErrorSince = "_replication_error_since_ms";
constexpr const char* kPromotedFrom = "_promoted_from";
constexpr const char* kPrimaryHost = "_primary_host";
constexpr const char* kStandby = "_standby";
constexpr const char* kStandbyPort = "_standby_port";
constexpr const char* kFailover = "_failover";
constexpr const char* kConverting = "_converting";
constexpr const char* kStorageFull = "_storage_full";
constexpr const char* kParameters = "_parameters";
constexpr const char* kApplyAfter = "_parameters_apply_after";
constexpr const char* kStorageLowWarned = "_storage_low_warned";
constexpr const char* kStorageModified = "_storage_modified_ms";
constexpr const char* kRestoreAccounts = "_restore";  // a snapshot's
constexpr const char* kReplicatedFrom = "_replicated_from";
constexpr const char* kBackupReplication = "_backup_replication";
constexpr const char* kReplicatedSnapshot = "_replicated_snapshot";  // a snapshot's

void SetOrErase(nlohmann::json& attrs, const char* key, bool on) {
  if (on) {
    attrs[key] = true;
  } else {
    attrs.erase(key);
  }
}
}  // namespace

std::optional<std::string> ReplicaSource(const InstanceRow& row) {
  auto it = row.attrs.find(kReplicaSource);
  if (it == row.attrs.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

void SetReplicaSource(nlohmann::json& attrs, const std::string& source_resource_id) {
  attrs[kReplicaSource] = source_resource_id;
}

int64_t ReplicationErrorSinceMs(const InstanceRow& row) {
  return row.attrs.value(kReplicationErrorSince, int64_t{0});
}

void SetReplicationErrorSinceMs(nlohmann::json& attrs, int64_t since_ms) {
  if (since_ms == 0) {
    attrs.erase(kReplicationErrorSince);
  } else {
    attrs[kReplicationErrorSince] = since_ms;
  }
}

std::string PromotedFrom(const InstanceRow& row) { return row.attrs.value(kPromotedFrom, ""); }

void SetPromotedFrom(nlohmann::json& attrs, const std::string& source_resource_id) {
  if (source_resource_id.empty()) {
    attrs.erase(kPromotedFrom);
  } else {
    attrs[kPromotedFrom] = source_resource_id;
  }
}

void ForgetReplication(nlohmann::json& attrs) {
  for (const char* k : {kReplicaSource, kPromotedFrom, "StatusInfos", kReplicationErrorSince}) {
    attrs.erase(k);
  }
}

nlohmann::json ReplicationStatusInfos(const std::string& status, const std::string& message) {
  nlohmann::json info = {
      {"StatusType", "read replication"}, {"Normal", status == "replicating"}, {"Status", status}};
  if (!message.empty()) info["Message"] = message;
  return nlohmann::json::array({info});
}

std::string ReplicationSlotName(const std::string& replica_resource_id) {
  std::string slot = "localrds_";
  for (char c : replica_resource_id) {
    slot += std::isalnum(static_cast<unsigned char>(c))
                ? static_cast<char>(std::tolower(static_cast<unsigned char>(c)))
                : '_';
  }
  return slot;
}

bool IsMultiAz(const InstanceRow& row) { return row.attrs.value("MultiAZ", false); }

std::string PrimaryHost(const InstanceRow& row) { return row.attrs.value(kPrimaryHost, "a"); }

std::string StandbyHost(const InstanceRow& row) { return PrimaryHost(row) == "a" ? "b" : "a"; }

void SetPrimaryHost(nlohmann::json& attrs, const std::string& host) { attrs[kPrimaryHost] = host; }

std::string StandbyState(const InstanceRow& row) { return row.attrs.value(kStandby, ""); }

void SetStandbyState(nlohmann::json& attrs, const std::string& state) {
  if (state.empty()) {
    attrs.erase(kStandby);
  } else {
    attrs[kStandby] = state;
  }
}

int StandbyPort(const InstanceRow& row) { return row.attrs.value(kStandbyPort, 0); }

void SetStandbyPort(nlohmann::json& attrs, int port) {
  if (port == 0) {
    attrs.erase(kStandbyPort);
  } else {
    attrs[kStandbyPort] = port;
  }
}

bool CanFailOver(const InstanceRow& row) {
  return IsMultiAz(row) && StandbyState(row) == "ready" && row.status == DbStatus::kAvailable &&
         row.desired_state == "running";
}

bool FailoverPending(const InstanceRow& row) { return row.attrs.value(kFailover, false); }

void SetFailoverPending(nlohmann::json& attrs, bool pending) {
  if (pending) {
    attrs[kFailover] = true;
  } else {
    attrs.erase(kFailover);
  }
}

bool ConvertingToMultiAz(const InstanceRow& row) { return row.attrs.value(kConverting, false); }

void SetConvertingToMultiAz(nlohmann::json& attrs, bool converting) {
  if (converting) {
    attrs[kConverting] = true;
  } else {
    attrs.erase(kConverting);
  }
}

void ResetMultiAzFields(nlohmann::json& attrs, bool multi_az) {
  // A new instance's storage is measured afresh (a restore of a full instance's snapshot starts
  // available, as on RDS, and the storage monitor decides).
  for (const char* k : {kPrimaryHost, kStandby, kStandbyPort, kFailover, kConverting, kStorageFull,
                        kStorageLowWarned, kStorageModified, "SecondaryAvailabilityZone"}) {
    attrs.erase(k);
  }
  attrs["MultiAZ"] = multi_az;
  if (multi_az) {
    attrs["SecondaryAvailabilityZone"] = NextAvailabilityZone(attrs.value("AvailabilityZone", ""));
  }
}

bool StorageFull(const InstanceRow& row) { return row.attrs.value(kStorageFull, false); }

void SetStorageFull(nlohmann::json& attrs, bool full) { SetOrErase(attrs, kStorageFull, full); }

bool StorageLowWarned(const InstanceRow& row) { return row.attrs.value(kStorageLowWarned, false); }

void SetStorageLowWarned(nlohmann::json& attrs, bool warned) {
  SetOrErase(attrs, kStorageLowWarned, warned);
}

int64_t StorageModifiedMs(const InstanceRow& row) {
  return row.attrs.value(kStorageModified, int64_t{0});
}

void SetStorageModifiedMs(nlohmann::json& attrs, int64_t ms) { attrs[kStorageModified] = ms; }

std::vector<std::string> RestoreAccounts(const SnapshotRow& snap) {
  return snap.attrs.value(kRestoreAccounts, std::vector<std::string>{});
}

void SetRestoreAccounts(nlohmann::json& attrs, const std::vector<std::string>& accounts) {
  if (accounts.empty()) {
    attrs.erase(kRestoreAccounts);
  } else {
    attrs[kRestoreAccounts] = accounts;
  }
}

bool IsSharedWith(const SnapshotRow& snap, const std::string& account) {
  const std::vector<std::string> accounts = RestoreAccounts(snap);
  return std::find(accounts.begin(), accounts.end(), account) != accounts.end() ||
         std::find(accounts.begin(), accounts.end(), "all") != accounts.end();
}

std::string ReplicatedFrom(const InstanceRow& row) { return row.attrs.value(kReplicatedFrom, ""); }

void SetReplicatedFrom(nlohmann::json& attrs, const std::string& source_resource_id) {
  attrs[kReplicatedFrom] = source_resource_id;
}

std::string BackupReplicationStatus(const InstanceRow& row) {
  return row.attrs.value(kBackupReplication, "retained");
}

void SetBackupReplicationStatus(nlohmann::json& attrs, const std::string& status) {
  attrs[kBackupReplication] = status;
}

void ForgetBackupReplication(nlohmann::json& attrs) {
  attrs.erase(kReplicatedFrom);
  attrs.erase(kBackupReplication);
  attrs.erase("_replica_kms_key_id");
}

std::string ReplicatedSnapshotOf(const SnapshotRow& snap) {
  return snap.attrs.value(kReplicatedSnapshot, "");
}

void SetReplicatedSnapshotOf(nlohmann::json& attrs, const std::string& snapshot_id) {
  attrs[kReplicatedSnapshot] = snapshot_id;
}

std::map<std::string, std::string> InstanceParameters(const InstanceRow& row) {
  std::map<std::string, std::string> out;
  auto it = row.attrs.find(kParameters);
  if (it == row.attrs.end() || !it->is_object()) return out;
  for (const auto& [name, value] : it->items()) {
    if (value.is_string()) out[name] = value.get<std::string>();
  }
  return out;
}

void SetInstanceParameters(nlohmann::json& attrs, const std::map<std::string, std::string>& p) {
  if (p.empty()) {
    attrs.erase(kParameters);
    return;
  }
  attrs[kParameters] = p;
}

bool ForceSsl(const InstanceRow& row) {
  const auto p = InstanceParameters(row);
  auto it = p.find("rds.force_ssl");
  return it != p.end() && it->second == "1";
}

std::string ParameterApplyStatus(const InstanceRow& row) {
  auto it = row.attrs.find("DBParameterGroups");
  if (it == row.attrs.end() || !it->is_array() || it->empty()) return "";
  return (*it)[0].value("ParameterApplyStatus", "");
}

void SetParameterApplyStatus(InstanceRow& row, const std::string& status) {
  auto it = row.attrs.find("DBParameterGroups");
  if (it != row.attrs.end() && it->is_array() && !it->empty()) {
    (*it)[0]["ParameterApplyStatus"] = status;
  }
}

void StartApplying(InstanceRow& row, const std::string& after) {
  SetParameterApplyStatus(row, "applying");
  row.attrs[kApplyAfter] = after;
}

bool ParametersPendingReboot(const InstanceRow& row) {
  const std::string status = ParameterApplyStatus(row);
  return status == "pending-reboot" ||
         (status == "applying" && row.attrs.value(kApplyAfter, "") == "pending-reboot");
}

void FinishApplying(InstanceRow& row) {
  auto it = row.attrs.find(kApplyAfter);
  const std::string after =
      it != row.attrs.end() && it->is_string() ? it->get<std::string>() : "in-sync";
  row.attrs.erase(kApplyAfter);
  if (ParameterApplyStatus(row) == "applying") SetParameterApplyStatus(row, after);
}

}  // namespace localrds
