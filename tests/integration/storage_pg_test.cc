// Storage that fills, against real PostgreSQL: while localrds.storage_full is on, the master
// user's writes fail with PostgreSQL's disk-full error (SQLSTATE 53100) and reads work; the
// storage monitor measures a real data directory, turns it on when the data outgrows
// AllocatedStorage, and a storage increase turns it off.
#include <gtest/gtest.h>

#include <iostream>

#include "common/subprocess.h"
#include "emulator/core/instance_state.h"
#include "storage/disk_usage.h"
#include "tests/integration/pg_fixture.h"

namespace localrds {
namespace {

constexpr int64_t kMiB = 1LL << 20;

class StoragePgTest : public PgControlPlaneTest {
 protected:
  StoragePgTest() : PgControlPlaneTest("lrst-", 35000) {}
  // A fresh cluster takes about 40 MiB: AllocatedStorage 20 is 80 MiB here.
  void Configure(EmulatorConfig& config) override { config.storage_unit_bytes = 4 * kMiB; }

  //! psql as the master user with verbose errors (the SQLSTATE shows); returns (exit, output).
  std::pair<int, std::string> Verbose(int port, const std::string& sql) {
    CommandOptions o;
    o.extra_env = {"PGPASSWORD=secret99", "PGCONNECT_TIMEOUT=5"};
    auto r =
        RunCommand({"psql", "-X", "-q", "-h", "127.0.0.1", "-p", std::to_string(port), "-U", "root",
                    "-d", "test", "-v", "ON_ERROR_STOP=1", "-v", "VERBOSITY=verbose", "-Atc", sql},
                   o);
    return r.ok() ? std::make_pair(r->exit_code, r->output)
                  : std::make_pair(-1, r.status().ToString());
  }
  void ExpectDiskFull(int port, const std::string& sql) {
    auto [rc, out] = Verbose(port, sql);
    EXPECT_NE(rc, 0) << sql << " succeeded: " << out;
    EXPECT_NE(out.find("53100: could not extend file \"base/"), std::string::npos)
        << sql << " → " << out;
    EXPECT_NE(out.find("No space left on device"), std::string::npos) << sql << " → " << out;
  }
  void ExpectWorks(int port, const std::string& sql) {
    auto [rc, out] = Verbose(port, sql);
    EXPECT_EQ(rc, 0) << sql << " → " << out;
  }
  //! Sets the instance's localrds.storage_full in its server (not in the catalog).
  void SetFull(const std::string& id, bool full) {
    InstanceRow row = *cp_->registry().GetInstance(Describe(id)["DbiResourceId"]);
    SetStorageFull(row.attrs, full);
    Status st = cp_->servers().ApplyStorageFull(row);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  //! As rdsadmin, the way localrds itself connects.
  Status AsSuperuser(const std::string& id, const std::string& sql) {
    return runtime_->ExecSql(
        cp_->servers().Server(*cp_->registry().GetInstance(Describe(id)["DbiResourceId"])), "test",
        {sql});
  }
};

TEST_F(StoragePgTest, WhileStorageIsFullTheMasterUsersWritesFailAndReadsWork) {
  Create("full", 0);
  const int port = Port("full");
  ExpectWorks(port, "CREATE TABLE t (id int, v text); INSERT INTO t VALUES (1, 'a')");
  EXPECT_EQ(Query(port, "SHOW localrds.storage_full"), "off\n");
  SetFull("full", true);
  EXPECT_EQ(Query(port, "SHOW localrds.storage_full"), "on\n");

  for (const char* sql :
       {"INSERT INTO t VALUES (2, 'b')", "UPDATE t SET v = 'c'", "DELETE FROM t",
        "MERGE INTO t USING (SELECT 1 AS id) s ON t.id = s.id "
        "WHEN MATCHED THEN UPDATE SET v = 'd'",
        "WITH x AS (INSERT INTO t VALUES (3, 'e') RETURNING id) SELECT * FROM x",
        "CREATE TABLE u (id int)", "CREATE INDEX ON t (id)", "COPY t FROM STDIN",
        "SELECT * INTO u FROM t", "CREATE TEMP TABLE tmp (id int)", "TRUNCATE t", "DROP TABLE t",
        "VACUUM t", "DO $$ BEGIN INSERT INTO t VALUES (4, 'f'); END $$"}) {
    ExpectDiskFull(port, sql);
  }
  // Reads, the session's own settings, transactions, cursors and plans still work.
  EXPECT_EQ(Query(port, "SELECT count(*) FROM t"), "1\n");
  ExpectWorks(port, "BEGIN; SELECT * FROM t FOR UPDATE; COMMIT");
  ExpectWorks(port, "SET work_mem = '8MB'; SHOW work_mem; RESET work_mem");
  ExpectWorks(port, "EXPLAIN INSERT INTO t VALUES (5, 'g')");
  ExpectWorks(port, "COPY t TO STDOUT");
  ExpectWorks(port, "BEGIN; DECLARE c CURSOR FOR SELECT * FROM t; FETCH c; CLOSE c; COMMIT");
  // The master user cannot turn the setting off.
  auto [rc, out] = Verbose(port, "SET localrds.storage_full = off");
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("cannot be changed now"), std::string::npos) << out;
  // localrds itself (a superuser) keeps working on the instance.
  EXPECT_TRUE(AsSuperuser("full", "INSERT INTO t VALUES (6, 'h')").ok());

