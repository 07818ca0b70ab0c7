// The Router over a fake RdsService: routing of actions and controls, the request guard and the
// signature checks, and RDS's error envelope, with no PostgreSQL and no sockets.
#include "api/router.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "common/clock.h"
#include "common/log.h"

namespace localrds {
namespace http = boost::beast::http;
using nlohmann::json;

namespace {

const char* kSigV4 =
    "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/rds/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=0000";

class FakeService : public RdsService {
 public:
  bool Implements(const std::string& action) const override { return results.count(action); }
  Result<Accepted> Call(const std::string& action, const json& req) override {
    calls.push_back({action, req});
    call_threads.push_back(std::this_thread::get_id());
    return results.at(action);
  }
  bool Blocks(const std::string& action) const override { return blocking.count(action); }
  void CallAsync(const std::string& action, json req,
                 std::function<void(Result<Accepted>)> done) override {
    queued.push_back([this, action, req, done] { done(Call(action, req)); });
  }
  Result<InstancePage> ListDBInstances(const json& req) override {
    calls.push_back({"DescribeDBInstances", req});
    InstancePage page;
    page.instances.push_back(std::make_shared<const json>(
        json{{"DBInstanceIdentifier", "one"}, {"DBInstanceStatus", "available"}}));
    return page;
  }
  void WhenOperationDone(int64_t operation_id, std::function<void()> cb) override {
    waited.push_back(operation_id);
    cb();
  }
  Scope DefaultScope() const override { return {"000000000000", "us-east-1"}; }
  json Health() override { return {{"status", "running"}}; }
  Result<json> EventsWithIds(int limit) override { return json::array(); }
  void ResetAsync(std::function<void(Status)> done) override {
    ++resets;
    done(Status::Ok());
  }
  void CrashInstanceAsync(const InstanceRef& id, std::function<void(Status)> done) override {
    refs.push_back(id);
    done(Status::Error(AwsError::kDBInstanceNotFound, "DBInstance " + id.name + " not found."));
  }
  void FreezeInstanceAsync(const InstanceRef& id, bool freeze,
                           std::function<void(Status)> done) override {
    done(Status::Ok());
  }
  Result<json> InstanceDetails(const InstanceRef& id) override {
    refs.push_back(id);
    return json{{"DBInstanceIdentifier", id.name}};
  }
  Result<Accepted> BackupNow(const InstanceRef& id) override {
    return Accepted{{{"DBInstanceStatus", "backing-up"}}, 7};
  }
  Result<json> InstanceTiming(const InstanceRef& id) override {
    if (id.name != "db1") {
      return Status::Error(AwsError::kDBInstanceNotFound, "DBInstance " + id.name + " not found.");
    }
    return json{{"DBInstanceIdentifier", id.name}, {"timing", timing.ToJson()}};
  }
  Result<json> SetInstanceTiming(const InstanceRef& id,
                                 const std::optional<TimingProfile>& t) override {
    timing = t.value_or(TimingProfile{});
    return InstanceTiming(id);
  }
  bool RegionInOutage(const std::string& region) const override {
    return regions_out.count(region);
  }
  void SetOutageAsync(const std::string& name, bool zone, bool out,
                      std::function<void(Result<json>)> done) override {
    if (name == "mars-east-1" || name == "us-east-1z") {
      done(Status::InvalidParameter("Unknown region '" + name + "'"));
      return;
    }
    if (!zone) {
      if (out) {
        regions_out.insert(name);
      } else {
        regions_out.erase(name);
      }
    }
    done(json{{out ? "outage" : "recovered", name}, {"kind", zone ? "zone" : "region"}});
  }

  std::map<std::string, Result<Accepted>> results;
  std::vector<std::pair<std::string, json>> calls;
  std::vector<std::thread::id> call_threads;
  std::set<std::string> blocking;             //!< actions whose Call blocks
  std::vector<std::function<void()>> queued;  //!< CallAsync's work, for the test to run
  std::vector<int64_t> waited;
  std::vector<InstanceRef> refs;  //!< the instances the controls were asked about
  int resets = 0;
  TimingProfile timing;
  std::set<std::string> regions_out;
};

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override { LogLine::SetQuiet(true); }
  void TearDown() override { LogLine::SetQuiet(false); }

  HttpResponse Send(http::verb method, const std::string& target, const std::string& body,
                    std::vector<std::pair<std::string, std::string>> headers) {
    HttpRequest req{method, target, 11};
    req.set(http::field::host, "127.0.0.1:4566");
    for (auto& [k, v] : headers) {
      if (v.empty()) {
        req.erase(k);
      } else {
        req.set(k, v);
      }
    }
    req.body() = body;
    req.prepare_payload();
    std::optional<HttpResponse> got;
    router_.Handle(req, [&](HttpResponse res) { got = std::move(res); });
    ioc_.poll();
    EXPECT_TRUE(got.has_value()) << "no response";
    return got ? *got : HttpResponse{};
  }
  HttpResponse Api(const std::string& body, const char* auth = kSigV4) {
    return Send(http::verb::post, "/", body, {{"Authorization", auth ? auth : ""}});
  }
  //! The Code of an ErrorResponse body.
  static std::string Code(const HttpResponse& res) {
    const std::string& b = res.body();
    auto start = b.find("<Code>"), end = b.find("</Code>");
    return start == std::string::npos ? "" : b.substr(start + 6, end - start - 6);
  }
  static std::string Message(const HttpResponse& res) {
    const std::string& b = res.body();
    auto start = b.find("<Message>"), end = b.find("</Message>");
    return start == std::string::npos ? "" : b.substr(start + 9, end - start - 9);
  }

