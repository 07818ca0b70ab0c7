// DbStatus: a DB instance's DBInstanceStatus, as RDS names it, typed. The catalog stores the
// name; everything above it compares and sets the enum. Pure, thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

namespace localrds {

enum class DbStatus {
  kCreating,
  kAvailable,
  kBackingUp,
  kModifying,
  kRenaming,
  kRebooting,
  kStopping,
  kStopped,
  kStarting,
  kDeleting,
  kFailed,
  kStorageFull,  //!< its data outgrew AllocatedStorage: writes fail until storage is added
};

//! RDS's name: "backing-up", "available", …
const char* ToString(DbStatus status);
//! The status RDS calls `name`; nullopt for a name localrds does not know.
std::optional<DbStatus> ParseDbStatus(std::string_view name);

inline std::string operator+(const std::string& s, DbStatus status) { return s + ToString(status); }
inline std::string operator+(const char* s, DbStatus status) {
  return std::string(s) + ToString(status);
}
inline std::ostream& operator<<(std::ostream& out, DbStatus status) {
  return out << ToString(status);
}
//! In JSON a status is its name.
inline void to_json(nlohmann::json& j, DbStatus status) { j = ToString(status); }

}  // namespace localrds
