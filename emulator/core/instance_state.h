// The state of a DB instance beyond what RDS shows: its replication link and its Multi-AZ hosts.
//
// localrds keeps this bookkeeping in the instance row's attributes under keys that start with
// an underscore (the renderer never shows them). These functions are the only code that names
// those keys: everything else asks here. Pure, thread-safe.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "storage/catalog.h"

namespace localrds {

// --- read replicas ------------------------------------------------------------------------

//! The resource id of the instance `row` replicates from; nullopt for a primary.
std::optional<std::string> ReplicaSource(const InstanceRow& row);
inline bool IsReplica(const InstanceRow& row) { return ReplicaSource(row).has_value(); }
//! Makes `attrs` a replica of `source_resource_id`.
void SetReplicaSource(nlohmann::json& attrs, const std::string& source_resource_id);
//! Since when a replica's replication has been failing (ms; 0 when it is not).
int64_t ReplicationErrorSinceMs(const InstanceRow& row);
void SetReplicationErrorSinceMs(nlohmann::json& attrs, int64_t since_ms);
//! The resource id of the source a replica being promoted was detached from ("" otherwise).
std::string PromotedFrom(const InstanceRow& row);
void SetPromotedFrom(nlohmann::json& attrs, const std::string& source_resource_id);
//! Removes what makes an instance's fields a read replica's (its source, StatusInfos, the
//! replication bookkeeping): for an instance made from a replica, or one being promoted.
void ForgetReplication(nlohmann::json& attrs);
//! A replica's StatusInfos: one `read replication` entry, Normal only when `replicating`.
nlohmann::json ReplicationStatusInfos(const std::string& status, const std::string& message = "");
//! The physical replication slot a read replica (or a Multi-AZ standby: the instance's own
//! resource id) streams through on its source.
std::string ReplicationSlotName(const std::string& replica_resource_id);

// --- Multi-AZ -------------------------------------------------------------------------------

//! The application_name of every Multi-AZ standby: the one name in its primary's
//! synchronous_standby_names (read replicas use their resource ids).
inline constexpr const char* kStandbyName = "localrds_standby";

bool IsMultiAz(const InstanceRow& row);
//! The host ("a" or "b") that runs the primary; the other one runs the standby.
std::string PrimaryHost(const InstanceRow& row);
std::string StandbyHost(const InstanceRow& row);
void SetPrimaryHost(nlohmann::json& attrs, const std::string& host);
//! "" (no standby), "building", "ready" (in sync: failover may promote it) or "rebuild" (the
//! old primary's host after a failover, to be wiped).
std::string StandbyState(const InstanceRow& row);
void SetStandbyState(nlohmann::json& attrs, const std::string& state);
//! The Unix socket port of the standby (0 before it is chosen).
int StandbyPort(const InstanceRow& row);
void SetStandbyPort(nlohmann::json& attrs, int port);
//! True for an available Multi-AZ instance that should run and whose standby is in sync: its
//! primary's death is a failover (the monitor's, or at startup), not a restart in place.
bool CanFailOver(const InstanceRow& row);
//! True from a failover's `fence` until the new primary serves the endpoint (then the
//! instance's zones swap): the primary host the catalog names may still be a standby.
bool FailoverPending(const InstanceRow& row);
void SetFailoverPending(nlohmann::json& attrs, bool pending);
//! True while a ModifyDBInstance MultiAZ=true builds the first standby.
bool ConvertingToMultiAz(const InstanceRow& row);
void SetConvertingToMultiAz(nlohmann::json& attrs, bool converting);
//! The Multi-AZ fields of an instance made new (create, restore, read replica): MultiAZ, the
//! SecondaryAvailabilityZone after its AvailabilityZone, and none of the standby bookkeeping of
//! the instance it was copied from (its data is in host "a").
void ResetMultiAzFields(nlohmann::json& attrs, bool multi_az);

// --- storage ---------------------------------------------------------------------------------

//! True while the instance's data has outgrown its AllocatedStorage: its servers run with
//! localrds.storage_full = on (writes fail) and its status is storage-full.
bool StorageFull(const InstanceRow& row);
void SetStorageFull(nlohmann::json& attrs, bool full);
//! True once RDS-EVENT-0089 (more than 90% used) was sent, until usage drops below 90% again.
bool StorageLowWarned(const InstanceRow& row);
void SetStorageLowWarned(nlohmann::json& attrs, bool warned);
//! When AllocatedStorage last changed (ms; 0: never since creation): storage autoscaling waits
//! its cooldown after it.
int64_t StorageModifiedMs(const InstanceRow& row);
void SetStorageModifiedMs(nlohmann::json& attrs, int64_t ms);

//! The attribute that holds the tags of an instance's automated backups (their own ARN's).
inline constexpr const char* kAutomatedBackupTags = "_automated_backup_tags";

// --- parameters ---------------------------------------------------------------------------

//! The parameter values (name → value, as its parameter group holds them) the instance's
//! servers run with: its group's values as of its last start, and the dynamic ones applied at
//! once since (emulator/service/group_service.h).
std::map<std::string, std::string> InstanceParameters(const InstanceRow& row);
void SetInstanceParameters(nlohmann::json& attrs, const std::map<std::string, std::string>& p);
//! rds.force_ssl=1 among them: TCP logins must use TLS.
bool ForceSsl(const InstanceRow& row);
//! DBParameterGroups[0].ParameterApplyStatus ("in-sync", "applying", "pending-reboot"; "" when
//! the instance has no parameter group yet) and its setter.
std::string ParameterApplyStatus(const InstanceRow& row);
void SetParameterApplyStatus(InstanceRow& row, const std::string& status);
//! `applying` while dynamic values are being reloaded on the instance's servers, remembering the
//! status that follows (`after`: in-sync, or pending-reboot when static changes wait); a crash
//! between the two leaves `applying` for the startup reconciliation to finish (FinishApplying).
void StartApplying(InstanceRow& row, const std::string& after);
void FinishApplying(InstanceRow& row);
//! The instance waits for a reboot to run with its group's values (pending-reboot, now or once
//! the current apply ends).
bool ParametersPendingReboot(const InstanceRow& row);

// --- automated backups replication ---------------------------------------------------------
// A replicated automated backup is a retained-backup row in the destination region, keyed by a
// resource id of its own (its base backups and WAL archive are filed under it), that copies the
// automated backups of a live instance in another region.

//! The resource id of the instance whose automated backups `row` (a retained backup's
//! instance) replicates; "" for the retained backups of a deleted instance.
std::string ReplicatedFrom(const InstanceRow& row);
void SetReplicatedFrom(nlohmann::json& attrs, const std::string& source_resource_id);
//! "pending" (nothing copied yet), "replicating", or "retained" (stopped, or its source gone).
std::string BackupReplicationStatus(const InstanceRow& row);
void SetBackupReplicationStatus(nlohmann::json& attrs, const std::string& status);
//! Removes what makes an instance row a replicated backup's (for an instance restored from it).
void ForgetBackupReplication(nlohmann::json& attrs);
//! The snapshot a replicated automated snapshot was copied from ("" for any other).
std::string ReplicatedSnapshotOf(const SnapshotRow& snap);
void SetReplicatedSnapshotOf(nlohmann::json& attrs, const std::string& snapshot_id);

// --- snapshot sharing ----------------------------------------------------------------------

//! The `restore` attribute of a manual snapshot: the account ids it is shared with, and "all"
//! when it is public (ModifyDBSnapshotAttribute).
std::vector<std::string> RestoreAccounts(const SnapshotRow& snap);
void SetRestoreAccounts(nlohmann::json& attrs, const std::vector<std::string>& accounts);
//! True when `account` may copy or restore `snap` it does not own: shared with it, or public.
bool IsSharedWith(const SnapshotRow& snap, const std::string& account);
inline bool IsPublic(const SnapshotRow& snap) { return IsSharedWith(snap, "all"); }

}  // namespace localrds
