// HttpServer: the Boost.Beast HTTP/1.1 listener in front of the Router, after Beast's
// callback-style async server example.
//
// Each connection is a Session (enable_shared_from_this; every pending handler holds it) on its
// own strand. Every read has a 30 s timeout and body/header limits; a malformed or oversized
// request gets a 4xx and the connection closes. No handler throws out of Asio: exceptions are
// caught per session and answered with InternalFailure, and each io thread catches what is left
// and keeps serving. Run() blocks on the calling thread plus `threads - 1` more; Stop() closes
// the acceptor and stops the io_context (open sessions are dropped; responses in flight are lost,
// which is what a client of a stopped server sees anyway). Thread-safe.
//
// Connections are capped (half the process's descriptor limit, at most 4096): at the cap, and
// when accept() fails for want of a descriptor or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM), the
// listener pauses (50 ms, doubling up to 1 s while it keeps failing) instead of retrying at once,
// so a flood of connections costs no CPU and the clients already connected are still served; new
// ones wait in the listen backlog.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "api/router.h"
#include "common/status.h"

namespace localrds {

class HttpServer {
 public:
  HttpServer(boost::asio::io_context& ioc, Router& router);
  //! Binds and listens; fails with a message when the address is taken.
  Status Listen(const std::string& host, int port);
  //! The bound port (useful with port 0).
  int port() const { return port_; }
  void Run(int threads);
  void Stop();

 private:
  void DoAccept();
  //! Accepts again after `delay` (on the acceptor's strand), logging `why` at most every 10 s.
  void PauseAccept(std::chrono::milliseconds delay, const std::string& why);

  boost::asio::io_context& ioc_;
  Router& router_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer accept_timer_;  //!< on the acceptor's strand, like the fields below
  int port_ = 0;
  int max_connections_ = 1024;
  //! Open sessions; each holds it and counts itself out when it ends (after this server, maybe).
  std::shared_ptr<std::atomic<int>> open_ = std::make_shared<std::atomic<int>>(0);
  std::chrono::milliseconds accept_backoff_{50};
  int64_t last_pause_log_ms_ = 0;
};

}  // namespace localrds
