// BackupPgTest: PgControlPlaneTest with WAL shipped every 200 ms, and the helpers the backup
// suites over real PostgreSQL share: commits stamped with the time they returned, waits until
// LatestRestorableTime reaches a commit or until every segment is archived, the archived WAL and
// the snapshots of an instance, and a check that a restored instance is writable.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>

#include "common/time_util.h"
#include "emulator/postgres/backup_files.h"
#include "emulator/service/control_plane.h"
#include "tests/eventually.h"
#include "tests/integration/pg_fixture.h"

namespace localrds {

//! Writes `bytes` to `p`, replacing what it held.
inline void WriteBytes(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
}

class BackupPgTest : public PgControlPlaneTest {
 protected:
  explicit BackupPgTest(const char* prefix = "lrbk-", int port_base = 23000)
      : PgControlPlaneTest(prefix, port_base) {}
  void Configure(EmulatorConfig& config) override {
    config.wal_ship_interval = std::chrono::milliseconds(200);
  }
  // Runs `sql` and returns NowMs() after it returned: its commit is stamped before this.
  int64_t Commit(int port, const std::string& sql) {
    std::string out;
    EXPECT_EQ(Psql(port, sql, &out), 0) << out;
    return NowMs();
  }
  // The restored instance is a primary a client can write to.
  void ExpectWritable(int port) {
    EXPECT_EQ(Query(port, "SELECT pg_is_in_recovery()"), "f\n");
    std::string out;
    EXPECT_EQ(
        Psql(port, "CREATE TABLE after_restore(x int); INSERT INTO after_restore VALUES (1)", &out),
        0)
        << out;
  }
  int64_t LatestRestorable(const std::string& rid) {
    auto w = cp_->registry().Window(rid);
    return w ? w->second : 0;
  }
  // Calls ShipWalOnce, as the reconciler would, until LatestRestorableTime reaches `ms` or
  // `timeout` passes. With `heartbeat` the instance stays busy (a commit per pass, in a table of
  // its own), as a production instance would; without, it is idle after the commits the test made.
  bool ShipWalUntil(const std::string& rid, int64_t ms, bool heartbeat,
                    std::chrono::seconds timeout = std::chrono::seconds(20)) {
    ServerSpec spec = cp_->servers().Server(*cp_->registry().GetInstance(rid));
    if (heartbeat) {
      EXPECT_TRUE(
          runtime_->ExecSql(spec, "test", {"CREATE TABLE IF NOT EXISTS heartbeat(t timestamptz)"})
              .ok());
    }
    return Eventually(
        [&] {
          if (LatestRestorable(rid) >= ms) return true;
          if (heartbeat) {
            EXPECT_TRUE(
                runtime_->ExecSql(spec, "test", {"INSERT INTO heartbeat VALUES (now())"}).ok());
          }
          cp_->wal_shipper().ShipWalOnce();
          return false;
        },
        timeout);
  }
  // Waits until the server has archived every finished segment (no .ready status file).
  bool WaitAllArchived(const std::string& rid) {
    const std::filesystem::path status = layout_->PgData(rid) / "pg_wal" / "archive_status";
    return Eventually(
        [&] {
          for (const auto& e : std::filesystem::directory_iterator(status)) {
            if (e.path().extension() == ".ready") return false;
          }
          return true;
        },
        std::chrono::seconds(20));
  }
  // The WAL files (segments, .partial, .backup) in an instance's archive, by name.
  std::set<std::string> ArchivedWal(const std::string& rid) {
    std::set<std::string> names;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(layout_->ArchiveDir(rid), ec)) {
      std::string n = e.path().filename().string();
      if (backup_files::IsWalFileName(n) && n.size() > 3 &&
          n.compare(n.size() - 3, 3, ".gz") == 0) {
        names.insert(n);
      }
    }
    return names;
  }
  nlohmann::json Snapshots(const std::string& instance_id) {
    auto r = cp_->snapshots().DescribeDBSnapshots({{"DBInstanceIdentifier", instance_id}});
    EXPECT_TRUE(r.ok());
    return r.ok() ? (*r)["DBSnapshots"] : nlohmann::json::array();
  }
};

}  // namespace localrds
