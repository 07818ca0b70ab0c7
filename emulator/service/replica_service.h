// ReplicaService: CreateDBInstanceReadReplica and PromoteReadReplica, with RDS's rules (User
// Guide USER_ReadRepl, USER_PostgreSQL.Replication.ReadReplicas; API reference). See
// ServiceBase.
#pragma once

#include "emulator/service/service_base.h"

namespace localrds {

class ReplicaService : public ServiceBase {
 public:
  using ServiceBase::ServiceBase;

  Result<Accepted> CreateDBInstanceReadReplica(const nlohmann::json& req);
  Result<Accepted> PromoteReadReplica(const nlohmann::json& req);
};

}  // namespace localrds
