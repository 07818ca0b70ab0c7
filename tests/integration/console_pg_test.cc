// The console's query editor and DR drill over real PostgreSQL: a script's results and command
// tags in order, NULLs, a wrong password (28P01), a failing statement that stops the script with
// the results before it, a read replica that refuses a write (25006) as it does to psql; the
// drill writer through a Multi-AZ failover (recovered, nothing lost) and through a crash of a
// single-AZ instance (recovered once the reconciler restarts it).
#include <gtest/gtest.h>

#include <chrono>
#include <functional>

#include "tests/eventually.h"
#include "tests/integration/pg_fixture.h"

namespace localrds {
namespace {
using nlohmann::json;

class ConsolePgTest : public PgControlPlaneTest {
 protected:
  ConsolePgTest() : PgControlPlaneTest("lrcon-", 46200) {}

  void Configure(EmulatorConfig& config) override {
    // Instance ports 46200-46299 (this suite's block), whatever the pid.
    config.port_range_lo = 46200;
    config.port_range_hi = 46299;
    config.default_port = 46200;
    QuickHealthChecks(config);
  }
  static bool Eventually(const std::function<bool()>& done,
                         std::chrono::seconds timeout = std::chrono::seconds(60)) {
    return localrds::Eventually(done, timeout);
  }
  Scope scope() { return cp_->DefaultScope(); }
  json Sql(const std::string& id, const std::string& sql,
           const std::string& password = "secret99") {
    auto r = cp_->console().RunSql(
        scope(), {{"DBInstanceIdentifier", id}, {"password", password}, {"sql", sql}});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : json();
  }
  json Drill(const std::string& what, json req) {
    auto r = cp_->console().Drill(scope(), what, req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? (*r)["drill"] : json();
  }
  json Status(const std::string& id) { return Drill("status", {{"DBInstanceIdentifier", id}}); }
  //! Waits until the writer has `n` more acknowledged writes than now.
  bool Writes(const std::string& id, int n) {
    const int64_t from = Status(id)["acknowledged"];
    return Eventually([&] { return Status(id)["acknowledged"].get<int64_t>() >= from + n; });
  }
};

TEST_F(ConsolePgTest, AScriptAnswersEveryStatementsResultInOrder) {
  Create("db1", 1);
  json r = Sql("db1",
               "CREATE TABLE todos(id int primary key, title text); "
               "INSERT INTO todos VALUES (1, 'a'); INSERT INTO todos VALUES (2, NULL), (3, 'c'); "
               "SELECT id, title FROM todos ORDER BY id; DELETE FROM todos WHERE id = 3; "
               "SELECT count(*) AS n FROM todos WHERE false");
  ASSERT_FALSE(r.contains("error")) << r.dump();
  EXPECT_GE(r["elapsedMs"].get<int64_t>(), 0);
  const json expected = json::parse(R"([
    {"command": "CREATE TABLE"},
    {"command": "INSERT 0 1", "rowCount": 1},
    {"command": "INSERT 0 2", "rowCount": 2},
    {"command": "SELECT 3", "columns": ["id", "title"], "rows": [["1", "a"], ["2", null],
     ["3", "c"]], "rowCount": 3, "truncated": false},
    {"command": "DELETE 1", "rowCount": 1},
    {"command": "SELECT 1", "columns": ["n"], "rows": [["0"]], "rowCount": 1, "truncated": false}
  ])");
  EXPECT_EQ(r["results"], expected);
  // The database is the instance's DBName: psql sees the same rows there.
  EXPECT_EQ(Query(Port("db1"), "SELECT string_agg(id::text, ',' ORDER BY id) FROM todos"), "1,2\n");
}

TEST_F(ConsolePgTest, AResultHoldsAtMostAThousandRows) {
  Create("db1", 1);
  json r = Sql("db1", "SELECT g FROM generate_series(1, 2500) g");
  ASSERT_EQ(r["results"].size(), 1u) << r.dump();
  EXPECT_EQ(r["results"][0]["command"], "SELECT 2500");
  EXPECT_EQ(r["results"][0]["rowCount"], 2500);
  EXPECT_EQ(r["results"][0]["rows"].size(), 1000u);
  EXPECT_EQ(r["results"][0]["rows"][999][0], "1000");
  EXPECT_EQ(r["results"][0]["truncated"], true);
}

TEST_F(ConsolePgTest, AWrongPasswordIsPostgresqlsOwnError) {
  Create("db1", 1);
  json r = Sql("db1", "SELECT 1", "wrong-password");
  EXPECT_EQ(r["error"], (json{{"code", "SqlError"},
                              {"message", "password authentication failed for user \"root\""},
                              {"sqlstate", "28P01"}}));
  EXPECT_EQ(r["results"], json::array());
}

TEST_F(ConsolePgTest, ASyntaxErrorRunsNothing) {
  Create("db1", 1);
  // PostgreSQL parses the whole query string before it runs any of it (as with `psql -c`).
  json r = Sql("db1", "CREATE TABLE t(v int); INSERT INTO t VALUES (1); SELEC 1");
  EXPECT_EQ(r["error"], (json{{"code", "SqlError"},
                              {"message", "syntax error at or near \"SELEC\""},
                              {"sqlstate", "42601"}}));
  EXPECT_EQ(r["results"], json::array());
  EXPECT_EQ(Query(Port("db1"), "SELECT to_regclass('t') IS NULL"), "t\n");
}

TEST_F(ConsolePgTest, AFailingStatementStopsTheScriptWithTheResultsBeforeIt) {
  Create("db1", 1);
  json r = Sql("db1",
               "CREATE TABLE t(v int); INSERT INTO t VALUES (1); SELECT 1/0; "
               "INSERT INTO t VALUES (2)");
  EXPECT_EQ(r["error"],
            (json{{"code", "SqlError"}, {"message", "division by zero"}, {"sqlstate", "22012"}}));
  EXPECT_EQ(r["results"], json::parse(R"([{"command": "CREATE TABLE"},
                                          {"command": "INSERT 0 1", "rowCount": 1}])"));
  // One query string is one implicit transaction: what ran before the error is rolled back with
  // it, as with `psql -c`.
  EXPECT_EQ(Query(Port("db1"), "SELECT to_regclass('t') IS NULL"), "t\n");
  // Statements that commit on their own stay (an explicit COMMIT ends the implicit transaction).
  r = Sql("db1", "CREATE TABLE u(v int); COMMIT; SELECT 1/0");
  EXPECT_EQ(r["error"]["sqlstate"], "22012");
  EXPECT_EQ(Query(Port("db1"), "SELECT to_regclass('u') IS NOT NULL"), "t\n");
}

TEST_F(ConsolePgTest, AReadReplicaRefusesWritesAsItDoesToPsql) {
  Create("src", 1);
  Sql("src", "CREATE TABLE t(v int); INSERT INTO t VALUES (7)");
  WaitAvailable(cp_->replicas().CreateDBInstanceReadReplica(
                    {{"DBInstanceIdentifier", "rep"}, {"SourceDBInstanceIdentifier", "src"}}),
                "rep");
  ASSERT_TRUE(Eventually([&] {
    json r = Sql("rep", "SELECT v FROM t");
    return !r.contains("error") && r["results"][0]["rows"] == json::parse(R"([["7"]])");
  }));
  json r = Sql("rep", "INSERT INTO t VALUES (8)");
  EXPECT_EQ(r["error"], (json{{"code", "SqlError"},
                              {"message", "cannot execute INSERT in a read-only transaction"},
                              {"sqlstate", "25006"}}));
  EXPECT_EQ(r["results"], json::array());
}

TEST_F(ConsolePgTest, TheDrillWriterLosesNothingThroughAMultiAzFailover) {
  cp_->StartBackground();
  json req = {{"DBInstanceIdentifier", "maz"},    {"Engine", "postgres"},
              {"DBInstanceClass", "db.t3.micro"}, {"MasterUsername", "root"},
              {"MasterUserPassword", "secret99"}, {"DBName", "test"},
              {"BackupRetentionPeriod", 1},       {"MultiAZ", true}};
  const int port = WaitAvailable(cp_->instances().CreateDBInstance(req), "maz");
  ASSERT_GT(port, 0);

  json d = Drill("writer", {{"DBInstanceIdentifier", "maz"}, {"password", "secret99"}});
  ASSERT_EQ(d["running"], true) << d.dump();
  EXPECT_EQ(d["timeline"][0]["kind"], "start");
  ASSERT_TRUE(Writes("maz", 10));

  d = Drill("fault", {{"DBInstanceIdentifier", "maz"}, {"fault", "failover"}});
  EXPECT_EQ(d["timeline"].back()["kind"], "fault");
  EXPECT_FALSE(d["lastFaultAt"].is_null());
  // Recovered: a write failed after the fault and a later one was acknowledged.
  ASSERT_TRUE(Eventually([&] {
    const json s = Status("maz");
    return !s["timeline"].empty() && s["timeline"].back()["kind"] == "recovered";
  })) << Status("maz").dump(2);
  ASSERT_TRUE(Writes("maz", 10));
  EXPECT_EQ(Port("maz"), port);  // the endpoint is unchanged

  d = Drill("stop", {{"DBInstanceIdentifier", "maz"}});
  EXPECT_EQ(d["running"], false);
  EXPECT_EQ(d["verified"], true) << d.dump(2);
  EXPECT_EQ(d["lostRows"], 0) << d.dump(2);
  EXPECT_GT(d["recoveryMs"].get<int64_t>(), 0);
  EXPECT_GT(d["failedWrites"].get<int64_t>(), 0);
  EXPECT_FALSE(d["lastError"].is_null());
  std::vector<std::string> kinds;
  for (const auto& e : d["timeline"]) kinds.push_back(e["kind"]);
  EXPECT_EQ(kinds, (std::vector<std::string>{"start", "fault", "write-failed", "recovered", "stop",
                                             "verified"}))
      << d.dump(2);
  // Every acknowledged write is in the table (and perhaps a few more that timed out).
  const int64_t rows = std::stoll(Query(port, "SELECT count(*) FROM localrds_drill"));
  EXPECT_GE(rows, d["acknowledged"].get<int64_t>());
  RecordProperty("recoveryMs", std::to_string(d["recoveryMs"].get<int64_t>()));
  std::cout << "multi-az failover drill: " << d.dump() << "\n";
  // A fault after the stop (no writer to measure) keeps the recovery the drill measured. (The
  // backup window waits for the failover's standby rebuild: InvalidDBInstanceState until then.)
  const json measured = d["recoveryMs"];
  ASSERT_TRUE(Eventually([&] {
    auto r = cp_->console().Drill(scope(), "fault",
                                  {{"DBInstanceIdentifier", "maz"}, {"fault", "crash"}});
    if (r.ok()) d = (*r)["drill"];
    return r.ok();
  }));
  EXPECT_EQ(d["recoveryMs"], measured) << d.dump(2);
  EXPECT_EQ(d["timeline"].back()["kind"], "fault");
}

TEST_F(ConsolePgTest, TheDrillWriterRecoversAfterACrashOfASingleAzInstance) {
  cp_->StartBackground();  // the reconciler restarts the crashed server
  Create("db1", 1);
  json d = Drill("writer", {{"DBInstanceIdentifier", "db1"}, {"password", "secret99"}});
  ASSERT_EQ(d["running"], true) << d.dump();
  ASSERT_TRUE(Writes("db1", 5));
  d = Drill("fault", {{"DBInstanceIdentifier", "db1"}, {"fault", "crash"}});
  ASSERT_TRUE(Eventually([&] {
    const json s = Status("db1");
    return s["timeline"].back()["kind"] == "recovered";
  })) << Status("db1").dump(2);
  ASSERT_TRUE(Writes("db1", 5));
  d = Drill("stop", {{"DBInstanceIdentifier", "db1"}});
  EXPECT_EQ(d["verified"], true) << d.dump(2);
  EXPECT_EQ(d["lostRows"], 0) << d.dump(2);  // a crash loses no committed row
  EXPECT_GT(d["recoveryMs"].get<int64_t>(), 0);
  EXPECT_GT(d["failedWrites"].get<int64_t>(), 0);
  std::cout << "single-az crash drill: recoveryMs " << d["recoveryMs"] << ", acknowledged "
            << d["acknowledged"] << ", failedWrites " << d["failedWrites"] << "\n";
  // A second writer after the stop goes on from the table's highest seq.
  d = Drill("writer", {{"DBInstanceIdentifier", "db1"}, {"password", "secret99"}});
  ASSERT_TRUE(Writes("db1", 3));
  d = Drill("stop", {{"DBInstanceIdentifier", "db1"}});
  EXPECT_EQ(d["lostRows"], 0) << d.dump(2);
}

TEST_F(ConsolePgTest, FreezeThawAndBackupFaultsGoThroughTheControls) {
  cp_->StartBackground();
  Create("db1", 1);
  json d = Drill("writer", {{"DBInstanceIdentifier", "db1"}, {"password", "secret99"}});
  ASSERT_EQ(d["running"], true) << d.dump();
  ASSERT_TRUE(Writes("db1", 3));
  d = Drill("fault", {{"DBInstanceIdentifier", "db1"}, {"fault", "freeze"}});
  EXPECT_EQ((*cp_->InstanceDetails("db1"))["server"]["frozen"], true);
  // A write to a frozen server gets no answer: after its 3 s it counts as failed.
  ASSERT_TRUE(Eventually([&] { return Status("db1")["failedWrites"].get<int64_t>() > 0; }));
  d = Drill("fault", {{"DBInstanceIdentifier", "db1"}, {"fault", "thaw"}});
  EXPECT_EQ((*cp_->InstanceDetails("db1"))["server"]["frozen"], false);
  ASSERT_TRUE(Eventually([&] { return Status("db1")["timeline"].back()["kind"] == "recovered"; }))
      << Status("db1").dump(2);
  d = Drill("fault", {{"DBInstanceIdentifier", "db1"}, {"fault", "backup"}});
  EXPECT_EQ(d["timeline"].back()["text"], "Backup: the automated backup window runs now.");
  ASSERT_TRUE(Writes("db1", 5));
  d = Drill("stop", {{"DBInstanceIdentifier", "db1"}});
  EXPECT_EQ(d["lostRows"], 0) << d.dump(2);
  // Measured from the freeze (the thaw and the backup window are not what broke the primary):
  // the writes waited out the 3 s of at least one failed write before the thaw.
  EXPECT_GE(d["recoveryMs"].get<int64_t>(), 3000) << d.dump(2);
  std::vector<std::string> kinds;
  for (const auto& e : d["timeline"]) kinds.push_back(e["kind"]);
  EXPECT_EQ(kinds, (std::vector<std::string>{"start", "fault", "write-failed", "fault", "recovered",
                                             "fault", "stop", "verified"}))
      << d.dump(2);
}

TEST_F(ConsolePgTest, AWriterWithAWrongPasswordDoesNotStart) {
  Create("db1", 1);
  auto r = cp_->console().Drill(scope(), "writer",
                                {{"DBInstanceIdentifier", "db1"}, {"password", "nope"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["error"]["sqlstate"], "28P01");
  EXPECT_TRUE(Status("db1").is_null());
}

}  // namespace
}  // namespace localrds
