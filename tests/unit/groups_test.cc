// DB parameter, subnet and option groups: the actions as a client sees them (fields, errors by
// code, HTTP status and message), what an instance takes from its groups, and the parameter
// catalog checked by this machine's PostgreSQL 15 program.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <future>
#include <sstream>

#include "emulator/core/instance_state.h"
#include "emulator/postgres/parameters.h"
#include "emulator/service/group_service.h"
#include "tests/unit/control_plane_fixture.h"

namespace localrds {
namespace {

using json = nlohmann::json;

std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(FormulaTest, EvaluatesRdsFormulasPerClass) {
  const FormulaInputs micro{1LL << 30, 2, 20LL << 30, 5432};
  const FormulaInputs large{16LL << 30, 4, 100LL << 30, 5432};
  EXPECT_EQ(EvaluateFormula("{DBInstanceClassMemory/32768}", micro).value(), "32768");
  EXPECT_EQ(EvaluateFormula("{DBInstanceClassMemory/32768}", large).value(), "524288");
  EXPECT_EQ(EvaluateFormula("LEAST({DBInstanceClassMemory/9531392},5000)", large).value(), "1802");
  EXPECT_EQ(EvaluateFormula("LEAST({DBInstanceClassMemory/9531392},5000)", micro).value(), "112");
  EXPECT_EQ(EvaluateFormula("GREATEST({DBInstanceClassMemory*1024/63963136},65536)", large).value(),
            "275036");
  EXPECT_EQ(EvaluateFormula("SUM({DBInstanceVCPU*2},1)", large).value(), "9");
  EXPECT_EQ(EvaluateFormula("{EndPointPort}", micro).value(), "5432");
  EXPECT_EQ(EvaluateFormula("128", micro).value(), "128");  // not a formula
  for (const char* bad : {"{DBInstanceClassMemory/0}", "{NoSuchVariable}", "LEAST({DBInstanceVCPU}",
                          "{DBInstanceClassMemory/32768", "LEAST(1,,2)"}) {
    auto r = EvaluateFormula(bad, micro);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_STREQ(r.status().info().code, "InvalidParameterValue");
  }
}

TEST(GroupSettingsTest, RenderedForPostgresqlConf) {
  const FormulaInputs micro{1LL << 30, 2, 20LL << 30, 5432};
  EXPECT_EQ(GroupSettingsConf({{"shared_buffers", "{DBInstanceClassMemory/32768}"},
                               {"search_path", "\"$user\", it's"},
                               {"rds.logical_replication", "1"},
                               {"rds.force_ssl", "1"}},
                              micro),
            "wal_level = logical\nsearch_path = '\"$user\", it''s'\nshared_buffers = '32768'\n");
  EXPECT_EQ(GroupSettingsConf({{"rds.logical_replication", "0"}}, micro), "");
}

class ParameterCatalogTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::filesystem::temp_directory_path() / ("params-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    for (const char* f : {"postgresql.conf", "postgresql.auto.conf"}) std::ofstream(dir_ / f);
    std::filesystem::permissions(
        dir_, std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                  std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
                  std::filesystem::perms::others_exec);
    static FakeRuntime runtime;
    auto c = ParameterCatalog::Build(
        "15",
        [](const std::vector<std::string>& args) { return runtime.RunPostgresProgram("15", args); },
        dir_.string());
    if (!c.ok()) {
      error_ = c.status().ToString();
      return;
    }
    catalog_ = std::move(*c);
  }
  void SetUp() override { ASSERT_NE(catalog_, nullptr) << error_; }
  static void TearDownTestSuite() {
    catalog_.reset();
    std::filesystem::remove_all(dir_);
  }
  static Status Check(const std::string& name, const std::string& value,
                      const std::string& method = "immediate") {
    return catalog_->Check(name, {value, method});
  }
  static void ExpectRefused(const Status& s, const char* code, const std::string& message) {
    ASSERT_FALSE(s.ok());
    EXPECT_STREQ(s.info().code, code);
    EXPECT_EQ(s.info().http_status, 400);
    EXPECT_EQ(s.message(), message);
  }
  static inline std::filesystem::path dir_;
  static inline std::unique_ptr<ParameterCatalog> catalog_;
  static inline std::string error_;
};

TEST_F(ParameterCatalogTest, PostgresqlDescribesEveryParameter) {
  EXPECT_EQ(catalog_->family(), "postgres15");
  EXPECT_GT(catalog_->All().size(), 250u);
  const ParameterInfo* sb = catalog_->Find("shared_buffers");
  ASSERT_NE(sb, nullptr);
  EXPECT_EQ(sb->apply_type, "static");  // context postmaster
  EXPECT_EQ(sb->data_type, "integer");
  EXPECT_EQ(sb->allowed, "16-1073741823");
  EXPECT_EQ(sb->system_value, "2048");
  const ParameterInfo* ls = catalog_->Find("log_statement");
  ASSERT_NE(ls, nullptr);
  EXPECT_EQ(ls->apply_type, "dynamic");
  EXPECT_EQ(ls->allowed, "none,ddl,mod,all");  // PostgreSQL's own list
  EXPECT_TRUE(ls->modifiable);
  EXPECT_NE(catalog_->Find("DateStyle"), nullptr);  // names are case-insensitive, stored lower
  EXPECT_EQ(catalog_->Find("datestyle")->name, "datestyle");
  ASSERT_NE(catalog_->Find("port"), nullptr);
  EXPECT_FALSE(catalog_->Find("port")->modifiable);  // localrds owns it
  EXPECT_EQ(catalog_->Find("block_size"), nullptr);  // internal: PostgreSQL does not list it
  EXPECT_EQ(catalog_->Find("rds.force_ssl")->apply_type, "dynamic");
  EXPECT_EQ(catalog_->Find("rds.logical_replication")->apply_type, "static");
}

TEST_F(ParameterCatalogTest, ValuesAreCheckedByPostgresql) {
  EXPECT_TRUE(Check("work_mem", "8192").ok());
  EXPECT_TRUE(Check("work_mem", "8MB").ok());  // PostgreSQL's units
  EXPECT_TRUE(Check("log_min_duration_statement", "0").ok());
  EXPECT_TRUE(Check("log_statement", "ddl").ok());
  EXPECT_TRUE(Check("shared_buffers", "{DBInstanceClassMemory/32768}", "pending-reboot").ok());
  EXPECT_TRUE(Check("rds.force_ssl", "1").ok());
  ExpectRefused(Check("work_mem", "12"), "InvalidParameterValue",
                "Invalid parameter value: 12 for: work_mem allowed values are: 64-2147483647");
  ExpectRefused(Check("log_statement", "everything"), "InvalidParameterValue",
                "Invalid parameter value: everything for: log_statement allowed values are: "
                "none,ddl,mod,all");
  ExpectRefused(Check("work_mem", "lots"), "InvalidParameterValue",
                "Invalid parameter value: lots for: work_mem allowed values are: 64-2147483647");
  ExpectRefused(Check("autovacuum", "on"), "InvalidParameterValue",
                "Invalid parameter value: on for: autovacuum allowed values are: 0,1");
  // A line break would end the value's line in postgresql.conf.
  ExpectRefused(Check("search_path", "a\nb"), "InvalidParameterValue",
                "Invalid parameter value: a\nb for: search_path allowed values are: any");
  EXPECT_TRUE(Check("search_path", "\"$user\", public").ok());
  ExpectRefused(Check("shared_buffers", "4096"), "InvalidParameterCombination",
                "cannot use immediate apply method for static parameter");
  ExpectRefused(Check("port", "5433", "pending-reboot"), "InvalidParameterValue",
                "The parameter port cannot be modified.");
  ExpectRefused(Check("no_such_thing", "1"), "InvalidParameterValue",
                "Could not find parameter with name: no_such_thing");
  ExpectRefused(Check("work_mem", "8192", "later"), "InvalidParameterValue",
                "Invalid apply method: later for parameter: work_mem. Valid values are: "
                "immediate, pending-reboot");
  ExpectRefused(Check("log_statement", "{DBInstanceVCPU}"), "InvalidParameterValue",
                "Invalid parameter value: {DBInstanceVCPU} for: log_statement allowed values "
                "are: none,ddl,mod,all");
}

// --- the actions ----------------------------------------------------------------------------

class GroupsTest : public ControlPlaneTest {
 protected:
  json Ok(Result<json> r) {
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : json();
  }
  json Ok(Result<Accepted> r) {
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->body : json();
  }
  json Param(const std::string& name, const std::string& value, const std::string& method) {
    return {{"ParameterName", name}, {"ParameterValue", value}, {"ApplyMethod", method}};
  }
  std::string Conf(const std::string& id) {
    return ReadFile(layout_->PgData(Describe(id)["DbiResourceId"]) / "localrds.conf");
  }
  json ParamsOf(const std::string& group, const std::string& source = "") {
    json req = {{"DBParameterGroupName", group}, {"MaxRecords", 100}};
    if (!source.empty()) req["Source"] = source;
    json all = json::array();
    while (true) {
      json page = Ok(cp_->groups().DescribeDBParameters(req));
      for (auto& p : page["Parameters"]) all.push_back(p);
      if (!page.contains("Marker")) return all;
      req["Marker"] = page["Marker"];
    }
  }
};

TEST_F(GroupsTest, ParameterGroupLifecycleAsTerraformReadsIt) {
  json g =
      Ok(cp_->groups().CreateDBParameterGroup({{"DBParameterGroupName", "App-PG"},
                                               {"DBParameterGroupFamily", "postgres15"},
                                               {"Description", "Managed by Terraform"},
                                               {"Tags", {{{"Key", "team"}, {"Value", "a"}}}}}));
  EXPECT_EQ(g["DBParameterGroupName"], "app-pg");  // stored lower-cased
  EXPECT_EQ(g["DBParameterGroupArn"], "arn:aws:rds:us-east-1:000000000000:pg:app-pg");
  EXPECT_FALSE(g.contains("TagList"));
  EXPECT_EQ(Ok(cp_->metadata().ListTagsForResource(
                {{"ResourceName", g["DBParameterGroupArn"]}}))["TagList"][0]["Key"],
            "team");
  Ok(cp_->groups().ModifyDBParameterGroup(
      {{"DBParameterGroupName", "app-pg"},
       {"Parameters",
        {Param("log_min_duration_statement", "250", "immediate"),
         Param("shared_buffers", "{DBInstanceClassMemory/32768}", "pending-reboot")}}}));
  // Read back exactly as set (a plan settles only on the same value and apply method).
  json user = ParamsOf("app-pg", "user");
  ASSERT_EQ(user.size(), 2u);
  EXPECT_EQ(user[0]["ParameterName"], "log_min_duration_statement");
  EXPECT_EQ(user[0]["ParameterValue"], "250");
  EXPECT_EQ(user[0]["ApplyMethod"], "immediate");
  EXPECT_EQ(user[1]["ParameterValue"], "{DBInstanceClassMemory/32768}");
  EXPECT_EQ(user[1]["ApplyMethod"], "pending-reboot");
  json all = ParamsOf("app-pg");
  EXPECT_GT(all.size(), 250u);  // paged by 100
  json groups = Ok(cp_->groups().DescribeDBParameterGroups(json::object()))["DBParameterGroups"];
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0]["DBParameterGroupName"], "app-pg");
  EXPECT_EQ(groups[1]["DBParameterGroupName"], "default.postgres15");
  Ok(cp_->groups().ResetDBParameterGroup(
      {{"DBParameterGroupName", "app-pg"},
       {"Parameters",
        {{{"ParameterName", "shared_buffers"}, {"ApplyMethod", "pending-reboot"}}}}}));
  EXPECT_EQ(ParamsOf("app-pg", "user").size(), 1u);
  EXPECT_TRUE(cp_->groups().DeleteDBParameterGroup({{"DBParameterGroupName", "app-pg"}}).ok());
  ExpectError(
      cp_->groups().DescribeDBParameterGroups({{"DBParameterGroupName", "app-pg"}}).status(),
      "DBParameterGroupNotFound", 404, "DBParameterGroup not found: app-pg");
}

