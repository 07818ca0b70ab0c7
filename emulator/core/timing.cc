#include "emulator/core/timing.h"

#include <cmath>
#include <cstdlib>

namespace localrds {
namespace {
// The instance's own profile, in its hidden attributes (never rendered: it starts with '_').
constexpr const char* kTiming = "_timing";
constexpr double kMaxScale = 100;
}  // namespace

const std::vector<TimedWorkSpec>& AwsDurations() {
  static const std::vector<TimedWorkSpec> kTable = {
      {TimedWork::kCreate, "create", 600,
       "no number in the User Guide; a new PostgreSQL instance typically takes 5-15 minutes "
       "(the DBInstanceAvailable waiter allows 30 min)"},
      {TimedWork::kSnapshot, "snapshot", 180,
       "USER_CreateSnapshot: depends on the size; a small instance's first snapshot takes "
       "minutes (the DBSnapshotAvailable waiter allows 10 min)"},
      {TimedWork::kRestore, "restore", 600,
       "USER_RestoreFromSnapshot, USER_PIT: a restore creates a new instance (as create)"},
      {TimedWork::kReplica, "read-replica", 600,
       "USER_ReadRepl: a replica is created from a snapshot of the source (as create)"},
      {TimedWork::kPromote, "promote", 180,
       "API_PromoteReadReplica: the replica reboots; promotion takes \"a few minutes\""},
      {TimedWork::kReboot, "reboot", 60,
       "USER_RebootInstance: an outage, status rebooting, for the engine's crash recovery"},
      {TimedWork::kFailover, "failover", 90,
       "Concepts.MultiAZSingleStandby: \"Failover times are typically 60-120 seconds\""},
      {TimedWork::kRestoreLag, "latest-restorable-lag", 300,
       "USER_PIT: logs are uploaded every five minutes; LatestRestorableTime is \"typically "
       "within the last five minutes\""},
  };
  return kTable;
}

int64_t TimingProfile::DurationMs(TimedWork work) const {
  if (!aws) return 0;
  for (const auto& spec : AwsDurations()) {
    if (spec.work == work) return std::llround(static_cast<double>(spec.seconds) * 1000 * scale);
  }
  return 0;
}

std::string TimingProfile::ToString() const {
  if (!aws) return "fast";
  if (scale == 1.0) return "aws";
  std::string s = std::to_string(scale);
  s.erase(s.find_last_not_of('0') + 1);
  if (!s.empty() && s.back() == '.') s.pop_back();
  return "aws:" + s;
}

nlohmann::json TimingProfile::ToJson() const {
  if (!aws) return {{"profile", "fast"}};
  return {{"profile", "aws"}, {"scale", scale}};
}

Result<TimingProfile> TimingProfile::Parse(const std::string& text) {
  const std::string usage =
      "timing must be fast, aws or aws:<scale> (0 < scale <= 100), not '" + text + "'";
  if (text == "fast") return TimingProfile{};
  if (text == "aws") return TimingProfile{true, 1.0};
  if (text.rfind("aws:", 0) != 0 || text.size() == 4) return Status::InvalidParameter(usage);
  const std::string number = text.substr(4);
  char* end = nullptr;
  const double scale = std::strtod(number.c_str(), &end);
  if (end != number.c_str() + number.size() || !std::isfinite(scale) || scale <= 0 ||
      scale > kMaxScale || number.find_first_not_of("0123456789.") != std::string::npos) {
    return Status::InvalidParameter(usage);
  }
  return TimingProfile{true, scale};
}

Result<TimingProfile> TimingProfile::FromJson(const nlohmann::json& body) {
  const std::string usage =
      "the body must be {\"profile\": \"fast\"} or {\"profile\": \"aws\", \"scale\": <number, "
      "0 < scale <= 100, default 1>}";
  if (!body.is_object() || !body.contains("profile") || !body["profile"].is_string()) {
    return Status::InvalidParameter(usage);
  }
  const std::string profile = body["profile"].get<std::string>();
  if (profile == "fast") {
    if (body.contains("scale")) return Status::InvalidParameter("fast takes no scale");
    return TimingProfile{};
  }
  if (profile != "aws") return Status::InvalidParameter(usage);
  double scale = 1.0;
  if (body.contains("scale")) {
    if (!body["scale"].is_number()) return Status::InvalidParameter(usage);
    scale = body["scale"].get<double>();
    if (!std::isfinite(scale) || scale <= 0 || scale > kMaxScale) {
      return Status::InvalidParameter(usage);
    }
  }
  return TimingProfile{true, scale};
}

std::optional<TimingProfile> InstanceTiming(const InstanceRow& row) {
  auto it = row.attrs.find(kTiming);
  if (it == row.attrs.end()) return std::nullopt;
  auto parsed = TimingProfile::FromJson(*it);
  if (!parsed.ok()) return std::nullopt;
  return *parsed;
}

void SetInstanceTiming(nlohmann::json& attrs, const std::optional<TimingProfile>& timing) {
  if (timing) {
    attrs[kTiming] = timing->ToJson();
  } else {
    attrs.erase(kTiming);
  }
}

TimingProfile EffectiveTiming(const InstanceRow& row, const TimingProfile& server) {
  return InstanceTiming(row).value_or(server);
}

}  // namespace localrds
