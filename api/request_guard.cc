#include "api/request_guard.h"

#include <ifaddrs.h>
#include <netinet/in.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <cctype>
#include <cstring>

#include "api/sigv4.h"
#include "common/time_util.h"

namespace localrds {
namespace http = boost::beast::http;

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The host part of a Host header value: "[::1]:4566" → "::1", "LocalHost.:80" → "localhost".
std::string HostName(std::string_view host) {
  std::string_view name = host;
  if (!name.empty() && name.front() == '[') {
    size_t close = name.find(']');
    name = close == std::string_view::npos ? name.substr(1) : name.substr(1, close - 1);
  } else if (size_t colon = name.rfind(':'); colon != std::string_view::npos) {
    name = name.substr(0, colon);
  }
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return Lower(name);
}

bool IsLoopback(const boost::asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6()).is_loopback();
  }
  return a.is_loopback();
}

Refusal Denied(const char* reason, std::string message) {
  return {Status::Error(AwsError::kAccessDenied, std::move(message)), reason};
}

// "http://a:1/path?q" → "http://a:1" (lower-cased); "" when it has no scheme and authority.
std::string OriginOf(std::string_view url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return "";
  size_t end = url.find_first_of("/?#", scheme_end + 3);
  return Lower(url.substr(0, end));
}

}  // namespace

RequestGuard::RequestGuard(std::string listen_host, std::vector<std::string> allowed_hosts,
                           std::vector<std::string> local_addresses)
    : listen_host_(HostName(listen_host.find(':') != std::string::npos && listen_host.front() != '['
                                ? "[" + listen_host + "]"
                                : listen_host)),
      allowed_hosts_(std::move(allowed_hosts)),
      local_addresses_(std::move(local_addresses)) {
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(listen_host_, ec);
  listen_wildcard_ = !ec && a.is_unspecified();
  for (auto& h : allowed_hosts_) h = HostName(h);
}

bool RequestGuard::HostAllowed(std::string_view host) const {
  const std::string name = HostName(host);
  if (name.empty()) return false;
  if (name == "localhost" || (name.size() > 10 && name.ends_with(".localhost"))) return true;
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(name, ec);
  if (!ec) {
    if (IsLoopback(address)) return true;
    const std::string text = address.to_string();
    if (text == listen_host_) return true;
    if (listen_wildcard_ && std::find(local_addresses_.begin(), local_addresses_.end(), text) !=
                                local_addresses_.end()) {
      return true;
    }
  } else if (name == listen_host_) {
    return true;
  }
  return std::find(allowed_hosts_.begin(), allowed_hosts_.end(), name) != allowed_hosts_.end();
}

std::optional<Refusal> RequestGuard::CheckOrigin(const HttpRequest& req) const {
  // A browser always sends Host; a request without one comes from no web page.
  std::string host;
  if (auto h = req.find(http::field::host); h != req.end()) {
    host = std::string(h->value());
    if (!HostAllowed(host)) {
      return Denied("host-not-allowed",
                    "localrds does not answer requests for the host '" + host.substr(0, 200) +
                        "' (a web page on another domain can resolve it to this machine). Use "
                        "localhost or 127.0.0.1, or start localrds with --allowed-hosts " +
                        HostName(host).substr(0, 200) + ".");
    }
  }
  const std::string self = "http://" + Lower(host);
  const char* browser =
      "localrds refuses requests made by web pages of another origin (Origin, Referer or "
      "Sec-Fetch-Site name another site); use an AWS SDK, the AWS CLI or curl.";
  if (auto o = req.find(http::field::origin); o != req.end()) {
    if (host.empty() || Lower(o->value()) != self) return Denied("cross-site-request", browser);
  }
  if (auto s = req.find("Sec-Fetch-Site"); s != req.end()) {
    const std::string site = Lower(s->value());
    if (site != "same-origin" && site != "none") return Denied("cross-site-request", browser);
  }
  if (auto r = req.find(http::field::referer); r != req.end()) {
    if (host.empty() || OriginOf(r->value()) != self) return Denied("cross-site-request", browser);
  }
  return std::nullopt;
}

void RequestGuard::SetAccounts(std::string default_account,
                               std::optional<CredentialStore> credentials) {
  default_account_ = std::move(default_account);
  credentials_ = std::move(credentials);
}

Result<std::string> RequestGuard::SessionAccount(const std::string& access_key,
                                                 const std::string& secret) const {
  if (!credentials_) return default_account_;
  auto entry = credentials_->find(access_key);
  // Both ways wrong get one answer, as AWS's sign-in does not say which part was wrong.
  if (entry == credentials_->end() ||
      CRYPTO_memcmp(entry->second.secret.data(), secret.data(),
                    std::min(secret.size(), entry->second.secret.size())) != 0 ||
      secret.size() != entry->second.secret.size()) {
    return Status::Error(AwsError::kInvalidClientTokenId,
                         "The security token included in the request is invalid.");
  }
  return entry->second.account;
}

std::optional<Refusal> RequestGuard::CheckSignature(const HttpRequest& req,
                                                    const QueryParams& params,
                                                    const std::string& action) const {
  const char* reason = "refused";
  auto identity = Authenticate(req, params, action, NowMs(), &reason);
  if (identity.ok()) return std::nullopt;
  return Refusal{identity.status(), reason};
}

