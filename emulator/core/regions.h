// The AWS commercial regions localrds serves: their names, Availability Zones and the Route 53
// hosted zone of their RDS endpoints. One table, pure data, thread-safe (immutable).
//
// Sources: the region list of botocore's endpoints.json (partition "aws"); Availability Zone
// names as one account sees them (AWS maps names to physical zones per account, so another
// account may see other letters; one set per region is what a single emulated account needs);
// HostedZoneId as DescribeDBInstances returns it in each region. regions.cc says where each
// column comes from and which hosted zone ids are confirmed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace localrds {

struct RegionInfo {
  std::string name;                //!< "us-east-1"
  std::string description;         //!< "US East (N. Virginia)"
  std::vector<std::string> zones;  //!< "us-east-1a", … in letter order
  std::string rds_hosted_zone_id;  //!< Endpoint.HostedZoneId; empty when not known
};

//! Every commercial region, in name order.
const std::vector<RegionInfo>& AllRegions();
//! The region called `name` (exact, lower case), or null when AWS has no such region.
const RegionInfo* FindRegion(std::string_view name);
//! True when `az` is one of `region`'s Availability Zones.
bool IsZoneOf(const RegionInfo& region, std::string_view az);
//! The zone after `az` in its region's list (wrapping), for a Multi-AZ standby; `az` itself
//! when the region has one zone or `az` is not one of its zones.
std::string NextZone(const RegionInfo& region, std::string_view az);
//! The region's first zone, where an instance goes when the request names none.
std::string DefaultZone(const RegionInfo& region);
//! The region whose Availability Zone `az` is ("us-east-1a" → us-east-1), or null when no
//! region has that zone.
const RegionInfo* RegionOfZone(std::string_view az);

}  // namespace localrds
