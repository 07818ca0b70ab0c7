#include "storage/db_status.h"

#include <utility>

namespace localrds {
namespace {
constexpr std::pair<DbStatus, const char*> kNames[] = {
    {DbStatus::kCreating, "creating"},    {DbStatus::kAvailable, "available"},
    {DbStatus::kBackingUp, "backing-up"}, {DbStatus::kModifying, "modifying"},
    {DbStatus::kRenaming, "renaming"},    {DbStatus::kRebooting, "rebooting"},
    {DbStatus::kStopping, "stopping"},    {DbStatus::kStopped, "stopped"},
    {DbStatus::kStarting, "starting"},    {DbStatus::kDeleting, "deleting"},
    {DbStatus::kFailed, "failed"},        {DbStatus::kStorageFull, "storage-full"},
};
}  // namespace

const char* ToString(DbStatus status) {
  for (const auto& [s, name] : kNames) {
    if (s == status) return name;
  }
  return "unknown";
}

std::optional<DbStatus> ParseDbStatus(std::string_view name) {
  for (const auto& [s, n] : kNames) {
    if (name == n) return s;
  }
  return std::nullopt;
}

}  // namespace localrds
