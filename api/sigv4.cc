#include "api/sigv4.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <utility>

namespace localrds {
namespace http = boost::beast::http;

namespace {

constexpr const char* kAlgorithm = "AWS4-HMAC-SHA256";
constexpr const char* kService = "rds";
constexpr int64_t kSkewMs = 15 * 60 * 1000;
// AWS's answer when a signature is wrong, as the RDS Query API words it.
constexpr const char* kMismatch =
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details.";

std::string Hex(const unsigned char* data, size_t n) {
  static const char* kDigits = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 15];
  }
  return out;
}

std::string Hmac(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool Unreserved(unsigned char c) {
  return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

// RFC 3986: every byte but the unreserved ones as %XX (upper-case), '/' too unless `keep_slash`.
std::string UriEncode(std::string_view s, bool keep_slash) {
  static const char* kDigits = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (Unreserved(c) || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kDigits[c >> 4];
      out += kDigits[c & 15];
    }
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX decoded; '+' stays '+' (the SDKs send a space as %20 and sign it so).
std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

Status Incomplete(std::string message) {
  return Status::Error(AwsError::kIncompleteSignature, std::move(message));
}

Status Mismatch(std::string message) {
  return Status::Error(AwsError::kSignatureDoesNotMatch, std::move(message));
}

// "Tue, 01 Dec 2026 10:00:00 GMT" (the Date header) → "20261201T100000Z"; "" when unreadable.
std::string AmzDateFromHttpDate(std::string_view date) {
  std::tm tm{};
  std::string text(date);
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return "";
  return FormatAmzDate(static_cast<int64_t>(timegm(&tm)) * 1000);
}

}  // namespace

std::string SigV4Auth::Scope() const {
  return scope_date + "/" + region + "/" + service + "/" + terminator;
}

bool SplitCredential(std::string_view credential, SigV4Auth* auth) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t slash = credential.find('/', start);
    parts.emplace_back(credential.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (parts.size() != 5) return false;
  auth->access_key = parts[0];
  auth->scope_date = parts[1];
  auth->region = parts[2];
  auth->service = parts[3];
  auth->terminator = parts[4];
  return true;
}

Result<SigV4Auth> ParseAuthorizationHeader(std::string_view value, const HttpRequest& req) {
  SigV4Auth auth;
  std::string credential, signed_headers, signature;
  bool have_credential = false, have_signed_headers = false, have_signature = false;
  // Another scheme ("Basic ...", a bare token) has none of the three parts; AWS then answers
  // with the same list of what is missing (aws/chalice#828, aws/aws-sdk-ruby#317).
  const std::string prefix = std::string(kAlgorithm) + " ";
  if (value.starts_with(prefix)) {
    std::string_view rest = value.substr(prefix.size());
    while (!rest.empty()) {
      size_t comma = rest.find(',');
      std::string_view part = Trim(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      if (part.empty()) continue;
      size_t eq = part.find('=');
      if (eq == std::string_view::npos) {
        // Wording from an IncompleteSignature answer quoted in iann0036/cloud9-sync#10.
        return Incomplete("'" + std::string(part) +
                          "' not a valid key=value pair (missing equal-sign) in Authorization "
                          "header: '" +
                          std::string(value) + "'.");
      }
      std::string_view key = part.substr(0, eq);
      std::string_view v = part.substr(eq + 1);
      if (key == "Credential") {
        credential = v, have_credential = true;
      } else if (key == "SignedHeaders") {
        signed_headers = v, have_signed_headers = true;
      } else if (key == "Signature") {
        signature = v, have_signature = true;
      }
    }
  }
  if (auto d = req.find("X-Amz-Date"); d != req.end()) {
    auth.amz_date = std::string(Trim(d->value()));
  } else if (auto h = req.find(http::field::date); h != req.end()) {
    auth.amz_date = AmzDateFromHttpDate(Trim(h->value()));
    if (auth.amz_date.empty()) auth.amz_date = std::string(Trim(h->value()));
  }
  // The list and its order as AWS sends it (an SES IncompleteSignature 400 in
  // brendanhay/amazonka#316; all four in aws/chalice#828).
  std::string missing;
  if (!have_credential) missing += "Authorization header requires 'Credential' parameter. ";
  if (!have_signature) missing += "Authorization header requires 'Signature' parameter. ";
  if (!have_signed_headers) missing += "Authorization header requires 'SignedHeaders' parameter. ";
  if (auth.amz_date.empty()) {
    missing +=
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ";
  }
  if (!missing.empty()) return Incomplete(missing + "Authorization=" + std::string(value));
  if (!SplitCredential(credential, &auth)) {
    // API Gateway's and the Query services' wording for a malformed credential.
    return Incomplete(
        "Credential must have exactly 5 slash-delimited elements, e.g. "
        "keyid/date/region/service/term, got '" +
        credential + "'");
  }
  size_t start = 0;
  while (start <= signed_headers.size()) {
    size_t semi = signed_headers.find(';', start);
    std::string name =
        signed_headers.substr(start, semi == std::string::npos ? semi : semi - start);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!name.empty()) auth.signed_headers.push_back(std::move(name));
    if (semi == std::string::npos) break;
    start = semi + 1;
  }
  auth.signature = signature;
  return auth;
}

Result<SigV4Auth> ParsePresignedQuery(const QueryParams& query) {
  SigV4Auth auth;
  auth.presigned = true;
  // S3 names each missing query parameter this way (AuthorizationQueryParametersError); the
  // Query services answer IncompleteSignature 400.
  std::string missing;
  for (const char* name : {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date",
                           "X-Amz-SignedHeaders"}) {
    if (!query.count(name)) {
      missing += std::string("AWS query-string parameters must include '") + name + "'. ";
    }
  }
  if (!missing.empty()) return Incomplete(missing + "Re-examine the query-string parameters.");
  if (query.at("X-Amz-Algorithm") != kAlgorithm) {
    return Incomplete("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"");
  }
  const std::string& credential = query.at("X-Amz-Credential");
  if (!SplitCredential(credential, &auth)) {
    return Incomplete(
        "Credential must have exactly 5 slash-delimited elements, e.g. "
        "keyid/date/region/service/term, got '" +
        credential + "'");
  }
  auth.amz_date = query.at("X-Amz-Date");
  auth.signature = query.at("X-Amz-Signature");
  // botocore always sends X-Amz-Expires; without one, the 15 minutes every request has.
  auth.expires_s = 900;
  if (auto e = query.find("X-Amz-Expires"); e != query.end()) {
    const std::string& v = e->second;
    if (v.empty() || v.size() > 9 || !std::all_of(v.begin(), v.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c));
        })) {
      return Incomplete("X-Amz-Expires should be a number");
    }
    auth.expires_s = std::stoll(v);
    // S3's limits and wording for presigned URLs (seven days at most).
    if (auth.expires_s > 604800) {
      return Incomplete("X-Amz-Expires must be less than a week (in seconds) that is 604800");
    }
  }
  const std::string& headers = query.at("X-Amz-SignedHeaders");
  size_t start = 0;
  while (start <= headers.size()) {
    size_t semi = headers.find(';', start);
    std::string name = headers.substr(start, semi == std::string::npos ? semi : semi - start);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!name.empty()) auth.signed_headers.push_back(std::move(name));
    if (semi == std::string::npos) break;
    start = semi + 1;
  }
  return auth;
}