  HttpResponse Control(http::verb method, const std::string& path, const std::string& body = "") {
    return Send(method, path, body, {{"Content-Type", "application/json"}});
  }

  FakeService service_;
  boost::asio::io_context ioc_;
  FakeClock clock_;
  Router router_{service_, ioc_, RequestGuard("127.0.0.1", {}), std::chrono::seconds(5), clock_};
};

}  // namespace

TEST_F(RouterTest, AnActionReachesItsServiceDecodedAndAnswersInTheQueryShape) {
  service_.results.emplace("DescribeDBEngineVersions",
                           Accepted{{{"DBEngineVersions", json::array()}}, 0});
  HttpResponse res = Api("Action=DescribeDBEngineVersions&Version=2014-10-31&Engine=postgres");
  EXPECT_EQ(res.result_int(), 200);
  ASSERT_EQ(service_.calls.size(), 1u);
  EXPECT_EQ(service_.calls[0].first, "DescribeDBEngineVersions");
  EXPECT_EQ(service_.calls[0].second["Engine"], "postgres");
  EXPECT_NE(res.body().find("<DescribeDBEngineVersionsResponse xmlns=\"http://rds.amazonaws.com/"
                            "doc/2014-10-31/\"><DescribeDBEngineVersionsResult>"),
            std::string::npos)
      << res.body();
  EXPECT_NE(res.body().find("<RequestId>" + std::string(res["x-amzn-RequestId"]) + "</RequestId>"),
            std::string::npos);
}

TEST_F(RouterTest, DescribeDBInstancesTakesTheSharedRenderings) {
  service_.results.emplace("DescribeDBInstances", Accepted{});  // answered by ListDBInstances
  HttpResponse res = Api("Action=DescribeDBInstances&Version=2014-10-31");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_NE(res.body().find("<DBInstanceIdentifier>one</DBInstanceIdentifier>"), std::string::npos)
      << res.body();
}

TEST_F(RouterTest, AMutatingActionAnswersOnceItsOperationEnds) {
  service_.results.emplace("RebootDBInstance",
                           Accepted{{{"DBInstance", {{"DBInstanceStatus", "rebooting"}}}}, 42});
  HttpResponse res = Api("Action=RebootDBInstance&Version=2014-10-31&DBInstanceIdentifier=a");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(service_.waited, (std::vector<int64_t>{42}));
  EXPECT_NE(res.body().find("<DBInstanceStatus>rebooting</DBInstanceStatus>"), std::string::npos);
}

TEST_F(RouterTest, ABlockingActionRunsOffTheIoThreadAndAnswersFromThere) {
  service_.blocking = {"ModifyDBParameterGroup", "DescribeDBParameters"};
  service_.results.emplace("ModifyDBParameterGroup", Accepted{{{"DBParameterGroupName", "pg"}}, 0});
  service_.results.emplace(
      "DescribeDBParameters",
      Status::Error(AwsError::kDBParameterGroupNotFound, "DBParameterGroup not found: nope"));
  std::vector<HttpResponse> got;
  std::mutex got_mutex;
  for (const char* body : {"Action=ModifyDBParameterGroup&Version=2014-10-31&"
                           "DBParameterGroupName=pg&Parameters.Parameter.1.ParameterName=work_mem&"
                           "Parameters.Parameter.1.ParameterValue=8192&"
                           "Parameters.Parameter.1.ApplyMethod=immediate",
                           "Action=DescribeDBParameters&Version=2014-10-31&"
                           "DBParameterGroupName=nope"}) {
    HttpRequest req{http::verb::post, "/", 11};
    req.set(http::field::host, "127.0.0.1:4566");
    req.set(http::field::authorization, kSigV4);
    req.body() = body;
    req.prepare_payload();
    router_.Handle(req, [&](HttpResponse res) {
      std::lock_guard<std::mutex> lock(got_mutex);
      got.push_back(std::move(res));
    });
  }
  ioc_.poll();
  EXPECT_TRUE(service_.calls.empty()) << "a blocking action ran on the io_context thread";
  EXPECT_TRUE(got.empty());
  ASSERT_EQ(service_.queued.size(), 2u);
  std::thread worker([&] {
    for (auto& work : service_.queued) work();
  });
  worker.join();
  ASSERT_EQ(got.size(), 2u);
  ASSERT_EQ(service_.call_threads.size(), 2u);
  EXPECT_NE(service_.call_threads[0], std::this_thread::get_id());
  EXPECT_EQ(service_.calls[0].second["Parameters"][0]["ParameterValue"], "8192");
  EXPECT_EQ(got[0].result_int(), 200);
  EXPECT_NE(got[0].body().find("<ModifyDBParameterGroupResult><DBParameterGroupName>pg<"),
            std::string::npos)
      << got[0].body();
  EXPECT_FALSE(std::string(got[0]["x-amzn-RequestId"]).empty());
  EXPECT_EQ(got[1].result_int(), 404);
  EXPECT_EQ(Code(got[1]), "DBParameterGroupNotFound");
  EXPECT_EQ(Message(got[1]), "DBParameterGroup not found: nope");
}

