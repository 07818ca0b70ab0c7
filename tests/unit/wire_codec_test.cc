#include "api/wire_codec.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "common/utf8.h"

namespace localrds {

TEST(QueryStringTest, DecodesFormEncoding) {
  auto p = ParseQueryString("Action=CreateDBInstance&Tags.Tag.1.Value=a+b%2Fc&Empty=&Flag");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->at("Action"), "CreateDBInstance");
  EXPECT_EQ(p->at("Tags.Tag.1.Value"), "a b/c");
  EXPECT_EQ(p->at("Empty"), "");
  EXPECT_EQ(p->at("Flag"), "");
}

TEST(QueryStringTest, RejectsBadPercentEncoding) {
  auto p = ParseQueryString("Action=%ZZ");
  ASSERT_FALSE(p.ok());
  EXPECT_STREQ(p.status().info().code, "MalformedQueryString");
  EXPECT_EQ(p.status().info().http_status, 404);
}

TEST(WireCodecTest, DecodesListsStructuresAndScalarsByTheModel) {
  QueryParams params = {{"DBInstanceIdentifier", "Test"},
                        {"DBInstanceClass", "db.t3.micro"},
                        {"Engine", "postgres"},
                        {"AllocatedStorage", "20"},
                        {"MultiAZ", "false"},
                        {"PubliclyAccessible", "TRUE"},
                        {"Tags.Tag.1.Key", "env"},
                        {"Tags.Tag.1.Value", "dev"},
                        {"Tags.Tag.2.Key", "team"},
                        {"VpcSecurityGroupIds.VpcSecurityGroupId.1", "sg-1"},
                        {"Unknown.Param", "ignored"}};
  auto r = WireCodec::Builtin().DecodeRequest("CreateDBInstance", params);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const auto& j = *r;
  EXPECT_EQ(j["DBInstanceIdentifier"], "Test");
  EXPECT_EQ(j["AllocatedStorage"], 20);
  EXPECT_EQ(j["MultiAZ"], false);
  EXPECT_EQ(j["PubliclyAccessible"], true);
  ASSERT_EQ(j["Tags"].size(), 2u);
  EXPECT_EQ(j["Tags"][0]["Key"], "env");
  EXPECT_EQ(j["Tags"][0]["Value"], "dev");
  EXPECT_FALSE(j["Tags"][1].contains("Value"));
  EXPECT_EQ(j["VpcSecurityGroupIds"][0], "sg-1");
}

TEST(WireCodecTest, AnOptionalParameterSentEmptyIsAbsent) {
  auto r =
      WireCodec::Builtin().DecodeRequest("CreateDBInstance", {{"DBInstanceIdentifier", "db1"},
                                                              {"DBInstanceClass", "db.t3.micro"},
                                                              {"Engine", "postgres"},
                                                              {"EngineVersion", ""},
                                                              {"DBName", ""},
                                                              {"PreferredBackupWindow", ""},
                                                              {"Tags.Tag.1.Key", "k"},
                                                              {"Tags.Tag.1.Value", ""}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->contains("EngineVersion"));
  EXPECT_FALSE(r->contains("DBName"));
  EXPECT_FALSE(r->contains("PreferredBackupWindow"));
  EXPECT_EQ((*r)["Tags"][0]["Value"], "");  // a nested empty value is a value
  // A required one stays, for the action to refuse.
  auto blank = WireCodec::Builtin().DecodeRequest(
      "CreateDBInstance",
      {{"DBInstanceIdentifier", ""}, {"DBInstanceClass", "db.t3.micro"}, {"Engine", "postgres"}});
  ASSERT_TRUE(blank.ok());
  EXPECT_EQ((*blank)["DBInstanceIdentifier"], "");
}

TEST(WireCodecTest, DecodesNestedFilterValues) {
  QueryParams params = {{"Filters.Filter.1.Name", "engine"},
                        {"Filters.Filter.1.Values.Value.1", "postgres"},
                        {"Filters.Filter.1.Values.Value.2", "mysql"},
                        {"MaxRecords", "20"}};
  auto r = WireCodec::Builtin().DecodeRequest("DescribeDBInstances", params);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)["Filters"][0]["Name"], "engine");
  EXPECT_EQ((*r)["Filters"][0]["Values"].size(), 2u);
  EXPECT_EQ((*r)["MaxRecords"], 20);
}

