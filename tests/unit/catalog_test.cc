#include "storage/catalog.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace localrds {
namespace fs = std::filesystem;

class CatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("catalog-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path() { return (dir_ / "catalog.db").string(); }
  fs::path dir_;
};

InstanceRow Row(const std::string& rid, const std::string& id) {
  InstanceRow r;
  r.resource_id = rid;
  r.identifier = id;
  r.status = DbStatus::kCreating;
  r.desired_state = "running";
  r.port = 5432;
  r.password_verifier = "SCRAM-SHA-256$x";
  r.created_ms = 1;
  r.attrs = {{"Engine", "postgres"}};
  return r;
}

TEST_F(CatalogTest, CommitsAndReloadsAcrossReopen) {
  {
    auto c = Catalog::Open(Path());
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    ASSERT_TRUE((*c)->Transact([](CatalogTxn& t) { return t.PutInstance(Row("db-A", "a")); }).ok());
  }
  auto c = Catalog::Open(Path());  // migrations are idempotent
  ASSERT_TRUE(c.ok());
  auto rows = (*c)->LoadInstances().value();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].identifier, "a");
  EXPECT_EQ(rows[0].attrs["Engine"], "postgres");
}

TEST_F(CatalogTest, GroupsAndCursorsSurviveAReopen) {
  const Scope east{"111111111111", "us-east-1"}, west{"111111111111", "us-west-2"};
  {
    auto c = Catalog::Open(Path());
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    ASSERT_TRUE((*c)->Transact([&](CatalogTxn& t) {
                      LOCALRDS_RETURN_IF_ERROR(
                          t.PutGroup({"parameter", east, "pg1", 5, {{"Description", "one"}}}));
                      // Same name, another Region and another kind: separate rows.
                      LOCALRDS_RETURN_IF_ERROR(
                          t.PutGroup({"parameter", west, "pg1", 6, {{"Description", "w"}}}));
                      LOCALRDS_RETURN_IF_ERROR(t.PutGroup({"subnet", east, "pg1", 7, {}}));
                      return t.SetCursor("sns", 41);
                    })
                    .ok());
    // An update keeps the creation time and replaces the body; a cursor moves.
    ASSERT_TRUE((*c)->Transact([&](CatalogTxn& t) {
                      LOCALRDS_RETURN_IF_ERROR(
                          t.PutGroup({"parameter", east, "pg1", 99, {{"Description", "two"}}}));
                      LOCALRDS_RETURN_IF_ERROR(t.DeleteGroup("subnet", east, "pg1"));
                      return t.SetCursor("sns", 42);
                    })
                    .ok());
  }
  auto c = Catalog::Open(Path());
  ASSERT_TRUE(c.ok());
  auto groups = (*c)->LoadGroups().value();
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].scope, east);
  EXPECT_EQ(groups[0].created_ms, 5);
  EXPECT_EQ(groups[0].body["Description"], "two");
  EXPECT_EQ(groups[1].scope, west);
  EXPECT_EQ((*c)->LoadCursor("sns").value(), 42);
  EXPECT_EQ((*c)->LoadCursor("never-set").value(), 0);
}

TEST_F(CatalogTest, FailedTransactionRollsBackEverything) {
  auto c = Catalog::Open(Path());
  ASSERT_TRUE(c.ok());
  Status st = (*c)->Transact([](CatalogTxn& t) {
    LOCALRDS_RETURN_IF_ERROR(t.PutInstance(Row("db-A", "a")));
    return Status::Internal("step failed");
  });
  EXPECT_FALSE(st.ok());
  EXPECT_TRUE((*c)->LoadInstances().value().empty());
  // A unique-identifier violation is an error too, and rolls back.
  ASSERT_TRUE((*c)->Transact([](CatalogTxn& t) { return t.PutInstance(Row("db-A", "a")); }).ok());
  st = (*c)->Transact([](CatalogTxn& t) { return t.PutInstance(Row("db-B", "a")); });
  EXPECT_FALSE(st.ok());
  EXPECT_EQ((*c)->LoadInstances().value().size(), 1u);
}

TEST_F(CatalogTest, OperationsAndEvents) {
  auto c = Catalog::Open(Path());
  ASSERT_TRUE(c.ok());
  int64_t id = 0;
  ASSERT_TRUE((*c)->Transact([&](CatalogTxn& t) -> Status {
                    OperationRow op;
                    op.resource_id = "db-A";
                    op.kind = OpKind::kCreate;
                    op.state = "running";
                    op.params = {{"x", 1}};
                    auto r = t.InsertOperation(op);
                    if (!r.ok()) return r.status();
                    id = *r;
                    EventRow e;
                    e.date_ms = 1000;
                    e.source_type = "db-instance";
                    e.source_identifier = "a";
                    e.event_id = "RDS-EVENT-0005";
                    e.message = "DB instance created";
                    e.categories = {"creation"};
                    return t.InsertEvent(e);
                  })
                  .ok());
  auto ops = (*c)->LoadUnfinishedOperations().value();
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].params["x"], 1);
  EXPECT_EQ(ops[0].kind, OpKind::kCreate);
  ASSERT_TRUE(
      (*c)->Transact([&](CatalogTxn& t) { return t.UpdateOperation(id, 5, "done", ""); }).ok());
  EXPECT_TRUE((*c)->LoadUnfinishedOperations().value().empty());
  EXPECT_EQ((*c)->LoadOperation(id).value()->step, 5);

  EventQuery q;
  q.source_identifier = "a";
  auto events = (*c)->QueryEvents(q).value();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].categories, std::vector<std::string>{"creation"});
  q.source_identifier = "b";
  EXPECT_TRUE((*c)->QueryEvents(q).value().empty());
  q.source_identifier = "";
  q.start_ms = 2000;
  EXPECT_TRUE((*c)->QueryEvents(q).value().empty());
}

TEST(CatalogNamesTest, StatusesAndOperationKindsAreStoredByTheirRdsNames) {
  for (DbStatus st :
       {DbStatus::kCreating, DbStatus::kAvailable, DbStatus::kBackingUp, DbStatus::kModifying,
        DbStatus::kRenaming, DbStatus::kRebooting, DbStatus::kStopping, DbStatus::kStopped,
        DbStatus::kStarting, DbStatus::kDeleting, DbStatus::kFailed}) {
    EXPECT_EQ(ParseDbStatus(ToString(st)), st) << ToString(st);
  }
  EXPECT_STREQ(ToString(DbStatus::kBackingUp), "backing-up");
  EXPECT_EQ(ParseDbStatus("incompatible-network"), std::nullopt);
  EXPECT_EQ(nlohmann::json(DbStatus::kAvailable), "available");
  for (OpKind k : {OpKind::kCreate, OpKind::kRestore, OpKind::kDelete, OpKind::kSnapshot,
                   OpKind::kBackup, OpKind::kCopySnapshot, OpKind::kStop, OpKind::kStart,
                   OpKind::kReboot, OpKind::kModify, OpKind::kRecover, OpKind::kCreateReplica,
                   OpKind::kPromote, OpKind::kFailover, OpKind::kStandby}) {
    EXPECT_EQ(ParseOpKind(ToString(k)), k) << ToString(k);
  }
  EXPECT_STREQ(ToString(OpKind::kCopySnapshot), "copy-snapshot");
  EXPECT_EQ(ParseOpKind("resize"), std::nullopt);
}

}  // namespace localrds