TEST_F(RouterTest, ServiceErrorsGoOutInRdsEnvelopeWithTheirStatus) {
  service_.results.emplace("DeleteDBInstance",
                           Status::Error(AwsError::kDBInstanceNotFound, "DBInstance x not found."));
  HttpResponse res = Api("Action=DeleteDBInstance&Version=2014-10-31&DBInstanceIdentifier=x");
  EXPECT_EQ(res.result_int(), 404);
  EXPECT_EQ(Code(res), "DBInstanceNotFound");
  EXPECT_EQ(Message(res), "DBInstance x not found.");
  EXPECT_NE(res.body().find("<ErrorResponse><Error><Type>Sender</Type>"), std::string::npos);
}

TEST_F(RouterTest, ActionsLocalrdsDoesNotKnowOrImplement) {
  HttpResponse unknown = Api("Action=Nope&Version=2014-10-31");
  EXPECT_EQ(unknown.result_int(), 400);
  EXPECT_EQ(Code(unknown), "InvalidAction");
  EXPECT_EQ(Message(unknown), "The action Nope is not valid for this web service.");
  HttpResponse later = Api("Action=CreateDBCluster&Version=2014-10-31");
  EXPECT_EQ(Code(later), "InvalidAction");
  EXPECT_EQ(Message(later), "localrds does not implement the RDS action CreateDBCluster yet.");
  HttpResponse missing = Api("Version=2014-10-31");
  EXPECT_EQ(missing.result_int(), 400);
  EXPECT_EQ(Code(missing), "MissingAction");
  HttpResponse put = Send(http::verb::put, "/", "Action=DescribeDBInstances", {});
  EXPECT_EQ(put.result_int(), 400);
  EXPECT_EQ(Code(put), "InvalidAction");
  EXPECT_TRUE(service_.calls.empty());
}

TEST_F(RouterTest, SignaturesAreCheckedBeforeAnything) {
  service_.results.emplace("DeleteDBInstance", Accepted{{{"DBInstance", json::object()}}, 0});
  service_.results.emplace("DescribeDBInstances", Accepted{});
  HttpResponse unsigned_req = Api("Action=DeleteDBInstance&Version=2014-10-31", nullptr);
  EXPECT_EQ(unsigned_req.result_int(), 403);
  EXPECT_EQ(Code(unsigned_req), "MissingAuthenticationToken");
  EXPECT_EQ(Message(unsigned_req), "Request is missing Authentication Token");
  HttpResponse basic = Api("Action=DeleteDBInstance&Version=2014-10-31", "Basic dXNlcjpwYXNz");
  EXPECT_EQ(basic.result_int(), 400);
  EXPECT_EQ(Code(basic), "IncompleteSignature");
  const std::string presign =
      "&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20260101%2Fus-east-1%2Frds%2F"
      "aws4_request&X-Amz-Signature=00";
  HttpResponse presigned_delete =
      Send(http::verb::get, "/?Action=DeleteDBInstance&Version=2014-10-31" + presign, "", {});
  EXPECT_EQ(presigned_delete.result_int(), 403);
  EXPECT_EQ(Code(presigned_delete), "AccessDenied");
  EXPECT_TRUE(service_.calls.empty());
  HttpResponse presigned_read =
      Send(http::verb::get, "/?Action=DescribeDBInstances&Version=2014-10-31" + presign, "", {});
  EXPECT_EQ(presigned_read.result_int(), 200);
}

TEST_F(RouterTest, WebPagesAreRefusedOnTheApiAndTheControls) {
  HttpResponse rebinding = Send(http::verb::get, "/_localrds/health", "",
                                {{"Host", "evil.example:4566"}, {"Sec-Fetch-Site", "same-origin"}});
  EXPECT_EQ(rebinding.result_int(), 403);
  EXPECT_EQ(Code(rebinding), "AccessDenied");
  EXPECT_EQ(rebinding.body().find("running"), std::string::npos);
  HttpResponse form =
      Send(http::verb::post, "/_localrds/reset", "", {{"Origin", "http://evil.example"}});
  EXPECT_EQ(form.result_int(), 403);
  EXPECT_EQ(service_.resets, 0);
  HttpResponse api = Send(http::verb::post, "/", "Action=DescribeDBInstances&Version=2014-10-31",
                          {{"Authorization", kSigV4}, {"Sec-Fetch-Site", "cross-site"}});
  EXPECT_EQ(api.result_int(), 403);
  EXPECT_EQ(Code(api), "AccessDenied");
  EXPECT_TRUE(service_.calls.empty());
}

