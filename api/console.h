// Console: the web console (README, "The console") on the API's own port. It serves the
// console's files (the top-level console/ folder, built into the binary by
// api/embed_console.cmake), hands out sessions and checks them, and answers the workshop calls
// (query editor, DR drills) through RdsService's hooks. The RDS actions the pages make
// (POST /console/api/rds) are not here: the Router runs them through the Query API's own decoding
// and services (Router::HandleConsoleAction), so the console is never a second implementation.
//
// Safety, on top of the RequestGuard's origin rules (Host, Origin, Sec-Fetch-Site, Referer) that
// every request passes first: each /console/api/ call but `info` and `session` must carry a
// session's token in the X-Localrds-Console-Token header. A page of another origin can neither
// read a token (it comes in a same-origin JSON answer; localrds grants no CORS) nor send the
// header (a custom header needs a CORS preflight). With --credentials, a session needs an access
// key of the file and its secret, and acts in that key's account. Every console answer forbids
// framing and inline script (ConsoleHeaders).
//
// Thread-safety: thread-safe (the sessions under a mutex). Borrows the service and the guard.
#pragma once

#include <boost/beast/http.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "api/request_guard.h"
#include "common/status.h"
#include "emulator/service/rds_service.h"

namespace localrds {

using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;
using Responder = std::function<void(HttpResponse)>;

//! The header that carries a console session's token.
inline constexpr const char* kConsoleTokenHeader = "X-Localrds-Console-Token";

class Console {
 public:
  Console(RdsService& service, const RequestGuard& guard) : service_(service), guard_(guard) {}

  //! True for the paths the console answers: "/console" and below, and "/" asked for by a
  //! browser (Accept names text/html, no query string), which is sent to /console/.
  static bool Owns(const HttpRequest& req, const std::string& path);
  //! Answers a request Owns, but POST /console/api/rds (the Router's).
  void Handle(const HttpRequest& req, const std::string& path, const Responder& respond);
  //! The account of the request's session, or AccessDenied (403) without a valid token.
  Result<std::string> SessionAccount(const HttpRequest& req) const;
  //! A console JSON answer: `body` with the console's headers.
  static HttpResponse Json(const HttpRequest& req, boost::beast::http::status status,
                           const nlohmann::json& body);
  //! {"code", "message", "type"} of an error, as every console answer carries it.
  static nlohmann::json ErrorJson(const Status& st);
  //! A console JSON error: {"error": ErrorJson} and the error's HTTP status.
  static HttpResponse JsonError(const HttpRequest& req, const Status& st);
  //! The console's security headers: CSP (same-origin only, no inline script or style, no
  //! framing), X-Frame-Options DENY, nosniff, no caching, no referrer.
  static void ConsoleHeaders(HttpResponse& res);
  //! The embedded file at `path` below /console/ ("" is index.html); nullopt when none.
  struct File {
    std::string content_type;
    std::string_view data;
  };
  static std::optional<File> FindFile(const std::string& path);

 private:
  void NewSession(const HttpRequest& req, const Responder& respond);
  //! /console/api/sql and /console/api/drill*: the region of ?region= (default the service's),
  //! the session's account, the JSON body; answered from the service's worker thread.
  void Workshop(const HttpRequest& req, const std::string& what, const std::string& account,
                const Responder& respond);

  RdsService& service_;
  const RequestGuard& guard_;
  mutable std::mutex mutex_;                     //!< guards sessions_, order_
  std::map<std::string, std::string> sessions_;  //!< token → account
  std::deque<std::string> order_;                //!< the tokens, oldest first
};

}  // namespace localrds
