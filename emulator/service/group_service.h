// GroupService: DB parameter groups, DB subnet groups and option groups (the groups
// infrastructure code creates before an instance), and what an instance takes from them.
//
// Groups live in the catalog as GroupRow (emulator/state/registry.h); the default groups of each
// Region (default.postgresNN, default, default:postgres-NN) are not stored: they exist wherever an
// engine version does. A parameter group's values reach PostgreSQL: an instance keeps the values
// its servers run with (InstanceParameters), which ModifyDBParameterGroup changes at once for a
// dynamic parameter applied "immediate" (the servers reload), and a reboot brings in line with its
// group (ParameterApplyStatus pending-reboot until then). Parameter checks run PostgreSQL itself
// (emulator/postgres/parameters.h), so the parameter-group actions block (RdsService::Blocks:
// the API runs them on the executor). See ServiceBase for the rest; thread-safe.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "emulator/postgres/parameters.h"
#include "emulator/service/service_base.h"

namespace localrds {

class GroupService : public ServiceBase {
 public:
  GroupService(Registry& registry, InstanceServers& servers, PgRuntime& runtime,
               const Layout& layout, OperationStarter& starter, ServiceConfig config,
               Parameters& parameters)
      : ServiceBase(registry, servers, runtime, layout, starter, config), parameters_(parameters) {}

  // --- DB parameter groups
  Result<Accepted> CreateDBParameterGroup(const nlohmann::json& req);
  Result<Accepted> CopyDBParameterGroup(const nlohmann::json& req);
  Result<nlohmann::json> DescribeDBParameterGroups(const nlohmann::json& req);
  Result<nlohmann::json> ModifyDBParameterGroup(const nlohmann::json& req);
  Result<nlohmann::json> ResetDBParameterGroup(const nlohmann::json& req);
  Status DeleteDBParameterGroup(const nlohmann::json& req);
  Result<nlohmann::json> DescribeDBParameters(const nlohmann::json& req);
  Result<nlohmann::json> DescribeEngineDefaultParameters(const nlohmann::json& req);

  // --- DB subnet groups
  Result<Accepted> CreateDBSubnetGroup(const nlohmann::json& req);
  Result<Accepted> ModifyDBSubnetGroup(const nlohmann::json& req);
  Result<nlohmann::json> DescribeDBSubnetGroups(const nlohmann::json& req);
  Status DeleteDBSubnetGroup(const nlohmann::json& req);

  // --- option groups
  Result<Accepted> CreateOptionGroup(const nlohmann::json& req);
  Result<Accepted> CopyOptionGroup(const nlohmann::json& req);
  Result<Accepted> ModifyOptionGroup(const nlohmann::json& req);
  Result<nlohmann::json> DescribeOptionGroups(const nlohmann::json& req);
  Result<nlohmann::json> DescribeOptionGroupOptions(const nlohmann::json& req);
  Status DeleteOptionGroup(const nlohmann::json& req);

 private:
  //! Reloads each of `rows` (StartApplying'd) and finishes its apply status.
  void ApplyNow(const std::vector<InstanceRow>& rows);

  Parameters& parameters_;
};

//! What an instance takes from the groups a request names (or the defaults): DBParameterGroups,
//! DBSubnetGroup, OptionGroupMemberships and the parameter values its servers run with, set in
//! `attrs` (an instance of `scope`, engine major `major`, being made). Errors as RDS: a group
//! that does not exist, an option group of another engine version, an AvailabilityZone outside
//! the subnet group.
Status TakeGroups(Registry::Locked& reg, const nlohmann::json& req, const Scope& scope,
                  const std::string& major, nlohmann::json& attrs);
//! ModifyDBInstance's DBParameterGroupName (the new group's values apply at the next reboot:
//! ParameterApplyStatus pending-reboot), OptionGroupName and DBSubnetGroupName, checked as at
//! creation.
Status ChangeGroups(Registry::Locked& reg, const nlohmann::json& req, InstanceRow& row);
//! Moves an instance's zones into its subnet group's zones when they are not (seeded by its
//! resource id, so the same every time); AvailabilityZone stays when the request gave it.
void PlaceInSubnetGroup(const std::string& resource_id, nlohmann::json& attrs);
//! The instance's group values brought in: at a reboot or a start, every pending change of its
//! parameter group is applied (ParameterApplyStatus in-sync).
void SyncParametersAtRestart(Registry::Locked& reg, InstanceRow& row);

}  // namespace localrds