TEST_F(RouterTest, TheControls) {
  HttpResponse health = Send(http::verb::get, "/_localrds/health", "", {});
  EXPECT_EQ(health.result_int(), 200);
  EXPECT_EQ(json::parse(health.body())["status"], "running");
  HttpResponse reset = Send(http::verb::post, "/_localrds/reset", "", {});
  EXPECT_EQ(reset.result_int(), 200);
  EXPECT_EQ(service_.resets, 1);
  HttpResponse crash = Send(http::verb::post, "/_localrds/instances/nope/crash", "", {});
  EXPECT_EQ(crash.result_int(), 404);
  EXPECT_EQ(json::parse(crash.body())["error"], "DBInstanceNotFound");
  HttpResponse details = Send(http::verb::get, "/_localrds/instances/db1", "", {});
  EXPECT_EQ(json::parse(details.body())["DBInstanceIdentifier"], "db1");
  HttpResponse backup = Send(http::verb::post, "/_localrds/instances/db1/backup", "", {});
  EXPECT_EQ(backup.result_int(), 202);
  EXPECT_EQ(json::parse(backup.body())["status"], "backing-up");
  // Changing things takes POST: a GET of a drill is no control.
  HttpResponse get_reset = Send(http::verb::get, "/_localrds/reset", "", {});
  EXPECT_EQ(get_reset.result_int(), 404);
  EXPECT_EQ(service_.resets, 1);
}

TEST_F(RouterTest, AFaultRuleAnswersItsErrorCountTimesThenTheActionRuns) {
  service_.results.emplace("RebootDBInstance",
                           Accepted{{{"DBInstance", {{"DBInstanceStatus", "rebooting"}}}}, 0});
  HttpResponse added = Control(http::verb::post, "/_localrds/faults",
                               R"({"action": "RebootDBInstance", "count": 2,
                                   "error": {"code": "InternalFailure", "http_status": 500,
                                             "message": "injected <boom>"}})");
  ASSERT_EQ(added.result_int(), 201) << added.body();
  EXPECT_EQ(json::parse(added.body())["fault"]["count"], 2);
  const std::string reboot = "Action=RebootDBInstance&Version=2014-10-31&DBInstanceIdentifier=a";
  for (int i = 0; i < 2; ++i) {
    HttpResponse res = Api(reboot);
    EXPECT_EQ(res.result_int(), 500);
    EXPECT_EQ(Code(res), "InternalFailure");
    EXPECT_EQ(Message(res), "injected &lt;boom&gt;");
    EXPECT_NE(res.body().find("<Type>Receiver</Type>"), std::string::npos);
  }
  EXPECT_TRUE(service_.calls.empty());  // an injected error runs nothing
  EXPECT_EQ(Api(reboot).result_int(), 200);
  EXPECT_EQ(service_.calls.size(), 1u);
  EXPECT_EQ(json::parse(Control(http::verb::get, "/_localrds/faults").body())["faults"],
            json::array());
}

TEST_F(RouterTest, AThrottledActionGetsRdsThrottlingUntilItsBucketRefills) {
  service_.results.emplace("DescribeDBEngineVersions",
                           Accepted{{{"DBEngineVersions", json::array()}}, 0});
  ASSERT_EQ(Control(http::verb::post, "/_localrds/faults",
                    R"({"action": "*", "rate_per_second": 2, "burst": 2})")
                .result_int(),
            201);
  const std::string describe = "Action=DescribeDBEngineVersions&Version=2014-10-31";
  EXPECT_EQ(Api(describe).result_int(), 200);
  EXPECT_EQ(Api(describe).result_int(), 200);
  HttpResponse throttled = Api(describe);
  EXPECT_EQ(throttled.result_int(), 400);
  EXPECT_EQ(Code(throttled), "Throttling");
  EXPECT_EQ(Message(throttled), "Rate exceeded");
  EXPECT_NE(throttled.body().find("<Type>Sender</Type>"), std::string::npos);
  clock_.Advance(500);  // one token at 2 per second
  EXPECT_EQ(Api(describe).result_int(), 200);
  EXPECT_EQ(Api(describe).result_int(), 400);
  // Reset clears the rules.
  EXPECT_EQ(Control(http::verb::post, "/_localrds/reset").result_int(), 200);
  EXPECT_EQ(Api(describe).result_int(), 200);
}

TEST_F(RouterTest, InjectedLatencyDelaysTheAnswer) {
  service_.results.emplace("DescribeDBEngineVersions",
                           Accepted{{{"DBEngineVersions", json::array()}}, 0});
  ASSERT_EQ(Control(http::verb::post, "/_localrds/faults",
                    R"({"action": "DescribeDBEngineVersions", "latency_ms": 30})")
                .result_int(),
            201);
  HttpRequest req{http::verb::post, "/", 11};
  req.set(http::field::host, "127.0.0.1:4566");
  req.set(http::field::authorization, kSigV4);
  req.body() = "Action=DescribeDBEngineVersions&Version=2014-10-31";
  req.prepare_payload();
  std::optional<HttpResponse> got;
  router_.Handle(req, [&](HttpResponse res) { got = std::move(res); });
  ioc_.poll();
  EXPECT_FALSE(got.has_value());  // still waiting out its latency
  ioc_.restart();
  ioc_.run_for(std::chrono::seconds(5));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->result_int(), 200);
}

