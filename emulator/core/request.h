// Typed reads of a decoded RDS request (JSON keyed by RDS member names; integers and booleans
// already converted by the API layer's codec). Header-only, pure.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>

#include "storage/catalog.h"

namespace localrds {

//! The member of a decoded request that carries the account and region it was made in (from its
//! SigV4 credential and access key; see api/router.cc). The API layer always sets it; no RDS
//! member can be called so ('@' is not in any member name), so a client cannot forge it.
inline constexpr const char* kScopeMember = "@scope";

//! The scope a decoded request was made in, or `fallback` (--account-id, --region) when it names
//! none (the control plane's own tests call the services without one).
inline Scope RequestScope(const nlohmann::json& req, const Scope& fallback) {
  auto it = req.find(kScopeMember);
  if (it == req.end() || !it->is_object()) return fallback;
  return {it->value("account", fallback.account), it->value("region", fallback.region)};
}

//! An instance named by a /_localrds/ control: its identifier, and where it lives when the
//! control says (`?region=`, `?account=`); otherwise --account-id and --region. Made from a bare
//! identifier implicitly, so that callers without a scope need not name one.
struct InstanceRef {
  InstanceRef(std::string identifier) : name(std::move(identifier)) {}  // NOLINT: implicit
  InstanceRef(const char* identifier) : name(identifier) {}             // NOLINT: implicit
  InstanceRef(std::string identifier, Scope where)
      : name(std::move(identifier)), scope(std::move(where)) {}
  std::string name;
  std::optional<Scope> scope;
};

inline void SetRequestScope(nlohmann::json& req, const Scope& scope) {
  req[kScopeMember] = {{"account", scope.account}, {"region", scope.region}};
}

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
