// ReplicationMonitor: the reconciler's replication poll. Once a pass it reads every read
// replica's WAL receiver and replay position, updates its StatusInfos (replicating / error /
// terminated after 30 days of errors) with RDS's events when that changes, keeps the replica lag
// for /_localrds/instances, and starts the promotion of replicas whose source is gone.
//
// Thread-safety: thread-safe; `mutex_` (a leaf) guards what the last poll saw. Borrows
// everything it is given.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "emulator/engine/servers.h"
#include "emulator/engine/starter.h"
#include "emulator/state/registry.h"

namespace localrds {

//! What the last replication poll saw on a replica (in memory: lag changes every second).
struct ReplicaState {
  std::string receiver;     //!< pg_stat_wal_receiver.status, "" when there is no receiver
  double lag_seconds = -1;  //!< ReplicaLag as RDS computes it; -1 when it cannot be known
  int64_t lag_bytes = -1;   //!< received but not yet replayed
  int64_t polled_ms = 0;
};

//! StatusInfos[0].Status of a replica ("" when it has none).
std::string ReplicationStatus(const InstanceRow& row);

class ReplicationMonitor {
 public:
  ReplicationMonitor(Registry& registry, InstanceServers& servers, PgRuntime& runtime,
                     OperationStarter& starter, const Clock& clock)
      : registry_(registry),
        servers_(servers),
        runtime_(runtime),
        starter_(starter),
        clock_(clock) {}

  //! One pass; returns what it did, as a sentence ("" when nothing).
  std::string PollReplicationOnce();
  //! What the last pass saw on the replica `resource_id`.
  std::optional<ReplicaState> LastSeen(const std::string& resource_id);

 private:
  //! Starts the promotion of every replica in `orphans` (whose source is gone) that is still
  //! idle and available; says which.
  std::string PromoteOrphans(const std::vector<InstanceRow>& orphans);
  //! Reads one replica's WAL receiver and lag, keeps them for LastSeen, and records its status;
  //! says what changed ("" when nothing).
  std::string PollReplica(const InstanceRow& row, int64_t now);
  //! The StatusInfos message of a replica that does not stream: why, as far as it can be seen.
  std::string WhyNotStreaming(const InstanceRow& row, bool in_recovery,
                              const std::string& receiver);
  //! Stores `status` and `message` in the replica's StatusInfos, with RDS's event when the status
  //! changes (unless an operation runs on it); says so when it did.
  std::string RecordStatus(const InstanceRow& row, const std::string& status,
                           const std::string& message, int64_t now);

  Registry& registry_;
  InstanceServers& servers_;
  PgRuntime& runtime_;
  OperationStarter& starter_;
  const Clock& clock_;
  std::mutex mutex_;                           //!< guards state_
  std::map<std::string, ReplicaState> state_;  //!< by the replica's resource id
};

}  // namespace localrds