TEST_F(RouterTest, FaultRulesAreCheckedListedAndRemoved) {
  for (const auto& [body, message] : std::vector<std::pair<std::string, std::string>>{
           {"not json", "fault rule: the body must be a JSON object"},
           {R"({"action": "Nope", "latency_ms": 1})", "fault rule: \"Nope\" is not an RDS action"},
           {R"({"action": "*"})",
            "fault rule: a rule needs \"error\", \"latency_ms\" or \"rate_per_second\""},
           {R"({"action": "*", "error": {"code": "a b"}})",
            "fault rule: \"error.code\" must be an AWS error code"},
           {R"({"action": "*", "error": {"code": "X", "http_status": 200}})",
            "fault rule: \"error.http_status\" must be an integer from 400 to 599"},
           {R"({"action": "*", "error": {"code": "X"}, "probability": 0})",
            "fault rule: \"probability\" must be above 0 and at most 1"},
           {R"({"action": "*", "latency_ms": 1, "count": 2})",
            "fault rule: \"count\" counts errors: give \"error\""}}) {
    HttpResponse res = Control(http::verb::post, "/_localrds/faults", body);
    EXPECT_EQ(res.result_int(), 400) << body;
    EXPECT_EQ(json::parse(res.body())["message"], message) << body;
  }
  Control(http::verb::post, "/_localrds/faults", R"({"action": "*", "latency_ms": 5})");
  HttpResponse second = Control(http::verb::post, "/_localrds/faults",
                                R"({"action": "StopDBInstance", "error": {"code": "X"}})");
  const int id = json::parse(second.body())["fault"]["id"];
  EXPECT_EQ(json::parse(Control(http::verb::get, "/_localrds/faults").body())["faults"].size(), 2u);
  EXPECT_EQ(Control(http::verb::delete_, "/_localrds/faults/" + std::to_string(id)).result_int(),
            200);
  EXPECT_EQ(Control(http::verb::delete_, "/_localrds/faults/" + std::to_string(id)).result_int(),
            404);
  EXPECT_EQ(Control(http::verb::delete_, "/_localrds/faults/x").result_int(), 404);
  EXPECT_EQ(Control(http::verb::delete_, "/_localrds/faults").result_int(), 200);
  EXPECT_EQ(json::parse(Control(http::verb::get, "/_localrds/faults").body())["faults"],
            json::array());
}

TEST(FaultRulesTest, AProbabilityFiresAboutThatOften) {
  FakeClock clock;
  FaultRules rules(
      clock, [](const std::string&) { return true; }, 42);
  ASSERT_TRUE(rules.Add({{"action", "A"}, {"error", {{"code", "X"}}}, {"probability", 0.25}}).ok());
  int fired = 0;
  for (int i = 0; i < 4000; ++i) fired += rules.Decide("A").error.has_value();
  EXPECT_GT(fired, 800);
  EXPECT_LT(fired, 1200);
  EXPECT_FALSE(rules.Decide("B").error.has_value());  // another action
}

TEST_F(RouterTest, TheTimingControlReadsSetsAndClearsAnInstancesProfile) {
  HttpResponse got = Control(http::verb::get, "/_localrds/instances/db1/timing");
  EXPECT_EQ(got.result_int(), 200);
  EXPECT_EQ(json::parse(got.body())["timing"]["profile"], "fast");
  HttpResponse set = Control(http::verb::post, "/_localrds/instances/db1/timing",
                             R"({"profile": "aws", "scale": 0.05})");
  EXPECT_EQ(set.result_int(), 200);
  EXPECT_EQ(json::parse(set.body())["timing"], (json{{"profile", "aws"}, {"scale", 0.05}}));
  EXPECT_EQ(service_.timing, (TimingProfile{true, 0.05}));
  HttpResponse cleared = Control(http::verb::delete_, "/_localrds/instances/db1/timing");
  EXPECT_EQ(cleared.result_int(), 200);
  EXPECT_EQ(service_.timing, TimingProfile{});
  // Errors: a bad body (400, nothing changes), an unknown instance (404), another method (405).
  service_.timing = TimingProfile{true, 2};
  HttpResponse bad =
      Control(http::verb::post, "/_localrds/instances/db1/timing", R"({"profile": "slow"})");
  EXPECT_EQ(bad.result_int(), 400);
  EXPECT_EQ(json::parse(bad.body())["error"], "InvalidParameterValue");
  EXPECT_EQ(json::parse(bad.body())["message"],
            "the body must be {\"profile\": \"fast\"} or {\"profile\": \"aws\", \"scale\": "
            "<number, 0 < scale <= 100, default 1>}");
  HttpResponse garbage = Control(http::verb::post, "/_localrds/instances/db1/timing", "{");
  EXPECT_EQ(garbage.result_int(), 400);
  EXPECT_EQ(service_.timing, (TimingProfile{true, 2}));
  HttpResponse missing = Control(http::verb::get, "/_localrds/instances/nope/timing");
  EXPECT_EQ(missing.result_int(), 404);
  EXPECT_EQ(json::parse(missing.body())["error"], "DBInstanceNotFound");
  EXPECT_EQ(json::parse(missing.body())["message"], "DBInstance nope not found.");
  HttpResponse put = Control(http::verb::put, "/_localrds/instances/db1/timing", "{}");
  EXPECT_EQ(put.result_int(), 405);
  EXPECT_EQ(json::parse(put.body())["message"],
            "/_localrds/instances/<id>/timing takes GET, POST and DELETE");
}

