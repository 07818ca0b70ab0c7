#include "emulator/service/maintenance_service.h"

#include <cstdio>

#include "emulator/core/arn.h"
#include "emulator/core/instance_state.h"
#include "emulator/core/maintenance_window.h"
#include "emulator/core/paging.h"
#include "emulator/core/request.h"
#include "emulator/service/pending_modifications.h"

namespace localrds {
namespace {

// "15.4" → {15, 4}; {-1, -1} when it is not major.minor.
std::pair<int, int> MajorMinor(const std::string& v) {
  int major = -1, minor = -1;
  if (std::sscanf(v.c_str(), "%d.%d", &major, &minor) != 2) return {-1, -1};
  return {major, minor};
}

}  // namespace

Result<InstanceRow> MaintenanceService::FindByArn(Registry::Locked& reg, const Scope& scope,
                                                  const std::string& arn) const {
  auto parsed = ParseArn(arn);
  if (parsed && parsed->type == "db" && parsed->scope == scope) {
    auto row = reg.Find(scope, arn);
    if (row.ok()) return row;
  }
  return Status::Error(AwsError::kResourceNotFoundFault,
                       "The specified resource ARN " + arn + " was not found.");
}

// What localrds lists: a pending action is real work localrds would do. The only maintenance
// of RDS for PostgreSQL localrds could do is a minor-version upgrade to a newer installed minor
// of the same major, and an installation holds one minor per major (Debian's
// postgresql-<major> package), so there is never one: the list is empty, with RDS's shape and
// RDS's refusals of bad requests.
Result<nlohmann::json> MaintenanceService::DescribePendingMaintenanceActions(
    const nlohmann::json& req) {
  auto max_records = MaxRecordsArg(req, 20, 100, 100);
  if (!max_records.ok()) return max_records.status();
  for (const auto& f : req.value("Filters", nlohmann::json::array())) {
    const std::string name = f.value("Name", "");
    if (name != "db-instance-id" && name != "db-cluster-id") {
      return Status::InvalidParameter("Unrecognized filter name: " + name + ".");
    }
    if (f.value("Values", nlohmann::json::array()).empty()) {
      return Status::InvalidParameter("The filter " + name + " must have at least one value.");
    }
  }
  if (auto resource = ReqString(req, "ResourceIdentifier")) {
    Registry::Locked reg = registry_.Lock();
    auto row = FindByArn(reg, ScopeOf(req), *resource);
    if (!row.ok()) return row.status();
  }
  return nlohmann::json{{"PendingMaintenanceActions", nlohmann::json::array()}};
}

Result<nlohmann::json> MaintenanceService::ApplyPendingMaintenanceAction(
    const nlohmann::json& req) {
  const std::string resource = ReqString(req, "ResourceIdentifier").value_or("");
  const std::string action = ReqString(req, "ApplyAction").value_or("");
  const std::string opt_in = ReqString(req, "OptInType").value_or("");
  for (const auto& [name, value] : {std::pair{"ResourceIdentifier", resource},
                                    {"ApplyAction", action},
                                    {"OptInType", opt_in}}) {
    if (value.empty()) {
      return Status::InvalidParameter(std::string("The parameter ") + name +
                                      " must be provided and must not be blank.");
    }
  }
  if (opt_in != "immediate" && opt_in != "next-maintenance" && opt_in != "undo-opt-in") {
    return Status::InvalidParameter("Invalid value " + opt_in +
                                    " for OptInType. Valid values are: immediate, "
                                    "next-maintenance, undo-opt-in.");
  }
  Registry::Locked reg = registry_.Lock();
  auto row = FindByArn(reg, ScopeOf(req), resource);
  if (!row.ok()) return row.status();
  // RDS's words when the resource has no such action (cloud-custodian/cloud-custodian#1897).
  return Status::Error(AwsError::kInvalidParameterCombination,
                       "There is no pending " + action + " action for " + resource);
}

// RDS upgrades a manual snapshot's engine version. localrds does what it can do for real: a
// newer installed minor of the snapshot's major (PostgreSQL minors share the on-disk format, so
// the files stay as they are and the snapshot says the version it restores to). A major upgrade
// would need pg_upgrade against a second installed major: refused, as RDS refuses a version
// with no upgrade path.
Result<Accepted> MaintenanceService::ModifyDBSnapshot(const nlohmann::json& req) {
  const std::string name = ReqString(req, "DBSnapshotIdentifier").value_or("");
  if (name.empty()) {
    return Status::InvalidParameter(
        "The parameter DBSnapshotIdentifier must be provided and must not be blank.");
  }
  Registry::Locked reg = registry_.Lock();
  auto found = reg.FindSnapshot(ScopeOf(req), name);
  if (!found.ok()) return found.status();
  SnapshotRow snap = *found;
  if (snap.type != "manual") {
    return Status::Error(AwsError::kInvalidDBSnapshotState,
                         "Only manual DB snapshots can be upgraded: " + snap.identifier +
                             " is an automated snapshot.");
  }
  if (snap.status != "available") {
    return Status::Error(AwsError::kInvalidDBSnapshotState,
                         "DB snapshot " + snap.identifier + " is not in available state.");
  }
  // A snapshot reports the engine version of the instance it was taken from (its "_instance"),
  // which is also what a restore of it runs.
  nlohmann::json& taken_from = snap.attrs["_instance"];
  if (!taken_from.is_object()) taken_from = nlohmann::json::object();
  const std::string current = taken_from.value("EngineVersion", "");
  if (auto group = ReqString(req, "OptionGroupName")) {
    if (*group != registry_.RenderSnapshot(snap).value("OptionGroupName", "")) {
      // "You can specify this parameter when you upgrade an Oracle DB snapshot" (API reference).
      return Status::Error(AwsError::kInvalidParameterCombination,
                           "OptionGroupName can be specified only when upgrading an Oracle DB "
                           "snapshot.");
    }
  }
  auto target = ReqString(req, "EngineVersion");
  if (!target || *target == current) return Accepted{registry_.RenderSnapshot(snap), 0};
  const auto from = MajorMinor(current);
  const auto to = MajorMinor(*target);
  if (to.first >= 0 && to < from) {  // RDS's words for a downgrade
    return Status::Error(AwsError::kInvalidParameterCombination,
                         "Cannot upgrade postgres from " + current + " to " + *target);
  }
  bool installed = false;
  for (const auto& v : runtime_.InstalledVersions()) installed |= v.full == *target;
  if (!installed || to.first != from.first) {
    return Status::Error(AwsError::kInvalidParameterCombination,
                         "Cannot find upgrade path from " + current + " to " + *target + ".");
  }
  taken_from["EngineVersion"] = *target;
  Mutation m;
  m.put_snapshots.push_back(snap);
  LOCALRDS_RETURN_IF_ERROR(reg.Commit(m));
  return Accepted{registry_.RenderSnapshot(snap), 0};
}

std::string MaintenanceService::ApplyInMaintenanceWindowsOnce() {
  std::string said;
  Registry::Locked reg = registry_.Lock();
  const int64_t now = registry_.Now();
  std::vector<InstanceRow> due;
  for (const auto& [rid, row] : reg.instances()) {
    if (row.status != DbStatus::kAvailable || reg.active_ops().count(rid) ||
        PrimaryOut(registry_.outages(), row)) {
      continue;
    }
    const auto& pending = row.attrs.value("PendingModifiedValues", nlohmann::json::object());
    if (pending.empty() || (pending.size() == 1 && pending.contains("MasterUserPassword"))) {
      continue;
    }
    if (!MaintenanceWindowOpen(row.attrs.value("PreferredMaintenanceWindow", ""), now)) continue;
    due.push_back(row);
  }
  for (const auto& row : due) {
    auto started = StartPendingModifications(registry_, reg, starter_, row, false);
    if (started.ok() && started->operation_id != 0) {
      said += "applying the pending modifications of " + row.identifier +
              " in its maintenance window. ";
    }
  }
  if (!said.empty()) said.pop_back();
  return said;
}

}  // namespace localrds
