// SQL and health checks on a server over the shared Unix socket directory (libpq), as the
// cluster's superuser (trusted on the socket only). Both runtimes use them: a server in a
// container listens on the same socket directory, bind-mounted.
//
// Every call opens its own connection and blocks until it ends (bounded: a 30 s connect timeout
// and a 120 s statement timeout; Probe by its own deadline). Thread-safe.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/status.h"
#include "emulator/runtime/pg_runtime.h"

namespace localrds {

//! PgRuntime::ExecSql over the socket: each statement in order; a statement that fails only
//! because its object exists already (42710, 42P04) counts as done.
Status PgExecSql(const ServerSpec& spec, const std::string& database,
                 const std::vector<std::string>& statements);
//! PgRuntime::QueryValue over the socket: the first column of the first row ("" for none/NULL).
Result<std::string> PgQueryValue(const ServerSpec& spec, const std::string& database,
                                 const std::string& sql);
//! PgRuntime::Probe over the socket: connect and `SELECT 1` within `timeout`, never longer.
Status PgProbe(const ServerSpec& spec, std::chrono::milliseconds timeout);

}  // namespace localrds
