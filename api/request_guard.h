// RequestGuard: who may talk to localrds at all, decided from the HTTP headers before a request
// reaches the Query API or the /_localrds/ controls.
//
// localrds listens on loopback and, unless started with --credentials, does not verify SigV4
// signatures (no secret keys exist), so the programs that can reach it are the user's own, and the
// one stranger that can is a web page in the user's browser. The guard keeps web pages out:
//  1. Host: a request must name this server (`localhost`, `*.localhost`, a loopback address, the
//     --host address or, when that is a wildcard, an address of this machine, or a name given
//     with --allowed-hosts). A page on a rebinding domain (evil.example resolving to 127.0.0.1)
//     sends `Host: evil.example`, so it can never make a same-origin request to localrds.
//  2. Browser context: `Origin` other than this server's own origin (`null` included),
//     `Sec-Fetch-Site: cross-site | same-site`, or a `Referer` naming another origin.
//  3. Signatures: an action that changes something must be signed in the `Authorization` header,
//     which a page cannot send to another origin without a CORS preflight (localrds never grants
//     one). A presigned query string, which any <img> can carry, only reads (Describe*, List*,
//     Download*).
// Every refusal of rules 1-3 is 403 AccessDenied in the AWS envelope.
//
// Who signed: Authenticate also answers with the request's identity (access key, the credential
// scope's region, account). By default any credentials are accepted and signatures are not
// verified (today's rules), and the account is the access key when that is 12 digits, the
// default account otherwise. In strict mode (SetAccounts with a credentials file) every
// signature, header or presigned, is verified with sigv4.h against the file's secret, the
// account is the file's, and AWS's errors answer the rest: MissingAuthenticationToken,
// InvalidClientTokenId, IncompleteSignature, SignatureDoesNotMatch, RequestExpired.
// Thread-safe: immutable once built (SetAccounts before the guard is shared).
#pragma once

#include <boost/beast/http.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/credentials.h"
#include "api/wire_codec.h"
#include "common/status.h"

namespace localrds {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;

//! A refusal: the AWS error to answer and the short reason logged ("host-not-allowed", ...).
struct Refusal {
  Status status;
  const char* reason;
};

//! Who a request is signed by. `region` is the credential scope's (not validated here; empty
//! when unsigned), `account` the 12-digit account it acts in.
struct RequestIdentity {
  std::string access_key;
  std::string region;
  std::string account;
};

class RequestGuard {
 public:
  //! `listen_host` is --host; `allowed_hosts` the names of --allowed-hosts (any case).
  //! `local_addresses` are this machine's addresses, accepted when `listen_host` is a wildcard
  //! (0.0.0.0 or ::); LocalAddresses() lists them.
  RequestGuard(std::string listen_host, std::vector<std::string> allowed_hosts,
               std::vector<std::string> local_addresses = {});

  //! The account of unsigned requests and of access keys that are not 12 digits, and, when
  //! given, the only access keys accepted (strict mode: every signature verified).
  void SetAccounts(std::string default_account, std::optional<CredentialStore> credentials);
  bool strict() const { return credentials_.has_value(); }
  //! The account a console session of `access_key` acts in: in strict mode the file's, when
  //! `secret` is the key's (else InvalidClientTokenId); otherwise the default account.
  Result<std::string> SessionAccount(const std::string& access_key,
                                     const std::string& secret) const;

  //! Rules 1 and 2: nullopt when the request may go on, for any path.
  std::optional<Refusal> CheckOrigin(const HttpRequest& req) const;
  //! Rule 3, and the shape of the signature: OK, or the error (MissingAuthenticationToken,
  //! IncompleteSignature, AccessDenied) and the reason to log.
  std::optional<Refusal> CheckSignature(const HttpRequest& req, const QueryParams& params,
                                        const std::string& action) const;
  //! Rule 3 and, in strict mode, the signature itself at `now_ms`: the identity the request is
  //! signed with, or the error. On an error `*reason` (when given) is the short reason to log.
  Result<RequestIdentity> Authenticate(const HttpRequest& req, const QueryParams& params,
                                       const std::string& action, int64_t now_ms,
                                       const char** reason = nullptr) const;

  //! True when `host` (a Host header value, with or without port) names this server.
  bool HostAllowed(std::string_view host) const;
  //! Describe*, List*, Download*: the actions that change nothing.
  static bool IsReadOnlyAction(std::string_view action);
  //! The addresses of this machine's interfaces (getifaddrs), as text.
  static std::vector<std::string> LocalAddresses();
  //! "a, b,c" → {"a", "b", "c"}, lower-cased, empty names dropped.
  static std::vector<std::string> ParseHostList(std::string_view list);

 private:
  std::string listen_host_;
  bool listen_wildcard_ = false;
  std::vector<std::string> allowed_hosts_;
  std::vector<std::string> local_addresses_;
  std::string default_account_ = "000000000000";
  std::optional<CredentialStore> credentials_;  //!< strict mode when set
};

}  // namespace localrds
