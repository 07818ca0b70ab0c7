// The PostgreSQL servers' own log files through DescribeDBLogFiles and DownloadDBLogFilePortion:
// a real server logs through its collector into error/postgresql.log.YYYY-MM-DD-HH (UTC) where
// the actions find it, with RDS's line prefix; a failing statement shows with its ERROR and
// STATEMENT lines; the startup messages stay findable; a rotation keeps the hour's name.
#include <gtest/gtest.h>

#include <ctime>
#include <filesystem>
#include <regex>
#include <string>

#include "common/subprocess.h"
#include "emulator/runtime/server_logs.h"
#include "tests/eventually.h"
#include "tests/integration/pg_fixture.h"

namespace localrds {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// RDS's name of the file of the UTC hour of `t`.
std::string HourFile(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "error/postgresql.log.%Y-%m-%d-%H", &tm);
  return buf;
}

}  // namespace

class LogPgTest : public PgControlPlaneTest {
 protected:
  LogPgTest() : PgControlPlaneTest("lrlog-", 46000) {}
  int Psql(int port, const std::string& sql, std::string* out) {
    CommandOptions o;
    o.extra_env = {"PGPASSWORD=secret99", "PGCONNECT_TIMEOUT=5"};
    auto r = RunCommand({"psql", "-h", "127.0.0.1", "-p", std::to_string(port), "-U", "root", "-d",
                         "test", "-Atc", sql},
                        o);
    *out = r.ok() ? r->output : r.status().ToString();
    return r.ok() ? r->exit_code : -1;
  }
  std::vector<std::string> Names(const std::string& id) {
    auto r = cp_->Call("DescribeDBLogFiles", {{"DBInstanceIdentifier", id}});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    std::vector<std::string> out;
    if (r.ok()) {
      for (const auto& f : r->body["DescribeDBLogFiles"]) out.push_back(f["LogFileName"]);
    }
    return out;
  }
  // The whole file, paged from marker 0 as the AWS CLI does.
  std::string Download(const std::string& id, const std::string& name) {
    json req = {{"DBInstanceIdentifier", id}, {"LogFileName", name}, {"Marker", "0"}};
    std::string text;
    for (int pages = 0; pages < 100; ++pages) {
      auto r = cp_->Call("DownloadDBLogFilePortion", req);
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      if (!r.ok()) break;
      text += r->body["LogFileData"].get<std::string>();
      if (!r->body["AdditionalDataPending"].get<bool>()) break;
      req["Marker"] = r->body["Marker"];
    }
    return text;
  }
  // Every hourly file (a test may straddle an hour).
  std::string Hourly(const std::string& id) {
    std::string text;
    for (const auto& n : Names(id)) {
      if (n != kStartupLogName) text += Download(id, n);
    }
    return text;
  }
};

TEST_F(LogPgTest, AServerLogsIntoTheHourlyFileWhereTheActionsFindIt) {
  const std::time_t before = std::time(nullptr);
  const std::string rid = Create("logs", 0);
  ASSERT_FALSE(rid.empty());
  const int port = Describe("logs")["Endpoint"]["Port"];
  const ServerSpec spec = cp_->servers().Server(*cp_->registry().GetInstance(rid));

  // The collector names the file it writes by the UTC hour it opened it in.
  auto current = runtime_->QueryValue(spec, "postgres", "SELECT pg_current_logfile()");
  ASSERT_TRUE(current.ok()) << current.status().ToString();
  const std::string name = "error/" + fs::path(*current).filename().string();
  EXPECT_EQ(fs::path(*current).parent_path(), spec.log_dir / "error");
  EXPECT_TRUE(name == HourFile(before) || name == HourFile(std::time(nullptr))) << name;
  std::vector<std::string> names = Names("logs");
  EXPECT_EQ(names.front(), kStartupLogName);
  EXPECT_NE(std::find(names.begin(), names.end(), name), names.end());
  for (const auto& n : names) {
    EXPECT_TRUE(n == kStartupLogName ||
                std::regex_match(n, std::regex(R"(error/postgresql\.log\.\d{4}-\d\d-\d\d-\d\d)")))
        << n;
  }

  // What the postmaster said before its collector ran, and after.
  EXPECT_NE(Download("logs", kStartupLogName).find("redirecting log output to logging collector"),
            std::string::npos);
  EXPECT_NE(Download("logs", name).find("database system is ready to accept connections"),
            std::string::npos);

  // A failing statement: its ERROR and STATEMENT lines, with RDS's prefix.
  std::string out;
  EXPECT_NE(Psql(port, "SELECT 1/0", &out), 0);
  EXPECT_NE(out.find("division by zero"), std::string::npos) << out;
  std::string text;
  ASSERT_TRUE(Eventually(
      [&] {
        text = Hourly("logs");
        return text.find("STATEMENT:  SELECT 1/0") != std::string::npos;
      },
      std::chrono::seconds(10)))
      << text;
  const std::regex error_line(
      R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC:127\.0\.0\.1\(\d+\):root@test:\[\d+\]:ERROR:  division by zero\n)"
      R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC:127\.0\.0\.1\(\d+\):root@test:\[\d+\]:STATEMENT:  SELECT 1/0\n)");
  EXPECT_TRUE(std::regex_search(text, error_line)) << text;

  // A rotation within the hour reopens the hour's file: no new name.
  const size_t files = Names("logs").size();
  ASSERT_TRUE(runtime_->ExecSql(spec, "postgres", {"SELECT pg_rotate_logfile()"}).ok());
  ASSERT_TRUE(runtime_->ExecSql(spec, "postgres", {"SELECT 1"}).ok());
  auto after = runtime_->QueryValue(spec, "postgres", "SELECT pg_current_logfile()");
  ASSERT_TRUE(after.ok());
  const std::string now_name = "error/" + fs::path(*after).filename().string();
  EXPECT_EQ(now_name, HourFile(std::time(nullptr)));
  if (now_name == name) {
    EXPECT_EQ(Names("logs").size(), files);
  }

  // A restart appends to the same files (the stderr file keeps its history too).
  auto reboot = cp_->instances().RebootDBInstance({{"DBInstanceIdentifier", "logs"}});
  WaitAvailable(reboot, "logs");
  EXPECT_NE(Hourly("logs").find("STATEMENT:  SELECT 1/0"), std::string::npos);
  EXPECT_NE(Download("logs", kStartupLogName).find("redirecting log output"), std::string::npos);
}

}  // namespace localrds
