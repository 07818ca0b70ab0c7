// Outages: the Regions and Availability Zones in an outage drill (POST /_localrds/regions/<r>/
// outage, /_localrds/zones/<az>/outage), and which servers of an instance they take down.
//
// The set is durable: every change is written to <data-dir>/outages.json (a temporary file
// renamed into place) before it shows, so a restart of localrds keeps a Region out until its
// recovery. What an outage does to the servers is the drills' (emulator/service/outage_drills.h);
// what it stops others from doing is asked here by the reconciler, the health monitor, the backup
// scheduler, the Multi-AZ steps and the API (a Region out answers ServiceUnavailable).
//
// Thread-safety: thread-safe; `mutex_` is a leaf (nothing else is locked or called while it is
// held, except the write of the file).
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/catalog.h"

namespace localrds {

//! A Region or one Availability Zone of it.
struct OutageArea {
  enum class Kind { kRegion, kZone };
  Kind kind = Kind::kRegion;
  std::string name;    //!< "us-east-1" or "us-east-1a"
  std::string region;  //!< the Region it is (in)
  int64_t since_ms = 0;
  //! "Region us-east-1" or "Availability Zone us-east-1a".
  std::string Describe() const;
  //! The event source type of the drill's own events (never shown by DescribeEvents).
  const char* SourceType() const { return kind == Kind::kRegion ? "region" : "availability-zone"; }
};

class Outages {
 public:
  explicit Outages(std::filesystem::path file) : file_(std::move(file)) {}

  //! Reads the file (none: no outage). At startup, before anything asks.
  Status Load();
  //! Puts `area` in an outage (`out`) or ends its outage, written to the file first. Returns
  //! false when nothing changed (already out, or not out).
  Result<bool> Set(const OutageArea& area, bool out);
  //! Ends every outage (a reset).
  Status Clear();

  bool RegionOut(const std::string& region) const;
  //! True when `az` of `region` cannot be reached: the zone is out, or its whole Region.
  bool ZoneOut(const std::string& region, const std::string& az) const;
  //! True when some zone of `region` (or the Region itself) is out.
  bool AnyIn(const std::string& region) const;
  std::vector<OutageArea> List() const;
  //! [{"kind": "region"|"zone", "name", "region", "since"}], for /_localrds/health.
  nlohmann::json ToJson() const;

 private:
  Status WriteLocked() const;

  const std::filesystem::path file_;
  mutable std::mutex mutex_;       //!< guards areas_
  std::vector<OutageArea> areas_;  //!< in the order they went out
};

// --- which servers of an instance an outage takes down --------------------------------------

//! The zone the host of the instance's primary (or its Multi-AZ standby) is in: its
//! AvailabilityZone (SecondaryAvailabilityZone), except from a failover's fence until the zones
//! swap, when the catalog already names the promoted standby's host the primary.
std::string PrimaryZone(const InstanceRow& row);
std::string StandbyZone(const InstanceRow& row);
//! True when the instance's primary (in PrimaryZone) cannot be reached.
bool PrimaryOut(const Outages& outages, const InstanceRow& row);
//! True when the instance is Multi-AZ and its standby (in SecondaryAvailabilityZone) cannot be
//! reached.
bool StandbyOut(const Outages& outages, const InstanceRow& row);
//! The outage that takes down `row`'s primary (or, with `standby`, its Multi-AZ standby), as
//! messages name it: "Region <region>" when its Region is out, else "Availability Zone <az>".
std::string OutageTakingDown(const Outages& outages, const InstanceRow& row, bool standby);
//! Moves a new instance's zones (`attrs` AvailabilityZone unless `keep_primary`, and a Multi-AZ
//! SecondaryAvailabilityZone) out of zones in an outage drill, to zones of `region` that are up
//! (another than the primary's for the standby), as RDS places instances where they can run.
//! Leaves a zone where it is when no other is up.
void PlaceInZonesUp(const Outages& outages, const std::string& region, nlohmann::json& attrs,
                    bool keep_primary);
//! What a new instance asked for in `az` gets while that zone is in an outage drill: RDS's
//! answer for a zone that cannot take it, InsufficientDBInstanceCapacity.
Status ZoneOutError(const std::string& az);

}  // namespace localrds
