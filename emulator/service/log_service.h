// LogService: DescribeDBLogFiles and DownloadDBLogFilePortion over the PostgreSQL servers' own
// log files (emulator/runtime/server_logs.h), with RDS's names, filters and paging.
//
// The files are those of the server serving the instance's endpoint: after a Multi-AZ
// failover, the promoted standby's host (what it logged as a standby, then as the primary); a
// read replica has its own. See ServiceBase; it reads files (at most 1 MB a call) and never
// waits for PostgreSQL.
#pragma once

#include "emulator/service/service_base.h"

namespace localrds {

class LogService : public ServiceBase {
 public:
  using ServiceBase::ServiceBase;

  Result<nlohmann::json> DescribeDBLogFiles(const nlohmann::json& req);
  Result<nlohmann::json> DownloadDBLogFilePortion(const nlohmann::json& req);

 private:
  //! The server whose files the instance the request names shows (DBInstanceNotFound).
  Result<ServerSpec> ServerOf(const nlohmann::json& req) const;
};

}  // namespace localrds