TEST_F(GroupsTest, ParameterGroupErrors) {
  json create = {{"DBParameterGroupName", "pg1"},
                 {"DBParameterGroupFamily", "postgres15"},
                 {"Description", "d"}};
  Ok(cp_->groups().CreateDBParameterGroup(create));
  ExpectError(cp_->groups().CreateDBParameterGroup(create).status(),
              "DBParameterGroupAlreadyExists", 400, "Parameter group pg1 already exists");
  create["DBParameterGroupName"] = "1bad";
  ExpectError(cp_->groups().CreateDBParameterGroup(create).status(), "InvalidParameterValue", 400,
              testing::HasSubstr("DBParameterGroupName is not a valid identifier"));
  ExpectError(
      cp_->groups()
          .ModifyDBParameterGroup({{"DBParameterGroupName", "default.postgres15"},
                                   {"Parameters", {Param("work_mem", "8192", "immediate")}}})
          .status(),
      "InvalidParameterValue", 400, "Cannot modify a default parameter group.");
  ExpectError(
      cp_->groups().DeleteDBParameterGroup({{"DBParameterGroupName", "default.postgres15"}}),
      "InvalidDBParameterGroupState", 400,
      "Default DBParameterGroup cannot be deleted: default.postgres15");
  ExpectError(cp_->groups()
                  .ModifyDBParameterGroup({{"DBParameterGroupName", "pg1"},
                                           {"Parameters", {Param("work_mem", "1", "immediate")}}})
                  .status(),
              "InvalidParameterValue", 400,
              "Invalid parameter value: 1 for: work_mem allowed values are: 64-2147483647");
  ExpectError(cp_->groups().DeleteDBParameterGroup({{"DBParameterGroupName", "nope"}}),
              "DBParameterGroupNotFound", 404, "DBParameterGroup not found: nope");
  ExpectError(
      cp_->metadata()
          .ListTagsForResource({{"ResourceName", "arn:aws:rds:us-east-1:000000000000:pg:nope"}})
          .status(),
      "DBParameterGroupNotFound", 404, "DBParameterGroup not found: nope");
  // An instance's group cannot go while it is in use.
  json req = CreateReq("db1");
  req["DBParameterGroupName"] = "PG1";
  Wait(cp_->instances().CreateDBInstance(req)->operation_id);
  EXPECT_EQ(Describe("db1")["DBParameterGroups"][0]["DBParameterGroupName"], "pg1");
  ExpectError(cp_->groups().DeleteDBParameterGroup({{"DBParameterGroupName", "pg1"}}),
              "InvalidDBParameterGroupState", 400,
              "One or more database instances are still members of this parameter group pg1, so "
              "the group cannot be deleted");
  req = CreateReq("db2");
  req["DBParameterGroupName"] = "missing";
  ExpectError(cp_->instances().CreateDBInstance(req).status(), "DBParameterGroupNotFound", 404,
              "DBParameterGroup not found: missing");
}

