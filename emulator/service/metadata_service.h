// MetadataService: tags, events, engine versions and orderable options. See ServiceBase; it
// also reads the catalog's events.
#pragma once

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
  Result<nlohmann::json> DescribeDBEngineVersions(const nlohmann::json& req);
  Result<nlohmann::json> DescribeOrderableDBInstanceOptions(const nlohmann::json& req);

 private:
  Catalog& catalog_;
};

}  // namespace localrds
