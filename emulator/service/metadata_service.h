// MetadataService: tags, events, engine versions and orderable options. See ServiceBase; it
// also reads the catalog's events.
#pragma once

#include <functional>
#include <string>

#include "emulator/service/service_base.h"
#include "storage/catalog.h"

namespace localrds {

class MetadataService : public ServiceBase {
 public:
  MetadataService(Registry& registry, InstanceServers& servers, PgRuntime& runtime,
                  const Layout& layout, OperationStarter& starter, ServiceConfig config,
                  Catalog& catalog)
      : ServiceBase(registry, servers, runtime, layout, starter, config), catalog_(catalog) {}

  Status AddTagsToResource(const nlohmann::json& req);
  Status RemoveTagsFromResource(const nlohmann::json& req);
  Result<nlohmann::json> ListTagsForResource(const nlohmann::json& req);
  Result<nlohmann::json> DescribeEvents(const nlohmann::json& req);
  //! RDS's account quotas with their use in the caller's account and Region.
  Result<nlohmann::json> DescribeAccountAttributes(const nlohmann::json& req);
  Result<nlohmann::json> DescribeDBEngineVersions(const nlohmann::json& req);
  Result<nlohmann::json> DescribeOrderableDBInstanceOptions(const nlohmann::json& req);

 private:
  //! The TagList of the resource an ARN names in `scope` (a DB instance, a DB snapshot, manual
  //! or automated, or a group of emulator/core/group_kinds.h), and how a mutation writes a new
  //! one back.
  struct TaggedResource {
    nlohmann::json tags;
    std::function<void(Mutation&, const nlohmann::json&)> put;
  };
  //! DBInstanceNotFound / DBSnapshotNotFound / the group kind's error for an ARN of nothing in
  //! `scope`.
  Result<TaggedResource> FindTagged(Registry::Locked& reg, const Scope& scope,
                                    const std::string& arn) const;

  Catalog& catalog_;
};

}  // namespace localrds
