// OpKind: what a persisted operation does. The catalog stores its name ("create", "failover",
// …), which is also what logs, crash drills (LOCALRDS_CRASH_AT=<kind>:<step>) and tests say.
// Pure, thread-safe.
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <string_view>

namespace localrds {

enum class OpKind {
  kCreate,
  kRestore,
  kDelete,
  kSnapshot,
  kBackup,
  kCopySnapshot,
  kStop,
  kStart,
  kReboot,
  kModify,
  kRecover,
  kCreateReplica,
  kPromote,
  kFailover,
  kStandby,
};

//! The kind's name: "create", "copy-snapshot", …
const char* ToString(OpKind kind);
//! The kind named `name`; nullopt for a name this localrds does not know.
std::optional<OpKind> ParseOpKind(std::string_view name);

inline std::string operator+(const std::string& s, OpKind kind) { return s + ToString(kind); }
inline std::ostream& operator<<(std::ostream& out, OpKind kind) { return out << ToString(kind); }

}  // namespace localrds