  SetFull("full", false);
  ExpectWorks(port, "INSERT INTO t VALUES (7, 'i'); CREATE TABLE u (id int)");
  EXPECT_EQ(Query(port, "SELECT count(*) FROM t"), "3\n");
}

TEST_F(StoragePgTest, DataPastTheAllocationIsStorageFullUntilAStorageIncrease) {
  Create("fills", 0);
  const int port = Port("fills");
  ExpectWorks(port, "CREATE TABLE big (v text)");
  EXPECT_EQ(cp_->storage().MonitorStorageOnce(), "");
  const std::string rid = Describe("fills")["DbiResourceId"];
  auto seen = cp_->storage().LastSeen(rid);
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->allocated_bytes, 80 * kMiB);
  std::cout << "[ storage  ] fresh instance: " << seen->used_bytes / kMiB << " MiB on disk, "
            << "walked in " << seen->walk.count() << " us\n";
  // 4 MiB a round (incompressible: md5 text), as the master user, until the monitor says full.
  std::string said;
  for (int i = 0; i < 40 && Describe("fills")["DBInstanceStatus"] == "available"; ++i) {
    ExpectWorks(port,
                "INSERT INTO big SELECT string_agg(md5(random()::text), '') "
                "FROM generate_series(1, 32), generate_series(1, 1024) g GROUP BY g");
    said += cp_->storage().MonitorStorageOnce();
  }
  ASSERT_EQ(Describe("fills")["DBInstanceStatus"], "storage-full") << said;
  EXPECT_NE(said.find("fills's storage is full: writes fail."), std::string::npos) << said;
  ExpectDiskFull(port, "INSERT INTO big VALUES ('x')");
  EXPECT_EQ(Query(port, "SELECT count(*) > 0 FROM big"), "t\n");

  auto r = cp_->instances().ModifyDBInstance(
      {{"DBInstanceIdentifier", "fills"}, {"AllocatedStorage", 40}, {"ApplyImmediately", true}});
  WaitAvailable(r, "fills");
  ExpectWorks(port, "INSERT INTO big VALUES ('x')");
  EXPECT_EQ(cp_->storage().MonitorStorageOnce(), "");
  EXPECT_EQ(Describe("fills")["DBInstanceStatus"], "available");

  // After a restart of localrds, the servers' setting follows the catalog (here: a server left
  // with the setting on while the catalog says available, as a crash between the two leaves it).
  SetFull("fills", true);
  Open();
  EXPECT_EQ(cp_->storage().MonitorStorageOnce(), "");
  ExpectWorks(port, "INSERT INTO big VALUES ('y')");  // the catalog's setting is applied again
}

TEST_F(StoragePgTest, MeasuringAThousandsOfFilesInstance) {
  Create("many", 0);
  const int port = Port("many");
  // 1,000 tables with an index each, every one with rows: 4 files each (heap, index, fsm, vm)
  // once vacuumed.
  ExpectWorks(port,
              "DO $$ BEGIN FOR i IN 1..1000 LOOP "
              "EXECUTE format('CREATE TABLE t%s (id int PRIMARY KEY); "
              "INSERT INTO t%s VALUES (1)', i, i); END LOOP; END $$");
  ExpectWorks(port, "VACUUM");
  cp_->storage().MonitorStorageOnce();
  auto seen = cp_->storage().LastSeen(Describe("many")["DbiResourceId"]);
  ASSERT_TRUE(seen.has_value());
  const DiskUsage usage =
      MeasureDiskUsage(cp_->servers()
                           .Server(*cp_->registry().GetInstance(Describe("many")["DbiResourceId"]))
                           .pgdata);
  EXPECT_GT(usage.files, 3000);
  std::cout << "[ storage  ] " << usage.files << " files, " << usage.bytes / kMiB
            << " MiB: walked in " << seen->walk.count() << " us\n";
}

}  // namespace
}  // namespace localrds
