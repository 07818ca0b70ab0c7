// Typed reads of a decoded RDS request (JSON keyed by RDS member names; integers and booleans
// already converted by the API layer's codec). Header-only, pure.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace localrds {

inline std::optional<std::string> ReqString(const nlohmann::json& req, const char* name) {
  auto it = req.find(name);
  if (it == req.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

inline std::optional<int64_t> ReqInt(const nlohmann::json& req, const char* name) {
  auto it = req.find(name);
  if (it == req.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<int64_t>();
}

inline std::optional<bool> ReqBool(const nlohmann::json& req, const char* name) {
  auto it = req.find(name);
  if (it == req.end() || !it->is_boolean()) return std::nullopt;
  return it->get<bool>();
}

inline std::string ToLower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace localrds
