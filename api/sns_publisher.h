// HttpSnsPublisher: SNS `Publish` over the SNS Query API (Version 2010-03-31) at one endpoint
// (--sns-endpoint-url, http only: AWS's own endpoints need TLS, which localrds does not speak;
// moto, LocalStack or any SNS Query-API server on loopback work). Each request is SigV4-signed
// for the topic's Region and the service "sns" with the credentials it was made with.
//
// Thread-safety: Publish may be called from any thread (one connection per call); it blocks for
// at most the connect, write and read timeouts. Reads are limited to 1 MiB.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "common/status.h"
#include "emulator/background/event_notifier.h"

namespace localrds {

class HttpSnsPublisher : public SnsPublisher {
 public:
  //! A publisher to `endpoint_url` ("http://host:port[/path]"); InvalidParameterValue for a URL
  //! it cannot use.
  static Result<std::unique_ptr<HttpSnsPublisher>> Make(const std::string& endpoint_url,
                                                        std::string access_key,
                                                        std::string secret_key);

  PublishResult Publish(const SnsMessage& message) override;

  //! The form body of a Publish of `message` (for the tests).
  static std::string PublishBody(const SnsMessage& message);

 private:
  HttpSnsPublisher() = default;
  std::string host_;
  std::string port_;
  std::string path_;
  std::string access_key_;
  std::string secret_key_;
  std::chrono::seconds timeout_{5};
};

}  // namespace localrds
