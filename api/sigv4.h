// SigV4: AWS Signature Version 4 as the RDS Query API checks it, in pure functions.
//
// Parses a signature from the Authorization header or from a presigned query string
// (X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders,
// X-Amz-Signature), rebuilds the canonical request and the string to sign as AWS does for a
// non-S3 service (path normalised and encoded again, query sorted and RFC 3986 encoded, headers
// lower-cased with their whitespace collapsed, the payload hashed as sent), derives the signing
// key and compares signatures in constant time (OpenSSL). The errors, their HTTP statuses and
// their messages are AWS's; each says in sigv4.cc where its wording comes from.
//
// Every function is pure and thread-safe; nothing here knows which secrets exist (RequestGuard
// looks the access key up and passes the secret in).
#pragma once

#include <boost/beast/http.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/wire_codec.h"
#include "common/status.h"

namespace localrds {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;

//! A request's SigV4 signature, as the client wrote it.
struct SigV4Auth {
  bool presigned = false;  //!< from the query string rather than the Authorization header
  std::string access_key;  //!< the credential's first element
  std::string scope_date;  //!< YYYYMMDD
  std::string region;      //!< the credential scope's region (not validated here)
  std::string service;     //!< "rds" for this API
  std::string terminator;  //!< "aws4_request"
  std::string amz_date;    //!< YYYYMMDDTHHMMSSZ: X-Amz-Date, or the Date header rewritten
  std::vector<std::string> signed_headers;  //!< lower-case, in the order given
  std::string signature;                    //!< hex, as sent
  int64_t expires_s = 0;                    //!< presigned: X-Amz-Expires

  //! "date/region/service/terminator"
  std::string Scope() const;
};

//! Splits a credential "AKID/20261206/us-west-2/rds/aws4_request" into `auth`; false when it
//! does not have exactly five elements.
bool SplitCredential(std::string_view credential, SigV4Auth* auth);

//! The signature of the Authorization header `value` (IncompleteSignature 400 when a part is
//! missing or malformed). X-Amz-Date (or Date) is read from `req`.
Result<SigV4Auth> ParseAuthorizationHeader(std::string_view value, const HttpRequest& req);
//! The signature in the presigned query string `query` (the URL's, not the body's).
Result<SigV4Auth> ParsePresignedQuery(const QueryParams& query);
//! The raw query string of the request target ("" without '?').
std::string_view RawQuery(const HttpRequest& req);

//! The path as AWS canonicalises it for non-S3 services: dot segments removed, repeated slashes
//! collapsed, then every byte but unreserved ones and '/' percent-encoded (again).
std::string CanonicalUri(std::string_view raw_path);
//! Pairs sorted by encoded name then value, each RFC 3986 encoded; `drop_signature` leaves
//! X-Amz-Signature out (presigned requests).
std::string CanonicalQueryString(std::string_view raw_query, bool drop_signature);
//! The canonical request of `req` signed as `auth` says.
std::string CanonicalRequest(const HttpRequest& req, const SigV4Auth& auth);
//! "AWS4-HMAC-SHA256\n<amz date>\n<scope>\n<hex sha256 of canonical request>"
std::string StringToSign(const SigV4Auth& auth, std::string_view canonical_request);
//! Hex HMAC-SHA256 of `string_to_sign` under the key derived from `secret` and the scope.
std::string ComputeSignature(std::string_view secret, const SigV4Auth& auth,
                             std::string_view string_to_sign);
std::string Sha256Hex(std::string_view data);

//! The time rules: a header-signed request within 15 minutes of `now_ms` either way; a presigned
//! one not before X-Amz-Date - 15 min and not after X-Amz-Date + X-Amz-Expires.
Status CheckSigV4Time(const SigV4Auth& auth, int64_t now_ms);
//! The scope names this service and its date matches X-Amz-Date (SignatureDoesNotMatch).
Status CheckSigV4Scope(const SigV4Auth& auth);
//! Scope, time, then the signature itself, with `secret`.
Status VerifySigV4(const HttpRequest& req, const SigV4Auth& auth, std::string_view secret,
                   int64_t now_ms);

//! "20150830T123600Z" for `ms` since the epoch.
std::string FormatAmzDate(int64_t ms);
//! The inverse; nullopt when `amz_date` is not YYYYMMDDTHHMMSSZ.
std::optional<int64_t> ParseAmzDate(std::string_view amz_date);

}  // namespace localrds
