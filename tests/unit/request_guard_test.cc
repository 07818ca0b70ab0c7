// RequestGuard: which requests may reach localrds at all (Host, browser context, signatures).
#include "api/request_guard.h"

#include <gtest/gtest.h>

#include "tests/unit/botocore_requests.h"

namespace localrds {
namespace http = boost::beast::http;

namespace {

HttpRequest Request(std::vector<std::pair<std::string, std::string>> headers,
                    http::verb method = http::verb::get) {
  HttpRequest req{method, "/", 11};
  for (auto& [k, v] : headers) req.set(k, v);
  return req;
}

std::string Reason(const std::optional<Refusal>& r) { return r ? r->reason : "allowed"; }

const char* kSigV4 =
    "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/rds/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=0000";

QueryParams Presigned(const std::string& action) {
  return {{"Action", action},
          {"X-Amz-Algorithm", "AWS4-HMAC-SHA256"},
          {"X-Amz-Credential", "AKID/20260101/us-east-1/rds/aws4_request"},
          {"X-Amz-Signature", std::string(64, '0')}};
}

}  // namespace

TEST(RequestGuardTest, HostsThatNameThisServerAreAllowed) {
  RequestGuard guard("127.0.0.1", {"rds.lan.example"});
  for (const char* host :
       {"localhost", "LOCALHOST:4566", "localhost.:4566", "console.localhost:4566", "127.0.0.1",
        "127.0.0.1:4566", "127.9.8.7:80", "[::1]:4566", "[::ffff:127.0.0.1]:4566",
        "rds.lan.example:4566", "RDS.LAN.EXAMPLE"}) {
    EXPECT_TRUE(guard.HostAllowed(host)) << host;
  }
}

TEST(RequestGuardTest, OtherHostsAreNot) {
  RequestGuard guard("127.0.0.1", {"rds.lan.example"});
  for (const char* host :
       {"evil.example:4566", "evil.example", "localhost.evil.example", "127.0.0.1.evil.example",
        "xlocalhost", ".localhost", "10.0.0.5:4566", "[::2]:4566", "0.0.0.0:4566", "",
        "lan.example", "sub.rds.lan.example"}) {
    EXPECT_FALSE(guard.HostAllowed(host)) << host;
  }
}

TEST(RequestGuardTest, TheListenAddressAndOnAWildcardThisMachinesAddresses) {
  EXPECT_TRUE(RequestGuard("192.0.2.10", {}).HostAllowed("192.0.2.10:4566"));
  EXPECT_FALSE(RequestGuard("192.0.2.10", {}).HostAllowed("192.0.2.11:4566"));
  RequestGuard wildcard("0.0.0.0", {}, {"192.0.2.10", "fe80::1"});
  EXPECT_TRUE(wildcard.HostAllowed("192.0.2.10:4566"));
  EXPECT_FALSE(wildcard.HostAllowed("192.0.2.11:4566"));
  EXPECT_FALSE(wildcard.HostAllowed("evil.example:4566"));
  // A name given as --host is this server too.
  EXPECT_TRUE(RequestGuard("rds.internal", {}).HostAllowed("rds.internal:4566"));
  EXPECT_FALSE(RequestGuard("::", {}, {"::1"}).HostAllowed("evil.example"));
}

TEST(RequestGuardTest, ARebindingHostIsRefusedWithAccessDenied) {
  RequestGuard guard("127.0.0.1", {});
  // What a page on a rebinding domain sends: a same-origin request, by its own Host.
  auto r = guard.CheckOrigin(
      Request({{"Host", "evil.example:4592"}, {"Sec-Fetch-Site", "same-origin"}}));
  ASSERT_TRUE(r);
  EXPECT_STREQ(r->reason, "host-not-allowed");
  EXPECT_EQ(r->status.info().code, std::string("AccessDenied"));
  EXPECT_EQ(r->status.info().http_status, 403);
  EXPECT_EQ(r->status.message(),
            "localrds does not answer requests for the host 'evil.example:4592' (a web page on "
            "another domain can resolve it to this machine). Use localhost or 127.0.0.1, or "
            "start localrds with --allowed-hosts evil.example.");
  // Allowed by name, it is served.
  EXPECT_EQ(Reason(RequestGuard("127.0.0.1", RequestGuard::ParseHostList(" evil.example , x "))
                       .CheckOrigin(Request({{"Host", "evil.example:4592"}}))),
            "allowed");
}

TEST(RequestGuardTest, RequestsFromPagesOfAnotherOriginAreRefused) {
  RequestGuard guard("127.0.0.1", {});
  const std::string host = "127.0.0.1:4566";
  auto check = [&](std::vector<std::pair<std::string, std::string>> h) {
    h.push_back({"Host", host});
    return Reason(guard.CheckOrigin(Request(h)));
  };
  // SDKs, the CLI, curl: no browser headers.
  EXPECT_EQ(check({}), "allowed");
  EXPECT_EQ(check({{"User-Agent", "Boto3/1.26"}}), "allowed");
  // This server's own pages (the console later): same origin.
  EXPECT_EQ(check({{"Origin", "http://127.0.0.1:4566"},
                   {"Sec-Fetch-Site", "same-origin"},
                   {"Referer", "http://127.0.0.1:4566/console/"}}),
            "allowed");
  EXPECT_EQ(check({{"Sec-Fetch-Site", "none"}}), "allowed");  // typed into the address bar
  // Another origin, by any of the three signs.
  EXPECT_EQ(check({{"Origin", "http://evil.example"}}), "cross-site-request");
  EXPECT_EQ(check({{"Origin", "null"}}), "cross-site-request");
  EXPECT_EQ(check({{"Origin", "http://127.0.0.1:3000"}}), "cross-site-request");
  EXPECT_EQ(check({{"Origin", "https://127.0.0.1:4566"}}), "cross-site-request");
  EXPECT_EQ(check({{"Sec-Fetch-Site", "cross-site"}}), "cross-site-request");
  EXPECT_EQ(check({{"Sec-Fetch-Site", "same-site"}}), "cross-site-request");
  EXPECT_EQ(check({{"Referer", "http://evil.example/page"}}), "cross-site-request");
  EXPECT_EQ(check({{"Referer", "http://127.0.0.1:4566.evil.example/"}}), "cross-site-request");
  EXPECT_EQ(check({{"Referer", "garbage"}}), "cross-site-request");
  auto r = guard.CheckOrigin(Request({{"Host", host}, {"Referer", "http://evil.example/"}}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status.info().code, std::string("AccessDenied"));
  EXPECT_EQ(r->status.info().http_status, 403);
  EXPECT_EQ(r->status.message(),
            "localrds refuses requests made by web pages of another origin (Origin, Referer or "
            "Sec-Fetch-Site name another site); use an AWS SDK, the AWS CLI or curl.");
  // Without a Host, an Origin cannot be this server's.
  EXPECT_EQ(Reason(guard.CheckOrigin(Request({{"Origin", "http://127.0.0.1:4566"}}))),
            "cross-site-request");
  EXPECT_EQ(Reason(guard.CheckOrigin(Request({}))), "allowed");
}

TEST(RequestGuardTest, PresignedRequestsOnlyRead) {
  RequestGuard guard("127.0.0.1", {});
  const HttpRequest unsigned_req = Request({{"Host", "127.0.0.1:4566"}});
  for (const char* action :
       {"DescribeDBInstances", "ListTagsForResource", "DownloadDBLogFilePortion"}) {
    EXPECT_EQ(Reason(guard.CheckSignature(unsigned_req, Presigned(action), action)), "allowed")
        << action;
  }
  for (const char* action : {"DeleteDBInstance", "ModifyDBInstance", "CreateDBInstance",
                             "AddTagsToResource", "RebootDBInstance", "Nonsense"}) {
    auto r = guard.CheckSignature(unsigned_req, Presigned(action), action);
    ASSERT_TRUE(r) << action;
    EXPECT_STREQ(r->reason, "presigned-mutation");
    EXPECT_EQ(r->status.info().code, std::string("AccessDenied"));
    EXPECT_EQ(r->status.info().http_status, 403);
  }
  EXPECT_EQ(guard.CheckSignature(unsigned_req, Presigned("DeleteDBInstance"), "DeleteDBInstance")
                ->status.message(),
            "localrds does not verify signatures, so a presigned request (X-Amz-Signature in the "
            "query string or body, which any web page can make a browser send) may only call "
            "actions that change nothing (Describe*, List*, Download*). Send DeleteDBInstance "
            "signed in the Authorization header, as the AWS SDKs and CLI do.");
  // Signed in the header (what no page can send to another origin): any action.
  const HttpRequest signed_req = Request({{"Host", "127.0.0.1:4566"}, {"Authorization", kSigV4}});
  EXPECT_EQ(Reason(guard.CheckSignature(signed_req, {{"Action", "DeleteDBInstance"}},
                                        "DeleteDBInstance")),
            "allowed");
  // Unsigned, or signed in another scheme: RDS's errors.
  auto missing =
      guard.CheckSignature(unsigned_req, {{"Action", "DeleteDBInstance"}}, "DeleteDBInstance");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status.info().code, std::string("MissingAuthenticationToken"));
  EXPECT_EQ(missing->status.info().http_status, 403);
  auto basic = guard.CheckSignature(
      Request({{"Host", "127.0.0.1:4566"}, {"Authorization", "Basic dXNlcjpwYXNz"}}), {}, "");
  ASSERT_TRUE(basic);
  EXPECT_EQ(basic->status.info().code, std::string("IncompleteSignature"));
  // No Action yet: MissingAction comes next, not AccessDenied.
  EXPECT_EQ(Reason(guard.CheckSignature(unsigned_req, Presigned(""), "")), "allowed");
}

TEST(RequestGuardTest, ReadOnlyActions) {
  EXPECT_TRUE(RequestGuard::IsReadOnlyAction("DescribeEvents"));
  EXPECT_TRUE(RequestGuard::IsReadOnlyAction("ListTagsForResource"));
  EXPECT_TRUE(RequestGuard::IsReadOnlyAction("DownloadDBLogFilePortion"));
  EXPECT_FALSE(RequestGuard::IsReadOnlyAction("DeleteDBInstance"));
  EXPECT_FALSE(RequestGuard::IsReadOnlyAction("describeDBInstances"));
  EXPECT_FALSE(RequestGuard::IsReadOnlyAction(""));
}

TEST(RequestGuardTest, HostListsAndLocalAddresses) {
  EXPECT_EQ(RequestGuard::ParseHostList(" A.example, ,b ,"),
            (std::vector<std::string>{"a.example", "b"}));
  EXPECT_TRUE(RequestGuard::ParseHostList("").empty());
  auto local = RequestGuard::LocalAddresses();
  EXPECT_NE(std::find(local.begin(), local.end(), "127.0.0.1"), local.end());
}

namespace {

// Strict mode with the key botocore signed tests/unit/botocore_requests.h with.
RequestGuard StrictGuard() {
  RequestGuard guard("127.0.0.1", {});
  CredentialStore store;
  store["AKIDLOCALRDS"] = {kBotoSecret, "111122223333"};
  store["AKIDOTHER"] = {"other", "444455556666"};
  guard.SetAccounts("000000000000", store);
  return guard;
}

QueryParams ParamsOf(const HttpRequest& req) {
  QueryParams params = ParseQueryString(std::string(RawQuery(req))).value();
  for (auto& [k, v] : ParseQueryString(req.body()).value()) params[k] = v;
  return params;
}

Result<RequestIdentity> Authenticate(const RequestGuard& guard, const HttpRequest& req,
                                     int64_t now_ms = kBotoNow) {
  QueryParams params = ParamsOf(req);
  return guard.Authenticate(req, params, params.count("Action") ? params["Action"] : "", now_ms);
}

void ExpectError(const Result<RequestIdentity>& r, const char* code, int http_status,
                 const std::string& message) {
  ASSERT_FALSE(r.ok()) << code;
  EXPECT_EQ(r.status().info().code, std::string(code));
  EXPECT_EQ(r.status().info().http_status, http_status);
  EXPECT_EQ(r.status().message(), message);
}

constexpr const char* kMismatchMessage =
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details.";

}  // namespace

TEST(RequestGuardTest, StrictModeAcceptsTheRightSignature) {
  RequestGuard guard = StrictGuard();
  EXPECT_TRUE(guard.strict());
  auto id = Authenticate(guard, BotocorePost());
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(id->access_key, "AKIDLOCALRDS");
  EXPECT_EQ(id->region, "eu-west-3");
  EXPECT_EQ(id->account, "111122223333");
  auto presigned = Authenticate(guard, BotocorePresigned());
  ASSERT_TRUE(presigned.ok()) << presigned.status().ToString();
  EXPECT_EQ(presigned->region, "eu-west-3");
  EXPECT_EQ(presigned->account, "111122223333");
}

TEST(RequestGuardTest, StrictModeRefusesWrongSecretsTamperingAndUnknownKeys) {
  RequestGuard guard = StrictGuard();
  // The same key with another secret on file.
  RequestGuard wrong("127.0.0.1", {});
  wrong.SetAccounts("000000000000", CredentialStore{{"AKIDLOCALRDS", {"wrong", "111122223333"}}});
  ExpectError(Authenticate(wrong, BotocorePost()), "SignatureDoesNotMatch", 403, kMismatchMessage);
  ExpectError(Authenticate(wrong, BotocorePresigned()), "SignatureDoesNotMatch", 403,
              kMismatchMessage);
  HttpRequest tampered = BotocorePost();
  tampered.body() = "Action=DescribeDBInstances&Version=2014-10-31&DBInstanceIdentifier=db-2";
  ExpectError(Authenticate(guard, tampered), "SignatureDoesNotMatch", 403, kMismatchMessage);
  HttpRequest url = BotocorePresigned();
  std::string target(url.target());
  target.back() = target.back() == '4' ? '5' : '4';
  url.target(target);
  ExpectError(Authenticate(guard, url), "SignatureDoesNotMatch", 403, kMismatchMessage);
  RequestGuard stranger("127.0.0.1", {});
  stranger.SetAccounts("000000000000", CredentialStore{{"AKIDOTHER", {"x", "444455556666"}}});
  ExpectError(Authenticate(stranger, BotocorePost()), "InvalidClientTokenId", 403,
              "The security token included in the request is invalid.");
  ExpectError(Authenticate(stranger, BotocorePresigned()), "InvalidClientTokenId", 403,
              "The security token included in the request is invalid.");
}

TEST(RequestGuardTest, StrictModeRefusesExpiredAndUnsignedRequests) {
  RequestGuard guard = StrictGuard();
  ExpectError(Authenticate(guard, BotocorePost(), kBotoNow + 20 * 60 * 1000),
              "SignatureDoesNotMatch", 403,
              "Signature expired: 20261206T043000Z is now earlier than 20261206T043500Z "
              "(20261206T045000Z - 15 min.)");
  ExpectError(Authenticate(guard, BotocorePresigned(), kBotoNow + 11 * 60 * 1000), "RequestExpired",
              400, "Request has expired.");
  HttpRequest unsigned_req{http::verb::post, "/", 11};
  unsigned_req.set(http::field::host, "127.0.0.1:4566");
  unsigned_req.body() = "Action=DescribeDBInstances&Version=2014-10-31";
  ExpectError(Authenticate(guard, unsigned_req), "MissingAuthenticationToken", 403,
              "Request is missing Authentication Token");
  // Signature parameters carried in the body are not a presigned URL.
  unsigned_req.body() +=
      "&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDLOCALRDS%2F20261206%2Feu-west-3%2F"
      "rds%2Faws4_request&X-Amz-Signature=00";
  auto body_signed = Authenticate(guard, unsigned_req);
  ASSERT_FALSE(body_signed.ok());
  EXPECT_EQ(body_signed.status().info().code, std::string("IncompleteSignature"));
  // A presigned mutation stays refused even when its signature is right (rule 3).
  QueryParams params = ParamsOf(BotocorePresigned());
  auto mutation = guard.Authenticate(BotocorePresigned(), params, "DeleteDBInstance", kBotoNow);
  ASSERT_FALSE(mutation.ok());
  EXPECT_EQ(mutation.status().info().code, std::string("AccessDenied"));
  EXPECT_EQ(mutation.status().message(),
            "localrds accepts a presigned request (X-Amz-Signature in the query string, which "
            "any web page can make a browser send) only for actions that change nothing "
            "(Describe*, List*, Download*). Send DeleteDBInstance signed in the Authorization "
            "header, as the AWS SDKs and CLI do.");
  // A malformed header: AWS's IncompleteSignature, in strict mode with its full wording.
  HttpRequest basic = BotocorePost();
  basic.set(http::field::authorization, "Basic dXNlcjpwYXNz");
  ExpectError(Authenticate(guard, basic), "IncompleteSignature", 400,
              "Authorization header requires 'Credential' parameter. Authorization header "
              "requires 'Signature' parameter. Authorization header requires 'SignedHeaders' "
              "parameter. Authorization=Basic dXNlcjpwYXNz");
}

TEST(RequestGuardTest, AccountsWithoutACredentialsFile) {
  RequestGuard guard("127.0.0.1", {});
  guard.SetAccounts("999988887777", std::nullopt);
  EXPECT_FALSE(guard.strict());
  // Any key, any signature (not verified); a key that is not 12 digits acts in the default
  // account, and the region is the credential scope's.
  auto id = Authenticate(guard, BotocorePost(), kBotoNow + 3600 * 1000);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->access_key, "AKIDLOCALRDS");
  EXPECT_EQ(id->region, "eu-west-3");
  EXPECT_EQ(id->account, "999988887777");
  HttpRequest twelve = BotocorePost();
  twelve.set(http::field::authorization,
             "AWS4-HMAC-SHA256 Credential=123456789012/20261206/ap-south-2/rds/aws4_request, "
             "SignedHeaders=host;x-amz-date, Signature=00");
  id = Authenticate(guard, twelve);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->access_key, "123456789012");
  EXPECT_EQ(id->region, "ap-south-2");
  EXPECT_EQ(id->account, "123456789012");
  auto presigned = Authenticate(guard, BotocorePresigned());
  ASSERT_TRUE(presigned.ok());
  EXPECT_EQ(presigned->region, "eu-west-3");
  EXPECT_EQ(presigned->account, "999988887777");
  // The default account without SetAccounts.
  EXPECT_EQ(Authenticate(RequestGuard("127.0.0.1", {}), BotocorePost())->account, "000000000000");
}

}  // namespace localrds