TEST_F(GroupsTest, ParametersReachTheServerDynamicAtOnceStaticAtReboot) {
  Ok(cp_->groups().CreateDBParameterGroup({{"DBParameterGroupName", "pg1"},
                                           {"DBParameterGroupFamily", "postgres15"},
                                           {"Description", "d"}}));
  Ok(cp_->groups().ModifyDBParameterGroup(
      {{"DBParameterGroupName", "pg1"}, {"Parameters", {Param("work_mem", "8192", "immediate")}}}));
  json req = CreateReq("db1");
  req["DBParameterGroupName"] = "pg1";
  Wait(cp_->instances().CreateDBInstance(req)->operation_id);
  EXPECT_THAT(Conf("db1"), testing::HasSubstr("work_mem = '8192'\n"));
  // Dynamic and immediate: written and reloaded at once; the group stays in sync.
  const size_t before = runtime_.Sql().size();
  Ok(cp_->groups().ModifyDBParameterGroup(
      {{"DBParameterGroupName", "pg1"},
       {"Parameters", {Param("log_min_duration_statement", "0", "immediate")}}}));
  EXPECT_THAT(Conf("db1"), testing::HasSubstr("log_min_duration_statement = '0'\n"));
  bool reloaded = false;
  for (size_t i = before; i < runtime_.Sql().size(); ++i)
    reloaded = reloaded || runtime_.Sql()[i] == "SELECT pg_reload_conf()";
  EXPECT_TRUE(reloaded);
  EXPECT_EQ(Describe("db1")["DBParameterGroups"][0]["ParameterApplyStatus"], "in-sync");
  // Static (per class): pending a reboot, not in the server's configuration until then.
  Ok(cp_->groups().ModifyDBParameterGroup(
      {{"DBParameterGroupName", "pg1"},
       {"Parameters",
        {Param("shared_buffers", "{DBInstanceClassMemory/32768}", "pending-reboot")}}}));
  EXPECT_EQ(Describe("db1")["DBParameterGroups"][0]["ParameterApplyStatus"], "pending-reboot");
  EXPECT_THAT(Conf("db1"), testing::Not(testing::HasSubstr("shared_buffers = '")));
  auto reboot = cp_->instances().RebootDBInstance({{"DBInstanceIdentifier", "db1"}});
  ASSERT_TRUE(reboot.ok()) << reboot.status().ToString();
  Wait(reboot->operation_id);
  EXPECT_EQ(Describe("db1")["DBParameterGroups"][0]["ParameterApplyStatus"], "in-sync");
  // db.t3.micro: 1 GiB / 32768 = 32768 pages of 8 kB; after localrds' 16MB default.
  const std::string conf = Conf("db1");
  EXPECT_THAT(conf, testing::HasSubstr("shared_buffers = '32768'\n"));
  EXPECT_LT(conf.find("shared_buffers = 16MB"), conf.find("shared_buffers = '32768'"));
  // The values survive a restart of localrds.
  Restart();
  EXPECT_THAT(Conf("db1"), testing::HasSubstr("shared_buffers = '32768'\n"));
  EXPECT_EQ(Describe("db1")["DBParameterGroups"][0]["ParameterApplyStatus"], "in-sync");
}

