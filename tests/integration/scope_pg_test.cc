// Accounts and regions over real PostgreSQL: the same identifier in two regions and in another
// account is three servers with their own data; a snapshot restores only in its own scope, with
// that scope's data; a restart of localrds brings every server back in its scope.
#include <gtest/gtest.h>

#include "emulator/core/request.h"
#include "tests/integration/pg_fixture.h"
#include "tests/scopes.h"

namespace localrds {
namespace {
using nlohmann::json;

class ScopePgTest : public PgControlPlaneTest {
 protected:
  ScopePgTest() : PgControlPlaneTest("lrscope-", 38000) {}
  json DescribeIn(const Scope& scope, const std::string& id) {
    auto r = cp_->instances().DescribeDBInstances(In(scope, {{"DBInstanceIdentifier", id}}));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? (*r)["DBInstances"][0] : json();
  }
  int CreateIn(const Scope& scope, const std::string& id) {
    auto r = cp_->instances().CreateDBInstance(In(scope, {{"DBInstanceIdentifier", id},
                                                          {"Engine", "postgres"},
                                                          {"DBInstanceClass", "db.t3.micro"},
                                                          {"MasterUsername", "root"},
                                                          {"MasterUserPassword", "secret99"},
                                                          {"DBName", "test"},
                                                          {"BackupRetentionPeriod", 0}}));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return 0;
    Wait(r->operation_id);
    json d = DescribeIn(scope, id);
    EXPECT_EQ(d["DBInstanceStatus"], "available") << d.dump();
    return d["Endpoint"]["Port"];
  }
};

TEST_F(ScopePgTest, OneIdentifierInThreeScopesIsThreeServersWithTheirOwnData) {
  const int east = CreateIn(kEast, "same");
  const int eu = CreateIn(kEu, "same");
  const int other = CreateIn(kOther, "same");
  ASSERT_NE(east, eu);
  ASSERT_NE(east, other);
  Query(east, "CREATE TABLE t(v text); INSERT INTO t VALUES ('east')");
  Query(eu, "CREATE TABLE t(v text); INSERT INTO t VALUES ('eu')");
  EXPECT_EQ(Query(other, "SELECT count(*) FROM pg_tables WHERE tablename = 't'"), "0\n");

  // A snapshot of the EU instance restores in the EU only, with the EU data.
  auto snap = cp_->snapshots().CreateDBSnapshot(
      In(kEu, {{"DBInstanceIdentifier", "same"}, {"DBSnapshotIdentifier", "s"}}));
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  Wait(snap->operation_id);
  auto refused = cp_->snapshots().RestoreDBInstanceFromDBSnapshot(
      In(kEast, {{"DBInstanceIdentifier", "restored"}, {"DBSnapshotIdentifier", "s"}}));
  ASSERT_FALSE(refused.ok());
  EXPECT_STREQ(refused.status().info().code, "DBSnapshotNotFound");
  auto restored = cp_->snapshots().RestoreDBInstanceFromDBSnapshot(
      In(kEu, {{"DBInstanceIdentifier", "restored"}, {"DBSnapshotIdentifier", "s"}}));
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  Wait(restored->operation_id);
  json r = DescribeIn(kEu, "restored");
  EXPECT_EQ(r["DBInstanceArn"], "arn:aws:rds:eu-west-1:000000000000:db:restored");
  EXPECT_EQ(Query(r["Endpoint"]["Port"], "SELECT v FROM t"), "eu\n");

  // A restart of localrds: every server comes back, each in its own scope.
  Open();
  EXPECT_EQ(Query(DescribeIn(kEast, "same")["Endpoint"]["Port"], "SELECT v FROM t"), "east\n");
  EXPECT_EQ(Query(DescribeIn(kEu, "same")["Endpoint"]["Port"], "SELECT v FROM t"), "eu\n");
  EXPECT_EQ(DescribeIn(kOther, "same")["DBInstanceArn"],
            "arn:aws:rds:us-east-1:111122223333:db:same");
}

}  // namespace
}  // namespace localrds
