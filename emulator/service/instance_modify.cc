// ModifyDBInstance: the request validated on its own, then against the instance; what RDS
// changes without an outage is stored at once; the rest starts a "modify" operation with
// ApplyImmediately, or waits in PendingModifiedValues (RDS applies it in the maintenance window).
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/scram.h"
#include "common/time_util.h"
#include "emulator/core/instance_state.h"
#include "emulator/core/request.h"
#include "emulator/core/validation.h"
#include "emulator/service/group_service.h"
#include "emulator/service/instance_service.h"
#include "emulator/service/pending_modifications.h"

namespace localrds {
namespace {

// A ModifyDBInstance request, validated before the instance is looked at.
struct ModifyRequest {
  std::string ident;
  bool apply_now = false;
  std::optional<std::string> password;
  std::optional<std::string> new_class;
  std::optional<int64_t> retention;
  std::optional<std::string> backup_window;
  std::optional<std::string> maint_window;  //!< lower case
  std::optional<int64_t> new_port;
  std::optional<std::string> new_id;  //!< lower case
  std::optional<bool> multi_az;
};

// What the modification needs beyond the stored record: the "modify" operation's params (none:
// no operation), the events committed with it, and the automated snapshot it takes.
struct ModifyPlan {
  nlohmann::json params = nlohmann::json::object();
  std::vector<EventRow> events;
  std::vector<SnapshotRow> snapshots;
};

// Validate everything before touching anything.
Result<ModifyRequest> ReadModifyRequest(const nlohmann::json& req) {
  ModifyRequest m;
  m.ident = ReqString(req, "DBInstanceIdentifier").value_or("");
  m.apply_now = ReqBool(req, "ApplyImmediately").value_or(false);
  m.password = ReqString(req, "MasterUserPassword");
  if (m.password) LOCALRDS_RETURN_IF_ERROR(ValidateMasterPassword(*m.password));
  m.new_class = ReqString(req, "DBInstanceClass");
  if (m.new_class && !IsKnownInstanceClass(*m.new_class)) {
    return Status::Error(AwsError::kInvalidParameterCombination,
                         "RDS does not support creating a DB instance with the following "
                         "combination: DBInstanceClass=" +
                             *m.new_class + ", Engine=postgres.");
  }
  m.retention = ReqInt(req, "BackupRetentionPeriod");
  if (m.retention) {
    LOCALRDS_RETURN_IF_ERROR(ValidateBackupRetention(static_cast<int>(*m.retention)));
  }
  m.backup_window = ReqString(req, "PreferredBackupWindow");
  if (m.backup_window) LOCALRDS_RETURN_IF_ERROR(ValidateBackupWindow(*m.backup_window));
  m.maint_window = ReqString(req, "PreferredMaintenanceWindow");
  if (m.maint_window) {
    *m.maint_window = ToLower(*m.maint_window);
    LOCALRDS_RETURN_IF_ERROR(ValidateMaintenanceWindow(*m.maint_window));
  }
  m.new_port = ReqInt(req, "DBPortNumber");
  if (m.new_port) LOCALRDS_RETURN_IF_ERROR(ValidatePort(static_cast<int>(*m.new_port)));
  m.new_id = ReqString(req, "NewDBInstanceIdentifier");
  if (m.new_id) {
    LOCALRDS_RETURN_IF_ERROR(ValidateIdentifier("NewDBInstanceIdentifier", *m.new_id));
    *m.new_id = ToLower(*m.new_id);
  }
  m.multi_az = ReqBool(req, "MultiAZ");
  if (ReqBool(req, "ManageMasterUserPassword").value_or(false)) {
    return Status::Error(AwsError::kInvalidParameterCombination,
                         "localrds cannot manage master passwords in AWS Secrets Manager.");
  }
  return m;
}

// A new port must be free on this machine, unless it is the instance's own. AllocatePort cannot
// run in the registry's lock, so this comes before the other checks against the instance.
Status CheckNewPortFree(InstanceServers& servers, Registry& registry, const Scope& scope,
                        const ModifyRequest& m) {
  if (!m.new_port) return Status::Ok();
  std::optional<int> free_port = servers.AllocatePort(static_cast<int>(*m.new_port), "");
  if (free_port && *free_port == *m.new_port) return Status::Ok();
  Registry::Locked reg = registry.Lock();
  auto r = reg.Find(scope, m.ident);
  if (!r.ok()) return r.status();
  if (r->port != *m.new_port) {
    return Status::InvalidParameter("Port " + std::to_string(*m.new_port) +
                                    " is already in use on this machine.");
  }
  return Status::Ok();
}

// The checks that need the instance: idle and available, a free new identifier, storage that
// only grows and suits its settings, windows that do not overlap, and the refusals that depend
// on replication (retention 0 for a source of replicas, a replica's password).
Status CheckAgainstInstance(Registry::Locked& reg, const nlohmann::json& req,
                            const ModifyRequest& m, const InstanceRow& row,
                            const std::string& storage_type) {
  LOCALRDS_RETURN_IF_ERROR(reg.CheckIdle(row));
  // A full instance takes a storage increase: that is how it gets out of storage-full.
  const bool storage_full_fix =
      row.status == DbStatus::kStorageFull && ReqInt(req, "AllocatedStorage").has_value();
  if (row.status != DbStatus::kAvailable && !storage_full_fix) {  // ModifyDBInstance's words
    return Status::Error(AwsError::kInvalidDBInstanceState,
                         "Database instance is not in available state.");
  }
  if (m.new_id && *m.new_id != row.identifier) {
    LOCALRDS_RETURN_IF_ERROR(CheckIdentifierFree(reg, row.scope, *m.new_id));
  }
  LOCALRDS_RETURN_IF_ERROR(ValidateStorageType(storage_type));
  auto storage = ReqInt(req, "AllocatedStorage");
  if (storage) {
    LOCALRDS_RETURN_IF_ERROR(ValidateAllocatedStorage(storage_type, static_cast<int>(*storage)));
    if (*storage < row.attrs.value("AllocatedStorage", 0)) {
      return Status::InvalidParameter(
          "Invalid storage size: allocated storage can only be increased (current " +
          std::to_string(row.attrs.value("AllocatedStorage", 0)) + " GiB).");
    }
    const int64_t current = row.attrs.value("AllocatedStorage", int64_t{0});
    if (*storage > current && *storage * 10 < current * 11) {
      // "When you increase the allocated storage, it must be by at least 10 percent. If you try
      // to increase the value by less than 10 percent, you get an error." (User Guide,
      // USER_PIOPS.ModifyingExisting); worded as RDS words the same rule for
      // MaxAllocatedStorage.
      return Status::Error(AwsError::kInvalidParameterCombination,
                           "The allocated storage must be increased by at least 10 percent.");
    }
    if (storage_full_fix && *storage == current) {
      return Status::Error(AwsError::kInvalidDBInstanceState,
                           "Database instance is not in available state.");
    }
  }
  {
    // The settings checked against the storage the instance has once this request is applied.
    const int64_t allocated = storage.value_or(row.attrs.value("AllocatedStorage", 0));
    LOCALRDS_RETURN_IF_ERROR(ValidateInstanceSettings(req, storage_type, allocated));
    const int64_t max_storage = row.attrs.value("MaxAllocatedStorage", 0);
    if (storage && !ReqInt(req, "MaxAllocatedStorage") && max_storage > 0) {
      LOCALRDS_RETURN_IF_ERROR(ValidateMaxAllocatedStorage(max_storage, allocated));
    }
  }
  {
    std::string bw = m.backup_window.value_or(row.attrs.value("PreferredBackupWindow", ""));
    std::string mw = m.maint_window.value_or(row.attrs.value("PreferredMaintenanceWindow", ""));
    if ((m.backup_window || m.maint_window) && WindowsOverlap(bw, mw)) {
      return Status::InvalidParameter("The backup window and maintenance window must not overlap.");
    }
  }
  if (m.retention && *m.retention == 0) {
    auto replicas = reg.ReplicasOf(row.resource_id);
    if (!replicas.empty()) {
      return Status::Error(AwsError::kInvalidParameterCombination,
                           "BackupRetentionPeriod can't be set to 0 for a DB instance that is a "
                           "source to read replicas (" +
                               replicas.front()->identifier + ").");
    }
  }
  if (m.password && IsReplica(row)) {
    return Status::Error(AwsError::kInvalidParameterCombination,
                         "The master user password of a read replica is its source's: change it "
                         "on the source DB instance.");
  }
  return Status::Ok();
}

// Fields RDS stores and reports without an outage: applied to the record at once.
void StoreSettingsWithoutOutage(const nlohmann::json& req, const ModifyRequest& m,
                                nlohmann::json& a) {
  static const std::vector<std::pair<const char*, const char*>> kStoredBools = {
      {"AutoMinorVersionUpgrade", "AutoMinorVersionUpgrade"},
      {"DeletionProtection", "DeletionProtection"},
      {"CopyTagsToSnapshot", "CopyTagsToSnapshot"},
      {"PubliclyAccessible", "PubliclyAccessible"},
      {"EnableIAMDatabaseAuthentication", "IAMDatabaseAuthenticationEnabled"},
      {"EnablePerformanceInsights", "PerformanceInsightsEnabled"}};
  for (const auto& [in, out] : kStoredBools) {
    if (auto v = ReqBool(req, in)) a[out] = *v;
  }
  static const std::vector<const char*> kStoredInts = {
      "MonitoringInterval",  "PromotionTier",
      "MaxAllocatedStorage", "Iops",
      "StorageThroughput",   "PerformanceInsightsRetentionPeriod"};
  for (const char* k : kStoredInts) {
    if (auto v = ReqInt(req, k)) a[k] = *v;
  }
  if (auto v = ReqString(req, "CACertificateIdentifier")) {
    a["CACertificateIdentifier"] = *v;
    a["CertificateDetails"]["CAIdentifier"] = *v;
  }
  if (auto v = ReqString(req, "NetworkType")) a["NetworkType"] = *v;
  if (m.backup_window) a["PreferredBackupWindow"] = *m.backup_window;
  if (m.maint_window) a["PreferredMaintenanceWindow"] = *m.maint_window;
}

// BackupRetentionPeriod: stored at once unless it switches automated backups on or off without
// ApplyImmediately (then pending). Returns "on" / "off" when backups are switched now, else "".
std::string ApplyRetention(Registry& registry, const ModifyRequest& m, InstanceRow& row,
                           std::vector<EventRow>& events) {
  if (!m.retention) return "";
  nlohmann::json& a = row.attrs;
  nlohmann::json& pending = a["PendingModifiedValues"];
  int old = a.value("BackupRetentionPeriod", 0);
  bool toggles = (old == 0) != (*m.retention == 0);
  if (toggles && !m.apply_now) {
    pending["BackupRetentionPeriod"] = *m.retention;
    return "";
  }
  a["BackupRetentionPeriod"] = *m.retention;
  pending.erase("BackupRetentionPeriod");
  if (!toggles) return "";
  events.push_back(registry.MakeEvent(
      row, *m.retention == 0 ? rds_events::kBackupsDisabled : rds_events::kBackupsEnabled));
  return *m.retention == 0 ? "off" : "on";
}

// Changes with an outage or real work: now with ApplyImmediately (in the plan's params: the
// operation applies them), else pending (RDS applies them in the maintenance window).
void PlanOutageChanges(Registry& registry, const nlohmann::json& req, const ModifyRequest& m,
                       const std::string& storage_type, InstanceRow& row, ModifyPlan& plan) {
  nlohmann::json& a = row.attrs;
  nlohmann::json& pending = a["PendingModifiedValues"];
  nlohmann::json& params = plan.params;
  std::vector<EventRow>& events = plan.events;
  const bool apply_now = m.apply_now;
  nlohmann::json apply = nlohmann::json::object();
  nlohmann::json clear = nlohmann::json::array();
  if (m.new_class && *m.new_class != a.value("DBInstanceClass", "")) {
    if (apply_now) {
      apply["DBInstanceClass"] = *m.new_class;
      pending["DBInstanceClass"] = *m.new_class;
      clear.push_back("DBInstanceClass");
      events.push_back(registry.MakeEvent(row, rds_events::kClassChanging));
    } else {
      pending["DBInstanceClass"] = *m.new_class;
    }
  }
  auto storage = ReqInt(req, "AllocatedStorage");
  if (storage && *storage != a.value("AllocatedStorage", 0)) {
    if (apply_now) {
      apply["AllocatedStorage"] = *storage;
      pending["AllocatedStorage"] = *storage;
      clear.push_back("AllocatedStorage");
    } else {
      pending["AllocatedStorage"] = *storage;
    }
  }
  if (ReqString(req, "StorageType") && storage_type != a.value("StorageType", "")) {
    if (apply_now) {
      apply["StorageType"] = storage_type;
    } else {
      pending["StorageType"] = storage_type;
    }
  }
  if (m.new_id && *m.new_id != row.identifier) {
    if (apply_now) {
      params["new_identifier"] = *m.new_id;
    } else {
      pending["DBInstanceIdentifier"] = *m.new_id;
    }
  }
  if (m.password) {
    // RDS changes the master password at once, whatever ApplyImmediately says.
    params["password_verifier"] = ScramSha256Verifier(*m.password);
    pending["MasterUserPassword"] = "****";
    clear.push_back("MasterUserPassword");
  }
  if (m.new_port && *m.new_port != row.port) {
    params["port"] = *m.new_port;  // RDS applies port changes at once, with a reboot
  }
  if (m.multi_az && *m.multi_az != IsMultiAz(row)) {
    if (apply_now) {
      params["multi_az"] = *m.multi_az;
      if (*m.multi_az) {
        params["secondary_az"] = NextAvailabilityZone(a.value("AvailabilityZone", ""));
      }
      pending["MultiAZ"] = *m.multi_az;
      clear.push_back("MultiAZ");
      events.push_back(registry.MakeEvent(
          row, *m.multi_az ? rds_events::kConvertingToMultiAz : rds_events::kConvertingToSingleAz));
    } else {
      pending["MultiAZ"] = *m.multi_az;
    }
  }
  if (!apply.empty()) params["attrs"] = apply;
  if (!clear.empty()) params["clear_pending"] = clear;
}

// The pending modifications of `row` that ApplyImmediately applies along with this request:
// planned as a reboot or the maintenance window would (PlanPendingModifications), leaving out
// what the request sets itself. `row` gets what is recorded at once (a pending retention).
void PlanEarlierPending(Registry& registry, Registry::Locked& reg, const nlohmann::json& req,
                        const ModifyRequest& m, InstanceRow& row, PendingPlan& earlier) {
  InstanceRow without = row;
  nlohmann::json& p = without.attrs["PendingModifiedValues"];
  const std::pair<bool, const char*> set_anew[] = {
      {m.new_class.has_value(), "DBInstanceClass"},
      {ReqInt(req, "AllocatedStorage").has_value(), "AllocatedStorage"},
      {ReqString(req, "StorageType").has_value(), "StorageType"},
      {m.new_id.has_value(), "DBInstanceIdentifier"},
      {m.multi_az.has_value(), "MultiAZ"},
      {m.retention.has_value(), "BackupRetentionPeriod"}};
  for (const auto& [given, key] : set_anew) {
    if (given) p.erase(key);
  }
  if (!PlanPendingModifications(registry, reg, without, earlier)) return;
  if (!without.attrs["PendingModifiedValues"].contains("BackupRetentionPeriod") &&
      row.attrs["PendingModifiedValues"].contains("BackupRetentionPeriod") && !m.retention) {
    row.attrs["BackupRetentionPeriod"] = without.attrs["BackupRetentionPeriod"];
    row.attrs["PendingModifiedValues"].erase("BackupRetentionPeriod");
  }
}

// Adds the earlier pending modifications' operation params, events and snapshot to `plan`
// (their keys never collide: PlanEarlierPending left out what this request sets).
void MergeEarlierPending(PendingPlan earlier, ModifyPlan& plan) {
  for (auto& [key, value] : earlier.params.items()) {
    if (key == "attrs") {
      for (auto& [k, v] : value.items()) plan.params["attrs"][k] = v;
    } else if (key == "clear_pending") {
      for (auto& k : value) plan.params["clear_pending"].push_back(k);
    } else {
      plan.params[key] = value;
    }
  }
  for (auto& e : earlier.events) plan.events.push_back(std::move(e));
  for (auto& s : earlier.snapshots) plan.snapshots.push_back(std::move(s));
}

// A new CACertificateIdentifier: a new server certificate from that CA, valid a year, served
// after a restart (RDS's default) or, with CertificateRotationRestart=false, after a reload
// (PostgreSQL reads its certificate again on SIGHUP).
void PlanCertificateRotation(const nlohmann::json& req, const std::string& old_ca, int64_t now_ms,
                             InstanceRow& row, ModifyPlan& plan) {
  auto ca = ReqString(req, "CACertificateIdentifier");
  if (!ca || *ca == old_ca) return;
  row.attrs["CertificateDetails"]["ValidTill"] =
      FormatIso8601(now_ms + kServerCertificateLifetimeMs, false);
  plan.params["certificate"] =
      ReqBool(req, "CertificateRotationRestart").value_or(true) ? "restart" : "reload";
}

}  // namespace

Result<Accepted> InstanceService::ModifyDBInstance(const nlohmann::json& req) {
  auto m = ReadModifyRequest(req);
  if (!m.ok()) return m.status();
  LOCALRDS_RETURN_IF_ERROR(CheckNewPortFree(servers_, registry_, ScopeOf(req), *m));

  Registry::Locked reg = registry_.Lock();
  auto found = reg.Find(ScopeOf(req), m->ident);
  if (!found.ok()) return found.status();
  InstanceRow row = *found;
  const std::string storage_type =
      ReqString(req, "StorageType").value_or(row.attrs.value("StorageType", "gp2"));
  LOCALRDS_RETURN_IF_ERROR(CheckAgainstInstance(reg, req, *m, row, storage_type));
  LOCALRDS_RETURN_IF_ERROR(ChangeGroups(reg, req, row));

  nlohmann::json& pending = row.attrs["PendingModifiedValues"];
  if (!pending.is_object()) pending = nlohmann::json::object();
  // ApplyImmediately applies "the modifications in this request and any pending modifications"
  // (RDS API reference): what earlier requests left pending, except what this one sets anew.
  PendingPlan earlier;
  if (m->apply_now) PlanEarlierPending(registry_, reg, req, *m, row, earlier);
  const std::string old_ca = row.attrs.value("CACertificateIdentifier", "");
  StoreSettingsWithoutOutage(req, *m, row.attrs);
  ModifyPlan plan;
  PlanCertificateRotation(req, old_ca, registry_.Now(), row, plan);
  const std::string backups_toggle = ApplyRetention(registry_, *m, row, plan.events);
  PlanOutageChanges(registry_, req, *m, storage_type, row, plan);
  MergeEarlierPending(std::move(earlier), plan);
  if (!backups_toggle.empty()) {
    plan.params["backups"] = backups_toggle;
    if (backups_toggle == "on") {  // a new base backup starts the new restorable window
      plan.snapshots.push_back(reg.NewAutomatedSnapshot(row));
      plan.params["snapshot_id"] = plan.snapshots.back().id;
    }
  }

  if (plan.params.empty()) {
    Mutation mutation;
    mutation.put.push_back(row);
    mutation.events = plan.events;
    LOCALRDS_RETURN_IF_ERROR(reg.Commit(mutation));
    return Accepted{reg.RenderInstance(row), 0};
  }
  row.status = plan.params.contains("new_identifier") ? DbStatus::kRenaming : DbStatus::kModifying;
  auto accepted =
      starter_.Start(reg, row, OpKind::kModify, plan.params, plan.events, plan.snapshots);
  if (accepted.ok() && plan.params.contains("new_identifier")) {
    reg.pending_renames()[row.resource_id] = plan.params["new_identifier"].get<std::string>();
  }
  return accepted;
}

}  // namespace localrds
