#include "emulator/core/maintenance_window.h"

#include <array>
#include <cctype>

namespace localrds {
namespace {

constexpr int kWeekMinutes = 7 * 1440;
constexpr int64_t kMinuteMs = 60000;

// Minutes since Monday 00:00 of "ddd:hh:mi", or -1.
int WeekMinute(const std::string& s) {
  static const std::array<const char*, 7> kDays = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
  if (s.size() != 9 || s[3] != ':' || s[6] != ':') return -1;
  for (size_t i : {4, 5, 7, 8}) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return -1;
  }
  std::string day = s.substr(0, 3);
  for (char& c : day) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  int d = -1;
  for (int i = 0; i < 7; ++i) {
    if (day == kDays[i]) d = i;
  }
  const int h = (s[4] - '0') * 10 + (s[5] - '0');
  const int m = (s[7] - '0') * 10 + (s[8] - '0');
  if (d < 0 || h > 23 || m > 59) return -1;
  return d * 1440 + h * 60 + m;
}

// Minutes since Monday 00:00 UTC of the week `now_ms` falls in (1970-01-01 was a Thursday).
int NowWeekMinute(int64_t now_ms) {
  const int64_t minutes = now_ms / kMinuteMs;
  return static_cast<int>((minutes + 3 * 1440) % kWeekMinutes);
}

}  // namespace

std::optional<std::pair<int, int>> MaintenanceWindowMinutes(const std::string& window) {
  if (window.size() != 19 || window[9] != '-') return std::nullopt;
  const int a = WeekMinute(window.substr(0, 9));
  const int b = WeekMinute(window.substr(10));
  if (a < 0 || b < 0) return std::nullopt;
  return std::make_pair(a, b);
}

bool MaintenanceWindowOpen(const std::string& window, int64_t now_ms) {
  auto w = MaintenanceWindowMinutes(window);
  if (!w) return false;
  const int now = NowWeekMinute(now_ms);
  const auto [start, end] = *w;
  return start <= end ? (now >= start && now < end) : (now >= start || now < end);
}

}  // namespace localrds
