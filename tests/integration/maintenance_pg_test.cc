// Pending modifications over real PostgreSQL: a class change and a storage increase left pending
// (ApplyImmediately=false) are applied by RebootDBInstance, whose server really restarts, and
// the data is still there.
#include <gtest/gtest.h>

#include "tests/integration/pg_fixture.h"

namespace localrds {

class MaintenancePgTest : public PgControlPlaneTest {
 protected:
  MaintenancePgTest() : PgControlPlaneTest("lrmt-", 42000) {}
};

TEST_F(MaintenancePgTest, PendingClassAndStorageAppliedAtReboot) {
  Create("test", 0);
  const int port = Port("test");
  Query(port, "CREATE TABLE t(x int); INSERT INTO t VALUES (7)");
  const std::string started = Query(port, "SELECT pg_postmaster_start_time()");
  auto m = cp_->instances().ModifyDBInstance({{"DBInstanceIdentifier", "test"},
                                              {"DBInstanceClass", "db.t3.small"},
                                              {"AllocatedStorage", 30},
                                              {"ApplyImmediately", false}});
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->operation_id, 0);
  EXPECT_EQ(Query(port, "SELECT pg_postmaster_start_time()"), started);  // nothing happened yet

  auto r = cp_->instances().RebootDBInstance({{"DBInstanceIdentifier", "test"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body["DBInstanceStatus"], "rebooting");
  EXPECT_EQ(WaitAvailable(r, "test"), port);
  nlohmann::json d = Describe("test");
  EXPECT_EQ(d["DBInstanceClass"], "db.t3.small");
  EXPECT_EQ(d["AllocatedStorage"], 30);
  EXPECT_TRUE(d["PendingModifiedValues"].empty()) << d["PendingModifiedValues"];
  EXPECT_NE(Query(port, "SELECT pg_postmaster_start_time()"), started);  // really restarted
  EXPECT_EQ(Query(port, "SELECT x FROM t"), "7\n");
}

}  // namespace localrds
