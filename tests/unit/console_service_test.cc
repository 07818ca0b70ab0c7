// ConsoleService over the fake runtime: the query editor's and the DR drill's answers that need
// no PostgreSQL (argument errors, unknown instances, an instance without an endpoint or with no
// server listening, a fault without a writer). tests/integration/console_pg_test.cc runs them
// against real servers.
#include <future>
#include <optional>
#include <thread>

#include "common/time_util.h"
#include "tests/unit/control_plane_fixture.h"

namespace localrds {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class ConsoleServiceTest : public ControlPlaneTest {
 protected:
  Scope scope() { return cp_->DefaultScope(); }
  Result<nlohmann::json> Sql(const nlohmann::json& req) {
    return cp_->console().RunSql(scope(), req);
  }
  Result<nlohmann::json> Drill(const std::string& what, const nlohmann::json& req) {
    return cp_->console().Drill(scope(), what, req);
  }
  static nlohmann::json SqlReq(const std::string& id) {
    return {{"DBInstanceIdentifier", id}, {"password", "secret99"}, {"sql", "SELECT 1"}};
  }
};

TEST_F(ConsoleServiceTest, AnUnknownInstanceIsNotFound) {
  ExpectError(Sql(SqlReq("nope")).status(), "DBInstanceNotFound", 404,
              "DBInstance nope not found.");
  ExpectError(Drill("writer", SqlReq("nope")).status(), "DBInstanceNotFound", 404,
              "DBInstance nope not found.");
  ExpectError(Drill("status", {{"DBInstanceIdentifier", "nope"}}).status(), "DBInstanceNotFound",
              404, "DBInstance nope not found.");
  ExpectError(Drill("stop", {{"DBInstanceIdentifier", "nope"}}).status(), "DBInstanceNotFound", 404,
              "DBInstance nope not found.");
}

TEST_F(ConsoleServiceTest, AFaultOnAnUnknownInstanceIsNotFound) {
  ExpectError(Drill("fault", {{"DBInstanceIdentifier", "nope"}, {"fault", "crash"}}).status(),
              "DBInstanceNotFound", 404, "DBInstance nope not found.");
}

TEST_F(ConsoleServiceTest, MissingArgumentsAreRefusedAsRdsWordsThem) {
  Create("db1");
  nlohmann::json req = SqlReq("db1");
  req.erase("DBInstanceIdentifier");
  ExpectError(Sql(req).status(), "MissingParameter", 400,
              "The request must contain the parameter DBInstanceIdentifier");
  req = SqlReq("db1");
  req.erase("sql");
  ExpectError(Sql(req).status(), "MissingParameter", 400,
              "The request must contain the parameter sql");
  req = SqlReq("db1");
  req["password"] = "";
  ExpectError(Sql(req).status(), "MissingParameter", 400,
              "The request must contain the parameter password");
  req = SqlReq("db1");
  req["database"] = 5;
  ExpectError(Sql(req).status(), "InvalidParameterValue", 400,
              "Invalid value for parameter database: it must be a string.");
  req = SqlReq("db1");
  req.erase("password");
  ExpectError(Drill("writer", req).status(), "MissingParameter", 400,
              "The request must contain the parameter password");
  ExpectError(Drill("fault", {{"DBInstanceIdentifier", "db1"}}).status(), "MissingParameter", 400,
              "The request must contain the parameter fault");
  ExpectError(Drill("fault", {{"DBInstanceIdentifier", "db1"}, {"fault", "meteor"}}).status(),
              "InvalidParameterValue", 400,
              "Invalid value meteor for parameter fault: use crash, freeze, thaw, backup or "
              "failover.");
  ExpectError(Drill("status", nlohmann::json::object()).status(), "MissingParameter", 400,
              "The request must contain the parameter DBInstanceIdentifier");
  ExpectError(Drill("explode", {{"DBInstanceIdentifier", "db1"}}).status(), "InvalidParameterValue",
              400, "Unknown drill request explode: use status, writer, fault or stop.");
}

TEST_F(ConsoleServiceTest, AnInstanceWithoutAnEndpointCannotRunSql) {
  // The create holds before its start step: the instance stays `creating`, with no endpoint.
  OperationEngine::SetCrashHook(
      [](const std::string& kind, int step) { return !(kind == "create" && step == 2); });
  auto r = cp_->instances().CreateDBInstance(CreateReq("db1"));
  ASSERT_TRUE(r.ok());
  Wait(r->operation_id);
  ASSERT_EQ(StatusOf("db1"), "creating");
  ExpectError(Sql(SqlReq("db1")).status(), "InvalidDBInstanceState", 400,
              "DB instance db1 has no endpoint yet (it is creating).");
  ExpectError(Drill("writer", SqlReq("db1")).status(), "InvalidDBInstanceState", 400,
              "DB instance db1 has no endpoint yet (it is creating).");
}

TEST_F(ConsoleServiceTest, AnEndpointWhereNothingListensIsNotReachable) {
  Create("db1");  // the fake runtime starts no server: nothing listens on its port
  const int port = Describe("db1")["Endpoint"]["Port"];
  ExpectError(Sql(SqlReq("db1")).status(), "InvalidDBInstanceState", 400,
              StartsWith("Cannot connect to DB instance db1 at 127.0.0.1:" + std::to_string(port) +
                         " (it is available): "));
  ExpectError(Drill("writer", SqlReq("db1")).status(), "InvalidDBInstanceState", 400,
              StartsWith("Cannot connect to DB instance db1"));
  // No writer was left behind.
  auto status = Drill("status", {{"DBInstanceIdentifier", "db1"}});
  ASSERT_TRUE(status.ok());
  EXPECT_TRUE((*status)["drill"].is_null());
}

TEST_F(ConsoleServiceTest, TheDrillIsNullBeforeAWriterAndAFaultWorksWithoutOne) {
  Create("db1");
  auto status = Drill("status", {{"DBInstanceIdentifier", "DB1"}});
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_EQ(*status, (nlohmann::json{{"drill", nullptr}}));
  auto stopped = Drill("stop", {{"DBInstanceIdentifier", "db1"}});
  ASSERT_TRUE(stopped.ok());
  EXPECT_TRUE((*stopped)["drill"].is_null());

  const std::string at = FormatIso8601(clock_.NowMs(), true);  // the fake clock stands still
  auto fault = Drill("fault", {{"DBInstanceIdentifier", "db1"}, {"fault", "crash"}});
  ASSERT_TRUE(fault.ok()) << fault.status().ToString();
  const nlohmann::json& d = (*fault)["drill"];
  EXPECT_EQ(d["DBInstanceIdentifier"], "db1");
  EXPECT_EQ(d["running"], false);
  EXPECT_EQ(d["intervalMs"], 100);
  EXPECT_EQ(d["acknowledged"], 0);
  EXPECT_EQ(d["failedWrites"], 0);
  EXPECT_TRUE(d["lastError"].is_null());
  EXPECT_EQ(d["lastFaultAt"], at);
  EXPECT_TRUE(d["recoveryMs"].is_null());
  EXPECT_TRUE(d["lostRows"].is_null());
  EXPECT_EQ(d["verified"], false);
  ASSERT_EQ(d["timeline"].size(), 1u);
  EXPECT_EQ(d["timeline"][0],
            (nlohmann::json{{"at", at},
                            {"kind", "fault"},
                            {"text", "Crash: the primary's postmaster was killed (SIGKILL)."}}));
  // The crash went through the same code as /_localrds/instances/db1/crash.
  auto details = cp_->InstanceDetails("db1");
  ASSERT_TRUE(details.ok());
  EXPECT_EQ((*details)["server"]["running"], false);
  // The status reads it back.
  EXPECT_EQ((*Drill("status", {{"DBInstanceIdentifier", "db1"}}))["drill"], d);
}

TEST_F(ConsoleServiceTest, AFailoverOfASingleAzInstanceGetsRebootsOwnError) {
  Create("db1");
  auto fault = Drill("fault", {{"DBInstanceIdentifier", "db1"}, {"fault", "failover"}});
  auto direct =
      cp_->instances().RebootDBInstance({{"DBInstanceIdentifier", "db1"}, {"ForceFailover", true}});
  ASSERT_FALSE(direct.ok());
  ExpectError(fault.status(), direct.status().info().code, direct.status().info().http_status,
              direct.status().message());
}

TEST_F(ConsoleServiceTest, TheAsyncHooksRunOffTheCallersThread) {
  std::promise<std::pair<std::thread::id, Result<nlohmann::json>>> sql;
  cp_->RunSqlAsync(scope(), SqlReq("nope"), [&](Result<nlohmann::json> r) {
    sql.set_value({std::this_thread::get_id(), std::move(r)});
  });
  auto got = sql.get_future().get();
  EXPECT_NE(got.first, std::this_thread::get_id());
  ExpectError(got.second.status(), "DBInstanceNotFound", 404, "DBInstance nope not found.");

  std::promise<std::pair<std::thread::id, Result<nlohmann::json>>> drill;
  cp_->DrillAsync(scope(), "stop", {{"DBInstanceIdentifier", "nope"}},
                  [&](Result<nlohmann::json> r) {
                    drill.set_value({std::this_thread::get_id(), std::move(r)});
                  });
  auto d = drill.get_future().get();
  EXPECT_NE(d.first, std::this_thread::get_id());
  ExpectError(d.second.status(), "DBInstanceNotFound", 404, "DBInstance nope not found.");

  // A drill's status reads its record only: answered at once, on the caller's thread, even while
  // the console's pool is busy.
  std::optional<std::thread::id> status_thread;
  cp_->DrillAsync(
      scope(), "status", {{"DBInstanceIdentifier", "nope"}}, [&](Result<nlohmann::json> r) {
        status_thread = std::this_thread::get_id();
        ExpectError(r.status(), "DBInstanceNotFound", 404, "DBInstance nope not found.");
      });
  EXPECT_EQ(status_thread, std::this_thread::get_id());
}

}  // namespace
}  // namespace localrds