std::string_view RawQuery(const HttpRequest& req) {
  std::string_view target = req.target();
  size_t q = target.find('?');
  return q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
}

std::string CanonicalUri(std::string_view raw_path) {
  std::vector<std::string_view> segments;
  size_t start = 0;
  while (start <= raw_path.size()) {
    size_t slash = raw_path.find('/', start);
    std::string_view seg = raw_path.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (seg == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!seg.empty() && seg != ".") {
      segments.push_back(seg);
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  std::string path = "/";
  for (size_t i = 0; i < segments.size(); ++i) {
    if (i) path += '/';
    path += segments[i];
  }
  // A trailing slash (or a last "." / "..") keeps the path a directory.
  std::string_view last = raw_path.substr(raw_path.rfind('/') + 1);
  if (!segments.empty() && (raw_path.ends_with('/') || last == "." || last == "..")) path += '/';
  return UriEncode(path, true);
}

std::string CanonicalQueryString(std::string_view raw_query, bool drop_signature) {
  std::vector<std::pair<std::string, std::string>> pairs;
  size_t start = 0;
  while (start <= raw_query.size()) {
    size_t amp = raw_query.find('&', start);
    std::string_view part = raw_query.substr(
        start, amp == std::string_view::npos ? std::string_view::npos : amp - start);
    if (!part.empty()) {
      size_t eq = part.find('=');
      std::string key = PercentDecode(part.substr(0, eq));
      std::string value =
          eq == std::string_view::npos ? std::string() : PercentDecode(part.substr(eq + 1));
      if (!(drop_signature && key == "X-Amz-Signature")) {
        pairs.emplace_back(UriEncode(key, false), UriEncode(value, false));
      }
    }
    if (amp == std::string_view::npos) break;
    start = amp + 1;
  }
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (const auto& [k, v] : pairs) {
    if (!out.empty()) out += '&';
    out += k + "=" + v;
  }
  return out;
}

std::string CanonicalRequest(const HttpRequest& req, const SigV4Auth& auth) {
  std::string_view target = req.target();
  std::string_view path = target.substr(0, target.find('?'));
  std::string out = std::string(req.method_string()) + "\n" + CanonicalUri(path) + "\n" +
                    CanonicalQueryString(RawQuery(req), auth.presigned) + "\n";
  for (const std::string& name : auth.signed_headers) {
    std::string values;
    bool first = true;
    for (auto [it, end] = req.equal_range(name); it != end; ++it) {
      // Trimmed, each run of spaces one space (the test suite's get-header-value-trim).
      std::string value;
      for (char c : Trim(it->value())) {
        if ((c == ' ' || c == '\t') && !value.empty() && value.back() == ' ') continue;
        value += c == '\t' ? ' ' : c;
      }
      if (!first) values += ',';
      values += value;
      first = false;
    }
    out += name + ":" + values + "\n";
  }
  out += "\n";
  for (size_t i = 0; i < auth.signed_headers.size(); ++i) {
    if (i) out += ';';
    out += auth.signed_headers[i];
  }
  out += "\n";
  if (auto h = req.find("X-Amz-Content-Sha256"); h != req.end()) {
    out += std::string(Trim(h->value()));
  } else {
    out += Sha256Hex(req.body());
  }
  return out;
}

std::string StringToSign(const SigV4Auth& auth, std::string_view canonical_request) {
  return std::string(kAlgorithm) + "\n" + auth.amz_date + "\n" + auth.Scope() + "\n" +
         Sha256Hex(canonical_request);
}

std::string ComputeSignature(std::string_view secret, const SigV4Auth& auth,
                             std::string_view string_to_sign) {
  std::string key = Hmac("AWS4" + std::string(secret), auth.scope_date);
  key = Hmac(key, auth.region);
  key = Hmac(key, auth.service);
  key = Hmac(key, auth.terminator);
  std::string mac = Hmac(key, string_to_sign);
  return Hex(reinterpret_cast<const unsigned char*>(mac.data()), mac.size());
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return Hex(digest, sizeof digest);
}

Status CheckSigV4Time(const SigV4Auth& auth, int64_t now_ms) {
  auto t = ParseAmzDate(auth.amz_date);
  if (!t) {
    // AWS's wording for a date that is not YYYYMMDD'T'HHMMSS'Z'.
    return Incomplete("Date must be in ISO-8601 'basic format'. Got '" + auth.amz_date +
                      "'. See http://en.wikipedia.org/wiki/ISO_8601");
  }
  const std::string now = FormatAmzDate(now_ms);
  // A signature from the future, both kinds: serverless/enterprise#11 quotes AWS's words.
  if (*t > now_ms + kSkewMs) {
    return Mismatch("Signature not yet current: " + auth.amz_date + " is still later than " +
                    FormatAmzDate(now_ms + kSkewMs) + " (" + now + " + 15 min.)");
  }
  if (auth.presigned) {
    // RequestExpired (400) is the common error for "more than 15 minutes after the request
    // expiration date (such as for pre-signed URLs)" (AWS's Common Errors pages); "Request has
    // expired" is S3's message for an expired presigned URL (aws/aws-sdk-js#3493).
    if (now_ms > *t + auth.expires_s * 1000) {
      return Status::Error(AwsError::kRequestExpired, "Request has expired.");
    }
    return Status::Ok();
  }
  // An old header signature: STS, a Query service like RDS, in aws/aws-cli#6676 (15 minutes).
  if (*t < now_ms - kSkewMs) {
    return Mismatch("Signature expired: " + auth.amz_date + " is now earlier than " +
                    FormatAmzDate(now_ms - kSkewMs) + " (" + now + " - 15 min.)");
  }
  return Status::Ok();
}

Status CheckSigV4Scope(const SigV4Auth& auth) {
  // The trailing space is AWS's (an STS SignatureDoesNotMatch in cognitect-labs/aws-api#27;
  // the service message in cllunsford/aws-signing-proxy#25).
  if (auth.service != kService) {
    return Mismatch(std::string("Credential should be scoped to correct service: '") + kService +
                    "'. ");
  }
  if (auth.terminator != "aws4_request") {
    return Mismatch("Credential should be scoped with a valid terminator: 'aws4_request', not '" +
                    auth.terminator + "'. ");
  }
  if (auth.amz_date.size() < 8 || auth.scope_date != auth.amz_date.substr(0, 8)) {
    return Mismatch(
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
        "HTTP: '" +
        auth.scope_date + "' != '" + auth.amz_date.substr(0, 8) + "', from '" + auth.amz_date +
        "'.");
  }
  return Status::Ok();
}

Status VerifySigV4(const HttpRequest& req, const SigV4Auth& auth, std::string_view secret,
                   int64_t now_ms) {
  LOCALRDS_RETURN_IF_ERROR(CheckSigV4Time(auth, now_ms));
  LOCALRDS_RETURN_IF_ERROR(CheckSigV4Scope(auth));
  const std::string expected =
      ComputeSignature(secret, auth, StringToSign(auth, CanonicalRequest(req, auth)));
  if (expected.size() != auth.signature.size() ||
      CRYPTO_memcmp(expected.data(), auth.signature.data(), expected.size()) != 0) {
    return Mismatch(kMismatch);
  }
  return Status::Ok();
}

std::string FormatAmzDate(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000 - (ms % 1000 < 0 ? 1 : 0));
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::optional<int64_t> ParseAmzDate(std::string_view amz_date) {
  if (amz_date.size() != 16 || amz_date[8] != 'T' || amz_date[15] != 'Z') return std::nullopt;
  for (size_t i : {0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14}) {
    if (!std::isdigit(static_cast<unsigned char>(amz_date[i]))) return std::nullopt;
  }
  auto num = [&](size_t pos, size_t len) {
    return std::stoi(std::string(amz_date.substr(pos, len)));
  };
  std::tm tm{};
  tm.tm_year = num(0, 4) - 1900;
  tm.tm_mon = num(4, 2) - 1;
  tm.tm_mday = num(6, 2);
  tm.tm_hour = num(9, 2);
  tm.tm_min = num(11, 2);
  tm.tm_sec = num(13, 2);
  if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
      tm.tm_sec > 60) {
    return std::nullopt;
  }
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

}  // namespace localrds
