#include "emulator/state/outages.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "common/time_util.h"
#include "emulator/core/instance_state.h"
#include "emulator/core/regions.h"

namespace localrds {
namespace fs = std::filesystem;

std::string OutageArea::Describe() const {
  return (kind == Kind::kRegion ? "Region " : "Availability Zone ") + name;
}

Status Outages::Load() {
  std::ifstream in(file_);
  if (!in) return Status::Ok();  // never written: no outage
  std::stringstream text;
  text << in.rdbuf();
  auto doc = nlohmann::json::parse(text.str(), nullptr, false);
  if (!doc.is_object() || !doc.value("outages", nlohmann::json()).is_array()) {
    return Status::Internal("cannot read " + file_.string() + ": not localrds' outages");
  }
  std::vector<OutageArea> areas;
  for (const auto& a : doc["outages"]) {
    OutageArea area;
    area.kind = a.value("kind", "") == "zone" ? OutageArea::Kind::kZone : OutageArea::Kind::kRegion;
    area.name = a.value("name", "");
    area.region = a.value("region", "");
    area.since_ms = a.value("since_ms", int64_t{0});
    if (area.name.empty() || area.region.empty()) continue;
    areas.push_back(std::move(area));
  }
  std::lock_guard<std::mutex> lock(mutex_);
  areas_ = std::move(areas);
  return Status::Ok();
}

Status Outages::WriteLocked() const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& a : areas_) {
    list.push_back({{"kind", a.kind == OutageArea::Kind::kZone ? "zone" : "region"},
                    {"name", a.name},
                    {"region", a.region},
                    {"since_ms", a.since_ms}});
  }
  const fs::path tmp = file_.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << nlohmann::json{{"outages", list}}.dump(2) << "\n";
    if (!out) return Status::Internal("cannot write " + tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, file_, ec);
  if (ec) return Status::Internal("cannot rename " + tmp.string() + ": " + ec.message());
  return Status::Ok();
}

Result<bool> Outages::Set(const OutageArea& area, bool out) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = std::find_if(areas_.begin(), areas_.end(), [&](const OutageArea& a) {
    return a.kind == area.kind && a.name == area.name;
  });
  if (out == (it != areas_.end())) return false;
  std::vector<OutageArea> was = areas_;
  if (out) {
    areas_.push_back(area);
  } else {
    areas_.erase(it);
  }
  Status st = WriteLocked();
  if (!st.ok()) {
    areas_ = std::move(was);  // what the file says is what holds
    return st;
  }
  return true;
}

Status Outages::Clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (areas_.empty()) return Status::Ok();
  areas_.clear();
  return WriteLocked();
}

bool Outages::RegionOut(const std::string& region) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return std::any_of(areas_.begin(), areas_.end(), [&](const OutageArea& a) {
    return a.kind == OutageArea::Kind::kRegion && a.name == region;
  });
}

bool Outages::ZoneOut(const std::string& region, const std::string& az) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return std::any_of(areas_.begin(), areas_.end(), [&](const OutageArea& a) {
    return a.kind == OutageArea::Kind::kRegion ? a.name == region : !az.empty() && a.name == az;
  });
}

bool Outages::AnyIn(const std::string& region) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return std::any_of(areas_.begin(), areas_.end(),
                     [&](const OutageArea& a) { return a.region == region; });
}

std::vector<OutageArea> Outages::List() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return areas_;
}

nlohmann::json Outages::ToJson() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& a : List()) {
    out.push_back({{"kind", a.kind == OutageArea::Kind::kZone ? "zone" : "region"},
                   {"name", a.name},
                   {"region", a.region},
                   {"since", FormatIso8601(a.since_ms)}});
  }
  return out;
}

namespace {
std::string Zone(const InstanceRow& row, const char* member) {
  auto it = row.attrs.find(member);
  return it != row.attrs.end() && it->is_string() ? it->get<std::string>() : "";
}
}  // namespace

std::string PrimaryZone(const InstanceRow& row) {
  return Zone(row, FailoverPending(row) ? "SecondaryAvailabilityZone" : "AvailabilityZone");
}

std::string StandbyZone(const InstanceRow& row) {
  return Zone(row, FailoverPending(row) ? "AvailabilityZone" : "SecondaryAvailabilityZone");
}

bool PrimaryOut(const Outages& outages, const InstanceRow& row) {
  return outages.ZoneOut(row.scope.region, PrimaryZone(row));
}

std::string OutageTakingDown(const Outages& outages, const InstanceRow& row, bool standby) {
  return outages.RegionOut(row.scope.region)
             ? "Region " + row.scope.region
             : "Availability Zone " + (standby ? StandbyZone(row) : PrimaryZone(row));
}

bool StandbyOut(const Outages& outages, const InstanceRow& row) {
  return IsMultiAz(row) && outages.ZoneOut(row.scope.region, StandbyZone(row));
}

Status ZoneOutError(const std::string& az) {
  return Status::Error(AwsError::kInsufficientDBInstanceCapacity,
                       "Cannot create a DB instance in " + az +
                           ": the Availability Zone is in an outage (localrds drill). Choose "
                           "another Availability Zone or none.");
}

void PlaceInZonesUp(const Outages& outages, const std::string& region, nlohmann::json& attrs,
                    bool keep_primary) {
  const RegionInfo* info = FindRegion(region);
  if (!info || !attrs.is_object()) return;
  auto up_zone = [&](const std::string& current, const std::string& avoid) {
    if (!outages.ZoneOut(region, current) && current != avoid) return current;
    for (const auto& z : info->zones) {
      if (!outages.ZoneOut(region, z) && z != avoid) return z;
    }
    return current;
  };
  auto zone_of = [&](const char* member) {
    auto it = attrs.find(member);
    return it != attrs.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  std::string primary = zone_of("AvailabilityZone");
  if (!keep_primary && !primary.empty()) {
    primary = up_zone(primary, "");
    attrs["AvailabilityZone"] = primary;
  }
  if (attrs.value("MultiAZ", false) && !zone_of("SecondaryAvailabilityZone").empty()) {
    attrs["SecondaryAvailabilityZone"] = up_zone(zone_of("SecondaryAvailabilityZone"), primary);
  }
}

}  // namespace localrds
