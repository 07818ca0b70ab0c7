// DB parameter groups on real PostgreSQL: what SHOW says on the instance's server after each
// change, as a user of the group would check it.
#include <gtest/gtest.h>

#include "tests/eventually.h"
#include "tests/integration/pg_fixture.h"

namespace localrds {
namespace {

using json = nlohmann::json;

class ParametersPgTest : public PgControlPlaneTest {
 protected:
  ParametersPgTest() : PgControlPlaneTest("lrpg-", 24000) {}

  json Param(const std::string& name, const std::string& value, const std::string& method) {
    return {{"ParameterName", name}, {"ParameterValue", value}, {"ApplyMethod", method}};
  }
  void Modify(const json& params) {
    auto r = cp_->groups().ModifyDBParameterGroup(
        {{"DBParameterGroupName", "app"}, {"Parameters", params}});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  std::string Show(int port, const std::string& name) {
    std::string v = Query(port, "SHOW " + name);
    while (!v.empty() && v.back() == '\n') v.pop_back();
    return v;
  }
  // A reload reaches new sessions a moment after pg_reload_conf returns.
  bool ShowsEventually(int port, const std::string& name, const std::string& value) {
    return Eventually([&] { return Show(port, name) == value; }, std::chrono::seconds(10));
  }
  std::string ApplyStatus(const std::string& id) {
    return Describe(id)["DBParameterGroups"][0]["ParameterApplyStatus"];
  }
};

TEST_F(ParametersPgTest, DynamicAtOnceStaticAtRebootFormulasPerClass) {
  ASSERT_TRUE(cp_->groups()
                  .CreateDBParameterGroup({{"DBParameterGroupName", "app"},
                                           {"DBParameterGroupFamily", "postgres15"},
                                           {"Description", "d"}})
                  .ok());
  Modify(json::array({Param("work_mem", "8MB", "immediate")}));
  json req = {{"DBInstanceIdentifier", "db1"},    {"Engine", "postgres"},
              {"DBInstanceClass", "db.t3.micro"}, {"MasterUsername", "root"},
              {"MasterUserPassword", "secret99"}, {"DBName", "test"},
              {"BackupRetentionPeriod", 0},       {"DBParameterGroupName", "app"}};
  const int port = WaitAvailable(cp_->instances().CreateDBInstance(req), "db1");
  ASSERT_NE(port, 0);
  EXPECT_EQ(Show(port, "work_mem"), "8MB");         // the group's value from the first start
  EXPECT_EQ(Show(port, "shared_buffers"), "16MB");  // localrds' default

  // Dynamic, immediate: live without a restart.
  const std::string pid = Query(port, "SELECT pg_postmaster_start_time()");
  Modify(json::array({Param("log_min_duration_statement", "250", "immediate")}));
  EXPECT_TRUE(ShowsEventually(port, "log_min_duration_statement", "250ms"));
  EXPECT_EQ(ApplyStatus("db1"), "in-sync");

  // Static (a formula of the class): not before the reboot.
  Modify(json::array({Param("shared_buffers", "{DBInstanceClassMemory/32768}", "pending-reboot")}));
  EXPECT_EQ(ApplyStatus("db1"), "pending-reboot");
  EXPECT_EQ(Show(port, "shared_buffers"), "16MB");
  // A dynamic one with pending-reboot waits too.
  Modify(json::array({Param("statement_timeout", "60000", "pending-reboot")}));
  EXPECT_EQ(Show(port, "statement_timeout"), "0");
  EXPECT_EQ(Query(port, "SELECT pg_postmaster_start_time()"), pid);  // never restarted
  WaitAvailable(cp_->instances().RebootDBInstance({{"DBInstanceIdentifier", "db1"}}), "db1");
  EXPECT_EQ(Show(port, "shared_buffers"), "256MB");  // 1 GiB / 32768 pages of 8 kB
  EXPECT_EQ(Show(port, "statement_timeout"), "1min");
  EXPECT_EQ(ApplyStatus("db1"), "in-sync");

  // Another class: the same formula, another value.
  WaitAvailable(cp_->instances().ModifyDBInstance({{"DBInstanceIdentifier", "db1"},
                                                   {"DBInstanceClass", "db.t3.small"},
                                                   {"ApplyImmediately", true}}),
                "db1");
  EXPECT_EQ(Show(port, "shared_buffers"), "512MB");

  // Reset: the dynamic value goes at once.
  ASSERT_TRUE(cp_->groups()
                  .ResetDBParameterGroup({{"DBParameterGroupName", "app"},
                                          {"Parameters",
                                           {{{"ParameterName", "log_min_duration_statement"},
                                             {"ApplyMethod", "immediate"}}}}})
                  .ok());
  EXPECT_TRUE(ShowsEventually(port, "log_min_duration_statement", "-1"));

  // What PostgreSQL refuses, the group refuses, and the server never sees it.
  auto bad = cp_->groups().ModifyDBParameterGroup(
      {{"DBParameterGroupName", "app"}, {"Parameters", {Param("work_mem", "1kB", "immediate")}}});
  ASSERT_FALSE(bad.ok());
  EXPECT_STREQ(bad.status().info().code, "InvalidParameterValue");
  EXPECT_EQ(Show(port, "work_mem"), "8MB");
}

TEST_F(ParametersPgTest, ForceSslRefusesPlaintextLogins) {
  ASSERT_TRUE(cp_->groups()
                  .CreateDBParameterGroup({{"DBParameterGroupName", "app"},
                                           {"DBParameterGroupFamily", "postgres15"},
                                           {"Description", "d"}})
                  .ok());
  json req = {{"DBInstanceIdentifier", "db1"},    {"Engine", "postgres"},
              {"DBInstanceClass", "db.t3.micro"}, {"MasterUsername", "root"},
              {"MasterUserPassword", "secret99"}, {"DBName", "test"},
              {"BackupRetentionPeriod", 0},       {"DBParameterGroupName", "app"}};
  const int port = WaitAvailable(cp_->instances().CreateDBInstance(req), "db1");
  auto login = [&](const char* sslmode, std::string* out) {
    CommandOptions o;
    o.extra_env = {"PGPASSWORD=secret99", "PGCONNECT_TIMEOUT=5",
                   std::string("PGSSLMODE=") + sslmode};
    auto r =
        RunCommand({"psql", "-h", "127.0.0.1", "-p", std::to_string(port), "-U", "root", "-d",
                    "test", "-Atc", "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"},
                   o);
    *out = r.ok() ? r->output : r.status().ToString();
    return r.ok() ? r->exit_code : -1;
  };
  std::string out;
  EXPECT_EQ(login("disable", &out), 0) << out;  // rds.force_ssl 0: plaintext is allowed
  EXPECT_EQ(out, "f\n");
  // rds.force_ssl is dynamic: applied at once, no reboot.
  Modify(json::array({Param("rds.force_ssl", "1", "immediate")}));
  EXPECT_EQ(ApplyStatus("db1"), "in-sync");
  EXPECT_TRUE(Eventually(
      [&] { return login("disable", &out) != 0 && out.find("no encryption") != std::string::npos; },
      std::chrono::seconds(10)))
      << out;
  EXPECT_EQ(login("require", &out), 0) << out;
  EXPECT_EQ(out, "t\n");
}

TEST_F(ParametersPgTest, LogicalReplicationTurnsOnLogicalDecoding) {
  ASSERT_TRUE(cp_->groups()
                  .CreateDBParameterGroup({{"DBParameterGroupName", "app"},
                                           {"DBParameterGroupFamily", "postgres15"},
                                           {"Description", "d"}})
                  .ok());
  Modify(json::array({Param("rds.logical_replication", "1", "pending-reboot")}));
  Create("db1", 0);
  const int port = Port("db1");
  EXPECT_EQ(Show(port, "wal_level"), "replica");
  WaitAvailable(cp_->instances().ModifyDBInstance({{"DBInstanceIdentifier", "db1"},
                                                   {"DBParameterGroupName", "app"},
                                                   {"ApplyImmediately", true}}),
                "db1");
  EXPECT_EQ(ApplyStatus("db1"), "pending-reboot");
  WaitAvailable(cp_->instances().RebootDBInstance({{"DBInstanceIdentifier", "db1"}}), "db1");
  EXPECT_EQ(Show(port, "wal_level"), "logical");
  // A logical slot works: what rds.logical_replication is for.
  auto row = cp_->registry().GetInstance(Describe("db1")["DbiResourceId"]);
  auto slot = runtime_->QueryValue(
      cp_->servers().Server(*row), "postgres",
      "SELECT count(*) FROM pg_create_logical_replication_slot('s1', 'test_decoding')");
  ASSERT_TRUE(slot.ok()) << slot.status().ToString();
  EXPECT_EQ(*slot, "1");
}

}  // namespace
}  // namespace localrds
