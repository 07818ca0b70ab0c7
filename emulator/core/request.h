// Typed reads of a decoded RDS request (JSON keyed by RDS member names; integers and booleans
// already converted by the API layer's codec). Header-only, pure.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>

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

//! Copies the instance settings a request may give a new instance made from another (a restore,
//! a read replica) into its DBInstance fields: PubliclyAccessible, AutoMinorVersionUpgrade,
//! EnableIAMDatabaseAuthentication, Iops, StorageThroughput, NetworkType, CACertificateIdentifier
//! and VpcSecurityGroupIds. What the request does not give stays as it is.
inline void ApplyRequestedSettings(const nlohmann::json& req, nlohmann::json& attrs) {
  static const std::pair<const char*, const char*> kBools[] = {
      {"PubliclyAccessible", "PubliclyAccessible"},
      {"AutoMinorVersionUpgrade", "AutoMinorVersionUpgrade"},
      {"EnableIAMDatabaseAuthentication", "IAMDatabaseAuthenticationEnabled"}};
  for (const auto& [in, out] : kBools) {
    if (auto v = ReqBool(req, in)) attrs[out] = *v;
  }
  for (const char* k : {"Iops", "StorageThroughput"}) {
    if (auto v = ReqInt(req, k)) attrs[k] = *v;
  }
  if (auto v = ReqString(req, "NetworkType")) attrs["NetworkType"] = *v;
  if (auto v = ReqString(req, "CACertificateIdentifier")) {
    attrs["CACertificateIdentifier"] = *v;
    attrs["CertificateDetails"]["CAIdentifier"] = *v;
  }
  if (req.contains("VpcSecurityGroupIds")) {
    nlohmann::json sgs = nlohmann::json::array();
    for (const auto& sg : req["VpcSecurityGroupIds"]) {
      sgs.push_back({{"VpcSecurityGroupId", sg}, {"Status", "active"}});
    }
    attrs["VpcSecurityGroups"] = sgs;
  }
}

//! The identifier part of an RDS ARN of `type` ("db", "snapshot", "auto-backup"), or the input
//! itself when it is not such an ARN.
inline std::string FromArn(const std::string& s, const std::string& type) {
  const std::string marker = ":" + type + ":";
  if (s.rfind("arn:", 0) != 0) return s;
  auto pos = s.find(marker);
  return pos == std::string::npos ? s : s.substr(pos + marker.size());
}

inline std::string ToLower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace localrds
