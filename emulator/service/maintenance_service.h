// MaintenanceService: RDS maintenance. DescribePendingMaintenanceActions and
// ApplyPendingMaintenanceAction (what localrds can list: see the README, "Maintenance"),
// ModifyDBSnapshot (a manual snapshot's engine version), and the background pass that applies
// pending modifications in each instance's PreferredMaintenanceWindow. See ServiceBase for the
// contract; `req` holds the decoded request (RDS member names).
//
// Thread-safety: thread-safe (state lives in the registry). Borrows everything it is given.
#pragma once

#include <string>

#include "emulator/service/service_base.h"

namespace localrds {

class MaintenanceService : public ServiceBase {
 public:
  using ServiceBase::ServiceBase;

  Result<nlohmann::json> DescribePendingMaintenanceActions(const nlohmann::json& req);
  Result<nlohmann::json> ApplyPendingMaintenanceAction(const nlohmann::json& req);
  Result<Accepted> ModifyDBSnapshot(const nlohmann::json& req);

  //! Starts the "modify" operation of every idle, available instance whose maintenance window
  //! is open now (on the registry's clock) and that has pending modifications; returns what it
  //! did, as a sentence ("" when nothing).
  std::string ApplyInMaintenanceWindowsOnce();

 private:
  //! The DB instance an RDS ARN names (ResourceNotFoundFault when none of the caller's).
  Result<InstanceRow> FindByArn(Registry::Locked& reg, const Scope& scope,
                                const std::string& arn) const;
};

}  // namespace localrds
