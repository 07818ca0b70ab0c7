#include "api/sns_publisher.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include "api/sigv4.h"
#include "common/time_util.h"

namespace localrds {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

std::string Encode(const std::string& s) {
  return boost::urls::encode(s, boost::urls::unreserved_chars);
}

//! The text of <tag>…</tag> in an SNS error body ("" when absent).
std::string XmlText(const std::string& body, const std::string& tag) {
  const size_t a = body.find("<" + tag + ">");
  if (a == std::string::npos) return "";
  const size_t from = a + tag.size() + 2;
  const size_t b = body.find("</" + tag + ">", from);
  return b == std::string::npos ? "" : body.substr(from, b - from);
}

//! The Region of arn:aws:sns:<region>:<account>:<topic> ("us-east-1" when it names none).
std::string TopicRegion(const std::string& arn) {
  const size_t a = arn.find(':', 12);
  if (arn.rfind("arn:aws:sns:", 0) != 0 || a == std::string::npos) return "us-east-1";
  return arn.substr(12, a - 12);
}

}  // namespace

Result<std::unique_ptr<HttpSnsPublisher>> HttpSnsPublisher::Make(const std::string& endpoint_url,
                                                                 std::string access_key,
                                                                 std::string secret_key) {
  auto url = boost::urls::parse_uri(endpoint_url);
  if (!url || url->scheme() != "http" || url->host().empty()) {
    return Status::InvalidParameter("--sns-endpoint-url must be an http:// URL, not '" +
                                    endpoint_url + "'");
  }
  std::unique_ptr<HttpSnsPublisher> p(new HttpSnsPublisher());
  p->host_ = url->host();
  p->port_ = url->has_port() ? std::string(url->port()) : "80";
  p->path_ = url->path().empty() ? "/" : std::string(url->encoded_path());
  p->access_key_ = std::move(access_key);
  p->secret_key_ = std::move(secret_key);
  return p;
}

std::string HttpSnsPublisher::PublishBody(const SnsMessage& m) {
  std::string body = "Action=Publish&Version=2010-03-31&TopicArn=" + Encode(m.topic_arn) +
                     "&Subject=" + Encode(m.subject) + "&Message=" + Encode(m.message);
  int n = 0;
  for (const auto& [name, value] : m.attributes) {
    const std::string entry = "&MessageAttributes.entry." + std::to_string(++n);
    body += entry + ".Name=" + Encode(name) + entry + ".Value.DataType=String" + entry +
            ".Value.StringValue=" + Encode(value);
  }
  return body;
}

PublishResult HttpSnsPublisher::Publish(const SnsMessage& message) {
  HttpRequest req{http::verb::post, path_, 11};
  const std::string host = port_ == "80" ? host_ : host_ + ":" + port_;
  req.set(http::field::host, host);
  req.set(http::field::content_type, "application/x-www-form-urlencoded; charset=utf-8");
  req.set(http::field::user_agent, "localrds");
  SigV4Auth auth;
  auth.access_key = access_key_;
  auth.amz_date = FormatAmzDate(NowMs());
  auth.scope_date = auth.amz_date.substr(0, 8);
  auth.region = TopicRegion(message.topic_arn);
  auth.service = "sns";
  auth.terminator = "aws4_request";
  auth.signed_headers = {"content-type", "host", "x-amz-date"};
  req.set("X-Amz-Date", auth.amz_date);
  req.body() = PublishBody(message);
  req.prepare_payload();
  const std::string signature =
      ComputeSignature(secret_key_, auth, StringToSign(auth, CanonicalRequest(req, auth)));
  req.set(http::field::authorization,
          "AWS4-HMAC-SHA256 Credential=" + access_key_ + "/" + auth.Scope() +
              ", SignedHeaders=content-type;host;x-amz-date, Signature=" + signature);

  PublishResult result;
  try {
    boost::asio::io_context ioc;
    beast::tcp_stream stream(ioc);
    tcp::resolver resolver(ioc);
    stream.expires_after(timeout_);
    stream.connect(resolver.resolve(host_, port_));
    stream.expires_after(timeout_);
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(1 << 20);
    stream.expires_after(timeout_);
    http::read(stream, buffer, parser);
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    const auto& res = parser.get();
    const int status = res.result_int();
    const std::string code = XmlText(res.body(), "Code");
    result.detail = "HTTP " + std::to_string(status) + (code.empty() ? "" : " " + code);
    if (status == 200) {
      result.outcome = PublishOutcome::kDelivered;
    } else if (code == "NotFound") {
      result.outcome = PublishOutcome::kTopicNotFound;
    } else if (code == "AuthorizationError") {
      result.outcome = PublishOutcome::kNoPermission;
    } else {
      const std::string text = XmlText(res.body(), "Message");
      if (!text.empty()) result.detail += ": " + text;
    }
  } catch (const std::exception& e) {
    result.outcome = PublishOutcome::kFailed;
    result.detail = e.what();
  }
  return result;
}

}  // namespace localrds
