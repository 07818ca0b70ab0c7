// InstanceService: the DB instance actions (CreateDBInstance, DescribeDBInstances,
// ModifyDBInstance, DeleteDBInstance, RebootDBInstance, StopDBInstance, StartDBInstance).
// See ServiceBase for the contract. `req` holds the decoded request (RDS member names).
// CreateDBInstance is in instance_create.cc, ModifyDBInstance in instance_modify.cc, the rest in
// instance_service.cc.
#pragma once

#include <functional>

#include "emulator/service/service_base.h"

namespace localrds {

class InstanceService : public ServiceBase {
 public:
  using ServiceBase::ServiceBase;

  Result<Accepted> CreateDBInstance(const nlohmann::json& req);
  Result<InstancePage> ListDBInstances(const nlohmann::json& req);
  //! ListDBInstances as one JSON document (DBInstances, Marker).
  Result<nlohmann::json> DescribeDBInstances(const nlohmann::json& req);
  Result<Accepted> ModifyDBInstance(const nlohmann::json& req);
  Result<Accepted> DeleteDBInstance(const nlohmann::json& req);
  Result<Accepted> RebootDBInstance(const nlohmann::json& req);
  Result<Accepted> StopDBInstance(const nlohmann::json& req);
  Result<Accepted> StartDBInstance(const nlohmann::json& req);

 private:
  //! The shape of Reboot/Stop/Start: an idle instance in `required` status moves to `next` and
  //! an operation of `kind` starts; `check` (optional) adds the action's own refusals.
  Result<Accepted> Transition(Registry::Locked& reg, const Scope& scope,
                              const std::string& identifier, DbStatus required, DbStatus next,
                              OpKind kind, const std::function<Status(const InstanceRow&)>& check);
  //! Refuses to stop a read replica or a source of read replicas (InvalidDBInstanceState).
  Status CheckStoppable(Registry::Locked& reg, const InstanceRow& row);
};

}  // namespace localrds
