// Two RDS requests signed by botocore, for the SigV4 and RequestGuard tests.
#pragma once

#include <boost/beast/http.hpp>
#include <cstdint>

#include "api/sigv4.h"

namespace localrds {

// What botocore 1.43 (SigV4Auth, SigV4QueryAuth) sends for an RDS call at 2026-12-06T04:30:00Z
// with the key AKIDLOCALRDS / "localrds/secret+KEY" in eu-west-3 (the
// numbers came from running botocore; tests/e2e/test_signatures.py signs live ones).
inline constexpr const char* kBotoSecret = "localrds/secret+KEY";
inline constexpr int64_t kBotoNow = 1796531400000;  // 2026-12-06T04:30:00Z

inline HttpRequest BotocorePost() {
  HttpRequest req{boost::beast::http::verb::post, "/", 11};
  req.set(boost::beast::http::field::host, "127.0.0.1:4566");
  req.set(boost::beast::http::field::content_type,
          "application/x-www-form-urlencoded; charset=utf-8");
  req.set("X-Amz-Date", "20261206T043000Z");
  req.set(boost::beast::http::field::authorization,
          "AWS4-HMAC-SHA256 Credential=AKIDLOCALRDS/20261206/eu-west-3/rds/aws4_request, "
          "SignedHeaders=content-type;host;x-amz-date, "
          "Signature=baef0b2619fcfc03dd3d7a78d23ddc91ec73b09d3be607e5dfbe5db9090b5994");
  req.body() = "Action=DescribeDBInstances&Version=2014-10-31&DBInstanceIdentifier=db-1";
  req.prepare_payload();
  return req;
}

inline HttpRequest BotocorePresigned() {
  HttpRequest req{boost::beast::http::verb::get,
                  "/?Action=DescribeDBInstances&Version=2014-10-31&X-Amz-Algorithm=AWS4-HMAC-"
                  "SHA256&X-Amz-Credential=AKIDLOCALRDS%2F20261206%2Feu-west-3%2Frds%2Faws4_"
                  "request&X-Amz-Date=20261206T043000Z&X-Amz-Expires=600&X-Amz-SignedHeaders="
                  "host&X-Amz-Signature="
                  "e9f2c96f5cfb55e8ae960e770cd4e090c1532c4dd6aa397499eca16405f7e394",
                  11};
  req.set(boost::beast::http::field::host, "127.0.0.1:4566");
  return req;
}

}  // namespace localrds
