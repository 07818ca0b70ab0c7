// psql over TCP with a password, as a client of an instance connects: what the runtime suites
// check logins with (SCRAM, and the superuser refused over TCP).
#pragma once

#include <string>

#include "common/subprocess.h"

namespace localrds {

//! psql's exit code (-1 when it could not run); its output in `out`.
inline int PsqlOverTcp(int port, const std::string& user, const std::string& password,
                       const std::string& sql, std::string* out = nullptr) {
  CommandOptions o;
  o.extra_env = {"PGPASSWORD=" + password, "PGCONNECT_TIMEOUT=5"};
  auto r = RunCommand({"psql", "-h", "127.0.0.1", "-p", std::to_string(port), "-U", user, "-d",
                       "postgres", "-Atc", sql},
                      o);
  if (!r.ok()) return -1;
  if (out) *out = r->output;
  return r->exit_code;
}

}  // namespace localrds