Result<RequestIdentity> RequestGuard::Authenticate(const HttpRequest& req,
                                                   const QueryParams& params,
                                                   const std::string& action, int64_t now_ms,
                                                   const char** reason) const {
  auto refuse = [reason](const char* why, Status status) {
    if (reason) *reason = why;
    return status;
  };
  // Without a credentials file: the credential as written, a 12-digit key as its own account.
  auto lenient = [this](std::string_view credential) {
    SigV4Auth scope;
    RequestIdentity id;
    const bool split = SplitCredential(credential, &scope);
    id.access_key =
        split ? scope.access_key : std::string(credential.substr(0, credential.find('/')));
    if (split) id.region = scope.region;
    const bool digits = id.access_key.size() == 12 &&
                        std::all_of(id.access_key.begin(), id.access_key.end(), [](char c) {
                          return std::isdigit(static_cast<unsigned char>(c));
                        });
    id.account = digits ? id.access_key : default_account_;
    return id;
  };
  auto verified = [&](const SigV4Auth& auth) -> Result<RequestIdentity> {
    auto entry = credentials_->find(auth.access_key);
    if (entry == credentials_->end()) {
      // AWS's InvalidClientTokenId message for an access key it does not know (STS, EC2).
      return refuse("unknown-access-key",
                    Status::Error(AwsError::kInvalidClientTokenId,
                                  "The security token included in the request is invalid."));
    }
    if (Status st = VerifySigV4(req, auth, entry->second.secret, now_ms); !st.ok()) {
      return refuse("bad-signature", st);
    }
    return RequestIdentity{auth.access_key, auth.region, entry->second.account};
  };
  auto presigned_mutation = [&]() {
    return refuse(
        "presigned-mutation",
        Denied("presigned-mutation",
               strict()
                   ? "localrds accepts a presigned request (X-Amz-Signature in the query string, "
                     "which any web page can make a browser send) only for actions that change "
                     "nothing (Describe*, List*, Download*). Send " +
                         action.substr(0, 100) +
                         " signed in the Authorization header, as the AWS SDKs and CLI do."
                   : "localrds does not verify signatures, so a presigned request (X-Amz-Signature "
                     "in the query string or body, which any web page can make a browser send) "
                     "may only call actions that change nothing (Describe*, List*, Download*). "
                     "Send " +
                         action.substr(0, 100) +
                         " signed in the Authorization header, as the AWS SDKs and CLI do.")
            .status);
  };
  const Status missing = Status::Error(AwsError::kMissingAuthenticationToken,
                                       "Request is missing Authentication Token");

  if (auto auth = req.find(http::field::authorization); auth != req.end()) {
    std::string_view v = auth->value();
    if (strict()) {
      auto parsed = ParseAuthorizationHeader(v, req);
      if (!parsed.ok()) return refuse("incomplete-signature", parsed.status());
      return verified(*parsed);
    }
    size_t cred = v.find("Credential=");
    if (v.rfind("AWS4-HMAC-SHA256 ", 0) != 0 || cred == std::string_view::npos ||
        v.find("Signature=") == std::string_view::npos) {
      return refuse("incomplete-signature",
                    Status::Error(AwsError::kIncompleteSignature,
                                  "Authorization header requires 'Credential', 'SignedHeaders' "
                                  "and 'Signature' parameters of an AWS4-HMAC-SHA256 signature."));
    }
    std::string_view credential = v.substr(cred + 11);
    credential = credential.substr(0, credential.find_first_of(", "));
    return lenient(credential);
  }
  if (!strict()) {
    if (params.count("X-Amz-Algorithm") && params.count("X-Amz-Credential") &&
        params.count("X-Amz-Signature")) {
      if (!action.empty() && !IsReadOnlyAction(action)) return presigned_mutation();
      return lenient(params.at("X-Amz-Credential"));
    }
    return refuse("unsigned", missing);
  }
  // Strict: a presigned signature covers the URL's query string only.
  if (!params.count("X-Amz-Algorithm") && !params.count("X-Amz-Credential") &&
      !params.count("X-Amz-Signature")) {
    return refuse("unsigned", missing);
  }
  if (!action.empty() && !IsReadOnlyAction(action)) return presigned_mutation();
  auto query = ParseQueryString(std::string(RawQuery(req)));
  if (!query.ok()) return refuse("incomplete-signature", query.status());
  auto parsed = ParsePresignedQuery(*query);
  if (!parsed.ok()) return refuse("incomplete-signature", parsed.status());
  return verified(*parsed);
}

bool RequestGuard::IsReadOnlyAction(std::string_view action) {
  return action.starts_with("Describe") || action.starts_with("List") ||
         action.starts_with("Download");
}

std::vector<std::string> RequestGuard::LocalAddresses() {
  std::vector<std::string> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr) continue;
    if (i->ifa_addr->sa_family == AF_INET) {
      auto* sin = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
      boost::asio::ip::address_v4::bytes_type b;
      std::memcpy(b.data(), &sin->sin_addr, 4);
      out.push_back(boost::asio::ip::address_v4(b).to_string());
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      auto* sin6 = reinterpret_cast<sockaddr_in6*>(i->ifa_addr);
      boost::asio::ip::address_v6::bytes_type b;
      std::memcpy(b.data(), &sin6->sin6_addr, 16);
      out.push_back(boost::asio::ip::address_v6(b, sin6->sin6_scope_id).to_string());
    }
  }
  freeifaddrs(list);
  return out;
}

std::vector<std::string> RequestGuard::ParseHostList(std::string_view list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    std::string_view item = list.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.front()))) {
      item.remove_prefix(1);
    }
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back()))) {
      item.remove_suffix(1);
    }
    if (!item.empty()) out.push_back(Lower(item));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace localrds