TEST(WireCodecTest, MissingRequiredParameter) {
  auto r = WireCodec::Builtin().DecodeRequest("DeleteDBInstance", {{"SkipFinalSnapshot", "true"}});
  ASSERT_FALSE(r.ok());
  EXPECT_STREQ(r.status().info().code, "MissingParameter");
  EXPECT_EQ(r.status().info().http_status, 400);
  EXPECT_EQ(r.status().message(), "The request must contain the parameter DBInstanceIdentifier");
}

TEST(WireCodecTest, BadScalarsAreInvalidParameterValue) {
  auto r = WireCodec::Builtin().DecodeRequest("DescribeDBInstances", {{"MaxRecords", "twenty"}});
  ASSERT_FALSE(r.ok());
  EXPECT_STREQ(r.status().info().code, "InvalidParameterValue");
  auto b = WireCodec::Builtin().DecodeRequest(
      "DeleteDBInstance", {{"DBInstanceIdentifier", "x"}, {"SkipFinalSnapshot", "yes"}});
  ASSERT_FALSE(b.ok());
  EXPECT_STREQ(b.status().info().code, "InvalidParameterValue");
  auto big =
      WireCodec::Builtin().DecodeRequest("DescribeDBInstances", {{"MaxRecords", "99999999999"}});
  ASSERT_FALSE(big.ok());
}

TEST(WireCodecTest, IntegersMustBeWholeIntegers) {
  // "MaxRecords=20%00junk" decodes to "20\0junk": strtoll would stop at the NUL and read 20.
  auto parsed = ParseQueryString("MaxRecords=20%00junk");
  ASSERT_TRUE(parsed.ok());
  const std::string nul_junk = parsed->at("MaxRecords");
  ASSERT_EQ(nul_junk, std::string("20\0junk", 7));
  for (const std::string& bad :
       {nul_junk, std::string("20junk"), std::string(" 20"), std::string("20 "), std::string(""),
        std::string("0x14"), std::string("2e1"), std::string("20.0"), std::string("+"),
        std::string("+-20"), std::string("--20")}) {
    auto r = WireCodec::Builtin().DecodeRequest("DescribeDBInstances", {{"MaxRecords", bad}});
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_STREQ(r.status().info().code, "InvalidParameterValue");
    EXPECT_EQ(r.status().info().http_status, 400);
    EXPECT_EQ(r.status().message(),
              "Invalid value '" + bad + "' for parameter MaxRecords: it must be an integer.");
  }
  for (const auto& [text, value] : std::vector<std::pair<std::string, int>>{
           {"20", 20}, {"+20", 20}, {"-1", -1}, {"0020", 20}, {"2147483647", 2147483647}}) {
    auto r = WireCodec::Builtin().DecodeRequest("DescribeDBInstances", {{"MaxRecords", text}});
    ASSERT_TRUE(r.ok()) << text << ": " << r.status().ToString();
    EXPECT_EQ((*r)["MaxRecords"], value) << text;
  }
  EXPECT_FALSE(WireCodec::Builtin()
                   .DecodeRequest("DescribeDBInstances", {{"MaxRecords", "2147483648"}})
                   .ok());
}

TEST(WireCodecTest, BooleansMustBeWholeBooleans) {
  for (const std::string& bad :
       {std::string("true\0junk", 9), std::string("true "), std::string("1"), std::string("")}) {
    auto r = WireCodec::Builtin().DecodeRequest(
        "DeleteDBInstance", {{"DBInstanceIdentifier", "x"}, {"SkipFinalSnapshot", bad}});
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_STREQ(r.status().info().code, "InvalidParameterValue");
    EXPECT_EQ(r.status().message(), "Invalid value '" + bad +
                                        "' for parameter SkipFinalSnapshot: it must be true or "
                                        "false.");
  }
}

