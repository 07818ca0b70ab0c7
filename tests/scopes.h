// The accounts and Regions the scope suites (unit and over real PostgreSQL) send requests in, and
// In(): a request as if signed for one of them. For any test thread.
#pragma once

#include <nlohmann/json.hpp>

#include "emulator/core/request.h"
#include "storage/catalog.h"

namespace localrds {

inline const Scope kEast{"000000000000", "us-east-1"};  // the fixtures' --account-id and --region
inline const Scope kEu{"000000000000", "eu-west-1"};
inline const Scope kOther{"111122223333", "us-east-1"};

//! `req` in `scope`, as the router hands on a request signed for it.
inline nlohmann::json In(const Scope& scope, nlohmann::json req) {
  SetRequestScope(req, scope);
  return req;
}

}  // namespace localrds
