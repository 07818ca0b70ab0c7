// The master user's escape attempts against real PostgreSQL, every one of which must fail as it
// does on RDS: server-file and program roles, COPY ... PROGRAM, server files, untrusted
// extensions and languages, ALTER SYSTEM, SET ROLE, LOAD, superuser and replication rights, the
// reserved roles, and connections to another instance without its password (dblink,
// postgres_fdw, the servers' own OS user on the socket directory).
#include <gtest/gtest.h>

#include "common/subprocess.h"
#include "emulator/postgres/server_secrets.h"
#include "tests/eventually.h"
#include "tests/integration/pg_fixture.h"

namespace localrds {
namespace {

class GuardPgTest : public PgControlPlaneTest {
 protected:
  GuardPgTest() : PgControlPlaneTest("lrgd-", 34000) {}

  //! Runs `sql` as `user` (password secret99) over TCP; returns (exit code, output).
  std::pair<int, std::string> As(int port, const std::string& user, const std::string& sql,
                                 const std::string& db = "test") {
    CommandOptions o;
    o.extra_env = {"PGPASSWORD=secret99", "PGCONNECT_TIMEOUT=5"};
    auto r = RunCommand({"psql", "-X", "-q", "-h", "127.0.0.1", "-p", std::to_string(port), "-U",
                         user, "-d", db, "-v", "ON_ERROR_STOP=1", "-Atc", sql},
                        o);
    return r.ok() ? std::make_pair(r->exit_code, r->output)
                  : std::make_pair(-1, r.status().ToString());
  }
  //! As rdsadmin, the way localrds itself connects.
  void AsSuperuser(const std::string& id, const std::string& sql) {
    Status st = runtime_->ExecSql(
        cp_->servers().Server(*cp_->registry().GetInstance(Describe(id)["DbiResourceId"])), "test",
        {sql});
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  //! Expects `sql`, run by `user`, to fail with `message` in its error.
  void ExpectRefused(int port, const std::string& user, const std::string& sql,
                     const std::string& message) {
    auto [rc, out] = As(port, user, sql);
    EXPECT_NE(rc, 0) << sql << " succeeded: " << out;
    EXPECT_NE(out.find(message), std::string::npos) << sql << " → " << out;
  }
};

TEST_F(GuardPgTest, TheMasterUserAndItsRolesCannotLeaveTheDatabase) {
  Create("guarded", 0);
  const int port = Port("guarded");
  EXPECT_EQ(Query(port, "SHOW shared_preload_libraries"),
            (layout_->LibDir() / "localrds_guard_15.so").string() + "\n");
  // The master user may create roles, and give them CREATEROLE: they are held to the same rules.
  ASSERT_EQ(As(port, "root",
               "CREATE ROLE helper LOGIN CREATEROLE PASSWORD 'secret99'; "
               "GRANT pg_monitor TO helper")
                .first,
            0);
  const std::vector<std::pair<std::string, std::string>> attempts = {
      {"GRANT pg_execute_server_program TO root",
       "permission denied to grant role \"pg_execute_server_program\""},
      {"GRANT pg_read_server_files TO root",
       "permission denied to grant role \"pg_read_server_files\""},
      {"GRANT pg_write_server_files TO root",
       "permission denied to grant role \"pg_write_server_files\""},
      {"CREATE ROLE sneaky IN ROLE pg_execute_server_program",
       "permission denied to grant role \"pg_execute_server_program\""},
      {"ALTER GROUP pg_read_server_files ADD USER root",
       "permission denied to grant role \"pg_read_server_files\""},
      {"COPY (SELECT 1) TO PROGRAM 'id'",
       "must be superuser or have privileges of the pg_execute_server_program role"},
      {"CREATE TEMP TABLE t(x text); COPY t FROM PROGRAM 'cat /etc/passwd'",
       "must be superuser or have privileges of the pg_execute_server_program role"},
      {"CREATE TEMP TABLE t(x text); COPY t FROM '/etc/passwd'",
       "must be superuser or have privileges of the pg_read_server_files role"},
      {"COPY (SELECT 1) TO '/tmp/localrds-escape'",
       "must be superuser or have privileges of the pg_write_server_files role"},
      {"SELECT pg_read_file('/etc/passwd')", "permission denied for function pg_read_file"},
      {"SELECT pg_read_binary_file('global/pg_control')",
       "permission denied for function pg_read_binary_file"},
      {"SELECT pg_ls_dir('.')", "permission denied for function pg_ls_dir"},
      {"SELECT lo_import('/etc/passwd')", "permission denied for function lo_import"},
      {"ALTER SYSTEM SET archive_command = 'id'", "permission denied to set parameter"},
      {"CREATE EXTENSION adminpack", "permission denied to create extension \"adminpack\""},
      {"CREATE EXTENSION file_fdw", "permission denied to create extension \"file_fdw\""},
      {"CREATE EXTENSION dblink", "permission denied to create extension \"dblink\""},
      {"SET ROLE rdsadmin", "permission denied to set role \"rdsadmin\""},
      {"SET SESSION AUTHORIZATION rdsadmin", "permission denied to set session authorization"},
      {"LOAD 'auto_explain'", "access to library \"auto_explain\" is not allowed"},
      {"CREATE ROLE su SUPERUSER", "must be superuser to create superusers"},
      {"CREATE ROLE rep REPLICATION", "must be superuser to create replication users"},
      {"ALTER ROLE root SUPERUSER", "must be superuser to alter superuser roles"},
      {"ALTER ROLE root REPLICATION", "must be superuser to alter replication roles"},
      {"ALTER ROLE root BYPASSRLS", "must be superuser to change bypassrls attribute"},
      {"ALTER ROLE rdsadmin PASSWORD 'x'", "permission denied to alter role \"rdsadmin\""},
      {"ALTER ROLE rdsrepladmin PASSWORD 'x'", "permission denied to alter role \"rdsrepladmin\""},
      {"DROP ROLE rdsrepladmin", "permission denied to drop role \"rdsrepladmin\""},
      {"GRANT rdsrepladmin TO root", "permission denied to grant role \"rdsrepladmin\""},
      {"SET log_statement = 'none'", "permission denied to set parameter \"log_statement\""},
      {"ALTER ROLE CURRENT_USER SET session_preload_libraries = 'x'",
       "permission denied to set parameter \"session_preload_libraries\""},
  };
  for (const char* user : {"root", "helper"}) {
    for (const auto& [sql, message] : attempts) ExpectRefused(port, user, sql, message);
  }
  // The master user still does what RDS lets it do.
  EXPECT_EQ(
      As(port, "root", "CREATE ROLE app LOGIN; GRANT pg_signal_backend TO app; SELECT 1").second,
      "1\n");
}

TEST_F(GuardPgTest, AGrantMadeBeforeTheGuardGivesNothing) {
  Create("old", 1);
  const int port = Port("old");
  // What a master user could do before localrds loaded the guard (here made by the superuser).
  AsSuperuser("old", "GRANT pg_execute_server_program, pg_read_server_files TO root");
  ExpectRefused(port, "root", "COPY (SELECT 1) TO PROGRAM 'id'",
                "must be superuser or have privileges of the pg_execute_server_program role");
  ExpectRefused(port, "root", "CREATE TEMP TABLE t(x text); COPY t FROM 'PG_VERSION'",
                "must be superuser or have privileges of the pg_read_server_files role");
  // The next start takes the memberships back.
  const std::string member =
      "SELECT pg_has_role('root', 'pg_execute_server_program', 'MEMBER'), "
      "pg_has_role('root', 'pg_read_server_files', 'MEMBER')";
  EXPECT_EQ(Query(port, member), "t|t\n");
  Wait(cp_->instances().RebootDBInstance({{"DBInstanceIdentifier", "old"}})->operation_id);
  EXPECT_EQ(Query(port, member), "f|f\n");
}

TEST_F(GuardPgTest, NoInstanceIsReachableWithoutItsOwnCredentials) {
  Create("a", 0);
  Create("b", 0);
  const int a = Port("a"), b = Port("b");
  const InstanceRow row_a = *cp_->registry().GetInstance(Describe("a")["DbiResourceId"]);
  const InstanceRow row_b = *cp_->registry().GetInstance(Describe("b")["DbiResourceId"]);
  const std::string sock = layout_->SocketDir().string();
  // dblink and postgres_fdw, installed by the superuser as RDS installs them.
  AsSuperuser("a", "CREATE EXTENSION dblink");
  AsSuperuser("a", "CREATE EXTENSION postgres_fdw");
  AsSuperuser("a", "GRANT USAGE ON FOREIGN DATA WRAPPER postgres_fdw TO root");
  for (const std::string user : {"rdsadmin", "rdsrepladmin", "root"}) {
    ExpectRefused(a, "root",
                  "SELECT dblink_connect('host=" + sock + " port=" + std::to_string(b) +
                      " dbname=postgres user=" + user + "')",
                  "password is required");
  }
  ExpectRefused(a, "root",
                "SELECT dblink_connect('host=127.0.0.1 port=" + std::to_string(b) +
                    " dbname=postgres user=rdsadmin password=x')",
                "pg_hba.conf rejects connection for host \"127.0.0.1\", user \"rdsadmin\"");
  ExpectRefused(a, "root",
                "CREATE SERVER other FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '" + sock +
                    "', port '" + std::to_string(b) +
                    "', dbname 'postgres'); "
                    "CREATE USER MAPPING FOR root SERVER other OPTIONS (user 'rdsadmin'); "
                    "CREATE FOREIGN TABLE f (x int) SERVER other OPTIONS (table_name 'pg_class');"
                    " SELECT * FROM f",
                "password is required");
  // The servers' own OS user (what a compromised server runs as) on the socket directory.
  auto os_psql = [&](int port, const std::string& user, const std::string& password,
                     const std::string& extra = "") {
    CommandOptions o;
    o.run_as = RunAs::Lookup("postgres").value();
    o.extra_env = {"PGPASSWORD=" + password, "PGCONNECT_TIMEOUT=5"};
    auto r = RunCommand(
        {"psql", "-X", "-w", "-d",
         "host=" + sock + " port=" + std::to_string(port) + " dbname=postgres user=" + user + extra,
         "-Atc", "IDENTIFY_SYSTEM"},
        o);
    return r.ok() ? std::make_pair(r->exit_code, r->output)
                  : std::make_pair(-1, r.status().ToString());
  };
  auto [rc_admin, out_admin] = os_psql(b, "rdsadmin", "");
  EXPECT_NE(rc_admin, 0);
  EXPECT_NE(out_admin.find("Peer authentication failed for user \"rdsadmin\""), std::string::npos)
      << out_admin;
  // rdsrepladmin: only with the password of that cluster, and only to replicate.
  const std::string pw_a = cp_->servers().ReplicationSource(row_a).replication_password;
  const std::string pw_b = cp_->servers().ReplicationSource(row_b).replication_password;
  ASSERT_EQ(pw_a.size(), 64u);
  EXPECT_NE(pw_a, pw_b);
  auto [rc_wrong, out_wrong] = os_psql(b, "rdsrepladmin", pw_a, " replication=true");
  EXPECT_NE(rc_wrong, 0);
  EXPECT_NE(out_wrong.find("password authentication failed for user \"rdsrepladmin\""),
            std::string::npos)
      << out_wrong;
  auto [rc_right, out_right] = os_psql(b, "rdsrepladmin", pw_b, " replication=true");
  EXPECT_EQ(rc_right, 0) << out_right;
  auto [rc_sql, out_sql] = os_psql(b, "rdsrepladmin", pw_b);
  EXPECT_NE(rc_sql, 0);
  EXPECT_NE(out_sql.find("pg_hba.conf rejects connection"), std::string::npos) << out_sql;
  // And over TCP neither of localrds' roles logs in at all.
  auto [rc_tcp, out_tcp] = As(b, "rdsrepladmin", "SELECT 1", "postgres");
  EXPECT_NE(rc_tcp, 0);
  EXPECT_NE(out_tcp.find("pg_hba.conf rejects connection"), std::string::npos) << out_tcp;
}

TEST_F(GuardPgTest, ARestoredClusterKeepsItsLineagesPasswordAndStreams) {
  // A snapshot's restore keeps the source's system identifier, hence its rdsrepladmin: a
  // Multi-AZ standby and a read replica of the restored instance stream at once.
  Create("src", 1);
  ASSERT_TRUE(
      cp_->snapshots()
          .CreateDBSnapshot({{"DBInstanceIdentifier", "src"}, {"DBSnapshotIdentifier", "snap"}})
          .ok());
  EXPECT_TRUE(Eventually(
      [&] {
        auto s = cp_->snapshots().DescribeDBSnapshots({{"DBSnapshotIdentifier", "snap"}});
        return s.ok() && (*s)["DBSnapshots"][0]["Status"] == "available";
      },
      std::chrono::seconds(60)));
  auto restored =
      cp_->snapshots().RestoreDBInstanceFromDBSnapshot({{"DBInstanceIdentifier", "copy"},
                                                        {"DBSnapshotIdentifier", "snap"},
                                                        {"BackupRetentionPeriod", 1},
                                                        {"MultiAZ", true}});
  const int port = WaitAvailable(restored, "copy");
  ASSERT_GT(port, 0);
  const InstanceRow copy = *cp_->registry().GetInstance(Describe("copy")["DbiResourceId"]);
  const InstanceRow src = *cp_->registry().GetInstance(Describe("src")["DbiResourceId"]);
  EXPECT_EQ(cp_->servers().ReplicationSource(copy).replication_password,
            cp_->servers().ReplicationSource(src).replication_password);
  EXPECT_TRUE(Eventually(
      [&] {
        auto d = cp_->InstanceDetails("copy");
        return d.ok() && (*d)["multi_az"]["standby"]["state"] == "ready";
      },
      std::chrono::seconds(60)));
  WaitAvailable(
      cp_->replicas().CreateDBInstanceReadReplica(
          {{"DBInstanceIdentifier", "copy-replica"}, {"SourceDBInstanceIdentifier", "copy"}}),
      "copy-replica");
  EXPECT_EQ(Describe("copy-replica")["StatusInfos"][0]["Status"], "replicating");
}

}  // namespace
}  // namespace localrds
