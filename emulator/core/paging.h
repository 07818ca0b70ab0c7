// Pagination of Describe* results: MaxRecords and the Marker. Header-only, pure, thread-safe.
//
// Most actions page by offset: their Marker is the next offset, in decimal. DescribeDBInstances
// pages by identifier: its Marker is the identifier of the previous page's last instance. A
// Marker that is neither (one localrds never issued) is InvalidParameterValue, as RDS refuses a
// marker it did not issue; it never silently answers an empty or a wrong page.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "common/status.h"
#include "emulator/core/request.h"
#include "emulator/core/validation.h"

namespace localrds {

//! MaxRecords of a request (`dflt` when absent), which must be within [lo, hi].
inline Result<int> MaxRecordsArg(const nlohmann::json& req, int lo, int hi, int dflt) {
  const int64_t max_records = ReqInt(req, "MaxRecords").value_or(dflt);
  if (max_records < lo || max_records > hi) {
    // RDS's wording (hashicorp/terraform-provider-aws#37221).
    return Status::InvalidParameter("Invalid value " + std::to_string(max_records) +
                                    " for MaxRecords. Must be between " + std::to_string(lo) +
                                    " and " + std::to_string(hi));
  }
  return static_cast<int>(max_records);
}

//! The refusal of a Marker localrds did not issue (no RDS wording found; written in its style).
inline Status InvalidMarker() {
  return Status::InvalidParameter(
      "Invalid value for Marker: pass the Marker returned by the previous page of the same "
      "request.");
}

//! The offset an offset Marker holds: 1 to 18 decimal digits, nothing else.
inline Result<int64_t> ParseOffsetMarker(const std::string& marker) {
  if (marker.empty() || marker.size() > 18) return InvalidMarker();
  int64_t offset = 0;
  for (char c : marker) {
    if (c < '0' || c > '9') return InvalidMarker();
    offset = offset * 10 + (c - '0');
  }
  return offset;
}

//! An identifier Marker: the DB instance identifier it names.
inline Status CheckIdentifierMarker(const std::string& marker) {
  if (!ValidateIdentifier("Marker", marker).ok()) return InvalidMarker();
  return Status::Ok();
}

//! (MaxRecords, offset) of a request paged by offset; MaxRecords must be within [lo, hi].
inline Result<std::pair<int, int64_t>> PageArgs(const nlohmann::json& req, int lo, int hi,
                                                int dflt) {
  auto max_records = MaxRecordsArg(req, lo, hi, dflt);
  if (!max_records.ok()) return max_records.status();
  int64_t offset = 0;
  if (auto m = ReqString(req, "Marker")) {
    auto parsed = ParseOffsetMarker(*m);
    if (!parsed.ok()) return parsed.status();
    offset = *parsed;
  }
  return std::make_pair(*max_records, offset);
}

//! One page of `list` under `member`, with a Marker (the next offset) when more remain.
inline nlohmann::json OffsetPage(const nlohmann::json& list, const char* member,
                                 const std::pair<int, int64_t>& page) {
  nlohmann::json items = nlohmann::json::array();
  for (size_t i = page.second; i < list.size() && static_cast<int>(items.size()) < page.first;
       ++i) {
    items.push_back(list[i]);
  }
  nlohmann::json out = nlohmann::json::object();
  const size_t next = page.second + items.size();
  out[member] = std::move(items);
  if (next < list.size()) out["Marker"] = std::to_string(next);
  return out;
}

}  // namespace localrds