TEST(WireCodecTest, DoublesMustBeWholeFiniteNumbers) {
  const std::string key = "ServerlessV2ScalingConfiguration.MinCapacity";
  for (const std::string& bad : {std::string("0.5\0junk", 8), std::string("0.5x"),
                                 std::string("inf"), std::string("nan"), std::string(" 1")}) {
    auto r = WireCodec::Builtin().DecodeRequest("ModifyDBCluster",
                                                {{"DBClusterIdentifier", "c"}, {key, bad}});
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_STREQ(r.status().info().code, "InvalidParameterValue");
    EXPECT_EQ(r.status().message(), "Invalid value '" + bad + "' for parameter " + key);
  }
  auto ok = WireCodec::Builtin().DecodeRequest("ModifyDBCluster",
                                               {{"DBClusterIdentifier", "c"}, {key, "0.5"}});
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ((*ok)["ServerlessV2ScalingConfiguration"]["MinCapacity"], 0.5);
}

TEST(WireCodecTest, InvalidUtf8IsInvalidParameterValue) {
  auto r = WireCodec::Builtin().DecodeRequest(
      "AddTagsToResource", {{"ResourceName", "arn:aws:rds:us-east-1:000000000000:db:x"},
                            {"Tags.Tag.1.Key", "k"},
                            {"Tags.Tag.1.Value", "\xff"}});
  ASSERT_FALSE(r.ok());
  EXPECT_STREQ(r.status().info().code, "InvalidParameterValue");
  EXPECT_EQ(r.status().info().http_status, 400);
  for (const char* bad : {"\xc3", "\xc0\xaf", "a\xe2\x82"}) {
    EXPECT_FALSE(WireCodec::Builtin().DecodeRequest("DescribeDBInstances", {{"Marker", bad}}).ok())
        << bad;
  }
  auto ok = WireCodec::Builtin().DecodeRequest(
      "DescribeDBInstances", {{"Marker", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"}});
  EXPECT_TRUE(ok.ok());
}

TEST(WireCodecTest, SurrogatesOverlongsAndCharactersXmlCannotCarryAreRefused) {
  for (const char* bad : {"\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe0\x80\xbc"}) {
    auto r = WireCodec::Builtin().DecodeRequest(
        "AddTagsToResource", {{"ResourceName", "arn:aws:rds:us-east-1:000000000000:db:x"},
                              {"Tags.Tag.1.Key", "k"},
                              {"Tags.Tag.1.Value", bad}});
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().message(), "The value of parameter Tags.Tag.1.Value is not valid UTF-8.");
  }
  auto r = WireCodec::Builtin().DecodeRequest(
      "AddTagsToResource", {{"ResourceName", "arn:aws:rds:us-east-1:000000000000:db:x"},
                            {"Tags.Tag.1.Key", "k"},
                            {"Tags.Tag.1.Value", "\xef\xbf\xbf"}});
  ASSERT_FALSE(r.ok());
  EXPECT_STREQ(r.status().info().code, "InvalidParameterValue");
  EXPECT_EQ(r.status().message(),
            "The value of parameter Tags.Tag.1.Value contains the character U+FFFF, which is not "
            "allowed.");
}

// Whatever a string holds (stored before the checks above existed, or a message quoting raw
// input), the document stays UTF-8 made of characters XML 1.0 carries.
TEST(WireCodecTest, TheXmlIsWellFormedWhateverTheStringsHold) {
  const std::string hostile =
      std::string("a\xef\xbf\xbf b\xed\xa0\x80 c\xf4\x90\x80\x80 d\x80 e\x1b ") + "\xe2\x82";
  EXPECT_EQ(XmlEscape(hostile),
            "a\xEF\xBF\xBD b\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD c\xEF\xBF\xBD\xEF\xBF\xBD"
            "\xEF\xBF\xBD\xEF\xBF\xBD d\xEF\xBF\xBD e\xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD");
  nlohmann::json result = {
      {"DBInstances",
       {{{"DBInstanceIdentifier", "x"}, {"TagList", {{{"Key", "k"}, {"Value", hostile}}}}}}}};
  const std::string xml =
      WireCodec::Builtin().EncodeResponse("DescribeDBInstances", result, "req-1");
  EXPECT_TRUE(IsValidUtf8(xml));
  EXPECT_EQ(FirstNonXmlChar(xml), "");
  const std::string error = WireCodec::EncodeError(
      Status::Error(AwsError::kInvalidAction, "The action Describe" + hostile + " is not valid."),
      "req-2");
  EXPECT_TRUE(IsValidUtf8(error));
  EXPECT_EQ(FirstNonXmlChar(error), "");
}

TEST(WireCodecTest, ControlCharactersNeverReachTheXml) {
  EXPECT_EQ(XmlEscape(std::string("a\x01"
                                  "b\tc<")),
            "a\xEF\xBF\xBD"
            "b\tc&lt;");
}

TEST(WireCodecTest, EncodesWithTheModelsElementNames) {
  nlohmann::json result = {{"DBInstances",
                            {{{"DBInstanceIdentifier", "a<b"},
                              {"AllocatedStorage", 20},
                              {"MultiAZ", false},
                              {"TagList", {{{"Key", "k"}, {"Value", "v"}}}},
                              {"Endpoint", {{"Address", "127.0.0.1"}, {"Port", 5432}}}}}},
                           {"Marker", "m"}};
  std::string xml = WireCodec::Builtin().EncodeResponse("DescribeDBInstances", result, "rid-1");
  EXPECT_NE(
      xml.find("<DescribeDBInstancesResponse xmlns=\"http://rds.amazonaws.com/doc/2014-10-31/\">"
               "<DescribeDBInstancesResult>"),
      std::string::npos);
  EXPECT_NE(xml.find("<DBInstances><DBInstance>"), std::string::npos);
  EXPECT_NE(xml.find("<DBInstanceIdentifier>a&lt;b</DBInstanceIdentifier>"), std::string::npos);
  EXPECT_NE(xml.find("<MultiAZ>false</MultiAZ>"), std::string::npos);
  EXPECT_NE(xml.find("<TagList><Tag><Key>k</Key><Value>v</Value></Tag></TagList>"),
            std::string::npos);
  EXPECT_NE(xml.find("<Endpoint><Address>127.0.0.1</Address><Port>5432</Port></Endpoint>"),
            std::string::npos);
  EXPECT_NE(xml.find("<ResponseMetadata><RequestId>rid-1</RequestId></ResponseMetadata>"),
            std::string::npos);
}

TEST(WireCodecTest, EncodesActionsWithoutOutput) {
  std::string xml = WireCodec::Builtin().EncodeResponse("AddTagsToResource", {}, "r");
  EXPECT_NE(
      xml.find("<AddTagsToResourceResponse xmlns=\"http://rds.amazonaws.com/doc/2014-10-31/\">"
               "<ResponseMetadata>"),
      std::string::npos);
  EXPECT_EQ(xml.find("AddTagsToResourceResult"), std::string::npos);
}

TEST(WireCodecTest, ErrorEnvelope) {
  std::string xml = WireCodec::EncodeError(
      Status::Error(AwsError::kDBInstanceNotFound, "DBInstance x not found."), "rid");
  EXPECT_NE(xml.find("<ErrorResponse><Error><Type>Sender</Type><Code>DBInstanceNotFound</Code>"
                     "<Message>DBInstance x not found.</Message></Error><RequestId>rid</RequestId>"
                     "</ErrorResponse>"),
            std::string::npos);
  std::string internal = WireCodec::EncodeError(Status::Internal("boom"), "rid");
  EXPECT_NE(internal.find("<Type>Receiver</Type><Code>InternalFailure</Code>"), std::string::npos);
}

}  // namespace localrds
