// Waiting for a server's answer, as the steps do (a standby streaming, recovery ending).
// Thread-safe; blocks the caller, so only operation workers call it.
#pragma once

#include <chrono>
#include <string>

#include "common/status.h"
#include "emulator/runtime/pg_runtime.h"

namespace localrds {

//! Asks `sql` on `spec`'s server (backing off from 2 to 20 ms) until it answers `want`. Fails
//! when the server stops running or `timeout` passes, naming `what` it waited for and the last
//! answer; with a `primary` (the server a standby's answer depends on), also when that one stops.
Status WaitForAnswer(PgRuntime& runtime, const ServerSpec& spec, const std::string& sql,
                     const std::string& want, std::chrono::milliseconds timeout,
                     const std::string& what, const ServerSpec* primary = nullptr);

}  // namespace localrds