TEST_F(RouterTest, ARegionInAnOutageDrillAnswersServiceUnavailableAndOthersStillWork) {
  service_.results.emplace("DescribeDBEngineVersions", Accepted{});
  HttpResponse out = Control(http::verb::post, "/_localrds/regions/us-east-1/outage");
  EXPECT_EQ(out.result_int(), 200);
  EXPECT_EQ(json::parse(out.body())["outage"], "us-east-1");
  // The request's Region is its SigV4 credential scope's (kSigV4: us-east-1).
  HttpResponse down = Api("Action=DescribeDBEngineVersions&Version=2014-10-31");
  EXPECT_EQ(down.result_int(), 503);
  EXPECT_EQ(Code(down), "ServiceUnavailable");
  EXPECT_EQ(Message(down), "Service is unavailable. Please try again later.");
  EXPECT_NE(down.body().find("<Type>Receiver</Type>"), std::string::npos);
  EXPECT_FALSE(down["x-amzn-RequestId"].empty());
  // Even an action localrds does not know: nothing of the Region answers.
  EXPECT_EQ(Api("Action=Nope&Version=2014-10-31").result_int(), 503);
  const std::string west =
      "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-west-2/rds/aws4_request, "
      "SignedHeaders=host;x-amz-date, Signature=0000";
  HttpResponse up = Api("Action=DescribeDBEngineVersions&Version=2014-10-31", west.c_str());
  EXPECT_EQ(up.result_int(), 200);
  ASSERT_EQ(service_.calls.size(), 1u);
  EXPECT_EQ(service_.calls[0].second[kScopeMember]["region"], "us-west-2");
  // The controls still answer; recovery brings the Region back.
  EXPECT_EQ(Control(http::verb::get, "/_localrds/health").result_int(), 200);
  HttpResponse back = Control(http::verb::post, "/_localrds/regions/us-east-1/recover");
  EXPECT_EQ(back.result_int(), 200);
  EXPECT_EQ(json::parse(back.body())["recovered"], "us-east-1");
  EXPECT_EQ(Api("Action=DescribeDBEngineVersions&Version=2014-10-31").result_int(), 200);
}

TEST_F(RouterTest, TheOutageControlsTakePostAndAKnownName) {
  HttpResponse zone = Control(http::verb::post, "/_localrds/zones/us-east-1a/outage");
  EXPECT_EQ(zone.result_int(), 200);
  EXPECT_EQ(json::parse(zone.body())["kind"], "zone");
  HttpResponse bad = Control(http::verb::post, "/_localrds/regions/mars-east-1/outage");
  EXPECT_EQ(bad.result_int(), 400);
  EXPECT_EQ(json::parse(bad.body())["error"], "InvalidParameterValue");
  HttpResponse bad_zone = Control(http::verb::post, "/_localrds/zones/us-east-1z/recover");
  EXPECT_EQ(bad_zone.result_int(), 400);
  EXPECT_EQ(Control(http::verb::get, "/_localrds/regions/us-east-1/outage").result_int(), 404);
  EXPECT_EQ(Control(http::verb::post, "/_localrds/regions/us-east-1/explode").result_int(), 404);
  EXPECT_TRUE(service_.regions_out.empty());
}

// --- the console (api/console.h) ------------------------------------------------------------

class ConsoleRouterTest : public RouterTest {
 protected:
  HttpResponse Console(http::verb method, const std::string& target, const std::string& body = "",
                       const std::string& token = "",
                       std::vector<std::pair<std::string, std::string>> headers = {}) {
    if (!token.empty()) headers.push_back({kConsoleTokenHeader, token});
    return Send(method, target, body, headers);
  }
  std::string NewSession(Router& router, const std::string& body = "{}") {
    HttpRequest req{http::verb::post, "/console/api/session", 11};
    req.set(http::field::host, "127.0.0.1:4566");
    req.body() = body;
    req.prepare_payload();
    std::optional<HttpResponse> got;
    router.Handle(req, [&](HttpResponse res) { got = std::move(res); });
    ioc_.poll();
    if (!got || got->result_int() != 200) return "";
    return json::parse(got->body())["token"];
  }
  static json Body(const HttpResponse& res) { return json::parse(res.body(), nullptr, false); }
};

