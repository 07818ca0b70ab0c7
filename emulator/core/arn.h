// RDS ARNs: arn:aws:rds:<region>:<account>:<type>:<name>, as every RDS resource is named. Pure,
// header-only.
#pragma once

#include <optional>
#include <string>

#include "storage/catalog.h"

namespace localrds {

struct Arn {
  Scope scope;
  std::string type;  //!< "db", "snapshot", "auto-backup", "pg", "subgrp", …
  std::string name;  //!< what follows the type (may itself contain ':', as "rds:…" snapshots)
};

inline std::string MakeArn(const Scope& scope, const std::string& type, const std::string& name) {
  return "arn:aws:rds:" + scope.region + ":" + scope.account + ":" + type + ":" + name;
}

//! The parts of an RDS ARN (partition "aws"), or nullopt when `s` is not one.
inline std::optional<Arn> ParseArn(const std::string& s) {
  static const std::string kPrefix = "arn:aws:rds:";
  if (s.rfind(kPrefix, 0) != 0) return std::nullopt;
  Arn arn;
  size_t at = kPrefix.size();
  std::string* parts[] = {&arn.scope.region, &arn.scope.account, &arn.type};
  for (std::string* part : parts) {
    const size_t end = s.find(':', at);
    if (end == std::string::npos || end == at) return std::nullopt;
    *part = s.substr(at, end - at);
    at = end + 1;
  }
  arn.name = s.substr(at);
  if (arn.name.empty()) return std::nullopt;
  return arn;
}

//! Where a request in `caller` looks for a resource it names `name` (an identifier or an ARN of
//! `type`): an ARN's region in the caller's own account (cross-Region copies and replicas name
//! their source by ARN), else the caller's scope. An ARN of another account keeps it, so that a
//! lookup does not find what that account has not shared.
inline Scope SourceScope(const Scope& caller, const std::string& name, const std::string& type) {
  auto arn = ParseArn(name);
  if (!arn || arn->type != type || arn->scope.account != caller.account) return caller;
  return arn->scope;
}

}  // namespace localrds
