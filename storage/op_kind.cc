#include "storage/op_kind.h"

#include <utility>

namespace localrds {
namespace {
constexpr std::pair<OpKind, const char*> kNames[] = {
    {OpKind::kCreate, "create"},   {OpKind::kRestore, "restore"},
    {OpKind::kDelete, "delete"},   {OpKind::kSnapshot, "snapshot"},
    {OpKind::kBackup, "backup"},   {OpKind::kCopySnapshot, "copy-snapshot"},
    {OpKind::kStop, "stop"},       {OpKind::kStart, "start"},
    {OpKind::kReboot, "reboot"},   {OpKind::kModify, "modify"},
    {OpKind::kRecover, "recover"}, {OpKind::kCreateReplica, "create-replica"},
    {OpKind::kPromote, "promote"}, {OpKind::kFailover, "failover"},
    {OpKind::kStandby, "standby"},
};
}  // namespace

const char* ToString(OpKind kind) {
  for (const auto& [k, name] : kNames) {
    if (k == kind) return name;
  }
  return "unknown";
}

std::optional<OpKind> ParseOpKind(std::string_view name) {
  for (const auto& [k, n] : kNames) {
    if (name == n) return k;
  }
  return std::nullopt;
}

}  // namespace localrds
