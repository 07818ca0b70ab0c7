// libFuzzer target: raw bytes read as an HTTP request the way the server reads one (Beast's
// parser with the server's limits), then the request guard's checks: the Host, Origin, Referer
// and Sec-Fetch rules and the signature's shape (Authorization header or presigned query), and
// in strict mode (a credentials file) the whole SigV4 verification. No crash, no sanitizer
// report, and a refusal is always an error with a code.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "api/request_guard.h"
#include "api/wire_codec.h"

namespace http = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const localrds::RequestGuard guard("127.0.0.1", {"localrds"});
  http::request_parser<http::string_body> parser;
  parser.body_limit(1024 * 1024);
  parser.header_limit(16 * 1024);
  parser.eager(true);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(data, size), ec);
  if (ec || !parser.is_done()) return 0;
  const localrds::HttpRequest& req = parser.get();
  if (auto refusal = guard.CheckOrigin(req); refusal && refusal->status.ok()) std::abort();
  const std::string target(req.target());
  const auto q = target.find('?');
  auto params =
      localrds::ParseQueryString(q == std::string::npos ? req.body() : target.substr(q + 1));
  if (!params.ok()) return 0;
  auto action = params->find("Action");
  auto refusal = guard.CheckSignature(req, *params, action == params->end() ? "" : action->second);
  if (refusal && refusal->status.ok()) std::abort();
  static const localrds::RequestGuard strict = [] {
    localrds::RequestGuard g("127.0.0.1", {});
    g.SetAccounts("000000000000",
                  localrds::CredentialStore{{"AKIDEXAMPLE", {"secret", "111122223333"}}});
    return g;
  }();
  auto identity = strict.Authenticate(req, *params, action == params->end() ? "" : action->second,
                                      1796531400000);
  if (!identity.ok() && identity.status().ok()) std::abort();
  if (auto host = req.find(http::field::host); host != req.end()) {
    (void)guard.HostAllowed(host->value());
  }
  return 0;
}
