// The weekly maintenance window (PreferredMaintenanceWindow, "ddd:hh24:mi-ddd:hh24:mi" in UTC):
// where it lies in the week and whether it is open at a given time. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace localrds {

//! [start, end) of `window` in minutes since Monday 00:00 UTC (end < start when the window
//! crosses Sunday midnight); nullopt when it is not "ddd:hh24:mi-ddd:hh24:mi".
std::optional<std::pair<int, int>> MaintenanceWindowMinutes(const std::string& window);
//! Whether `window` is open at `now_ms` (milliseconds since the epoch, UTC).
bool MaintenanceWindowOpen(const std::string& window, int64_t now_ms);

}  // namespace localrds
