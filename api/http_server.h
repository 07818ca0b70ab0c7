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
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
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

  boost::asio::io_context& ioc_;
  Router& router_;
  boost::asio::ip::tcp::acceptor acceptor_;
  int port_ = 0;
};

}  // namespace localrds
