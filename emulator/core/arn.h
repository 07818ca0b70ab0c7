// RDS ARNs: arn:aws:rds:<region>:<account>:<type>:<name>, as every RDS resource is named. Pure,
// header-only.
#pragma once

#include <cstdint>
#include <cstdio>
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

//! The KMS key ARN RDS reports for `given` (a KmsKeyId: a key ARN, a key id, an alias name or
//! alias ARN; empty: the AWS managed key aws/rds) in `scope`. localrds has no KMS: a key id is
//! derived from the alias, the same on every run, and nothing is encrypted on disk.
inline std::string KmsKeyArn(const Scope& scope, const std::string& given) {
  const std::string prefix = "arn:aws:kms:" + scope.region + ":" + scope.account + ":key/";
  if (given.rfind("arn:aws:kms:", 0) == 0 && given.find(":key/") != std::string::npos) {
    return given;
  }
  std::string alias = given.empty() ? "alias/aws/rds" : given;
  if (size_t at = alias.find(":alias/"); alias.rfind("arn:", 0) == 0 && at != std::string::npos) {
    alias = alias.substr(at + 1);
  }
  if (alias.rfind("alias/", 0) != 0) return prefix + given;  // a key id
  // A UUID-shaped id from two FNV-1a hashes of the scope and the alias.
  auto fnv = [](const std::string& s, uint64_t h) {
    for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
    return h;
  };
  const std::string seed = scope.account + "/" + scope.region + "/" + alias;
  const uint64_t a = fnv(seed, 14695981039346656037ULL), b = fnv(seed, a);
  char id[37];
  std::snprintf(id, sizeof id, "%08x-%04x-4%03x-8%03x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>(a >> 16) & 0xffff, static_cast<unsigned>(a) & 0xfff,
                static_cast<unsigned>(b >> 48) & 0xfff,
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return prefix + id;
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
