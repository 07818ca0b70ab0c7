// Timing profiles: how long RDS takes for the work localrds does in well under a second.
//
// `fast` (the default) shows every operation's outcome as soon as its work is done. `aws` (and
// `aws:<scale>`, e.g. aws:0.1 = a tenth of RDS's durations) holds what a client sees (the
// transitional status, and for a failover or reboot the endpoint) until the operation's start
// plus the RDS-like duration of its kind (kAwsDurations, quoted in the README) has passed; the
// real work is done first, at full speed, and never waits. The server's profile
// (`--timing`, LOCALRDS_TIMING) is the default; an instance may have its own (the
// /_localrds/instances/<id>/timing control, kept in the instance's hidden attributes so that it
// survives a restart; never copied to an instance made from it, which takes the server's).
//
// Pure functions and values: thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/catalog.h"

namespace localrds {

//! The kinds of work whose duration a profile sets.
enum class TimedWork {
  kCreate,      //!< CreateDBInstance: `creating` until available
  kSnapshot,    //!< CreateDBSnapshot: the snapshot `creating` (PercentProgress) until available
  kRestore,     //!< RestoreDBInstanceFromDBSnapshot / ToPointInTime: `creating`
  kReplica,     //!< CreateDBInstanceReadReplica: `creating`
  kPromote,     //!< PromoteReadReplica: `modifying`
  kReboot,      //!< RebootDBInstance: `rebooting`, the endpoint refusing connections
  kFailover,    //!< Multi-AZ failover: the endpoint refuses connections throughout
  kRestoreLag,  //!< how far LatestRestorableTime trails now
};

//! One row of the table of RDS-like durations (at scale 1).
struct TimedWorkSpec {
  TimedWork work;
  const char* name;  //!< as the README's table and the timing control name it
  int64_t seconds;
  const char* rds_says;  //!< what RDS documents, and where
};

//! Every kind of TimedWork, in the README's order.
const std::vector<TimedWorkSpec>& AwsDurations();

struct TimingProfile {
  bool aws = false;
  double scale = 1.0;  //!< aws only: the factor applied to every duration

  //! How long `work` takes under this profile, in ms (0 under fast).
  int64_t DurationMs(TimedWork work) const;
  //! "fast", "aws" or "aws:<scale>".
  std::string ToString() const;
  //! {"profile": "aws", "scale": 0.05} (scale only for aws).
  nlohmann::json ToJson() const;
  bool operator==(const TimingProfile&) const = default;

  //! Parses "fast", "aws" or "aws:<scale>" (scale > 0 and <= 100); InvalidParameterValue with
  //! a message naming what is allowed otherwise.
  static Result<TimingProfile> Parse(const std::string& text);
  //! Parses the timing control's body: {"profile": "fast"|"aws", "scale": <number>}.
  static Result<TimingProfile> FromJson(const nlohmann::json& body);
};

//! An instance's own profile, if it has one.
std::optional<TimingProfile> InstanceTiming(const InstanceRow& row);
//! Sets (or, with nullopt, clears) an instance's own profile.
void SetInstanceTiming(nlohmann::json& attrs, const std::optional<TimingProfile>& timing);
//! The profile that applies to `row`: its own, else the server's.
TimingProfile EffectiveTiming(const InstanceRow& row, const TimingProfile& server);

}  // namespace localrds
