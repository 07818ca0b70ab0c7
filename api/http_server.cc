#include "api/http_server.h"

#include <sys/resource.h>

#include <algorithm>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <optional>

#include "common/log.h"
#include "common/time_util.h"

namespace localrds {
namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

constexpr std::size_t kBodyLimit = 1024 * 1024;  // RDS requests are a few KiB
constexpr std::size_t kHeaderLimit = 16 * 1024;
constexpr auto kReadTimeout = std::chrono::seconds(30);
constexpr auto kMinAcceptPause = std::chrono::milliseconds(50);
constexpr auto kMaxAcceptPause = std::chrono::milliseconds(1000);

// Half the descriptors this process may open (the rest are for PostgreSQL connections, the
// catalog and child processes' pipes), between 16 and 4096.
int MaxConnections() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 4096;
  return static_cast<int>(std::clamp<rlim_t>(limit.rlim_cur / 2, 16, 4096));
}

// Counts a session as open for as long as it lives.
class OpenCount {
 public:
  explicit OpenCount(std::shared_ptr<std::atomic<int>> open) : open_(std::move(open)) { ++*open_; }
  ~OpenCount() { --*open_; }
  OpenCount(const OpenCount&) = delete;
  OpenCount& operator=(const OpenCount&) = delete;

 private:
  std::shared_ptr<std::atomic<int>> open_;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, Router& router, std::shared_ptr<std::atomic<int>> open)
      : stream_(std::move(socket)), router_(router), open_(std::move(open)) {}

  void run() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&Session::do_read, shared_from_this()));
  }

 private:
  void do_read() {
    parser_.emplace();
    parser_->body_limit(kBodyLimit);
    parser_->header_limit(kHeaderLimit);
    stream_.expires_after(kReadTimeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream || ec == net::error::eof || ec == beast::error::timeout ||
        ec == net::error::operation_aborted) {
      return do_close();
    }
    if (ec) {
      // Malformed or oversized: answer 4xx in the RDS envelope, then close.
      Status st = ec == http::error::body_limit || ec == http::error::header_limit
                      ? Status::Error(AwsError::kInvalidParameterValue, "The request is too large.")
                      : Status::Error(AwsError::kMalformedQueryString,
                                      "The request could not be parsed: " + ec.message());
      LogLine("api") << "rejected a malformed request: " << ec.message();
      return send(MakeHttpResponse(11, false,
                                   ec == http::error::body_limit ? http::status::payload_too_large
                                                                 : http::status::bad_request,
                                   WireCodec::EncodeError(st, Router::NewRequestId()), "text/xml"));
    }
    HttpRequest req = parser_->release();
    auto self = shared_from_this();
    try {
      router_.Handle(req, [self](HttpResponse res) {
        net::post(self->stream_.get_executor(),
                  [self, res = std::move(res)]() mutable { self->send(std::move(res)); });
      });
    } catch (const std::exception& e) {
      send(MakeHttpResponse(
          req.version(), false, http::status::internal_server_error,
          WireCodec::EncodeError(Status::Internal(e.what()), Router::NewRequestId()), "text/xml"));
    }
  }

  void send(HttpResponse res) {
    auto sp = std::make_shared<HttpResponse>(std::move(res));
    res_ = sp;
    stream_.expires_after(kReadTimeout);
    http::async_write(
        stream_, *sp,
        beast::bind_front_handler(&Session::on_write, shared_from_this(), sp->need_eof()));
  }

  void on_write(bool close, beast::error_code ec, std::size_t) {
    res_.reset();
    if (ec) return;
    if (close) return do_close();
    do_read();
  }

  void do_close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<HttpResponse> res_;
  Router& router_;
  OpenCount open_;
};

}  // namespace

HttpServer::HttpServer(net::io_context& ioc, Router& router)
    : ioc_(ioc),
      router_(router),
      acceptor_(net::make_strand(ioc)),
      accept_timer_(acceptor_.get_executor()),
      max_connections_(MaxConnections()) {}

Status HttpServer::Listen(const std::string& host, int port) {
  beast::error_code ec;
  auto address = net::ip::make_address(host, ec);
  if (ec) return Status::InvalidParameter("invalid --host " + host);
  tcp::endpoint endpoint{address, static_cast<unsigned short>(port)};
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::Internal("cannot listen on " + host + ":" + std::to_string(port) + ": " +
                            ec.message());
  }
  port_ = acceptor_.local_endpoint().port();
  DoAccept();
  return Status::Ok();
}

void HttpServer::DoAccept() {
  if (open_->load() >= max_connections_) {
    return PauseAccept(kMinAcceptPause,
                       std::to_string(max_connections_) + " connections open (the limit)");
  }
  acceptor_.async_accept(net::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted) return;
    if (ec == net::error::connection_aborted) return DoAccept();  // it died in the queue
    if (ec) {
      // Out of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM): accepting again at once
      // would spin on the same error.
      PauseAccept(accept_backoff_, "accept failed: " + ec.message());
      accept_backoff_ = std::min(accept_backoff_ * 2, kMaxAcceptPause);
      return;
    }
    accept_backoff_ = kMinAcceptPause;
    try {
      std::make_shared<Session>(std::move(socket), router_, open_)->run();
    } catch (const std::exception& e) {
      LogLine("api") << "session failed to start: " << e.what();
    }
    DoAccept();
  });
}

void HttpServer::PauseAccept(std::chrono::milliseconds delay, const std::string& why) {
  const int64_t now = NowMs();
  if (now - last_pause_log_ms_ >= 10'000) {
    last_pause_log_ms_ = now;
    LogLine("api") << "not accepting connections for " << delay.count() << " ms: " << why
                   << " (logged at most every 10 s)";
  }
  accept_timer_.expires_after(delay);
  accept_timer_.async_wait([this](beast::error_code ec) {
    if (!ec) DoAccept();
  });
}

void HttpServer::Run(int threads) {
  auto run = [this] {
    // A handler that throws (a bug) is logged and the loop goes on serving.
    for (;;) {
      try {
        ioc_.run();
        return;
      } catch (const std::exception& e) {
        LogLine("api") << "io thread caught: " << e.what();
      } catch (...) {
        LogLine("api") << "io thread caught an unknown exception";
      }
    }
  };
  std::vector<std::thread> extra;
  for (int i = 1; i < threads; ++i) extra.emplace_back(run);
  run();
  for (auto& t : extra) t.join();
}

void HttpServer::Stop() {
  net::post(acceptor_.get_executor(), [this] {
    beast::error_code ec;
    acceptor_.close(ec);
    accept_timer_.cancel();
  });
  ioc_.stop();
}

}  // namespace localrds