TEST_F(ConsoleRouterTest, ABrowserAtTheRootIsSentToTheConsoleAndSdksAreNot) {
  HttpResponse browser = Send(http::verb::get, "/", "", {{"Accept", "text/html,*/*;q=0.8"}});
  EXPECT_EQ(browser.result_int(), 302);
  EXPECT_EQ(browser[http::field::location], "/console/");
  HttpResponse bare = Send(http::verb::get, "/console", "", {});
  EXPECT_EQ(bare.result_int(), 302);
  // An SDK's GET or POST to / is the Query API's, as before.
  HttpResponse sdk = Send(http::verb::get, "/", "", {{"Authorization", kSigV4}});
  EXPECT_EQ(Code(sdk), "MissingAction");
  HttpResponse missing = Send(http::verb::get, "/console/no-such-file.js", "", {});
  EXPECT_EQ(missing.result_int(), 404);
  EXPECT_EQ(missing["X-Frame-Options"], "DENY");
  EXPECT_NE(std::string(missing["Content-Security-Policy"]).find("frame-ancestors 'none'"),
            std::string::npos);
  EXPECT_NE(std::string(missing["Content-Security-Policy"]).find("script-src 'self'"),
            std::string::npos);
  HttpResponse info = Send(http::verb::get, "/console/api/info", "", {});
  EXPECT_EQ(info.result_int(), 200);
  EXPECT_EQ(Body(info)["credentialsRequired"], false);
  EXPECT_EQ(Body(info)["defaultRegion"], "us-east-1");
  EXPECT_EQ(info["Cache-Control"], "no-store");
}

TEST_F(ConsoleRouterTest, TheConsolesFilesAreServedFromTheBinary) {
  HttpResponse index = Send(http::verb::get, "/console/", "", {});
  EXPECT_EQ(index.result_int(), 200);
  EXPECT_EQ(index[http::field::content_type], "text/html; charset=utf-8");
  EXPECT_NE(index.body().find("<script src=\"app.js\""), std::string::npos);
  HttpResponse app = Send(http::verb::get, "/console/app.js", "", {});
  EXPECT_EQ(app.result_int(), 200);
  EXPECT_EQ(app[http::field::content_type], "text/javascript; charset=utf-8");
  EXPECT_NE(app.body().find("LocalrdsConsole"), std::string::npos);
  EXPECT_EQ(app["X-Content-Type-Options"], "nosniff");
  EXPECT_EQ(Send(http::verb::post, "/console/app.js", "", {}).result_int(), 405);
  EXPECT_EQ(Send(http::verb::get, "/console/../CMakeLists.txt", "", {}).result_int(), 404);
  EXPECT_TRUE(service_.calls.empty());
}

TEST_F(ConsoleRouterTest, EveryCallButInfoAndSessionNeedsTheSessionsToken) {
  service_.results.emplace("DescribeDBInstances", Accepted{});
  for (const auto& [method, target, body] :
       std::vector<std::tuple<http::verb, std::string, std::string>>{
           {http::verb::post, "/console/api/rds", "Action=DescribeDBInstances"},
           {http::verb::post, "/console/api/sql", R"({"sql": "SELECT 1"})"},
           {http::verb::post, "/console/api/drill/fault", R"({"fault": "crash"})"},
           {http::verb::get, "/console/api/drill?DBInstanceIdentifier=db1", ""}}) {
    for (const std::string& token : {std::string(), std::string(64, 'a')}) {
      HttpResponse res = Console(method, target, body, token);
      EXPECT_EQ(res.result_int(), 403) << target;
      EXPECT_EQ(Body(res)["error"]["code"], "AccessDenied") << target;
    }
  }
  EXPECT_TRUE(service_.calls.empty());
  const std::string token = NewSession(router_);
  ASSERT_EQ(token.size(), 64u);
  EXPECT_NE(NewSession(router_), token);  // one per page
  HttpResponse ok =
      Console(http::verb::post, "/console/api/rds", "Action=DescribeDBInstances", token);
  EXPECT_EQ(ok.result_int(), 200);
  EXPECT_EQ(Body(ok)["result"]["DBInstances"][0]["DBInstanceIdentifier"], "one");
  // A page of another origin is refused before any token matters.
  HttpResponse cross =
      Console(http::verb::post, "/console/api/rds", "Action=DescribeDBInstances", token,
              {{"Origin", "http://127.0.0.2:8000"}, {"Sec-Fetch-Site", "cross-site"}});
  EXPECT_EQ(cross.result_int(), 403);
  HttpResponse cross_session =
      Send(http::verb::post, "/console/api/session", "{}", {{"Sec-Fetch-Site", "cross-site"}});
  EXPECT_EQ(cross_session.result_int(), 403);
  EXPECT_EQ(cross_session.body().find("token"), std::string::npos);
}