TEST_F(GroupsTest, AnApplyCutShortByACrashIsFinishedAtStartup) {
  Ok(cp_->groups().CreateDBParameterGroup({{"DBParameterGroupName", "pg1"},
                                           {"DBParameterGroupFamily", "postgres15"},
                                           {"Description", "d"}}));
  json req = CreateReq("db1");
  req["DBParameterGroupName"] = "pg1";
  Wait(cp_->instances().CreateDBInstance(req)->operation_id);
  // What ModifyDBParameterGroup commits before it reloads the servers: the new value and
  // `applying` (a static change waits for a reboot as well). localrds dies there.
  const std::string rid = Describe("db1")["DbiResourceId"];
  {
    Registry::Locked reg = cp_->registry().Lock();
    InstanceRow row = reg.instances().at(rid);
    SetInstanceParameters(row.attrs, {{"log_min_duration_statement", "0"}});
    StartApplying(row, "pending-reboot");
    Mutation m;
    m.put.push_back(row);
    ASSERT_TRUE(reg.Commit(m).ok());
  }
  EXPECT_EQ(Describe("db1")["DBParameterGroups"][0]["ParameterApplyStatus"], "applying");
  EXPECT_THAT(Conf("db1"), testing::Not(testing::HasSubstr("log_min_duration_statement")));
  Restart();
  EXPECT_THAT(Conf("db1"), testing::HasSubstr("log_min_duration_statement = '0'\n"));
  EXPECT_EQ(Describe("db1")["DBParameterGroups"][0]["ParameterApplyStatus"], "pending-reboot");
  auto reboot = cp_->instances().RebootDBInstance({{"DBInstanceIdentifier", "db1"}});
  ASSERT_TRUE(reboot.ok()) << reboot.status().ToString();
  Wait(reboot->operation_id);
  EXPECT_EQ(Describe("db1")["DBParameterGroups"][0]["ParameterApplyStatus"], "in-sync");
}

