// DescribeDBLogFiles and DownloadDBLogFilePortion over log files the tests write where an
// instance's server logs (the fake runtime runs no PostgreSQL): RDS's names, the filters, paging
// by MaxRecords and by lines with markers, the 1 MB limit, the errors, the logging settings
// every server gets, and whose files a Multi-AZ instance shows before and after a failover.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <utime.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "emulator/runtime/server_logs.h"
#include "tests/unit/control_plane_fixture.h"
#include "tests/unit/multi_az_fixture.h"

namespace localrds {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string Lines(int from, int to) {
  std::string out;
  for (int i = from; i <= to; ++i) out += "line " + std::to_string(i) + "\n";
  return out;
}

void Write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
}

std::string FileText(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

class LogServiceTest : public ControlPlaneTest {
 protected:
  ServerSpec Server(const std::string& id) {
    return cp_->servers().Server(*cp_->registry().GetInstance(Describe(id)["DbiResourceId"]));
  }
  fs::path LogFile(const std::string& id, const std::string& hour) {
    return Server(id).log_dir / "error" / ("postgresql.log." + hour);
  }
  Result<json> DescribeLogs(json req) {
    auto r = cp_->Call("DescribeDBLogFiles", req);
    if (!r.ok()) return r.status();
    return r->body;
  }
  Result<json> Download(json req) {
    auto r = cp_->Call("DownloadDBLogFilePortion", req);
    if (!r.ok()) return r.status();
    return r->body;
  }
  std::vector<std::string> Names(const json& body) {
    std::vector<std::string> out;
    for (const auto& f : body["DescribeDBLogFiles"]) out.push_back(f["LogFileName"]);
    return out;
  }
};

TEST_F(LogServiceTest, EveryServerLogsHourlyFilesNamedAsOnRdsIntoItsLogDirectory) {
  Create("db1");
  const ServerSpec s = Server("db1");
  EXPECT_EQ(s.log_dir, layout_->HostLogDir(Describe("db1")["DbiResourceId"], "a"));
  EXPECT_TRUE(fs::is_directory(s.log_dir / "error"));
  const std::string conf = FileText(s.pgdata / "localrds.conf");
  for (const std::string& line :
       {std::string("logging_collector = on\n"),
        "log_directory = '" + (s.log_dir / "error").string() + "'\n",
        std::string("log_filename = 'postgresql.log.%Y-%m-%d-%H'\n"),
        std::string("log_rotation_age = 60\n"), std::string("log_timezone = 'UTC'\n"),
        std::string("log_line_prefix = '%t:%r:%u@%d:[%p]:'\n")}) {
    EXPECT_NE(conf.find(line), std::string::npos) << line << " in " << conf;
  }
}

TEST_F(LogServiceTest, DescribeListsTheFilesWithRdsNamesSizesAndTimesAndFilters) {
  Create("db1");
  const ServerSpec s = Server("db1");
  Write(s.log_file, "LOG:  redirecting log output to logging collector process\n");
  Write(LogFile("db1", "2026-12-06-10"), Lines(1, 3));
  Write(LogFile("db1", "2026-12-06-11"), Lines(1, 300));
  Write(s.log_dir / "error" / "core.txt", "not a log file\n");
  Write(s.log_dir / "error" / "postgresql.log.2026-12-06-1x", "not one either\n");
  // The older file was last written an hour before the newer one.
  struct utimbuf old_time {
    1796554800, 1796554800
  };
  ASSERT_EQ(utime(LogFile("db1", "2026-12-06-10").c_str(), &old_time), 0);

  auto all = DescribeLogs({{"DBInstanceIdentifier", "DB1"}});
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(Names(*all),
            (std::vector<std::string>{"error/postgres.log", "error/postgresql.log.2026-12-06-10",
                                      "error/postgresql.log.2026-12-06-11"}));
  const json& first = (*all)["DescribeDBLogFiles"][1];
  EXPECT_EQ(first["Size"], Lines(1, 3).size());
  EXPECT_EQ(first["LastWritten"], int64_t{1796554800} * 1000);
  EXPECT_FALSE(all->contains("Marker"));

  auto contains = DescribeLogs({{"DBInstanceIdentifier", "db1"}, {"FilenameContains", "06-11"}});
  EXPECT_EQ(Names(*contains), (std::vector<std::string>{"error/postgresql.log.2026-12-06-11"}));
  auto larger = DescribeLogs(
      {{"DBInstanceIdentifier", "db1"}, {"FileSize", static_cast<int64_t>(Lines(1, 3).size())}});
  EXPECT_EQ(Names(*larger),
            (std::vector<std::string>{"error/postgres.log", "error/postgresql.log.2026-12-06-11"}));
  auto recent = DescribeLogs(
      {{"DBInstanceIdentifier", "db1"}, {"FileLastWritten", int64_t{1796554800} * 1000 + 1}});
  EXPECT_EQ(Names(*recent),
            (std::vector<std::string>{"error/postgres.log", "error/postgresql.log.2026-12-06-11"}));

  // Paged by MaxRecords: every file once.
  std::vector<std::string> paged;
  json req = {{"DBInstanceIdentifier", "db1"}, {"MaxRecords", 2}};
  for (int pages = 0; pages < 5; ++pages) {
    auto page = DescribeLogs(req);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    for (const auto& n : Names(*page)) paged.push_back(n);
    if (!page->contains("Marker")) break;
    req["Marker"] = (*page)["Marker"];
  }
  EXPECT_EQ(paged, Names(*all));
}

TEST_F(LogServiceTest, DownloadPagesThroughAFileByLinesFromMarkerZero) {
  Create("db1");
  const std::string text = Lines(1, 25);
  Write(LogFile("db1", "2026-12-06-11"), text);
  const json base = {{"DBInstanceIdentifier", "db1"},
                     {"LogFileName", "error/postgresql.log.2026-12-06-11"}};

  json req = base;
  req["Marker"] = "0";
  req["NumberOfLines"] = 10;
  auto p1 = Download(req);
  ASSERT_TRUE(p1.ok()) << p1.status().ToString();
  EXPECT_EQ((*p1)["LogFileData"], Lines(1, 10));
  EXPECT_EQ((*p1)["Marker"], std::to_string(Lines(1, 10).size()));
  EXPECT_EQ((*p1)["AdditionalDataPending"], true);
  req["Marker"] = (*p1)["Marker"];
  auto p2 = Download(req);
  EXPECT_EQ((*p2)["LogFileData"], Lines(11, 20));
  EXPECT_EQ((*p2)["AdditionalDataPending"], true);
  req["Marker"] = (*p2)["Marker"];
  auto p3 = Download(req);
  EXPECT_EQ((*p3)["LogFileData"], Lines(21, 25));
  EXPECT_EQ((*p3)["Marker"], std::to_string(text.size()));
  EXPECT_EQ((*p3)["AdditionalDataPending"], false);
  // From the end: nothing yet, until the server writes more.
  req["Marker"] = (*p3)["Marker"];
  auto p4 = Download(req);
  EXPECT_EQ((*p4)["LogFileData"], "");
  EXPECT_EQ((*p4)["AdditionalDataPending"], false);
  std::ofstream(LogFile("db1", "2026-12-06-11"), std::ios::app) << "line 26\n";
  auto p5 = Download(req);
  EXPECT_EQ((*p5)["LogFileData"], "line 26\n");

  // Marker "0" and no NumberOfLines: the whole file (it is under 1 MB).
  json whole = base;
  whole["Marker"] = "0";
  EXPECT_EQ((*Download(whole))["LogFileData"], Lines(1, 26));

  // No Marker: the most recent lines, and the end of the file as the marker.
  json tail = base;
  tail["NumberOfLines"] = 3;
  auto t = Download(tail);
  EXPECT_EQ((*t)["LogFileData"], Lines(24, 26));
  EXPECT_EQ((*t)["Marker"], std::to_string(Lines(1, 26).size()));
  EXPECT_EQ((*t)["AdditionalDataPending"], false);
  EXPECT_EQ((*Download(base))["LogFileData"], Lines(1, 26));  // up to 10000 lines
}

TEST_F(LogServiceTest, APortionIsAtMostOneMegabyteAndEndsWithAWholeLine) {
  Create("db1");
  std::string text;
  const std::string line(99, 'x');
  for (int i = 0; i < 30000; ++i) text += line + "\n";  // 3 MB, 30000 lines
  text += std::string(1500000, 'y') + "\n";             // one line longer than 1 MB
  text += "last\n";
  Write(LogFile("db1", "2026-12-06-11"), text);
  json req = {{"DBInstanceIdentifier", "db1"},
              {"LogFileName", "error/postgresql.log.2026-12-06-11"},
              {"Marker", "0"}};
  std::string got;
  int pages = 0;
  for (; pages < 20; ++pages) {
    auto p = Download(req);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    const std::string data = (*p)["LogFileData"];
    EXPECT_LE(data.size(), size_t{1024 * 1024});
    // Whole lines, but for the one line longer than the limit.
    if ((*p)["AdditionalDataPending"] == true && !data.ends_with("\n")) {
      EXPECT_EQ(data, std::string(1024 * 1024, 'y'));
    }
    got += data;
    if ((*p)["AdditionalDataPending"] == false) break;
    EXPECT_NE((*p)["Marker"], req["Marker"]);
    req["Marker"] = (*p)["Marker"];
  }
  EXPECT_EQ(got, text);
  // Two pages of whole x lines up to 1 MB, the rest of them, the long line cut at 1 MB, the rest.
  EXPECT_EQ(pages, 4);

  // 10000 lines from marker 0: the first 10000 (under 1 MB).
  req["Marker"] = "0";
  req["NumberOfLines"] = 10000;
  auto p = Download(req);
  EXPECT_EQ((*p)["LogFileData"].get<std::string>().size(), size_t{10000 * 100});
  // The last lines: never more than 1 MB either.
  json tail = {{"DBInstanceIdentifier", "db1"},
               {"LogFileName", "error/postgresql.log.2026-12-06-11"}};
  auto t = Download(tail);
  // (The final megabyte opens inside the long line: that part of a line is not a line.)
  EXPECT_EQ((*t)["LogFileData"], "last\n");
}

TEST_F(LogServiceTest, ErrorsAreRdsErrors) {
  Create("db1");
  Write(LogFile("db1", "2026-12-06-11"), Lines(1, 3));
  const json base = {{"DBInstanceIdentifier", "db1"},
                     {"LogFileName", "error/postgresql.log.2026-12-06-11"}};
  json req = base;
  req["LogFileName"] = "error/postgresql.log.2026-12-06-09";
  ExpectError(Download(req).status(), "DBLogFileNotFoundFault", 404,
              "DBLog File: error/postgresql.log.2026-12-06-09, is not found on the DB instance");
  for (const char* name : {"error/../../catalog.db", "/etc/passwd", "postgresql.log",
                           "error/postgresql.log.2026-12-06-11/..", ""}) {
    req["LogFileName"] = name;
    ExpectError(Download(req).status(), "DBLogFileNotFoundFault", 404,
                std::string("DBLog File: ") + name + ", is not found on the DB instance");
  }
  req = base;
  req["DBInstanceIdentifier"] = "nope";
  ExpectError(Download(req).status(), "DBInstanceNotFound", 404, "DBInstance nope not found.");
  ExpectError(DescribeLogs({{"DBInstanceIdentifier", "nope"}}).status(), "DBInstanceNotFound", 404,
              "DBInstance nope not found.");
  for (int n : {0, -1, 10001}) {
    req = base;
    req["NumberOfLines"] = n;
    ExpectError(
        Download(req).status(), "InvalidParameterValue", 400,
        "Invalid value " + std::to_string(n) + " for NumberOfLines. Must be between 1 and 10000");
  }
  req = base;
  req["Marker"] = "1:abc";
  ExpectError(Download(req).status(), "InvalidParameterValue", 400, testing::HasSubstr("Marker"));
  ExpectError(DescribeLogs({{"DBInstanceIdentifier", "db1"}, {"MaxRecords", 0}}).status(),
              "InvalidParameterValue", 400, testing::HasSubstr("MaxRecords"));
}

using LogServiceMultiAzTest = MultiAzControlTest;

TEST_F(LogServiceMultiAzTest, TheFilesShownAreThoseOfTheServerThatServesTheEndpoint) {
  CreateMultiAz("maz");
  const ServerSpec primary = cp_->servers().Server(Row("maz"));
  const ServerSpec standby = cp_->servers().StandbyServer(Row("maz"));
  ASSERT_NE(primary.log_dir, standby.log_dir);
  EXPECT_TRUE(fs::is_directory(standby.log_dir / "error"));  // its settings were written
  Write(primary.log_dir / "error" / "postgresql.log.2026-12-06-10", "primary\n");
  Write(standby.log_dir / "error" / "postgresql.log.2026-12-06-11", "standby\n");
  auto names = [&] {
    std::vector<std::string> out;
    auto r = cp_->Call("DescribeDBLogFiles", {{"DBInstanceIdentifier", "maz"}});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    for (const auto& f : r->body["DescribeDBLogFiles"]) {
      const std::string n = f["LogFileName"];
      if (n != kStartupLogName) out.push_back(n);
    }
    return out;
  };
  EXPECT_EQ(names(), (std::vector<std::string>{"error/postgresql.log.2026-12-06-10"}));
  auto r = ForceFailover("maz");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  Wait(r->operation_id);
  EXPECT_EQ(names(), (std::vector<std::string>{"error/postgresql.log.2026-12-06-11"}));
}

}  // namespace localrds
