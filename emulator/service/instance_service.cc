// The DB instance actions: Describe, Delete, Reboot, Stop, Start (Create is in
// instance_create.cc, Modify in instance_modify.cc).
#include "emulator/service/instance_service.h"

#include <algorithm>
#include <set>

#include "emulator/core/instance_state.h"
#include "emulator/core/paging.h"
#include "emulator/core/request.h"
#include "emulator/core/validation.h"
#include "emulator/engine/operation_engine.h"
#include "emulator/service/group_service.h"
#include "emulator/service/pending_modifications.h"

namespace localrds {

Result<InstancePage> InstanceService::ListDBInstances(const nlohmann::json& req) {
  auto max_records_arg = MaxRecordsArg(req, 20, 100, 100);
  if (!max_records_arg.ok()) return max_records_arg.status();
  const int max_records = *max_records_arg;
  std::set<std::string> ids, engines, resource_ids;
  bool match_nothing = false;
  for (const auto& f : req.value("Filters", nlohmann::json::array())) {
    std::string name = f.value("Name", "");
    std::set<std::string>* target = nullptr;
    if (name == "db-instance-id") {
      target = &ids;
    } else if (name == "engine") {
      target = &engines;
    } else if (name == "dbi-resource-id") {
      target = &resource_ids;
    } else if (name != "db-cluster-id" && name != "domain") {
      return Status::InvalidParameter("Unrecognized filter name: " + name + ".");
    }
    auto values = f.value("Values", nlohmann::json::array());
    if (values.empty()) {
      return Status::InvalidParameter("The filter " + name + " must have at least one value.");
    }
    if (target == nullptr) {
      match_nothing = true;  // localrds has no clusters or domains
      continue;
    }
    for (const auto& v : values) target->insert(v.get<std::string>());
  }
  const auto marker_arg = ReqString(req, "Marker");
  if (marker_arg) LOCALRDS_RETURN_IF_ERROR(CheckIdentifierMarker(*marker_arg));
  const std::string marker = ToLower(marker_arg.value_or(""));
  auto one = ReqString(req, "DBInstanceIdentifier");

  std::vector<std::shared_ptr<const nlohmann::json>> all;
  {
    Registry::Locked reg = registry_.Lock();
    if (one && one->rfind("arn:", 0) == 0) {  // "the identifier or the ARN" (API reference)
      auto rid = ResolveArn(reg, ScopeOf(req), *one);
      if (!rid.ok()) return rid.status();
      all.push_back(reg.Rendered(*rid));
    } else if (one) {
      auto r = reg.Find(ScopeOf(req), *one);
      if (!r.ok()) return r.status();
      all.push_back(reg.Rendered(r->resource_id));
    } else {
      for (const auto& [rid, rendered] : reg.rendered()) {
        if (reg.instances().at(rid).scope == ScopeOf(req)) all.push_back(rendered);
      }
    }
  }
  auto id_of = [](const std::shared_ptr<const nlohmann::json>& j) -> const std::string& {
    return (*j)["DBInstanceIdentifier"].get_ref<const std::string&>();
  };
  std::sort(all.begin(), all.end(),
            [&](const auto& a, const auto& b) { return id_of(a) < id_of(b); });
  InstancePage page;
  if (match_nothing) return page;
  for (const auto& j : all) {
    const std::string& id = id_of(j);
    if (!marker.empty() && id <= marker) continue;
    if (!ids.empty() && !ids.count(id) && !ids.count(Registry::InstanceArn(ScopeOf(req), id)))
      continue;
    if (!engines.empty() && !engines.count((*j)["Engine"].get<std::string>())) continue;
    if (!resource_ids.empty() && !resource_ids.count((*j)["DbiResourceId"].get<std::string>()))
      continue;
    if (static_cast<int>(page.instances.size()) == max_records) {
      page.marker = id_of(page.instances.back());
      break;
    }
    page.instances.push_back(j);
  }
  return page;
}

Result<nlohmann::json> InstanceService::DescribeDBInstances(const nlohmann::json& req) {
  auto page = ListDBInstances(req);
  if (!page.ok()) return page.status();
  nlohmann::json list = nlohmann::json::array();
  for (const auto& j : page->instances) list.push_back(*j);
  nlohmann::json out = nlohmann::json::object();
  out["DBInstances"] = std::move(list);
  if (!page->marker.empty()) out["Marker"] = page->marker;
  return out;
}

Result<Accepted> InstanceService::DeleteDBInstance(const nlohmann::json& req) {
  const std::string ident = ReqString(req, "DBInstanceIdentifier").value_or("");
  const bool skip_final = ReqBool(req, "SkipFinalSnapshot").value_or(false);
  auto final_id = ReqString(req, "FinalDBSnapshotIdentifier");
  if (skip_final && final_id) {
    return Status::Error(AwsError::kInvalidParameterCombination,
                         "Cannot specify both SkipFinalSnapshot and FinalDBSnapshotIdentifier.");
  }
  Registry::Locked reg = registry_.Lock();
  auto found = reg.Find(ScopeOf(req), ident);
  if (!found.ok()) return found.status();
  InstanceRow row = *found;
  // A read replica has no final snapshot (its source holds the data).
  const bool replica = IsReplica(row);
  if (replica && final_id) {
    return Status::Error(AwsError::kInvalidParameterCombination,
                         "FinalDBSnapshotIdentifier can not be specified when deleting a replica "
                         "instance");
  }
  if (!replica && !skip_final && !final_id) {
    return Status::Error(AwsError::kInvalidParameterCombination,
                         "FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is "
                         "specified.");
  }
  if (row.status == DbStatus::kDeleting) {
    return Status::Error(AwsError::kInvalidDBInstanceState,
                         "Instance " + row.identifier + " is already being deleted.");
  }
  LOCALRDS_RETURN_IF_ERROR(reg.CheckIdle(row));
  if (row.attrs.value("DeletionProtection", false)) {
    return Status::Error(AwsError::kInvalidParameterCombination,
                         "Cannot delete protected DB Instance, please disable deletion protection "
                         "and try again.");
  }
  nlohmann::json params = {
      {"retain_automated_backups", !ReqBool(req, "DeleteAutomatedBackups").value_or(true)}};
  std::vector<SnapshotRow> snapshots;
  std::vector<EventRow> events;
  if (final_id) {
    auto snap =
        reg.NewManualSnapshot(row, "FinalDBSnapshotIdentifier", *final_id, nlohmann::json::array());
    if (!snap.ok()) return snap.status();
    params["snapshot_id"] = snap->id;
    events.push_back(registry_.MakeSnapshotEvent(*snap, rds_events::kManualSnapshotCreating));
    snapshots.push_back(*snap);
  }
  row.status = DbStatus::kDeleting;
  return starter_.Start(reg, row, OpKind::kDelete, params, events, snapshots);
}

Result<Accepted> InstanceService::Transition(
    Registry::Locked& reg, const Scope& scope, const std::string& identifier, DbStatus required,
    DbStatus next, OpKind kind, const std::function<Status(const InstanceRow&)>& check) {
  auto found = reg.Find(scope, identifier);
  if (!found.ok()) return found.status();
  InstanceRow row = *found;
  LOCALRDS_RETURN_IF_ERROR(reg.CheckIdle(row));
  if (check) LOCALRDS_RETURN_IF_ERROR(check(row));
  LOCALRDS_RETURN_IF_ERROR(CheckInStatus(row, required));
  row.status = next;
  // A restart brings in every change of its parameter group (pending-reboot until then).
  if (kind == OpKind::kReboot || kind == OpKind::kStart) SyncParametersAtRestart(reg, row);
  return starter_.Start(reg, row, kind, nlohmann::json::object(), {});
}

Result<Accepted> InstanceService::RebootDBInstance(const nlohmann::json& req) {
  const bool force_failover = ReqBool(req, "ForceFailover").value_or(false);
  Registry::Locked reg = registry_.Lock();
  const std::string ident = ReqString(req, "DBInstanceIdentifier").value_or("");
  auto check = [&](const InstanceRow& row) {
    if (force_failover && !IsMultiAz(row)) {
      return Status::Error(AwsError::kInvalidParameterCombination,
                           "Cannot force failover on a DB instance that is not Multi-AZ.");
    }
    return Status::Ok();
  };
  if (!force_failover) {
    // A reboot applies the pending modifications (RDS: "the changes are applied ... when you
    // reboot the DB instance"): the modify operation they need, with a restart.
    auto found = reg.Find(ScopeOf(req), ident);
    if (found.ok() && reg.CheckIdle(*found).ok() && found->status == DbStatus::kAvailable) {
      InstanceRow row = *found;
      SyncParametersAtRestart(reg, row);  // the restart brings in its parameter group's changes
      auto applied = StartPendingModifications(registry_, reg, starter_, row, true);
      if (!applied.ok() || applied->operation_id != 0) return applied;
    }
    return Transition(reg, ScopeOf(req), ident, DbStatus::kAvailable, DbStatus::kRebooting,
                      OpKind::kReboot, check);
  }
  auto found = reg.Find(ScopeOf(req), ident);
  if (!found.ok()) return found.status();
  LOCALRDS_RETURN_IF_ERROR(reg.CheckIdle(*found));
  LOCALRDS_RETURN_IF_ERROR(check(*found));
  LOCALRDS_RETURN_IF_ERROR(CheckInStatus(*found, DbStatus::kAvailable));
  if (StandbyState(*found) != "ready") {
    return Status::Error(AwsError::kInvalidDBInstanceState,
                         "The Multi-AZ standby of DB instance " + found->identifier +
                             " is not in sync yet; try the failover again once it is.");
  }
  return starter_.StartFailover(reg, *found, true, "RebootDBInstance with ForceFailover");
}

Status InstanceService::CheckStoppable(Registry::Locked& reg, const InstanceRow& row) {
  // "You can't stop a DB instance that has a read replica, or that is a read replica."
  if (IsReplica(row)) {
    return Status::Error(AwsError::kInvalidDBInstanceState,
                         "Cannot stop or start a Read-Replica instance");
  }
  auto replicas = reg.ReplicasOf(row.resource_id);
  if (!replicas.empty()) {
    return Status::Error(AwsError::kInvalidDBInstanceState,
                         "Cannot stop or start a DB instance that has read replicas (" +
                             replicas.front()->identifier + ").");
  }
  return Status::Ok();
}

Result<Accepted> InstanceService::StopDBInstance(const nlohmann::json& req) {
  const auto snapshot_id = ReqString(req, "DBSnapshotIdentifier");
  Registry::Locked reg = registry_.Lock();
  if (!snapshot_id) {
    return Transition(reg, ScopeOf(req), ReqString(req, "DBInstanceIdentifier").value_or(""),
                      DbStatus::kAvailable, DbStatus::kStopping, OpKind::kStop,
                      [&](const InstanceRow& row) { return CheckStoppable(reg, row); });
  }
  // With a snapshot first: the same checks, then the snapshot row in the same commit.
  auto found = reg.Find(ScopeOf(req), ReqString(req, "DBInstanceIdentifier").value_or(""));
  if (!found.ok()) return found.status();
  InstanceRow row = *found;
  LOCALRDS_RETURN_IF_ERROR(reg.CheckIdle(row));
  LOCALRDS_RETURN_IF_ERROR(CheckStoppable(reg, row));
  LOCALRDS_RETURN_IF_ERROR(CheckInStatus(row, DbStatus::kAvailable));
  auto snap =
      reg.NewManualSnapshot(row, "DBSnapshotIdentifier", *snapshot_id, nlohmann::json::array());
  if (!snap.ok()) return snap.status();
  row.status = DbStatus::kStopping;
  return starter_.Start(reg, row, OpKind::kStop, {{"snapshot_id", snap->id}},
                        {registry_.MakeSnapshotEvent(*snap, rds_events::kManualSnapshotCreating)},
                        {*snap});
}

Result<Accepted> InstanceService::StartDBInstance(const nlohmann::json& req) {
  Registry::Locked reg = registry_.Lock();
  return Transition(reg, ScopeOf(req), ReqString(req, "DBInstanceIdentifier").value_or(""),
                    DbStatus::kStopped, DbStatus::kStarting, OpKind::kStart, nullptr);
}

}  // namespace localrds
