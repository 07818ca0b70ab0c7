// Offset pagination of Describe* results: MaxRecords and an opaque Marker (the next offset).
#pragma once

#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "emulator/request.h"

namespace localrds {

//! (MaxRecords, offset) of a request; MaxRecords must be within [lo, hi].
inline Result<std::pair<int, int64_t>> PageArgs(const nlohmann::json& req, int lo, int hi, int dflt) {
  int max_records = static_cast<int>(ReqInt(req, "MaxRecords").value_or(dflt));
  if (max_records < lo || max_records > hi) {
    return Status::InvalidParameter("Invalid value " + std::to_string(max_records) +
                                    " for MaxRecords. It must be between " + std::to_string(lo) +
                                    " and " + std::to_string(hi) + ".");
  }
  int64_t offset = 0;
  if (auto m = ReqString(req, "Marker")) {
    try {
      size_t used = 0;
      offset = std::stoll(*m, &used);
      if (used != m->size() || offset < 0) throw std::invalid_argument("marker");
    } catch (...) {
      return Status::InvalidParameter("Invalid Marker: " + *m);
    }
  }
  return std::make_pair(max_records, offset);
}

//! One page of `list` under `member`, with a Marker (the next offset) when more remain.
inline nlohmann::json OffsetPage(const nlohmann::json& list, const char* member,
                          const std::pair<int, int64_t>& page) {
  nlohmann::json items = nlohmann::json::array();
  for (size_t i = page.second; i < list.size() && static_cast<int>(items.size()) < page.first; ++i) {
    items.push_back(list[i]);
  }
  nlohmann::json out = nlohmann::json::object();
  const size_t next = page.second + items.size();
  out[member] = std::move(items);
  if (next < list.size()) out["Marker"] = std::to_string(next);
  return out;
}


}  // namespace localrds
