// Wall-clock helpers: milliseconds since the epoch and ISO 8601 (UTC) as AWS writes them.
// Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace localrds {

int64_t NowMs();
//! "2026-11-25T00:51:00.123Z" (with millis) or "2026-11-25T00:51:00Z".
std::string FormatIso8601(int64_t ms, bool with_millis = true);
//! Accepts "YYYY-MM-DDTHH:MM:SS[.fff][Z|+hh:mm]" and epoch seconds; nullopt when malformed.
std::optional<int64_t> ParseIso8601(const std::string& s);

}  // namespace localrds
