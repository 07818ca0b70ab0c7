#include "emulator/engine/starter.h"

#include "common/time_util.h"
#include "emulator/state/outages.h"

namespace localrds {

Result<Accepted> OperationStarter::Start(Registry::Locked& r, const InstanceRow& row, OpKind kind,
                                         nlohmann::json params, std::vector<EventRow> events,
                                         std::vector<SnapshotRow> snapshots) {
  // An outage drill: what would act on a server that answers nothing is refused, as RDS cannot
  // act on a host it cannot reach. A failover (away from it) and a delete still go ahead.
  const Outages& outages = registry_.outages();
  if (kind != OpKind::kFailover && kind != OpKind::kDelete &&
      r.instances().count(row.resource_id) &&
      PrimaryOut(outages, r.instances().at(row.resource_id))) {
    return Status::Error(AwsError::kInvalidDBInstanceState,
                         "DB instance " + row.identifier + " cannot be reached: its " +
                             OutageTakingDown(outages, r.instances().at(row.resource_id), false) +
                             " is in an outage (localrds drill).");
  }
  Mutation m;
  m.put.push_back(row);
  m.events = std::move(events);
  m.put_snapshots = std::move(snapshots);
  auto id = StartBare(r, row.resource_id, kind, std::move(params), std::move(m));
  if (!id.ok()) return id.status();
  return Accepted{r.RenderInstance(row), *id};
}

Result<int64_t> OperationStarter::StartBare(Registry::Locked& r, const std::string& resource_id,
                                            OpKind kind, nlohmann::json params, Mutation m) {
  OperationRow op;
  op.resource_id = resource_id;
  op.kind = kind;
  op.state = "running";
  op.params = std::move(params);
  op.created_ms = registry_.Now();  // a timing profile's holds count from here
  m.new_operation = op;
  int64_t id = 0;
  LOCALRDS_RETURN_IF_ERROR(r.Commit(m, &id));
  engine_.Submit(*m.new_operation);
  return id;
}

Result<Accepted> OperationStarter::StartFailover(Registry::Locked& r, InstanceRow row, bool forced,
                                                 const std::string& why) {
  if (forced) row.status = DbStatus::kRebooting;
  return Start(r, row, OpKind::kFailover, {{"forced", forced}, {"why", why}},
               {registry_.MakeEvent(row, rds_events::kFailoverStarted)});
}

Result<Accepted> OperationStarter::StartPromotion(Registry::Locked& r, InstanceRow row,
                                                  nlohmann::json params) {
  row.status = DbStatus::kModifying;
  std::vector<SnapshotRow> snapshots;
  if (params.value("retention", 0) > 0) {  // the promoted instance's first automated backup
    snapshots.push_back(r.NewAutomatedSnapshot(row));
    params["snapshot_id"] = snapshots.back().id;
  }
  return Start(r, row, OpKind::kPromote, std::move(params), {}, std::move(snapshots));
}

Result<Accepted> OperationStarter::StartBackup(Registry::Locked& r, InstanceRow row) {
  SnapshotRow snap = r.NewAutomatedSnapshot(row);
  row.status = DbStatus::kBackingUp;
  std::vector<EventRow> events = {
      registry_.MakeEvent(row, rds_events::kBackupStarted),
      registry_.MakeSnapshotEvent(snap, rds_events::kAutomatedSnapshotCreating)};
  return Start(r, row, OpKind::kBackup, {{"snapshot_id", snap.id}}, std::move(events), {snap});
}

}  // namespace localrds
