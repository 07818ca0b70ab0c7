// WalShipper: what makes LatestRestorableTime follow the newest commit. Every pass, each
// instance that archives and has new commits gets its WAL switched (at most once per interval),
// and once the switched segment is in its archive its LatestRestorableTime moves to the switch;
// an instance with nothing new to archive keeps up with the clock. A frozen or stopped server
// is skipped.
//
// Thread-safety: thread-safe; `mutex_` (a leaf) guards the shipping state of every instance
// (kept in memory: a restart of localrds costs one extra switch). Borrows everything.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "common/clock.h"
#include "emulator/engine/servers.h"
#include "emulator/state/registry.h"

namespace localrds {

class WalShipper {
 public:
  WalShipper(Registry& registry, InstanceServers& servers, PgRuntime& runtime, const Layout& layout,
             const Clock& clock, std::chrono::milliseconds interval)
      : registry_(registry),
        servers_(servers),
        runtime_(runtime),
        layout_(layout),
        clock_(clock),
        interval_(interval) {}

  //! One pass ("": it says nothing; problems go to the log).
  std::string ShipWalOnce();

 private:
  struct ShipState {
    int64_t wal_mtime_ns = 0;      //!< newest pg_wal file change seen
    std::string committed_xid;     //!< pg_last_committed_xact() at the last switch
    std::string pending_segment;   //!< switched, not yet seen in the archive
    int64_t pending_until_ms = 0;  //!< what LatestRestorableTime becomes once it is archived
    int64_t last_switch_ms = 0;
    bool confirmed = false;       //!< every commit seen so far is archived
    int64_t last_persist_ms = 0;  //!< when restorable-until was last written
  };

  Registry& registry_;
  InstanceServers& servers_;
  PgRuntime& runtime_;
  const Layout& layout_;
  const Clock& clock_;
  const std::chrono::milliseconds interval_;
  std::mutex mutex_;                       //!< guards ship_
  std::map<std::string, ShipState> ship_;  //!< by resource id
};

}  // namespace localrds