TEST_F(GroupsTest, ParameterActionsBlockSoTheApiRunsThemOffItsThreads) {
  for (const char* a : {"ModifyDBParameterGroup", "ResetDBParameterGroup", "DescribeDBParameters",
                        "DescribeEngineDefaultParameters", "CreateDBParameterGroup"}) {
    EXPECT_TRUE(cp_->Blocks(a)) << a;
  }
  EXPECT_FALSE(cp_->Blocks("DescribeDBInstances"));
  std::promise<Result<Accepted>> got;
  cp_->CallAsync("DescribeEngineDefaultParameters", {{"DBParameterGroupFamily", "postgres15"}},
                 [&](Result<Accepted> r) { got.set_value(std::move(r)); });
  auto f = got.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  auto r = f.get();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body["EngineDefaults"]["DBParameterGroupFamily"], "postgres15");
  EXPECT_FALSE(r->body["EngineDefaults"]["Parameters"].empty());
}

TEST_F(GroupsTest, ModifyInstanceParameterGroupAppliesAtReboot) {
  Create("db1");
  EXPECT_EQ(Describe("db1")["DBParameterGroups"][0]["DBParameterGroupName"], "default.postgres15");
  Ok(cp_->groups().CreateDBParameterGroup({{"DBParameterGroupName", "pg1"},
                                           {"DBParameterGroupFamily", "postgres15"},
                                           {"Description", "d"}}));
  Ok(cp_->groups().ModifyDBParameterGroup(
      {{"DBParameterGroupName", "pg1"},
       {"Parameters", {Param("rds.logical_replication", "1", "pending-reboot")}}}));
  auto m = cp_->instances().ModifyDBInstance({{"DBInstanceIdentifier", "db1"},
                                              {"DBParameterGroupName", "pg1"},
                                              {"ApplyImmediately", true}});
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  Wait(m->operation_id);
  json pg = Describe("db1")["DBParameterGroups"][0];
  EXPECT_EQ(pg["DBParameterGroupName"], "pg1");
  EXPECT_EQ(pg["ParameterApplyStatus"], "pending-reboot");
  Wait(cp_->instances().RebootDBInstance({{"DBInstanceIdentifier", "db1"}})->operation_id);
  EXPECT_EQ(Describe("db1")["DBParameterGroups"][0]["ParameterApplyStatus"], "in-sync");
  EXPECT_THAT(Conf("db1"), testing::HasSubstr("wal_level = logical\n"));
}

