// Router: turns one HTTP request into one HTTP response.
//
// Paths under /_localrds/ are the emulator's own JSON controls; every other path is the RDS
// Query API (POST form body or GET query string). Handle is called on an io_context thread and
// never blocks: mutating actions respond once their operation finishes or after
// `defer_deadline` (so a client's first Describe poll already sees the result), through
// `respond`, which may then be called from another thread. `respond` is called exactly once.
// Before either, RequestGuard refuses requests from web pages (403 AccessDenied). FaultRules
// (/_localrds/faults) may answer an action with an injected error or throttling, or delay it. A
// request made in a Region in an outage drill (its SigV4 scope's) answers 503 ServiceUnavailable.
// Thread-safe; borrows the service and the io_context.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "api/console.h"
#include "api/fault_rules.h"
#include "api/request_guard.h"
#include "api/wire_codec.h"
#include "emulator/service/rds_service.h"

namespace localrds {

using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;
using Responder = std::function<void(HttpResponse)>;

//! A complete response (Server and Content-Type set, payload prepared).
HttpResponse MakeHttpResponse(unsigned version, bool keep_alive, boost::beast::http::status status,
                              std::string body, const char* content_type);

class Router {
 public:
  //! `guard` decides which requests may reach the API and the controls at all.
  Router(RdsService& service, boost::asio::io_context& ioc, RequestGuard guard,
         std::chrono::milliseconds defer_deadline = std::chrono::seconds(20),
         const Clock& clock = SystemClock::Get());

  void Handle(const HttpRequest& req, Responder respond);

  //! A new random RequestId (UUID v4 text).
  static std::string NewRequestId();

 private:
  void HandleQueryApi(const HttpRequest& req, Responder respond);
  //! POST /console/api/rds: an RDS action of the console's pages, its Query API parameters in
  //! the form body, run as HandleQueryApi runs it (same decoding, checks and services) in the
  //! session's account and ?region=, answered in JSON (api/console.h).
  void HandleConsoleAction(const HttpRequest& req, Responder respond);
  //! Whom an action's result goes to, kept past the request (a blocking action answers from a
  //! worker thread).
  struct AnswerTo {
    unsigned version = 11;
    bool keep_alive = false;
    std::string action;
    std::string request_id;
    std::string log_line;  //!< "action=… id=… request=…"
    int64_t t0 = 0;
    Responder respond;
    bool json = false;  //!< the console's JSON answer instead of the Query API's XML
  };
  //! Runs a decoded action (scope set) and answers `to`: on this thread, or, when the action
  //! blocks, on the service's worker (RdsService::Blocks).
  void Dispatch(const std::string& action, nlohmann::json decoded, AnswerTo to);
  //! The action named in `params` decoded into its parameters, or the error that refuses it
  //! (no Action, an action RDS or localrds does not have, a malformed parameter).
  Result<nlohmann::json> DecodeAction(const QueryParams& params, std::string* action) const;
  //! Encodes `result` (its error, or its body and `shared`) and sends it, or, for an operation
  //! it started, sends it once the operation settles (RespondWhenDone).
  void Answer(AnswerTo to, const Result<Accepted>& result, const SharedList* shared);
  //! The request's action (stored in `action` once known, for the log line) decoded into its
  //! parameters, or the RDS error that refuses it (method, signature, unknown action).
  //! `identity` receives who signed it (RequestGuard::Authenticate) once the signature passes.
  Result<nlohmann::json> DecodeQueryRequest(const HttpRequest& req, std::string* action,
                                            RequestIdentity* identity) const;
  //! Runs the action; DescribeDBInstances fills `shared` instead of copying every instance.
  //! An exception becomes an InternalFailure.
  Result<Accepted> CallService(const std::string& action, const nlohmann::json& request,
                               SharedList* shared);
  //! Sends `res` when operation `operation_id` ends (or only a timing profile's hold is left) or
  //! after defer_deadline_, whichever first.
  void RespondWhenDone(int64_t operation_id, HttpResponse res, Responder respond,
                       std::string log_line, int64_t t0);
  //! The /_localrds/ controls: health, events, reset, the per-instance details and drills, and
  //! the outage drills of a Region or an Availability Zone.
  void HandleControl(const HttpRequest& req, const std::string& path, Responder respond);
  //! Where a control's instance lives: the request's ?region= and ?account=, each defaulting to
  //! the service's; InvalidParameterValue for an unknown region or a malformed account.
  Result<Scope> ControlScope(const HttpRequest& req) const;
  //! OK when `scope` names an AWS commercial region and a 12-digit account.
  static Status CheckScope(const Scope& scope);
  //! GET, POST and DELETE /_localrds/faults[/<id>].
  void FaultsControl(const HttpRequest& req, const std::string& path, const Responder& respond);
  //! `respond`, called `ms` later (an injected latency) on the io_context.
  Responder Delayed(Responder respond, int ms);

  RdsService& service_;
  boost::asio::io_context& ioc_;
  const RequestGuard guard_;
  const std::chrono::milliseconds defer_deadline_;
  FaultRules faults_;
  Console console_{service_, guard_};
};

}  // namespace localrds
