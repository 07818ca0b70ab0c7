// OutageDrills: a Region or an Availability Zone goes down and comes back
// (POST /_localrds/regions/<region>/outage|recover, /_localrds/zones/<az>/outage|recover).
//
// An outage freezes (SIGSTOP, as the freeze drill does) every PostgreSQL server that lives in the
// area: an instance's primary in its AvailabilityZone, a Multi-AZ standby in its
// SecondaryAvailabilityZone. The rest follows from what localrds already does with a server that
// does not answer: the health monitor fails a Multi-AZ primary over to a standby in a healthy
// zone, read replicas elsewhere see their source stop streaming (StatusInfos `error`) and can be
// promoted, and the RDS API of a Region out answers ServiceUnavailable (api/router.cc). A
// Multi-AZ primary that stays up while its standby's zone is out stops waiting for it (its commits
// would hang) until the zone is back, as RDS replaces a lost standby (RDS-EVENT-0052, 0053).
//
// Recovery thaws what the area froze, unless another outage still covers it, and lets each
// instance come back as RDS would show it: an instance that failed over keeps its new primary and
// rebuilds the old host as its standby; a source whose replica was promoted meanwhile has no
// replica any more (the promoted one stays writable; its slot goes). Every step is an event with
// its time (localrds_events in emulator/core/events.h, beside RDS's).
//
// The set of areas out is durable (Outages); EnforceOnce, on every reconciler pass and at
// startup, freezes a server of an area out that runs unfrozen (after a restart of localrds).
//
// Thread-safety: thread-safe. SetOutageAsync runs on the executor and calls `done` there; one
// drill at a time (`drill_mutex_`, taken before the registry's lock, never while holding it).
// Borrows everything it is given.
#pragma once

#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "emulator/background/executor.h"
#include "emulator/engine/servers.h"
#include "emulator/engine/starter.h"
#include "emulator/state/outages.h"
#include "emulator/state/registry.h"

namespace localrds {

class OutageDrills {
 public:
  OutageDrills(Registry& registry, InstanceServers& servers, PgRuntime& runtime,
               OperationStarter& starter, Executor& executor)
      : registry_(registry),
        servers_(servers),
        runtime_(runtime),
        starter_(starter),
        executor_(executor) {}

  //! The area named by a control: a Region (`zone` false) or an Availability Zone;
  //! InvalidParameterValue for a name AWS does not have.
  static Result<OutageArea> Area(const std::string& name, bool zone);

  //! Puts `area` in an outage (`out`) or recovers it, then calls `done` with what it did:
  //! {"outage"|"recovered": name, "changed": bool, "servers": [what happened to each]}.
  //! Idempotent: an area already out (or not out) changes nothing and says so.
  void SetOutageAsync(OutageArea area, bool out, std::function<void(Result<nlohmann::json>)> done);
  Result<nlohmann::json> SetOutage(OutageArea area, bool out);

  //! Freezes every server in an area out that runs unfrozen; says what it did ("" if nothing).
  std::string EnforceOnce();

 private:
  //! Freezes the servers of `row` in an area out; their events go to `m`, what was done to
  //! `said`. `source_wal` (if given) receives the WAL position of its primary when it froze it.
  void FreezeInstance(const InstanceRow& row, Mutation& m, std::vector<std::string>& said,
                      std::string* source_wal);
  //! Thaws the servers of `row` that `area` froze and nothing else covers; starts what makes the
  //! instance whole again (its standby). Events to `m`.
  void ThawInstance(const InstanceRow& row, const OutageArea& area, Mutation& m,
                    std::vector<std::string>& said);
  //! After its source froze: how much of the source's WAL a replica (outside the area) has, as
  //! an event on it.
  void NoteReplicaPosition(const InstanceRow& replica, const InstanceRow& source,
                           const std::string& source_wal, Mutation& m);
  //! A Multi-AZ primary that runs while its standby is out: synchronous replication off, the
  //! standby to be built again (RDS-EVENT-0052), committed at once.
  void ReleaseStandby(const InstanceRow& row, std::vector<std::string>& said);
  //! The server's WAL position (its current LSN, a standby's replayed one), "" when unknown.
  std::string WalPosition(const ServerSpec& spec);

  Registry& registry_;
  InstanceServers& servers_;
  PgRuntime& runtime_;
  OperationStarter& starter_;
  Executor& executor_;
  std::mutex drill_mutex_;  //!< one drill (or enforcement pass) at a time
};

}  // namespace localrds