TEST_F(GroupsTest, SubnetGroupsPlaceInstancesInTheirZones) {
  json g = Ok(
      cp_->groups().CreateDBSubnetGroup({{"DBSubnetGroupName", "App-Subnets"},
                                         {"DBSubnetGroupDescription", "Managed by Terraform"},
                                         {"SubnetIds", {"subnet-0aaa1111", "subnet-0bbb2222"}}}));
  EXPECT_EQ(g["DBSubnetGroupName"], "app-subnets");
  EXPECT_EQ(g["SubnetGroupStatus"], "Complete");
  ASSERT_EQ(g["Subnets"].size(), 2u);
  const std::string az1 = g["Subnets"][0]["SubnetAvailabilityZone"]["Name"];
  const std::string az2 = g["Subnets"][1]["SubnetAvailabilityZone"]["Name"];
  EXPECT_NE(az1, az2);
  EXPECT_EQ(g["VpcId"].get<std::string>().rfind("vpc-", 0), 0u);
  // The same subnet keeps its zone in another group.
  json other = Ok(
      cp_->groups().CreateDBSubnetGroup({{"DBSubnetGroupName", "other"},
                                         {"DBSubnetGroupDescription", "d"},
                                         {"SubnetIds", {"subnet-0bbb2222", "subnet-0ccc3333"}}}));
  EXPECT_EQ(other["Subnets"][0]["SubnetAvailabilityZone"]["Name"], az2);
  EXPECT_EQ(other["VpcId"], g["VpcId"]);
  for (const char* id : {"db1", "db2", "db3"}) {
    json req = CreateReq(id);
    req["DBSubnetGroupName"] = "app-subnets";
    Wait(cp_->instances().CreateDBInstance(req)->operation_id);
    json d = Describe(id);
    EXPECT_EQ(d["DBSubnetGroup"]["DBSubnetGroupName"], "app-subnets");
    EXPECT_EQ(d["DBSubnetGroup"]["Subnets"].size(), 2u);
    EXPECT_THAT(d["AvailabilityZone"].get<std::string>(), testing::AnyOf(az1, az2));
  }
  // A Multi-AZ instance's standby goes to the group's other zone.
  json attrs = {{"DBSubnetGroup", g},
                {"AvailabilityZone", "us-east-1f"},
                {"SecondaryAvailabilityZone", "us-east-1e"}};
  PlaceInSubnetGroup("db-X", attrs);
  EXPECT_THAT(attrs["AvailabilityZone"].get<std::string>(), testing::AnyOf(az1, az2));
  EXPECT_THAT(attrs["SecondaryAvailabilityZone"].get<std::string>(), testing::AnyOf(az1, az2));
  EXPECT_NE(attrs["SecondaryAvailabilityZone"], attrs["AvailabilityZone"]);
  json req = CreateReq("db4");
  req["DBSubnetGroupName"] = "app-subnets";
  req["AvailabilityZone"] = "us-east-1f";
  ExpectError(cp_->instances().CreateDBInstance(req).status(), "InvalidParameterCombination", 400,
              testing::HasSubstr("us-east-1f is not in DB subnet group app-subnets"));
  ExpectError(cp_->groups()
                  .CreateDBSubnetGroup({{"DBSubnetGroupName", "one"},
                                        {"DBSubnetGroupDescription", "d"},
                                        {"SubnetIds", {"subnet-0aaa1111"}}})
                  .status(),
              "DBSubnetGroupDoesNotCoverEnoughAZs", 400,
              "The DB subnet group doesn't meet Availability Zone (AZ) coverage requirement. "
              "Current AZ coverage: " +
                  az1 + ". Add subnets to cover at least 2 AZs.");
  ExpectError(cp_->groups().DeleteDBSubnetGroup({{"DBSubnetGroupName", "app-subnets"}}),
              "InvalidDBSubnetGroupStateFault", 400,
              testing::MatchesRegex("Cannot delete the subnet group 'app-subnets' because at "
                                    "least one database instance: db[123] is still using it\\."));
  ExpectError(cp_->groups().DescribeDBSubnetGroups({{"DBSubnetGroupName", "nope"}}).status(),
              "DBSubnetGroupNotFoundFault", 404, "DBSubnetGroup nope not found.");
  json def = Ok(cp_->groups().DescribeDBSubnetGroups({{"DBSubnetGroupName", "default"}}));
  EXPECT_EQ(def["DBSubnetGroups"][0]["Subnets"].size(), 6u);  // us-east-1a…f
  EXPECT_TRUE(cp_->groups().DeleteDBSubnetGroup({{"DBSubnetGroupName", "other"}}).ok());
}

