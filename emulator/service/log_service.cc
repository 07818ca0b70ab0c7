#include "emulator/service/log_service.h"

#include <limits>

#include "emulator/core/paging.h"
#include "emulator/runtime/server_logs.h"

namespace localrds {

Result<ServerSpec> LogService::ServerOf(const nlohmann::json& req) const {
  InstanceRow row;
  {
    Registry::Locked reg = registry_.Lock();
    auto r = reg.Find(ScopeOf(req), ReqString(req, "DBInstanceIdentifier").value_or(""));
    if (!r.ok()) return r.status();
    row = std::move(*r);
  }
  return servers_.Server(row);
}

Result<nlohmann::json> LogService::DescribeDBLogFiles(const nlohmann::json& req) {
  const int kAll = std::numeric_limits<int>::max();
  auto page = PageArgs(req, 1, kAll, kAll);
  if (!page.ok()) return page.status();
  auto server = ServerOf(req);
  if (!server.ok()) return server.status();
  const std::string contains = ReqString(req, "FilenameContains").value_or("");
  const auto since = ReqInt(req, "FileLastWritten");
  const auto larger_than = ReqInt(req, "FileSize");
  nlohmann::json files = nlohmann::json::array();
  for (const auto& f : DescribeServerLogs(*server)) {
    if (!contains.empty() && f.name.find(contains) == std::string::npos) continue;
    if (since && f.last_written_ms < *since) continue;
    if (larger_than && f.size <= *larger_than) continue;
    files.push_back(
        {{"LogFileName", f.name}, {"LastWritten", f.last_written_ms}, {"Size", f.size}});
  }
  return OffsetPage(files, "DescribeDBLogFiles", *page);
}

Result<nlohmann::json> LogService::DownloadDBLogFilePortion(const nlohmann::json& req) {
  std::optional<int> lines;
  if (auto n = ReqInt(req, "NumberOfLines")) {
    if (*n < 1 || *n > kLogPortionMaxLines) {
      // Written in the style of RDS's MaxRecords refusal (no RDS wording found for this one).
      return Status::InvalidParameter("Invalid value " + std::to_string(*n) +
                                      " for NumberOfLines. Must be between 1 and " +
                                      std::to_string(kLogPortionMaxLines));
    }
    lines = static_cast<int>(*n);
  }
  std::optional<int64_t> from;
  if (auto m = ReqString(req, "Marker")) {
    auto offset = ParseOffsetMarker(*m);
    if (!offset.ok()) return offset.status();
    from = *offset;
  }
  auto server = ServerOf(req);
  if (!server.ok()) return server.status();
  const std::string name = ReqString(req, "LogFileName").value_or("");
  auto file = FindServerLog(*server, name);
  if (!file) {
    // RDS's words.
    return Status::Error(AwsError::kDBLogFileNotFoundFault,
                         "DBLog File: " + name + ", is not found on the DB instance");
  }
  auto portion = ReadLogPortion(file->path, from, lines);
  if (!portion.ok()) return portion.status();
  return nlohmann::json{{"LogFileData", std::move(portion->data)},
                        {"Marker", std::to_string(portion->marker)},
                        {"AdditionalDataPending", portion->pending}};
}

}  // namespace localrds
