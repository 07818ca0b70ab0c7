// The control plane over real PostgreSQL: an instance a client can log into, a bootstrap that
// converges when re-run after a crash, and recovery of a killed postmaster.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <future>

#include "common/log.h"
#include "common/subprocess.h"
#include "emulator/engine/operation_engine.h"
#include "emulator/runtime/local_runtime.h"
#include "emulator/service/control_plane.h"
#include "tests/eventually.h"
#include "tests/integration/pg_fixture.h"

namespace localrds {
namespace fs = std::filesystem;
using nlohmann::json;

class ControlPlanePgTest : public PgControlPlaneTest {
 protected:
  ControlPlanePgTest() : PgControlPlaneTest("lrcp-", 21000) {}
  // psql as the master user with a given password (the tests also try wrong ones).
  int Psql(int port, const std::string& password, const std::string& sql, std::string* out) {
    CommandOptions o;
    o.extra_env = {"PGPASSWORD=" + password, "PGCONNECT_TIMEOUT=5"};
    auto r = RunCommand({"psql", "-h", "127.0.0.1", "-p", std::to_string(port), "-U", "root", "-d",
                         "test", "-Atc", sql},
                        o);
    *out = r.ok() ? r->output : r.status().ToString();
    return r.ok() ? r->exit_code : -1;
  }
  json CreateReq() {
    return {{"DBInstanceIdentifier", "test"},   {"Engine", "postgres"},
            {"DBInstanceClass", "db.t3.micro"}, {"MasterUsername", "root"},
            {"MasterUserPassword", "secret99"}, {"DBName", "test"}};
  }
};

TEST_F(ControlPlanePgTest, BootstrapInterruptedHalfwayConvergesOnResume) {
  // Crash before the bootstrap step, then do half of its work by hand (the role exists, the
  // database does not), as if the crash had happened in the middle of the step.
  OperationEngine::SetCrashHook(
      [](const std::string& k, int s) { return !(k == "create" && s == 3); });
  auto r = cp_->instances().CreateDBInstance(CreateReq());
  ASSERT_TRUE(r.ok());
  Wait(r->operation_id);
  json d = Describe("test");
  ASSERT_EQ(d["DBInstanceStatus"], "creating");
  ServerSpec spec;
  spec.resource_id = d["DbiResourceId"];
  spec.major = "15";
  spec.pgdata = layout_->PgData(spec.resource_id);
  spec.socket_dir = layout_->SocketDir();
  spec.log_file = layout_->ServerLog(spec.resource_id);
  spec.port = cp_->registry().GetInstance(spec.resource_id)->port;  // no Endpoint while creating
  ASSERT_TRUE(runtime_->IsRunning(spec));
  ASSERT_TRUE(runtime_
                  ->ExecSql(spec, "postgres",
                            {"CREATE ROLE rds_superuser NOLOGIN",
                             "CREATE ROLE root LOGIN PASSWORD 'an-older-password'"})
                  .ok());
  OperationEngine::SetCrashHook(nullptr);
  Open();  // "restart": resumes at the bootstrap step
  d = Describe("test");
  EXPECT_EQ(d["DBInstanceStatus"], "available");
  std::string out;
  int port = d["Endpoint"]["Port"];
  EXPECT_EQ(Psql(port, "secret99", "SELECT current_database()", &out), 0) << out;
  EXPECT_EQ(out, "test\n");
  EXPECT_EQ(
      Psql(port, "secret99",
           "SELECT rolcreatedb, rolcreaterole, rolsuper, pg_has_role('root', 'rds_superuser', "
           "'member') FROM pg_roles WHERE rolname = 'root'",
           &out),
      0);
  EXPECT_EQ(out, "t|t|f|t\n");
  EXPECT_NE(Psql(port, "not-it-99", "SELECT 1", &out), 0);
}

TEST_F(ControlPlanePgTest, PasswordChangeAndKilledPostmasterRecovery) {
  auto r = cp_->instances().CreateDBInstance(CreateReq());
  ASSERT_TRUE(r.ok());
  Wait(r->operation_id);
  int port = Describe("test")["Endpoint"]["Port"];
  std::string out;
  ASSERT_EQ(Psql(port, "secret99", "CREATE TABLE t(x int); INSERT INTO t VALUES (7)", &out), 0)
      << out;
  auto m = cp_->instances().ModifyDBInstance(
      {{"DBInstanceIdentifier", "test"}, {"MasterUserPassword", "changed99"}});
  ASSERT_TRUE(m.ok());
  Wait(m->operation_id);
  EXPECT_NE(Psql(port, "secret99", "SELECT 1", &out), 0);
  ASSERT_EQ(Psql(port, "changed99", "SELECT x FROM t", &out), 0) << out;
  EXPECT_EQ(out, "7\n");

  ASSERT_TRUE(cp_->controls().CrashInstance("test").ok());
  EXPECT_EQ(cp_->reconciler().ReconcileOnce(),
            "restarting test, whose PostgreSQL server stopped unexpectedly.");
  EXPECT_TRUE(Eventually([&] { return Psql(port, "changed99", "SELECT x FROM t", &out) == 0; },
                         std::chrono::seconds(6)))
      << out;
  EXPECT_EQ(out, "7\n");
}

}  // namespace localrds
