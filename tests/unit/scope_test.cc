// Accounts and regions: every resource belongs to one; identifiers are unique within it; a
// request sees only its own (the control plane over the fake runtime), ARNs say where a resource
// lives, and a catalog from before scopes moves into the one it was made in.
#include <sqlite3.h>

#include <fstream>
#include <future>
#include <map>
#include <sstream>

#include "emulator/core/arn.h"
#include "emulator/core/request.h"
#include "emulator/engine/operation_engine.h"
#include "tests/scopes.h"
#include "tests/unit/control_plane_fixture.h"

namespace localrds {
namespace {

using nlohmann::json;

TEST(ArnTest, ParsesTheRegionAccountTypeAndName) {
  auto arn = ParseArn("arn:aws:rds:eu-west-1:111122223333:snapshot:rds:db1-2026-12-06-04-00");
  ASSERT_TRUE(arn);
  EXPECT_EQ(arn->scope, (Scope{"111122223333", "eu-west-1"}));
  EXPECT_EQ(arn->type, "snapshot");
  EXPECT_EQ(arn->name, "rds:db1-2026-12-06-04-00");
  EXPECT_EQ(MakeArn(arn->scope, arn->type, arn->name),
            "arn:aws:rds:eu-west-1:111122223333:snapshot:rds:db1-2026-12-06-04-00");
  for (const char* bad : {"db1", "arn:aws:rds:", "arn:aws:rds:us-east-1::db:x",
                          "arn:aws:rds:us-east-1:000000000000:db:", "arn:aws:s3:::bucket"}) {
    EXPECT_FALSE(ParseArn(bad)) << bad;
  }
}

TEST(ArnTest, KmsKeysAreArnsOfTheirRegionAndAccount) {
  const std::string managed = KmsKeyArn(kEu, "");
  EXPECT_THAT(managed, testing::MatchesRegex("arn:aws:kms:eu-west-1:000000000000:key/"
                                             "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-"
                                             "[0-9a-f]{12}"));
  EXPECT_EQ(KmsKeyArn(kEu, "alias/aws/rds"), managed);
  EXPECT_EQ(KmsKeyArn(kEu, "arn:aws:kms:eu-west-1:000000000000:alias/aws/rds"), managed);
  EXPECT_NE(KmsKeyArn(kEast, ""), managed);  // each Region its own key
  EXPECT_EQ(KmsKeyArn(kEu, "1234abcd-12ab-34cd-56ef-1234567890ab"),
            "arn:aws:kms:eu-west-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab");
  const std::string key = "arn:aws:kms:eu-west-1:111122223333:key/k";
  EXPECT_EQ(KmsKeyArn(kEu, key), key);
}

TEST(RequestScopeTest, ARequestWithoutAScopeIsInTheDefaultOne) {
  EXPECT_EQ(RequestScope(json::object(), kEast), kEast);
  EXPECT_EQ(RequestScope(In(kEu, json::object()), kEast), kEu);
}

class ScopeTest : public ControlPlaneTest {
 protected:
  Accepted CreateIn(const Scope& scope, const std::string& id) {
    json req = CreateReq(id);
    req["BackupRetentionPeriod"] = 0;
    auto r = cp_->instances().CreateDBInstance(In(scope, req));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (r.ok()) Wait(r->operation_id);
    return r.ok() ? *r : Accepted{};
  }
  json DescribeIn(const Scope& scope, json req = json::object()) {
    auto r = cp_->instances().DescribeDBInstances(In(scope, std::move(req)));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? (*r)["DBInstances"] : json::array();
  }
};

TEST_F(ScopeTest, TheSameIdentifierInTwoRegionsAndTwoAccountsIsThreeInstances) {
  CreateIn(kEast, "same");
  CreateIn(kEu, "same");
  CreateIn(kOther, "same");
  std::set<std::string> rids;
  for (const Scope& s : {kEast, kEu, kOther}) {
    json list = DescribeIn(s);
    ASSERT_EQ(list.size(), 1u) << s.region << " " << s.account;
    EXPECT_EQ(list[0]["DBInstanceArn"], "arn:aws:rds:" + s.region + ":" + s.account + ":db:same");
    EXPECT_EQ(list[0]["AvailabilityZone"].get<std::string>().rfind(s.region, 0), 0u);
    rids.insert(list[0]["DbiResourceId"].get<std::string>());
  }
  EXPECT_EQ(rids.size(), 3u);
  const json health = cp_->Health();
  EXPECT_EQ(health["instances"]["total"], 3);
  EXPECT_EQ(health["regions"]["us-east-1"]["total"], 2);
  EXPECT_EQ(health["regions"]["eu-west-1"]["by_status"], json({{"available", 1}}));
  EXPECT_EQ(DescribeIn(kEu)[0]["Endpoint"]["HostedZoneId"], "Z29XKXDKYMONMX");
  EXPECT_EQ(DescribeIn(kEast)[0]["Endpoint"]["HostedZoneId"], "Z2R2ITUGPM61AM");
  EXPECT_TRUE(DescribeIn({"000000000000", "us-west-2"}).empty());
  // Taken in its own scope only.
  auto again = cp_->instances().CreateDBInstance(In(kEu, CreateReq("same")));
  ExpectError(again.status(), "DBInstanceAlreadyExists", 400, "DB instance already exists");
}

TEST_F(ScopeTest, AnArnOfAnotherScopeIsNotFoundNorServedFromTheCallersOwn) {
  CreateIn(kEast, "same");
  CreateIn(kEu, "same");
  const std::string eu_arn = "arn:aws:rds:eu-west-1:000000000000:db:same";
  EXPECT_EQ(DescribeIn(kEu, {{"DBInstanceIdentifier", eu_arn}}).size(), 1u);
  auto leaked = cp_->instances().DescribeDBInstances(In(kEast, {{"DBInstanceIdentifier", eu_arn}}));
  ExpectError(leaked.status(), "DBInstanceNotFound", 404, "DBInstance same not found.");
  auto tags = cp_->metadata().AddTagsToResource(
      In(kOther, {{"ResourceName", eu_arn}, {"Tags", {{{"Key", "k"}, {"Value", "v"}}}}}));
  ExpectError(tags, "DBInstanceNotFound", 404, "DBInstance same not found.");
  ASSERT_TRUE(cp_->metadata()
                  .AddTagsToResource(In(
                      kEu, {{"ResourceName", eu_arn}, {"Tags", {{{"Key", "k"}, {"Value", "v"}}}}}))
                  .ok());
  EXPECT_EQ(DescribeIn(kEu)[0]["TagList"].size(), 1u);
  EXPECT_TRUE(DescribeIn(kEast)[0]["TagList"].empty());
  // Every action that names an instance looks in the caller's scope only.
  auto reboot = cp_->instances().RebootDBInstance(In(kOther, {{"DBInstanceIdentifier", "same"}}));
  ExpectError(reboot.status(), "DBInstanceNotFound", 404, "DBInstance same not found.");
}

TEST_F(ScopeTest, SnapshotsAndEventsStayInTheirScope) {
  CreateIn(kEast, "same");
  CreateIn(kEu, "same");
  auto snap = cp_->snapshots().CreateDBSnapshot(
      In(kEu, {{"DBInstanceIdentifier", "same"}, {"DBSnapshotIdentifier", "s1"}}));
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  Wait(snap->operation_id);
  EXPECT_EQ(snap->body["DBSnapshotArn"], "arn:aws:rds:eu-west-1:000000000000:snapshot:s1");
  auto mine = cp_->snapshots().DescribeDBSnapshots(In(kEu, json::object()));
  ASSERT_TRUE(mine.ok());
  EXPECT_EQ((*mine)["DBSnapshots"].size(), 1u);
  auto theirs = cp_->snapshots().DescribeDBSnapshots(In(kEast, json::object()));
  ASSERT_TRUE(theirs.ok());
  EXPECT_TRUE((*theirs)["DBSnapshots"].empty());
  auto restore = cp_->snapshots().RestoreDBInstanceFromDBSnapshot(
      In(kEast, {{"DBInstanceIdentifier", "r1"},
                 {"DBSnapshotIdentifier", "arn:aws:rds:eu-west-1:000000000000:snapshot:s1"}}));
  ExpectError(restore.status(), "DBSnapshotNotFound", 404,
              "DBSnapshot arn:aws:rds:eu-west-1:000000000000:snapshot:s1 not found.");
  // The same snapshot name is free in another scope.
  auto east = cp_->snapshots().CreateDBSnapshot(
      In(kEast, {{"DBInstanceIdentifier", "same"}, {"DBSnapshotIdentifier", "s1"}}));
  ASSERT_TRUE(east.ok()) << east.status().ToString();
  Wait(east->operation_id);
  // DescribeEvents answers with the caller's scope's events only.
  auto events = cp_->metadata().DescribeEvents(In(kEu, json::object()));
  ASSERT_TRUE(events.ok());
  ASSERT_FALSE((*events)["Events"].empty());
  for (const auto& e : (*events)["Events"]) {
    EXPECT_NE(e["SourceArn"].get<std::string>().find(":eu-west-1:000000000000:"), std::string::npos)
        << e.dump();
  }
}

TEST_F(ScopeTest, ACopyIntoAnotherRegionIsAFullCopyThatRestoresThere) {
  CreateIn(kEast, "src");
  auto snap = cp_->snapshots().CreateDBSnapshot(
      In(kEast, {{"DBInstanceIdentifier", "src"}, {"DBSnapshotIdentifier", "s1"}}));
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  Wait(snap->operation_id);
  const std::string source_arn = "arn:aws:rds:us-east-1:000000000000:snapshot:s1";
  // By name, the source is looked for in the caller's region; another account's ARN is unknown.
  auto by_name = cp_->snapshots().CopyDBSnapshot(
      In(kEu, {{"SourceDBSnapshotIdentifier", "s1"}, {"TargetDBSnapshotIdentifier", "dr"}}));
  ExpectError(by_name.status(), "DBSnapshotNotFound", 404, "DBSnapshot s1 not found.");
  auto foreign = cp_->snapshots().CopyDBSnapshot(
      In({"111122223333", "eu-west-1"},
         {{"SourceDBSnapshotIdentifier", source_arn}, {"TargetDBSnapshotIdentifier", "dr"}}));
  ExpectError(foreign.status(), "DBSnapshotNotFound", 404,
              "DBSnapshot " + source_arn + " not found.");

  auto copy = cp_->snapshots().CopyDBSnapshot(In(kEu, {{"SourceDBSnapshotIdentifier", source_arn},
                                                       {"TargetDBSnapshotIdentifier", "dr"},
                                                       {"SourceRegion", "us-east-1"},
                                                       {"PreSignedUrl", "https://ignored"}}));
  ASSERT_TRUE(copy.ok()) << copy.status().ToString();
  Wait(copy->operation_id);
  auto described = cp_->snapshots().DescribeDBSnapshots(In(kEu, {{"DBSnapshotIdentifier", "dr"}}));
  ASSERT_TRUE(described.ok());
  const json dr = (*described)["DBSnapshots"][0];
  EXPECT_EQ(dr["Status"], "available");
  EXPECT_EQ(dr["DBSnapshotArn"], "arn:aws:rds:eu-west-1:000000000000:snapshot:dr");
  EXPECT_EQ(dr["SourceRegion"], "us-east-1");
  EXPECT_EQ(dr["SourceDBSnapshotIdentifier"], source_arn);
  EXPECT_EQ(dr["SnapshotType"], "manual");
  EXPECT_EQ(dr["AvailabilityZone"].get<std::string>().rfind("eu-west-1", 0), 0u) << dr.dump();
  // Every byte copied: no file of the DR copy shares the source's storage.
  std::string source_id, dr_id;
  {
    auto reg = cp_->registry().Lock();
    source_id = reg.FindSnapshot(kEast, "s1")->id;
    dr_id = reg.FindSnapshot(kEu, "dr")->id;
  }
  int files = 0;
  for (const auto& e :
       std::filesystem::recursive_directory_iterator(layout_->SnapshotDir(source_id))) {
    if (!e.is_regular_file()) continue;
    const auto copied = layout_->SnapshotDir(dr_id) /
                        std::filesystem::relative(e.path(), layout_->SnapshotDir(source_id));
    ASSERT_TRUE(std::filesystem::exists(copied)) << copied;
    EXPECT_EQ(std::filesystem::hard_link_count(copied), 1u) << copied;
    ++files;
  }
  EXPECT_GT(files, 0);
  auto restored = cp_->snapshots().RestoreDBInstanceFromDBSnapshot(
      In(kEu, {{"DBInstanceIdentifier", "dr-db"}, {"DBSnapshotIdentifier", "dr"}}));
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  Wait(restored->operation_id);
  const json db = DescribeIn(kEu, {{"DBInstanceIdentifier", "dr-db"}})[0];
  EXPECT_EQ(db["DBInstanceStatus"], "available");
  EXPECT_EQ(db["AvailabilityZone"].get<std::string>().rfind("eu-west-1", 0), 0u) << db.dump();
}

TEST_F(ScopeTest, ACrossRegionCopyKilledHalfwayIsCopiedAgainOnRestart) {
  CreateIn(kEast, "src");
  auto snap = cp_->snapshots().CreateDBSnapshot(
      In(kEast, {{"DBInstanceIdentifier", "src"}, {"DBSnapshotIdentifier", "s1"}}));
  ASSERT_TRUE(snap.ok());
  Wait(snap->operation_id);
  OperationEngine::SetCrashHook(
      [](const std::string& kind, int) { return kind != "copy-snapshot"; });
  auto copy = cp_->snapshots().CopyDBSnapshot(
      In(kEu, {{"SourceDBSnapshotIdentifier", "arn:aws:rds:us-east-1:000000000000:snapshot:s1"},
               {"TargetDBSnapshotIdentifier", "dr"}}));
  ASSERT_TRUE(copy.ok()) << copy.status().ToString();
  Wait(copy->operation_id);
  OperationEngine::SetCrashHook(nullptr);
  std::string dr_id;
  {
    auto reg = cp_->registry().Lock();
    dr_id = reg.FindSnapshot(kEu, "dr")->id;
    EXPECT_EQ(reg.FindSnapshot(kEu, "dr")->status, "creating");
  }
  // What a kill -9 in the middle of the copy leaves: a partial <dir>.tmp.
  auto partial = layout_->SnapshotDir(dr_id);
  partial += ".tmp";
  std::filesystem::create_directories(partial);
  std::ofstream(partial / "half-written") << "x";
  Restart();
  auto reg = cp_->registry().Lock();
  EXPECT_EQ(reg.FindSnapshot(kEu, "dr")->status, "available");
  EXPECT_FALSE(std::filesystem::exists(partial));
  EXPECT_FALSE(std::filesystem::exists(layout_->SnapshotDir(dr_id) / "half-written"));
}

TEST_F(ScopeTest, AvailabilityZonesAreTheRegionsOwn) {
  const Scope west{"000000000000", "us-west-1"};
  json req = CreateReq("z");
  req["AvailabilityZone"] = "us-west-1a";  // us-west-1 has b and c only
  ExpectError(cp_->instances().CreateDBInstance(In(west, req)).status(), "InvalidParameterValue",
              400, "Invalid availability zone: us-west-1a");
  req["AvailabilityZone"] = "us-east-1a";
  ExpectError(cp_->instances().CreateDBInstance(In(west, req)).status(), "InvalidParameterValue",
              400, "Invalid availability zone: us-east-1a");
  CreateIn(west, "w");
  const std::string az = DescribeIn(west)[0]["AvailabilityZone"];
  EXPECT_TRUE(az == "us-west-1b" || az == "us-west-1c") << az;
}

TEST_F(ScopeTest, AccountAttributesCountWhatTheAccountHasInTheRegion) {
  CreateIn(kEu, "a");
  CreateIn(kEu, "b");
  CreateIn(kEast, "c");
  auto snap = cp_->snapshots().CreateDBSnapshot(
      In(kEu, {{"DBInstanceIdentifier", "a"}, {"DBSnapshotIdentifier", "s"}}));
  ASSERT_TRUE(snap.ok());
  Wait(snap->operation_id);
  auto quotas_in = [&](const Scope& scope) {
    auto r = cp_->metadata().DescribeAccountAttributes(In(scope, json::object()));
    EXPECT_TRUE(r.ok());
    std::map<std::string, std::pair<int, int>> out;
    for (const auto& q : (*r)["AccountQuotas"]) out[q["AccountQuotaName"]] = {q["Used"], q["Max"]};
    return out;
  };
  auto eu = quotas_in(kEu);
  EXPECT_EQ(eu["DBInstances"], std::make_pair(2, 40));
  EXPECT_EQ(eu["AllocatedStorage"], std::make_pair(40, 100000));
  EXPECT_EQ(eu["ManualSnapshots"], std::make_pair(1, 100));
  EXPECT_EQ(eu["ReadReplicasPerMaster"], std::make_pair(0, 15));
  EXPECT_EQ(eu.size(), 15u);
  auto east = quotas_in(kEast);
  EXPECT_EQ(east["DBInstances"], std::make_pair(1, 40));
  EXPECT_EQ(east["ManualSnapshots"], std::make_pair(0, 100));
  EXPECT_EQ(quotas_in(kOther)["DBInstances"], std::make_pair(0, 40));
}

TEST_F(ScopeTest, EncryptedInstancesReportTheirRegionsKeyAndTheirSnapshotsToo) {
  json req = CreateReq("plain");
  req["KmsKeyId"] = "alias/aws/rds";
  ExpectError(cp_->instances().CreateDBInstance(In(kEu, req)).status(),
              "InvalidParameterCombination", 400,
              "You must enable StorageEncrypted when you specify KmsKeyId for DB engine postgres");
  req = CreateReq("sealed");
  req["StorageEncrypted"] = true;
  req["BackupRetentionPeriod"] = 0;
  auto created = cp_->instances().CreateDBInstance(In(kEu, req));
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  Wait(created->operation_id);
  const json db = DescribeIn(kEu, {{"DBInstanceIdentifier", "sealed"}})[0];
  EXPECT_EQ(db["StorageEncrypted"], true);
  EXPECT_EQ(db["KmsKeyId"], KmsKeyArn(kEu, ""));
  auto snap = cp_->snapshots().CreateDBSnapshot(
      In(kEu, {{"DBInstanceIdentifier", "sealed"}, {"DBSnapshotIdentifier", "s"}}));
  ASSERT_TRUE(snap.ok());
  Wait(snap->operation_id);
  auto copy = cp_->snapshots().CopyDBSnapshot(
      In(kEast, {{"SourceDBSnapshotIdentifier", "arn:aws:rds:eu-west-1:000000000000:snapshot:s"},
                 {"TargetDBSnapshotIdentifier", "s-east"},
                 {"KmsKeyId", "alias/dr"}}));
  ASSERT_TRUE(copy.ok()) << copy.status().ToString();
  Wait(copy->operation_id);
  auto described =
      cp_->snapshots().DescribeDBSnapshots(In(kEast, {{"DBSnapshotIdentifier", "s-east"}}));
  ASSERT_TRUE(described.ok());
  const json s = (*described)["DBSnapshots"][0];
  EXPECT_EQ(s["Encrypted"], true);
  EXPECT_EQ(s["KmsKeyId"], KmsKeyArn(kEast, "alias/dr"));
  // An unencrypted instance reports no key.
  CreateIn(kEu, "open");
  EXPECT_FALSE(DescribeIn(kEu, {{"DBInstanceIdentifier", "open"}})[0].contains("KmsKeyId"));
}

TEST_F(ScopeTest, InstancesKeepTheirScopeAcrossARestart) {
  CreateIn(kEu, "same");
  CreateIn(kOther, "same");
  Restart();
  EXPECT_EQ(DescribeIn(kEu).size(), 1u);
  EXPECT_EQ(DescribeIn(kOther).size(), 1u);
  EXPECT_TRUE(DescribeIn(kEast).empty());
}

TEST_F(ScopeTest, ACrossRegionReplicaNamesItsSourceByArnAndAppliesItsWalLate) {
  ReplicasStream();
  json req = CreateReq("prod");  // backups on: a replica's source needs them
  auto created = cp_->instances().CreateDBInstance(In(kEast, req));
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  Wait(created->operation_id);
  const std::string source_arn = "arn:aws:rds:us-east-1:000000000000:db:prod";
  // By name the source is looked for in eu-west-1; another account's ARN is not found.
  ExpectError(cp_->replicas()
                  .CreateDBInstanceReadReplica(In(kEu, {{"DBInstanceIdentifier", "dr"},
                                                        {"SourceDBInstanceIdentifier", "prod"}}))
                  .status(),
              "DBInstanceNotFound", 404, "DBInstance prod not found.");
  ExpectError(cp_->replicas()
                  .CreateDBInstanceReadReplica(In(
                      {"111122223333", "eu-west-1"},
                      {{"DBInstanceIdentifier", "dr"}, {"SourceDBInstanceIdentifier", source_arn}}))
                  .status(),
              "DBInstanceNotFound", 404, "DBInstance " + source_arn + " not found.");

  auto r = cp_->replicas().CreateDBInstanceReadReplica(
      In(kEu, {{"DBInstanceIdentifier", "dr"},
               {"SourceDBInstanceIdentifier", source_arn},
               {"SourceRegion", "us-east-1"},
               {"PreSignedUrl", "https://ignored"}}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  Wait(r->operation_id);
  const json dr = DescribeIn(kEu, {{"DBInstanceIdentifier", "dr"}})[0];
  EXPECT_EQ(dr["DBInstanceStatus"], "available");
  EXPECT_EQ(dr["ReadReplicaSourceDBInstanceIdentifier"], source_arn);
  EXPECT_EQ(dr["AvailabilityZone"].get<std::string>().rfind("eu-west-1", 0), 0u) << dr.dump();
  const json prod = DescribeIn(kEast, {{"DBInstanceIdentifier", "prod"}})[0];
  EXPECT_EQ(prod["ReadReplicaDBInstanceIdentifiers"],
            json::array({"arn:aws:rds:eu-west-1:000000000000:db:dr"}));
  // Its server applies the source's commits the regions' distance late (--inter-region-latency).
  std::ifstream conf(layout_->PgData(dr["DbiResourceId"]) / "localrds.conf");
  std::stringstream text;
  text << conf.rdbuf();
  EXPECT_NE(text.str().find("recovery_min_apply_delay = '40ms'"), std::string::npos) << text.str();
}

TEST_F(ScopeTest, ACrossRegionReplicaKilledAtAnyStepIsFinishedOnRestart) {
  ReplicasStream();
  auto created = cp_->instances().CreateDBInstance(In(kEast, CreateReq("prod")));
  ASSERT_TRUE(created.ok());
  Wait(created->operation_id);
  for (int step = 0; step < 5; ++step) {
    const std::string id = "dr-" + std::to_string(step);
    OperationEngine::SetCrashHook(
        [step](const std::string& k, int s) { return !(k == "create-replica" && s == step); });
    auto r = cp_->replicas().CreateDBInstanceReadReplica(
        In(kEu, {{"DBInstanceIdentifier", id},
                 {"SourceDBInstanceIdentifier", "arn:aws:rds:us-east-1:000000000000:db:prod"}}));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    Wait(r->operation_id);
    OperationEngine::SetCrashHook(nullptr);
    EXPECT_EQ(DescribeIn(kEu, {{"DBInstanceIdentifier", id}})[0]["DBInstanceStatus"], "creating");
    Restart();  // Recover resumes the operation
    const json d = DescribeIn(kEu, {{"DBInstanceIdentifier", id}})[0];
    EXPECT_EQ(d["DBInstanceStatus"], "available") << "crash before step " << step;
    EXPECT_EQ(d["ReadReplicaSourceDBInstanceIdentifier"],
              "arn:aws:rds:us-east-1:000000000000:db:prod");
  }
}

class SharingTest : public ScopeTest {
 protected:
  void SetUp() override {
    ScopeTest::SetUp();
    CreateIn(kEast, "src");
    auto snap = cp_->snapshots().CreateDBSnapshot(
        In(kEast, {{"DBInstanceIdentifier", "src"}, {"DBSnapshotIdentifier", "s1"}}));
    ASSERT_TRUE(snap.ok()) << snap.status().ToString();
    Wait(snap->operation_id);
  }
  Result<json> Share(json add, json remove = json::array(), const std::string& name = "s1") {
    return cp_->snapshots().ModifyDBSnapshotAttribute(In(kEast, {{"DBSnapshotIdentifier", name},
                                                                 {"AttributeName", "restore"},
                                                                 {"ValuesToAdd", add},
                                                                 {"ValuesToRemove", remove}}));
  }
  json SnapshotsOf(const Scope& scope, json req = json::object()) {
    auto r = cp_->snapshots().DescribeDBSnapshots(In(scope, std::move(req)));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? (*r)["DBSnapshots"] : json::array();
  }
  const std::string arn_ = "arn:aws:rds:us-east-1:000000000000:snapshot:s1";
  const Scope third_{"444455556666", "us-east-1"};
};

TEST_F(SharingTest, TheRestoreAttributeListsTheAccountsAlwaysEvenEmpty) {
  auto attrs =
      cp_->snapshots().DescribeDBSnapshotAttributes(In(kEast, {{"DBSnapshotIdentifier", "s1"}}));
  ASSERT_TRUE(attrs.ok());
  EXPECT_EQ((*attrs)["DBSnapshotAttributesResult"],
            json({{"DBSnapshotIdentifier", "s1"},
                  {"DBSnapshotAttributes",
                   {{{"AttributeName", "restore"}, {"AttributeValues", json::array()}}}}}));
  auto shared = Share({"111122223333"});
  ASSERT_TRUE(shared.ok()) << shared.status().ToString();
  EXPECT_EQ((*shared)["DBSnapshotAttributesResult"]["DBSnapshotAttributes"][0]["AttributeValues"],
            json::array({"111122223333"}));
  Restart();  // kept in the catalog
  attrs =
      cp_->snapshots().DescribeDBSnapshotAttributes(In(kEast, {{"DBSnapshotIdentifier", arn_}}));
  ASSERT_TRUE(attrs.ok());
  EXPECT_EQ((*attrs)["DBSnapshotAttributesResult"]["DBSnapshotAttributes"][0]["AttributeValues"],
            json::array({"111122223333"}));
}

TEST_F(SharingTest, TheAccountItIsSharedWithSeesAndRestoresItOthersDoNot) {
  ASSERT_TRUE(Share({"111122223333"}).ok());
  EXPECT_TRUE(SnapshotsOf(kOther).empty());  // not without IncludeShared
  const json seen = SnapshotsOf(kOther, {{"IncludeShared", true}});
  ASSERT_EQ(seen.size(), 1u) << seen.dump();
  EXPECT_EQ(seen[0]["DBSnapshotIdentifier"], arn_);
  EXPECT_EQ(seen[0]["SnapshotType"], "shared");
  EXPECT_EQ(SnapshotsOf(kOther, {{"SnapshotType", "shared"}}).size(), 1u);
  EXPECT_TRUE(SnapshotsOf(third_, {{"IncludeShared", true}}).empty());
  EXPECT_TRUE(SnapshotsOf({"111122223333", "eu-west-1"}, {{"IncludeShared", true}}).empty());

  ExpectError(cp_->snapshots()
                  .RestoreDBInstanceFromDBSnapshot(
                      In(third_, {{"DBInstanceIdentifier", "x"}, {"DBSnapshotIdentifier", arn_}}))
                  .status(),
              "DBSnapshotNotFound", 404, "DBSnapshot " + arn_ + " not found.");
  auto restored = cp_->snapshots().RestoreDBInstanceFromDBSnapshot(
      In(kOther, {{"DBInstanceIdentifier", "mine"}, {"DBSnapshotIdentifier", arn_}}));
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  Wait(restored->operation_id);
  const json mine = DescribeIn(kOther, {{"DBInstanceIdentifier", "mine"}})[0];
  EXPECT_EQ(mine["DBInstanceStatus"], "available");
  EXPECT_EQ(mine["DBInstanceArn"], "arn:aws:rds:us-east-1:111122223333:db:mine");
  auto copy = cp_->snapshots().CopyDBSnapshot(
      In(kOther, {{"SourceDBSnapshotIdentifier", arn_}, {"TargetDBSnapshotIdentifier", "kept"}}));
  ASSERT_TRUE(copy.ok()) << copy.status().ToString();
  Wait(copy->operation_id);
  const json kept = SnapshotsOf(kOther, {{"DBSnapshotIdentifier", "kept"}})[0];
  EXPECT_EQ(kept["SnapshotType"], "manual");
  EXPECT_EQ(kept["DBSnapshotArn"], "arn:aws:rds:us-east-1:111122223333:snapshot:kept");

  ASSERT_TRUE(Share(json::array(), {"111122223333"}).ok());  // unshared: gone from its view
  EXPECT_EQ(SnapshotsOf(kOther, {{"IncludeShared", true}}).size(), 1u);  // its own copy only
  ExpectError(cp_->snapshots()
                  .RestoreDBInstanceFromDBSnapshot(
                      In(kOther, {{"DBInstanceIdentifier", "y"}, {"DBSnapshotIdentifier", arn_}}))
                  .status(),
              "DBSnapshotNotFound", 404, "DBSnapshot " + arn_ + " not found.");
}

TEST_F(SharingTest, AllMakesItPublic) {
  ASSERT_TRUE(Share({"all"}).ok());
  EXPECT_TRUE(SnapshotsOf(third_, {{"IncludeShared", true}}).empty());
  const json seen = SnapshotsOf(third_, {{"IncludePublic", true}});
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0]["SnapshotType"], "public");
  EXPECT_EQ(SnapshotsOf(kEast, {{"DBSnapshotIdentifier", "s1"}})[0]["SnapshotType"], "manual");
}

TEST_F(SharingTest, RdsRulesAndErrors) {
  ExpectError(Share({"12345"}).status(), "InvalidParameterValue", 400,
              "Invalid value 12345 in ValuesToAdd: an AWS account id (12 digits) or all.");
  ExpectError(Share({"111122223333"}, {"111122223333"}).status(), "InvalidParameterCombination",
              400, "A value may not appear in both the add list and remove list: 111122223333.");
  ExpectError(Share({"111122223333"}, json::array(), "nope").status(), "DBSnapshotNotFound", 404,
              "DBSnapshot nope not found.");
  auto attr = cp_->snapshots().ModifyDBSnapshotAttribute(
      In(kEast, {{"DBSnapshotIdentifier", "s1"}, {"AttributeName", "copy"}}));
  ExpectError(attr.status(), "InvalidParameterValue", 400,
              "Invalid snapshot attribute copy: the only attribute is restore.");
  json twenty = json::array();
  for (int i = 0; i < 20; ++i) twenty.push_back(std::to_string(100000000000LL + i));
  ASSERT_TRUE(Share(twenty).ok());
  ExpectError(Share({"999999999999"}).status(), "SharedSnapshotQuotaExceeded", 400,
              "The snapshot s1 can be shared with at most 20 accounts.");
  // Automated snapshots cannot be shared: their rds: name is not a manual identifier.
  json req = CreateReq("auto");
  auto created = cp_->instances().CreateDBInstance(In(kEast, req));
  ASSERT_TRUE(created.ok());
  Wait(created->operation_id);
  std::string automated;
  for (const auto& s : SnapshotsOf(kEast, {{"SnapshotType", "automated"}})) {
    automated = s["DBSnapshotIdentifier"];
  }
  ASSERT_FALSE(automated.empty());
  ExpectError(Share({"111122223333"}, json::array(), automated).status(), "InvalidParameterValue",
              400,
              testing::HasSubstr("The parameter DBSnapshotIdentifier is not a valid "
                                 "identifier."));
}

class BackupReplicationTest : public ScopeTest {
 protected:
  void SetUp() override {
    ScopeTest::SetUp();
    auto created = cp_->instances().CreateDBInstance(In(kEast, CreateReq("prod")));  // backups on
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    Wait(created->operation_id);
    rid_ = DescribeIn(kEast, {{"DBInstanceIdentifier", "prod"}})[0]["DbiResourceId"];
  }
  Result<Accepted> Start(const Scope& in, const std::string& source_arn, int retention = 3) {
    return cp_->snapshots().StartDBInstanceAutomatedBackupsReplication(
        In(in, {{"SourceDBInstanceArn", source_arn},
                {"BackupRetentionPeriod", retention},
                {"SourceRegion", "us-east-1"}}));
  }
  json BackupsIn(const Scope& scope) {
    auto r = cp_->snapshots().DescribeDBInstanceAutomatedBackups(In(scope, json::object()));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? (*r)["DBInstanceAutomatedBackups"] : json::array();
  }
  std::string rid_;
  const std::string source_arn_ = "arn:aws:rds:us-east-1:000000000000:db:prod";
};

TEST_F(BackupReplicationTest, CopiesArePendingThenReplicatingAndRestoreInTheirRegion) {
  auto started = Start(kEu, source_arn_);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  const std::string ab_arn = "arn:aws:rds:eu-west-1:000000000000:auto-backup:ab-" + [&] {
    std::string lower = rid_.substr(3);
    for (auto& c : lower) c = static_cast<char>(std::tolower(c));
    return lower;
  }();
  EXPECT_EQ(started->body["Status"], "pending");
  EXPECT_EQ(started->body["DbiResourceId"], rid_);
  EXPECT_EQ(started->body["DBInstanceAutomatedBackupsArn"], ab_arn);
  EXPECT_EQ(started->body["Region"], "eu-west-1");
  EXPECT_EQ(started->body["BackupRetentionPeriod"], 3);
  EXPECT_EQ(DescribeIn(kEast, {{"DBInstanceIdentifier",
                                "prod"}})[0]["DBInstanceAutomatedBackupsReplications"],
            json::array({{{"DBInstanceAutomatedBackupsArn", ab_arn}}}));

  cp_->backup_replicator().ReplicateOnce();
  json eu = BackupsIn(kEu);
  ASSERT_EQ(eu.size(), 1u) << eu.dump();
  EXPECT_EQ(eu[0]["Status"], "replicating");
  EXPECT_TRUE(eu[0]["RestoreWindow"].contains("LatestTime")) << eu[0].dump();
  // The base backups are in the DR region byte for byte, not shown as its snapshots.
  int copies = 0;
  {
    auto reg = cp_->registry().Lock();
    for (const auto& [id, snap] : reg.snapshots()) {
      if (snap.scope != kEu) continue;
      ++copies;
      for (const auto& e :
           std::filesystem::recursive_directory_iterator(layout_->SnapshotDir(id))) {
        if (e.is_regular_file()) {
          EXPECT_EQ(std::filesystem::hard_link_count(e.path()), 1u);
        }
      }
    }
  }
  EXPECT_EQ(copies, 1);
  auto eu_snaps = cp_->snapshots().DescribeDBSnapshots(In(kEu, json::object()));
  ASSERT_TRUE(eu_snaps.ok());
  EXPECT_TRUE((*eu_snaps)["DBSnapshots"].empty());
  cp_->backup_replicator().ReplicateOnce();  // nothing new: nothing copied again
  EXPECT_EQ(BackupsIn(kEu).size(), 1u);

  ExpectError(
      cp_->snapshots()
          .DeleteDBInstanceAutomatedBackup(In(kEu, {{"DBInstanceAutomatedBackupsArn", ab_arn}}))
          .status(),
      "InvalidDBInstanceAutomatedBackupState", 400, testing::HasSubstr("stop the replication"));
  auto restored = cp_->snapshots().RestoreDBInstanceToPointInTime(
      In(kEu, {{"SourceDBInstanceAutomatedBackupsArn", ab_arn},
               {"TargetDBInstanceIdentifier", "dr"},
               {"UseLatestRestorableTime", true}}));
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  Wait(restored->operation_id);
  const json dr = DescribeIn(kEu, {{"DBInstanceIdentifier", "dr"}})[0];
  EXPECT_EQ(dr["DBInstanceStatus"], "available");
  EXPECT_EQ(dr["AvailabilityZone"].get<std::string>().rfind("eu-west-1", 0), 0u);

  auto stopped = cp_->snapshots().StopDBInstanceAutomatedBackupsReplication(
      In(kEu, {{"SourceDBInstanceArn", source_arn_}}));
  ASSERT_TRUE(stopped.ok()) << stopped.status().ToString();
  EXPECT_EQ(stopped->body["Status"], "retained");
  EXPECT_FALSE(DescribeIn(kEast, {{"DBInstanceIdentifier", "prod"}})[0].contains(
      "DBInstanceAutomatedBackupsReplications"));
  ExpectError(cp_->snapshots()
                  .StopDBInstanceAutomatedBackupsReplication(
                      In(kEu, {{"SourceDBInstanceArn", source_arn_}}))
                  .status(),
              "InvalidDBInstanceState", 400,
              "The automated backups of prod are not being replicated to eu-west-1.");
  auto deleted = cp_->snapshots().DeleteDBInstanceAutomatedBackup(
      In(kEu, {{"DBInstanceAutomatedBackupsArn", ab_arn}}));
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  for (const auto& b : BackupsIn(kEu)) EXPECT_NE(b["DbiResourceId"], rid_);  // dr's own remain
}

TEST_F(BackupReplicationTest, WhatACrashLeftHalfCopiedIsCleanedAndCopiedAgain) {
  ASSERT_TRUE(Start(kEu, source_arn_).ok());
  std::string key;
  {
    auto reg = cp_->registry().Lock();
    for (const auto& [k, ret] : reg.retained()) key = k;
  }
  // What a kill -9 in the middle of a pass leaves: a base backup half copied (never renamed)
  // and a WAL file half written under its temporary name.
  const auto half_base = layout_->SnapshotsDir() / "snap-1-0.tmp";
  std::filesystem::create_directories(half_base);
  std::ofstream(half_base / "PG_VERSION") << "1";
  std::filesystem::create_directories(layout_->ArchiveDir(key));
  const auto half_wal = layout_->ArchiveDir(key) / "000000010000000000000001.gz.tmp";
  std::ofstream(half_wal) << "half";
  Restart();
  EXPECT_FALSE(std::filesystem::exists(half_base));  // an orphan, removed at startup
  cp_->backup_replicator().ReplicateOnce();
  EXPECT_FALSE(std::filesystem::exists(half_wal));
  json eu = BackupsIn(kEu);
  ASSERT_EQ(eu.size(), 1u);
  EXPECT_EQ(eu[0]["Status"], "replicating");
}

TEST_F(BackupReplicationTest, ARegionInAnOutageShipsNothingUntilItRecovers) {
  ASSERT_TRUE(Start(kEu, source_arn_).ok());
  auto drill = [&](bool out) {
    std::promise<Result<json>> answer;
    cp_->SetOutageAsync("us-east-1", false, out,
                        [&](Result<json> r) { answer.set_value(std::move(r)); });
    auto f = answer.get_future();
    ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    ASSERT_TRUE(f.get().ok());
  };
  drill(true);
  cp_->backup_replicator().ReplicateOnce();
  EXPECT_EQ(BackupsIn(kEu)[0]["Status"], "pending");
  drill(false);
  cp_->backup_replicator().ReplicateOnce();
  EXPECT_EQ(BackupsIn(kEu)[0]["Status"], "replicating");
}

TEST_F(BackupReplicationTest, RdsRules) {
  ExpectError(Start(kEast, source_arn_).status(), "InvalidParameterValue", 400,
              testing::HasSubstr("replicated to another Region"));
  ExpectError(Start({"111122223333", "eu-west-1"}, source_arn_).status(), "DBInstanceNotFound", 404,
              "DBInstance " + source_arn_ + " not found.");
  ExpectError(Start(kEu, source_arn_, 36).status(), "InvalidParameterValue", 400,
              testing::HasSubstr("between 1 and 35"));
  ASSERT_TRUE(Start(kEu, source_arn_).ok());
  ExpectError(Start({"000000000000", "us-west-2"}, source_arn_).status(),
              "InvalidDBInstanceAutomatedBackupState", 400,
              "The automated backups of prod are already replicated to a Region.");
  CreateIn(kEast, "nobackups");
  ExpectError(Start(kEu, "arn:aws:rds:us-east-1:000000000000:db:nobackups").status(),
              "InvalidDBInstanceState", 400,
              testing::HasSubstr("Automated backups are not enabled"));
}

TEST_F(BackupReplicationTest, DeletingTheSourceLeavesTheCopyRetainedAcrossARestart) {
  ASSERT_TRUE(Start(kEu, source_arn_).ok());
  cp_->backup_replicator().ReplicateOnce();
  auto del = cp_->instances().DeleteDBInstance(In(kEast, {{"DBInstanceIdentifier", "prod"},
                                                          {"SkipFinalSnapshot", true},
                                                          {"DeleteAutomatedBackups", true}}));
  ASSERT_TRUE(del.ok()) << del.status().ToString();
  Wait(del->operation_id);
  cp_->backup_replicator().ReplicateOnce();
  Restart();
  json eu = BackupsIn(kEu);
  ASSERT_EQ(eu.size(), 1u);
  EXPECT_EQ(eu[0]["Status"], "retained");
  EXPECT_EQ(eu[0]["DbiResourceId"], rid_);
  auto restored = cp_->snapshots().RestoreDBInstanceToPointInTime(
      In(kEu, {{"SourceDbiResourceId", rid_},
               {"TargetDBInstanceIdentifier", "after"},
               {"UseLatestRestorableTime", true}}));
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  Wait(restored->operation_id);
  EXPECT_EQ(DescribeIn(kEu, {{"DBInstanceIdentifier", "after"}})[0]["DBInstanceStatus"],
            "available");
}

// A catalog written by a localrds from before scopes (schema version 2).
class ScopeMigrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("scope-migration-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db");
    std::filesystem::remove(path_);
  }
  void TearDown() override {
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::remove(path_.string() + suffix);
    }
  }
  void WriteVersion2(bool with_event) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    std::string sql = R"sql(
      CREATE TABLE instances(resource_id TEXT PRIMARY KEY, identifier TEXT NOT NULL UNIQUE,
        status TEXT NOT NULL, desired_state TEXT NOT NULL, port INTEGER NOT NULL,
        password_verifier TEXT NOT NULL, created_ms INTEGER NOT NULL,
        stopped_ms INTEGER NOT NULL DEFAULT 0, attrs TEXT NOT NULL);
      CREATE TABLE operations(id INTEGER PRIMARY KEY AUTOINCREMENT, resource_id TEXT NOT NULL,
        kind TEXT NOT NULL, step INTEGER NOT NULL, state TEXT NOT NULL, params TEXT NOT NULL,
        error TEXT NOT NULL DEFAULT '', created_ms INTEGER NOT NULL);
      CREATE TABLE events(seq INTEGER PRIMARY KEY AUTOINCREMENT, date_ms INTEGER NOT NULL,
        source_type TEXT NOT NULL, source_identifier TEXT NOT NULL, source_arn TEXT NOT NULL,
        event_id TEXT NOT NULL, message TEXT NOT NULL, categories TEXT NOT NULL);
      CREATE TABLE snapshots(id TEXT PRIMARY KEY, identifier TEXT NOT NULL UNIQUE,
        type TEXT NOT NULL, status TEXT NOT NULL, dbi_resource_id TEXT NOT NULL,
        created_ms INTEGER NOT NULL, attrs TEXT NOT NULL);
      CREATE TABLE retained_backups(resource_id TEXT PRIMARY KEY, instance TEXT NOT NULL,
        deleted_ms INTEGER NOT NULL);
      INSERT INTO instances VALUES('db-A', 'a', 'available', 'running', 5432, 'v', 1, 0, '{}');
      INSERT INTO snapshots VALUES('snap-1', 's1', 'manual', 'available', 'db-A', 2, '{}');
      INSERT INTO retained_backups VALUES('db-B', '{"resource_id":"db-B","identifier":"b"}', 3);
      PRAGMA user_version=2;)sql";
    if (with_event) {
      sql +=
          "INSERT INTO events(date_ms, source_type, source_identifier, source_arn, event_id,"
          " message, categories) VALUES(4, 'db-instance', 'a',"
          " 'arn:aws:rds:eu-central-1:444455556666:db:a', 'RDS-EVENT-0005', 'created', '[]');";
    }
    char* err = nullptr;
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << err;
    sqlite3_close(db);
  }
  std::filesystem::path path_;
};

