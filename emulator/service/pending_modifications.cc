#include "emulator/service/pending_modifications.h"

#include "common/log.h"
#include "emulator/core/instance_state.h"
#include "emulator/core/validation.h"

namespace localrds {

bool PlanPendingModifications(Registry& registry, Registry::Locked& reg, InstanceRow& row,
                              PendingPlan& plan) {
  nlohmann::json& a = row.attrs;
  if (!a.contains("PendingModifiedValues") || !a["PendingModifiedValues"].is_object()) {
    return false;
  }
  nlohmann::json& pending = a["PendingModifiedValues"];
  nlohmann::json& params = plan.params;
  nlohmann::json apply = nlohmann::json::object();
  nlohmann::json clear = nlohmann::json::array();
  // Each value as PlanOutageChanges (instance_modify.cc) starts it with ApplyImmediately: the
  // value stays listed while the operation runs, and its last step clears it.
  auto take = [&](const char* key) {
    apply[key] = pending[key];
    clear.push_back(key);
  };
  if (pending.contains("DBInstanceClass")) {
    if (pending["DBInstanceClass"] != a.value("DBInstanceClass", "")) {
      take("DBInstanceClass");
      plan.events.push_back(registry.MakeEvent(row, rds_events::kClassChanging));
    } else {
      pending.erase("DBInstanceClass");
    }
  }
  if (pending.contains("AllocatedStorage")) {
    if (pending["AllocatedStorage"] != a.value("AllocatedStorage", 0)) {
      take("AllocatedStorage");
    } else {
      pending.erase("AllocatedStorage");
    }
  }
  if (pending.contains("StorageType")) take("StorageType");
  if (pending.contains("DBInstanceIdentifier")) {
    const std::string id = pending["DBInstanceIdentifier"].get<std::string>();
    if (id == row.identifier) {
      pending.erase("DBInstanceIdentifier");
    } else if (!reg.IdentifierTaken(row.scope, id)) {
      params["new_identifier"] = id;
      clear.push_back("DBInstanceIdentifier");
    } else {
      LogLine("maintenance") << row.identifier << ": the pending rename to " << id
                             << " waits: another DB instance has that identifier";
    }
  }
  if (pending.contains("MultiAZ")) {
    const bool multi_az = pending["MultiAZ"].get<bool>();
    if (multi_az != IsMultiAz(row)) {
      params["multi_az"] = multi_az;
      if (multi_az) params["secondary_az"] = NextAvailabilityZone(a.value("AvailabilityZone", ""));
      clear.push_back("MultiAZ");
      plan.events.push_back(registry.MakeEvent(
          row, multi_az ? rds_events::kConvertingToMultiAz : rds_events::kConvertingToSingleAz));
    } else {
      pending.erase("MultiAZ");
    }
  }
  if (pending.contains("BackupRetentionPeriod")) {
    const int days = pending["BackupRetentionPeriod"].get<int>();
    const int old = a.value("BackupRetentionPeriod", 0);
    const bool toggles = (old == 0) != (days == 0);
    if (!(days == 0 && toggles && !reg.ReplicasOf(row.resource_id).empty())) {
      a["BackupRetentionPeriod"] = days;
      pending.erase("BackupRetentionPeriod");
      if (toggles) {
        plan.events.push_back(registry.MakeEvent(
            row, days == 0 ? rds_events::kBackupsDisabled : rds_events::kBackupsEnabled));
        params["backups"] = days == 0 ? "off" : "on";
        if (days > 0) {  // a new base backup starts the new restorable window
          plan.snapshots.push_back(reg.NewAutomatedSnapshot(row));
          params["snapshot_id"] = plan.snapshots.back().id;
        }
      }
    }
  }
  if (!apply.empty()) params["attrs"] = apply;
  if (!clear.empty()) params["clear_pending"] = clear;
  return !params.empty();
}

Result<Accepted> StartPendingModifications(Registry& registry, Registry::Locked& reg,
                                           OperationStarter& starter, InstanceRow row,
                                           bool reboot) {
  PendingPlan plan;
  if (!PlanPendingModifications(registry, reg, row, plan)) return Accepted{{}, 0};
  if (reboot) {
    plan.params["restart"] = true;
    row.status = DbStatus::kRebooting;
  } else {
    row.status =
        plan.params.contains("new_identifier") ? DbStatus::kRenaming : DbStatus::kModifying;
  }
  auto accepted =
      starter.Start(reg, row, OpKind::kModify, plan.params, plan.events, plan.snapshots);
  if (accepted.ok() && plan.params.contains("new_identifier")) {
    reg.pending_renames()[row.resource_id] = plan.params["new_identifier"].get<std::string>();
  }
  return accepted;
}

}  // namespace localrds
