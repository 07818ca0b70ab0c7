// What every RDS action family is built on: the registry (checks and commits in its lock), the
// instances' servers, the runtime, the layout and the operation starter. The services are the
// RDS actions: they validate a decoded request as RDS does, check state, and record the change
// and the operation that carries it out in one commit; they never wait for PostgreSQL.
//
// Thread-safety: every service method is thread-safe (state lives in the registry). Borrows
// everything it is given.
#pragma once

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "emulator/core/request.h"
#include "emulator/engine/servers.h"
#include "emulator/engine/starter.h"
#include "emulator/state/registry.h"
#include "storage/layout.h"

namespace localrds {

struct ServiceConfig {
  int default_port = 5432;  //!< RDS's default for PostgreSQL
  int max_instances = 40;   //!< RDS's default DB instance quota
};

//! One page of DescribeDBInstances: the rendered instances are shared and immutable, so a
//! describe copies nothing (the API layer encodes them in place).
struct InstancePage {
  std::vector<std::shared_ptr<const nlohmann::json>> instances;
  std::string marker;  //!< empty on the last page
};

//! DBInstanceAlreadyExists when an instance of `scope` has the identifier `id`.
inline Status CheckIdentifierFree(Registry::Locked& reg, const Scope& scope,
                                  const std::string& id) {
  if (!reg.IdentifierTaken(scope, id)) return Status::Ok();
  return Status::Error(AwsError::kDBInstanceAlreadyExists, "DB instance already exists");
}

//! InvalidDBInstanceState unless `row` is in the `required` status, in RDS's words ("Instance
//! db1 is not in available state.", as StopDBInstance says it).
inline Status CheckInStatus(const InstanceRow& row, DbStatus required) {
  if (row.status == required) return Status::Ok();
  return Status::Error(AwsError::kInvalidDBInstanceState,
                       "Instance " + row.identifier + " is not in " + required + " state.");
}

class ServiceBase {
 public:
  ServiceBase(Registry& registry, InstanceServers& servers, PgRuntime& runtime,
              const Layout& layout, OperationStarter& starter, ServiceConfig config)
      : registry_(registry),
        servers_(servers),
        runtime_(runtime),
        layout_(layout),
        starter_(starter),
        config_(config) {}

 protected:
  //! The account and region `req` was made in (--account-id and --region when it names none).
  Scope ScopeOf(const nlohmann::json& req) const {
    return RequestScope(req, registry_.DefaultScope());
  }
  //! The resource id an RDS ARN of a DB instance of `scope` names, for tag actions and
  //! describe-by-ARN; DBInstanceNotFound otherwise (an ARN of another scope included).
  Result<std::string> ResolveArn(Registry::Locked& reg, const Scope& scope,
                                 const std::string& arn) const;
  //! Whether a new instance `id` may be made in `scope`: its identifier free there, and no more
  //! instances there than --max-instances (InstanceQuotaExceeded; RDS's quota is per account and
  //! region).
  Status CheckRoomForInstance(Registry::Locked& reg, const Scope& scope,
                              const std::string& id) const {
    LOCALRDS_RETURN_IF_ERROR(CheckIdentifierFree(reg, scope, id));
    const auto in_scope = std::count_if(reg.instances().begin(), reg.instances().end(),
                                        [&](const auto& kv) { return kv.second.scope == scope; });
    if (in_scope < config_.max_instances) return Status::Ok();
    return Status::Error(AwsError::kInstanceQuotaExceeded,
                         "DB instance quota exceeded (" + std::to_string(config_.max_instances) +
                             " instances; raise it with --max-instances).");
  }

  Registry& registry_;
  InstanceServers& servers_;
  PgRuntime& runtime_;
  const Layout& layout_;
  OperationStarter& starter_;
  const ServiceConfig config_;
};

}  // namespace localrds