TEST_F(ScopeMigrationTest, RowsMoveIntoTheScopeTheirEventsName) {
  WriteVersion2(true);
  auto c = Catalog::Open(path_.string(), kEast);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const Scope made_in{"444455556666", "eu-central-1"};
  auto instances = (*c)->LoadInstances().value();
  ASSERT_EQ(instances.size(), 1u);
  EXPECT_EQ(instances[0].scope, made_in);
  EXPECT_EQ(instances[0].identifier, "a");
  auto snapshots = (*c)->LoadSnapshots().value();
  ASSERT_EQ(snapshots.size(), 1u);
  EXPECT_EQ(snapshots[0].scope, made_in);
  auto retained = (*c)->LoadRetainedBackups().value();
  ASSERT_EQ(retained.size(), 1u);
  EXPECT_EQ(retained[0].instance.scope, made_in);
  EventQuery q;
  q.scope = made_in;
  EXPECT_EQ((*c)->QueryEvents(q).value().size(), 1u);
  q.scope = kEast;
  EXPECT_TRUE((*c)->QueryEvents(q).value().empty());
  // Identifiers are now unique per scope: the same name in another scope is a new row.
  InstanceRow other = instances[0];
  other.resource_id = "db-C";
  other.scope = kEast;
  ASSERT_TRUE((*c)->Transact([&](CatalogTxn& t) { return t.PutInstance(other); }).ok());
  other.resource_id = "db-D";
  other.scope = made_in;
  EXPECT_FALSE((*c)->Transact([&](CatalogTxn& t) { return t.PutInstance(other); }).ok());
}

TEST_F(ScopeMigrationTest, WithoutEventsRowsMoveIntoThisRunsScope) {
  WriteVersion2(false);
  auto c = Catalog::Open(path_.string(), kOther);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ((*c)->LoadInstances().value()[0].scope, kOther);
  EXPECT_EQ((*c)->LoadSnapshots().value()[0].scope, kOther);
}

}  // namespace
}  // namespace localrds