TEST_F(ConsoleRouterTest, RdsActionsRunTheQueryApisDecodingAndServicesAndAnswerJson) {
  service_.results.emplace(
      "CreateDBSnapshot",
      Accepted{{{"DBSnapshot", {{"DBSnapshotIdentifier", "s1"}, {"Status", "creating"}}}}, 9});
  service_.results.emplace("DeleteDBInstance",
                           Status::Error(AwsError::kDBInstanceNotFound, "DBInstance x not found."));
  const std::string token = NewSession(router_);
  HttpResponse snap = Console(http::verb::post, "/console/api/rds?region=eu-west-1",
                              "Action=CreateDBSnapshot&DBInstanceIdentifier=db1&"
                              "DBSnapshotIdentifier=s1&Tags.Tag.1.Key=k&Tags.Tag.1.Value=v",
                              token);
  EXPECT_EQ(snap.result_int(), 200);
  EXPECT_EQ(Body(snap)["result"]["DBSnapshot"]["Status"], "creating");
  EXPECT_FALSE(Body(snap)["requestId"].get<std::string>().empty());
  EXPECT_EQ(service_.waited, (std::vector<int64_t>{9}));  // answered as RDS would
  ASSERT_EQ(service_.calls.size(), 1u);
  const json& req = service_.calls[0].second;  // decoded by the Query API's codec
  EXPECT_EQ(req["Tags"], json::parse(R"([{"Key": "k", "Value": "v"}])"));
  EXPECT_EQ(RequestScope(req, {}).region, "eu-west-1");
  EXPECT_EQ(RequestScope(req, {}).account, "000000000000");
  HttpResponse gone = Console(http::verb::post, "/console/api/rds",
                              "Action=DeleteDBInstance&DBInstanceIdentifier=x&"
                              "SkipFinalSnapshot=true",
                              token);
  EXPECT_EQ(gone.result_int(), 404);
  EXPECT_EQ(Body(gone)["error"], json::parse(R"({"code": "DBInstanceNotFound",
      "message": "DBInstance x not found.", "type": "Sender"})"));
  HttpResponse bad = Console(http::verb::post, "/console/api/rds",
                             "Action=DescribeDBInstances&MaxRecords=lots", token);
  EXPECT_EQ(bad.result_int(), 400);
  EXPECT_EQ(service_.calls.size(), 2u);  // refused by the codec, as on the Query API
  HttpResponse nope = Console(http::verb::post, "/console/api/rds?region=mars-east-1",
                              "Action=DescribeDBInstances", token);
  EXPECT_EQ(nope.result_int(), 400);
  EXPECT_EQ(Body(nope)["error"]["code"], "InvalidParameterValue");
  EXPECT_EQ(Body(Console(http::verb::post, "/console/api/rds", "Version=2014-10-31",
                         token))["error"]["code"],
            "MissingAction");
}

TEST_F(ConsoleRouterTest, TheOldestSessionIsForgottenFirst) {
  service_.results.emplace("DescribeDBInstances", Accepted{});
  const std::string first = NewSession(router_);
  const std::string second = NewSession(router_);
  for (int i = 2; i < 1000; ++i) NewSession(router_);
  auto works = [&](const std::string& token) {
    return Console(http::verb::post, "/console/api/rds", "Action=DescribeDBInstances", token)
               .result_int() == 200;
  };
  EXPECT_TRUE(works(first));  // 1000 sessions: all kept
  const std::string last = NewSession(router_);
  EXPECT_FALSE(works(first));  // the 1001st pushes out the oldest, whatever its token
  EXPECT_TRUE(works(second));
  EXPECT_TRUE(works(last));
}

TEST_F(ConsoleRouterTest, WithCredentialsASessionNeedsAnAccessKeyAndItsSecret) {
  RequestGuard strict("127.0.0.1", {});
  strict.SetAccounts("000000000000",
                     CredentialStore{{"AKIDTEAM", {"team-secret", "123456789012"}}});
  Router router{service_, ioc_, strict, std::chrono::seconds(5), clock_};
  EXPECT_EQ(NewSession(router, "{}"), "");
  EXPECT_EQ(NewSession(router, R"({"accessKeyId": "AKIDTEAM", "secretAccessKey": "wrong"})"), "");
  EXPECT_EQ(NewSession(router, R"({"accessKeyId": "AKIDTEAM", "secretAccessKey": "team-secre"})"),
            "");
  const std::string token =
      NewSession(router, R"({"accessKeyId": "AKIDTEAM", "secretAccessKey": "team-secret"})");
  ASSERT_FALSE(token.empty());
  service_.results.emplace("DescribeDBInstances", Accepted{});
  HttpRequest req{http::verb::post, "/console/api/rds", 11};
  req.set(http::field::host, "127.0.0.1:4566");
  req.set(kConsoleTokenHeader, token);
  req.body() = "Action=DescribeDBInstances";
  req.prepare_payload();
  std::optional<HttpResponse> got;
  router.Handle(req, [&](HttpResponse res) { got = std::move(res); });
  ioc_.poll();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->result_int(), 200);
  ASSERT_FALSE(service_.calls.empty());
  EXPECT_EQ(RequestScope(service_.calls.back().second, {}).account, "123456789012");
}

TEST_F(ConsoleRouterTest, WorkshopCallsGoToTheServiceInTheSessionsScope) {
  const std::string token = NewSession(router_);
  HttpResponse sql = Console(http::verb::post, "/console/api/sql?region=eu-west-1",
                             R"({"DBInstanceIdentifier": "db1", "sql": "SELECT 1"})", token);
  // The fake service has no query editor: RdsService's default answer, in the console's JSON.
  EXPECT_EQ(sql.result_int(), 400);
  EXPECT_EQ(Body(sql)["error"]["code"], "InvalidAction");
  HttpResponse not_json = Console(http::verb::post, "/console/api/sql", "SELECT 1", token);
  EXPECT_EQ(not_json.result_int(), 400);
  EXPECT_EQ(Body(not_json)["error"]["code"], "InvalidParameterValue");
  HttpResponse unknown = Console(http::verb::get, "/console/api/nothing", "", token);
  EXPECT_EQ(unknown.result_int(), 400);
  EXPECT_EQ(Body(unknown)["error"]["code"], "InvalidAction");
}

}  // namespace localrds