TEST_F(GroupsTest, OptionGroups) {
  json g =
      Ok(cp_->groups().CreateOptionGroup({{"OptionGroupName", "App-OG"},
                                          {"EngineName", "postgres"},
                                          {"MajorEngineVersion", "15"},
                                          {"OptionGroupDescription", "Managed by Terraform"}}));
  EXPECT_EQ(g["OptionGroupName"], "app-og");
  EXPECT_EQ(g["Options"], json::array());
  json req = CreateReq("db1");
  req["OptionGroupName"] = "app-og";
  Wait(cp_->instances().CreateDBInstance(req)->operation_id);
  EXPECT_EQ(Describe("db1")["OptionGroupMemberships"][0]["OptionGroupName"], "app-og");
  ExpectError(cp_->groups().DeleteOptionGroup({{"OptionGroupName", "app-og"}}),
              "InvalidOptionGroupStateFault", 400,
              "The option group 'app-og' cannot be deleted because it is in use.");
  ExpectError(cp_->groups().DeleteOptionGroup({{"OptionGroupName", "default:postgres-15"}}),
              "InvalidOptionGroupStateFault", 400,
              "Default option group default:postgres-15 cannot be deleted.");
  ExpectError(cp_->groups().DescribeOptionGroups({{"OptionGroupName", "nope"}}).status(),
              "OptionGroupNotFoundFault", 404, "Specified OptionGroupName: nope not found.");
  ExpectError(cp_->groups()
                  .ModifyOptionGroup({{"OptionGroupName", "app-og"},
                                      {"OptionsToInclude", {{{"OptionName", "TIMEZONE"}}}}})
                  .status(),
              "InvalidParameterValue", 400,
              testing::HasSubstr("RDS for PostgreSQL has no options"));
  json all = Ok(cp_->groups().DescribeOptionGroups({{"EngineName", "postgres"}}));
  EXPECT_EQ(all["OptionGroupsList"].size(), 2u);
  EXPECT_EQ(Ok(cp_->groups().DescribeOptionGroupOptions(
                {{"EngineName", "postgres"}}))["OptionGroupOptions"],
            json::array());
}

