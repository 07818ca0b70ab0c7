#include "emulator/service/outage_drills.h"

#include <map>

#include "common/log.h"
#include "emulator/core/instance_state.h"
#include "emulator/core/regions.h"
#include "emulator/postgres/sql.h"

namespace localrds {
namespace {

// True when `area` covers zone `az` of `row`'s Region.
bool Covers(const OutageArea& area, const InstanceRow& row, const std::string& az) {
  if (row.scope.region != area.region) return false;
  return area.kind == OutageArea::Kind::kRegion || az == area.name;
}

// The SQL of a server's WAL position: what a primary has flushed (what its replicas can have at
// most), what a standby has replayed.
constexpr const char* kWalPositionSql =
    "SELECT CASE WHEN pg_is_in_recovery() THEN coalesce(pg_last_wal_replay_lsn()::text, '') "
    "ELSE pg_current_wal_flush_lsn()::text END";

}  // namespace

Result<OutageArea> OutageDrills::Area(const std::string& name, bool zone) {
  OutageArea area;
  area.name = name;
  if (zone) {
    const RegionInfo* region = RegionOfZone(name);
    if (!region) {
      return Status::InvalidParameter("Unknown Availability Zone '" + name +
                                      "': not a zone of an AWS commercial region.");
    }
    area.kind = OutageArea::Kind::kZone;
    area.region = region->name;
  } else {
    if (!FindRegion(name)) {
      return Status::InvalidParameter("Unknown region '" + name +
                                      "': not an AWS commercial region.");
    }
    area.region = name;
  }
  return area;
}

void OutageDrills::SetOutageAsync(OutageArea area, bool out,
                                  std::function<void(Result<nlohmann::json>)> done) {
  executor_.Post([this, area = std::move(area), out, done = std::move(done)] {
    Result<nlohmann::json> result = Status::Internal("unset");
    try {
      result = SetOutage(area, out);
    } catch (const std::exception& e) {
      result = Status::Internal(e.what());
    }
    done(std::move(result));
  });
}

std::string OutageDrills::WalPosition(const ServerSpec& spec) {
  auto lsn = runtime_.QueryValue(spec, "postgres", kWalPositionSql);
  return lsn.ok() ? *lsn : "";
}

Result<nlohmann::json> OutageDrills::SetOutage(OutageArea area, bool out) {
  std::lock_guard<std::mutex> drill(drill_mutex_);
  area.since_ms = registry_.Now();
  auto changed = registry_.outages().Set(area, out);
  if (!changed.ok()) return changed.status();
  Mutation m;
  if (*changed) {
    EventRow e;
    e.scope = {registry_.config().account_id, area.region};
    e.date_ms = registry_.Now();
    e.source_type = area.SourceType();
    e.source_identifier = area.name;
    const EventSpec& spec = out ? localrds_events::kOutage : localrds_events::kOutageRecovered;
    e.event_id = spec.id;
    e.message = area.Describe() +
                (out ? " is in an outage (localrds drill): its PostgreSQL servers do not answer"
                     : " has recovered (localrds drill): its PostgreSQL servers answer again");
    e.categories = {spec.category};
    Mutation first;  // before the steps' own events (one may be committed on its own)
    first.events.push_back(e);
    LogIfFailed(registry_.Commit(first), "outage", "cannot record " + area.Describe());
  }
  std::vector<InstanceRow> rows = registry_.Instances();
  std::vector<std::string> said;
  if (out) {
    std::map<std::string, std::string> frozen_wal;  // source resource id → its WAL position
    for (const auto& row : rows) {
      if (row.scope.region != area.region) continue;
      std::string wal;
      FreezeInstance(row, m, said, &wal);
      if (!wal.empty()) frozen_wal[row.resource_id] = wal;
    }
    // What each replica outside the area has of its source's WAL: the data a promotion keeps.
    for (const auto& row : rows) {
      auto src = ReplicaSource(row);
      if (!src || !frozen_wal.count(*src) || PrimaryOut(registry_.outages(), row)) continue;
      auto source = registry_.GetInstance(*src);
      if (source) NoteReplicaPosition(row, *source, frozen_wal[*src], m);
    }
  } else {
    for (const auto& row : rows) {
      if (row.scope.region == area.region) ThawInstance(row, area, m, said);
    }
  }
  if (!m.events.empty()) {
    LogIfFailed(registry_.Commit(m), "outage", "cannot record the events of " + area.Describe());
  }
  LogLine("outage") << area.Describe() << (out ? " out" : " recovered")
                    << (*changed ? "" : " (already)") << ": " << said.size() << " server change"
                    << (said.size() == 1 ? "" : "s");
  return nlohmann::json{{out ? "outage" : "recovered", area.name},
                        {"kind", area.kind == OutageArea::Kind::kZone ? "zone" : "region"},
                        {"region", area.region},
                        {"changed", *changed},
                        {"servers", said}};
}

void OutageDrills::FreezeInstance(const InstanceRow& row, Mutation& m,
                                  std::vector<std::string>& said, std::string* source_wal) {
  const Outages& outages = registry_.outages();
  if (PrimaryOut(outages, row)) {
    const ServerSpec spec = servers_.Server(row);
    if (runtime_.IsRunning(spec) && !runtime_.IsPaused(spec)) {
      const std::string wal = WalPosition(spec);
      Status st = runtime_.Pause(spec);
      if (st.ok()) {
        if (source_wal) *source_wal = wal;
        m.events.push_back(registry_.MakeEvent(
            row, localrds_events::kOutage,
            "The DB instance does not answer: " + OutageTakingDown(outages, row, false) +
                " is in an outage (localrds drill). Its server stopped at WAL position " +
                (wal.empty() ? "unknown" : wal) + "."));
        said.push_back(row.identifier + ": froze the primary at " + (wal.empty() ? "?" : wal));
      } else {
        said.push_back(row.identifier + ": cannot freeze the primary: " + st.message());
      }
    }
  }
  if (StandbyOut(outages, row) && servers_.StandbyBuilt(row)) {
    const ServerSpec spec = servers_.StandbyServer(row);
    if (runtime_.IsRunning(spec) && !runtime_.IsPaused(spec)) {
      Status st = runtime_.Pause(spec);
      if (st.ok()) {
        m.events.push_back(registry_.MakeEvent(
            row, localrds_events::kOutage,
            "The Multi-AZ standby does not answer: " + OutageTakingDown(outages, row, true) +
                " is in an outage (localrds drill)."));
        said.push_back(row.identifier + ": froze the Multi-AZ standby");
      } else {
        said.push_back(row.identifier + ": cannot freeze the Multi-AZ standby: " + st.message());
      }
    }
    if (!PrimaryOut(outages, row)) ReleaseStandby(row, said);
  }
}

void OutageDrills::ReleaseStandby(const InstanceRow& row, std::vector<std::string>& said) {
  InstanceRow updated;
  {
    Registry::Locked r = registry_.Lock();
    auto current = r.instances().find(row.resource_id);
    // An operation running on the instance owns its row (a standby build waits for the zone).
    if (current == r.instances().end() || r.active_ops().count(row.resource_id) ||
        StandbyState(current->second) != "ready") {
      return;
    }
    updated = current->second;
    SetStandbyState(updated.attrs, "building");  // built again (caught up) once the zone is back
    Mutation release;
    release.put.push_back(updated);
    release.events.push_back(registry_.MakeEvent(updated, rds_events::kMultiAzRecoveryStarted));
    if (!r.Commit(release).ok()) return;
  }
  // No commit may wait for a standby that cannot answer.
  const ServerSpec primary = servers_.Server(updated);
  Status st = servers_.WriteServerConfig(updated);
  if (st.ok() && runtime_.IsRunning(primary) && !runtime_.IsPaused(primary)) {
    st = runtime_.ExecSql(primary, "postgres", {"SELECT pg_reload_conf()"});
  }
  said.push_back(row.identifier + ": synchronous replication off while its standby is out" +
                 (st.ok() ? "" : " (failed: " + st.message() + ")"));
}

void OutageDrills::NoteReplicaPosition(const InstanceRow& replica, const InstanceRow& source,
                                       const std::string& source_wal, Mutation& m) {
  const ServerSpec spec = servers_.Server(replica);
  if (!runtime_.IsRunning(spec) || runtime_.IsPaused(spec)) return;
  auto got = runtime_.QueryValue(spec, "postgres",
                                 "SELECT coalesce(pg_last_wal_receive_lsn()::text, '') || '|' || "
                                 "coalesce(greatest(pg_wal_lsn_diff(" +
                                     SqlLiteral(source_wal) +
                                     ", pg_last_wal_receive_lsn()), 0)::bigint::text, '')");
  if (!got.ok()) return;
  auto parts = Split(*got, '|');
  if (parts.size() != 2) return;
  m.events.push_back(registry_.MakeEvent(
      replica, localrds_events::kOutage,
      "The source DB instance " + source.identifier + " (" + source.scope.region +
          ") does not answer (localrds outage drill). This replica has its WAL up to " +
          (parts[0].empty() ? "unknown" : parts[0]) + " of " + source_wal + ": " +
          (parts[1].empty() ? "unknown" : parts[1]) + " bytes not received."));
}

void OutageDrills::ThawInstance(const InstanceRow& row, const OutageArea& area, Mutation& m,
                                std::vector<std::string>& said) {
  const Outages& outages = registry_.outages();
  if (Covers(area, row, PrimaryZone(row)) && !PrimaryOut(outages, row)) {
    const ServerSpec spec = servers_.Server(row);
    if (runtime_.IsRunning(spec) && runtime_.IsPaused(spec)) {
      Status st = runtime_.Resume(spec);
      said.push_back(row.identifier + ": thawed the primary" +
                     (st.ok() ? "" : " (failed: " + st.message() + ")"));
      if (st.ok()) {
        m.events.push_back(registry_.MakeEvent(row, localrds_events::kOutageRecovered,
                                               "The DB instance answers again: " + area.Describe() +
                                                   " has recovered (localrds drill)."));
        // The slots of replicas promoted meanwhile: the source simply has no replica any more.
        if (!IsReplica(row)) servers_.DropStaleReplicationSlots(row, true);
      }
    }
  }
  if (!IsMultiAz(row) || !Covers(area, row, StandbyZone(row)) || StandbyOut(outages, row)) {
    return;
  }
  const ServerSpec standby = servers_.StandbyServer(row);
  if (runtime_.IsRunning(standby) && runtime_.IsPaused(standby)) {
    Status st = runtime_.Resume(standby);
    said.push_back(row.identifier + ": thawed the Multi-AZ standby" +
                   (st.ok() ? "" : " (failed: " + st.message() + ")"));
    if (st.ok()) {
      m.events.push_back(
          registry_.MakeEvent(row, localrds_events::kOutageRecovered,
                              "The Multi-AZ standby answers again: " + area.Describe() +
                                  " has recovered (localrds drill)."));
    }
  }
  // The standby's zone is back: the standby is caught up (or, after a failover, the old
  // primary's host rebuilt as the new standby) now, not at the reconciler's next retry.
  const std::string state = StandbyState(row);
  if (state != "building" && state != "rebuild") return;
  Registry::Locked r = registry_.Lock();
  auto current = r.instances().find(row.resource_id);
  if (current == r.instances().end() || r.active_ops().count(row.resource_id) ||
      current->second.status != DbStatus::kAvailable) {
    return;
  }
  auto started = starter_.StartBare(r, row.resource_id, OpKind::kStandby, {{"recovery", true}});
  said.push_back(row.identifier + ": rebuilding its Multi-AZ standby" +
                 (started.ok() ? "" : " (failed: " + started.status().message() + ")"));
}

std::string OutageDrills::EnforceOnce() {
  std::unique_lock<std::mutex> drill(drill_mutex_, std::try_to_lock);
  if (!drill.owns_lock()) return "";  // a drill runs: it does this itself
  const Outages& outages = registry_.outages();
  if (outages.List().empty()) return "";
  Mutation m;
  std::vector<std::string> said;
  for (const auto& row : registry_.Instances()) {
    if (!outages.AnyIn(row.scope.region)) continue;
    FreezeInstance(row, m, said, nullptr);
  }
  if (!m.events.empty()) {
    LogIfFailed(registry_.Commit(m), "outage", "cannot record the outage's events");
  }
  std::string out;
  for (const auto& s : said) out += s + ". ";
  if (!out.empty()) out.pop_back();
  return out;
}

}  // namespace localrds