TEST_F(GroupsTest, TagsOnAutomatedBackupsLiveAndRetained) {
  Create("db1");
  json backups = Ok(cp_->snapshots().DescribeDBInstanceAutomatedBackups(json::object()));
  const std::string arn = backups["DBInstanceAutomatedBackups"][0]["DBInstanceAutomatedBackupsArn"];
  EXPECT_EQ(backups["DBInstanceAutomatedBackups"][0]["TagList"], json::array());
  ASSERT_TRUE(cp_->metadata()
                  .AddTagsToResource(
                      {{"ResourceName", arn}, {"Tags", {{{"Key", "keep"}, {"Value", "30d"}}}}})
                  .ok());
  EXPECT_EQ(Ok(cp_->metadata().ListTagsForResource({{"ResourceName", arn}}))["TagList"][0]["Key"],
            "keep");
  // Kept when the instance goes and its backups are retained.
  Wait(cp_->instances()
           .DeleteDBInstance({{"DBInstanceIdentifier", "db1"},
                              {"SkipFinalSnapshot", true},
                              {"DeleteAutomatedBackups", false}})
           ->operation_id);
  json retained = Ok(cp_->snapshots().DescribeDBInstanceAutomatedBackups(json::object()));
  EXPECT_EQ(retained["DBInstanceAutomatedBackups"][0]["Status"], "retained");
  EXPECT_EQ(retained["DBInstanceAutomatedBackups"][0]["TagList"][0]["Value"], "30d");
  ASSERT_TRUE(
      cp_->metadata()
          .RemoveTagsFromResource({{"ResourceName", arn}, {"TagKeys", json::array({"keep"})}})
          .ok());
  EXPECT_EQ(Ok(cp_->metadata().ListTagsForResource({{"ResourceName", arn}}))["TagList"],
            json::array());
  const std::string other = "arn:aws:rds:us-east-1:000000000000:auto-backup:ab-nothing";
  ExpectError(cp_->metadata().ListTagsForResource({{"ResourceName", other}}).status(),
              "DBInstanceAutomatedBackupNotFound", 404,
              "No automated backup found for " + other + ".");
}

}  // namespace
}  // namespace localrds
