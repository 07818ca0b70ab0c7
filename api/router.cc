#include "api/router.h"

#include <openssl/rand.h>

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <string_view>

#include "api/sigv4.h"
#include "common/log.h"
#include "common/time_util.h"
#include "emulator/core/regions.h"

namespace localrds {
namespace http = boost::beast::http;

HttpResponse MakeHttpResponse(unsigned version, bool keep_alive, http::status status,
                              std::string body, const char* content_type) {
  HttpResponse res{status, version};
  res.set(http::field::server, "localrds");
  res.set(http::field::content_type, content_type);
  res.keep_alive(keep_alive);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

namespace {

HttpResponse MakeResponse(const HttpRequest& req, http::status status, std::string body,
                          const char* content_type) {
  return MakeHttpResponse(req.version(), req.keep_alive(), status, std::move(body), content_type);
}

HttpResponse ErrorResponse(const HttpRequest& req, const Status& st,
                           const std::string& request_id) {
  HttpResponse res = MakeResponse(req, static_cast<http::status>(st.info().http_status),
                                  WireCodec::EncodeError(st, request_id), "text/xml");
  res.set("x-amzn-RequestId", request_id);
  return res;
}

std::string IdentifierOf(const nlohmann::json& req) {
  for (const char* k : {"DBInstanceIdentifier", "ResourceName", "SourceIdentifier"}) {
    auto it = req.find(k);
    if (it != req.end() && it->is_string()) return it->get<std::string>();
  }
  return "-";
}

// The Query API's parameters: the query string's, then (POST) the form body's, which win.
Result<QueryParams> ReadQueryParams(const HttpRequest& req) {
  const std::string query(RawQuery(req));
  QueryParams params;
  const std::string empty;
  const std::string* parts[] = {&query, req.method() == http::verb::post ? &req.body() : &empty};
  for (const std::string* part : parts) {
    auto parsed = ParseQueryString(*part);
    if (!parsed.ok()) return parsed.status();
    for (auto& [k, v] : *parsed) params[k] = v;
  }
  return params;
}

// A mutating action's response, sent once: when its operation ends or at the deadline,
// whichever comes first (both fire; `sent` lets the first through).
struct DeferredResponse {
  std::atomic<bool> sent{false};
  HttpResponse res;
  Responder respond;
  boost::asio::steady_timer timer;
  std::string line;
  int64_t t0;
  explicit DeferredResponse(boost::asio::io_context& ioc) : timer(ioc) {}
  void Send() {
    if (sent.exchange(true)) return;
    LogLine("api") << line << " status=" << res.result_int() << " " << (NowMs() - t0) << "ms";
    respond(std::move(res));
  }
};

// Builds the controls' JSON responses from a copy of the request's version and keep-alive: the
// reset and the drills answer from another thread, after the request is gone.
class JsonReply {
 public:
  explicit JsonReply(const HttpRequest& req)
      : version_(req.version()), keep_alive_(req.keep_alive()) {}
  HttpResponse operator()(http::status st, const nlohmann::json& body) const {
    return MakeHttpResponse(
        version_, keep_alive_, st,
        body.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n",
        "application/json");
  }
  HttpResponse Error(const Status& st) const {
    return (*this)(static_cast<http::status>(st.info().http_status),
                   {{"error", st.info().code}, {"message", st.message()}});
  }

 private:
  unsigned version_;
  bool keep_alive_;
};

// POST /_localrds/reset: answers once every instance is gone.
void ResetControl(RdsService& service, const JsonReply& reply, Responder respond) {
  auto shared = std::make_shared<Responder>(std::move(respond));
  service.ResetAsync([shared, reply](Status st) {
    if (st.ok()) {
      (*shared)(reply(http::status::ok, {{"reset", true}}));
    } else {
      (*shared)(reply(http::status::internal_server_error, {{"error", st.ToString()}}));
    }
  });
  LogLine("api") << "control=reset";
}

// POST /_localrds/instances/<id>/freeze | thaw: SIGSTOP / SIGCONT of its server (a drill).
void FreezeControl(RdsService& service, const JsonReply& reply, const InstanceRef& id,
                   const std::string& verb, Responder respond) {
  auto shared = std::make_shared<Responder>(std::move(respond));
  service.FreezeInstanceAsync(id, verb == "freeze", [shared, id, verb, reply](Status st) {
    LogLine("api") << "control=" << verb << " id=" << LogValue(id.name) << " " << st.ToString();
    (*shared)(st.ok() ? reply(http::status::ok, {{verb, id.name}}) : reply.Error(st));
  });
}

// POST /_localrds/regions/<region>/outage | recover and /_localrds/zones/<az>/outage | recover:
// an outage drill (emulator/service/outage_drills.h). Freezing and thawing servers waits for
// them: not on an io_context thread.
void OutageControl(RdsService& service, const JsonReply& reply, const std::string& name, bool zone,
                   bool out, Responder respond) {
  auto shared = std::make_shared<Responder>(std::move(respond));
  service.SetOutageAsync(
      name, zone, out, [shared, name, zone, out, reply](Result<nlohmann::json> r) {
        LogLine("api") << "control=" << (zone ? "zone " : "region ") << LogValue(name) << " "
                       << (out ? "outage" : "recover") << " "
                       << (r.ok() ? "ok" : r.status().ToString());
        (*shared)(r.ok() ? reply(http::status::ok, *r) : reply.Error(r.status()));
      });
}

// POST /_localrds/instances/<id>/crash: SIGKILL the instance's postmaster (a drill). Killing and
// reaping waits for the process: not on an io_context thread.
void CrashControl(RdsService& service, const JsonReply& reply, const InstanceRef& id,
                  Responder respond) {
  auto shared = std::make_shared<Responder>(std::move(respond));
  service.CrashInstanceAsync(id, [shared, id, reply](Status st) {
    LogLine("api") << "control=crash id=" << LogValue(id.name) << " " << st.ToString();
    if (!st.ok()) {
      (*shared)(reply.Error(st));
    } else {
      (*shared)(reply(http::status::ok, {{"crashed", id.name}}));
    }
  });
}

// POST /_localrds/instances/<id>/backup: run the instance's backup window now.
void BackupControl(RdsService& service, const JsonReply& reply, const InstanceRef& id,
                   const Responder& respond) {
  auto r = service.BackupNow(id);
  LogLine("api") << "control=backup id=" << LogValue(id.name) << " "
                 << (r.ok() ? "started" : r.status().ToString());
  if (!r.ok()) {
    respond(reply.Error(r.status()));
  } else {
    respond(reply(http::status::accepted,
                  {{"backup", id.name}, {"status", r->body.value("DBInstanceStatus", "")}}));
  }
}

// GET | POST | DELETE /_localrds/instances/<id>/timing: the instance's timing profile; POST
// gives it its own ({"profile": "aws", "scale": 0.05}), DELETE makes it follow the server's.
void TimingControl(RdsService& service, const HttpRequest& req, const JsonReply& reply,
                   const InstanceRef& id, const Responder& respond) {
  Result<nlohmann::json> r = Status::Internal("unset");
  if (req.method() == http::verb::get) {
    r = service.InstanceTiming(id);
  } else if (req.method() == http::verb::post) {
    auto timing = TimingProfile::FromJson(nlohmann::json::parse(req.body(), nullptr, false));
    r = timing.ok() ? service.SetInstanceTiming(id, *timing)
                    : Result<nlohmann::json>(timing.status());
  } else if (req.method() == http::verb::delete_) {
    r = service.SetInstanceTiming(id, std::nullopt);
  } else {
    respond(reply(http::status::method_not_allowed,
                  {{"error", "MethodNotAllowed"},
                   {"message", "/_localrds/instances/<id>/timing takes GET, POST and DELETE"}}));
    return;
  }
  LogLine("api") << "control=timing id=" << LogValue(id.name) << " " << req.method_string() << " "
                 << (r.ok() ? "ok" : r.status().ToString());
  respond(r.ok() ? reply(http::status::ok, *r) : reply.Error(r.status()));
}

}  // namespace

Router::Router(RdsService& service, boost::asio::io_context& ioc, RequestGuard guard,
               std::chrono::milliseconds defer_deadline, const Clock& clock)
    : service_(service),
      ioc_(ioc),
      guard_(std::move(guard)),
      defer_deadline_(defer_deadline),
      faults_(clock,
              [](const std::string& action) { return WireCodec::Builtin().HasOperation(action); }) {
}

Responder Router::Delayed(Responder respond, int ms) {
  return [this, respond = std::move(respond), ms](HttpResponse res) {
    auto timer = std::make_shared<boost::asio::steady_timer>(ioc_, std::chrono::milliseconds(ms));
    auto pending = std::make_shared<HttpResponse>(std::move(res));
    timer->async_wait([timer, pending, respond](const boost::system::error_code&) {
      respond(std::move(*pending));
    });
  };
}

std::string Router::NewRequestId() {
  unsigned char b[16];
  RAND_bytes(b, sizeof b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  char out[37];
  std::snprintf(out, sizeof out,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return out;
}

void Router::Handle(const HttpRequest& req, Responder respond) {
  std::string target(req.target());
  std::string path = target.substr(0, target.find('?'));
  if (auto refusal = guard_.CheckOrigin(req)) {
    LogLine("api") << "refused " << req.method_string() << " " << Quoted(path) << " ("
                   << refusal->reason << ")";
    HttpResponse res = ErrorResponse(req, refusal->status, NewRequestId());
    res.keep_alive(false);
    respond(std::move(res));
    return;
  }
  if (path.rfind("/_localrds/", 0) == 0 || path == "/_localrds") {
    HandleControl(req, path, std::move(respond));
    return;
  }
  if (Console::Owns(req, path)) {
    if (path == "/console/api/rds") {
      HandleConsoleAction(req, std::move(respond));
    } else {
      console_.Handle(req, path, respond);
    }
    return;
  }
  HandleQueryApi(req, std::move(respond));
}

void Router::HandleQueryApi(const HttpRequest& req, Responder respond) {
  const int64_t t0 = NowMs();
  const std::string request_id = NewRequestId();
  std::string action = "-";
  std::string ident = "-";
  std::string fault_note;  // " fault=<rule>" when a fault rule answered
  auto finish = [&](HttpResponse res) {
    LogLine("api") << "action=" << LogValue(action) << " id=" << LogValue(ident)
                   << " request=" << request_id << " status=" << res.result_int() << " "
                   << (NowMs() - t0) << "ms" << fault_note;
    respond(std::move(res));
  };
  auto fail = [&](const Status& st) { finish(ErrorResponse(req, st, request_id)); };

  RequestIdentity identity;
  auto decoded = DecodeQueryRequest(req, &action, &identity);
  // A Region in an outage drill answers every request as AWS's endpoints do while a Region is
  // down: 503 ServiceUnavailable, which SDKs retry and then raise (see README, Outage drills).
  if (service_.RegionInOutage(identity.region.empty() ? service_.DefaultScope().region
                                                      : identity.region)) {
    fail(Status::Error(AwsError::kServiceUnavailable,
                       "Service is unavailable. Please try again later."));
    return;
  }
  if (!decoded.ok()) {
    fail(decoded.status());
    return;
  }
  ident = IdentifierOf(*decoded);
  // The account and region the request acts in: its signature's, else --account-id, --region.
  Scope scope = service_.DefaultScope();
  if (!identity.region.empty()) scope.region = identity.region;
  if (!identity.account.empty()) scope.account = identity.account;
  SetRequestScope(*decoded, scope);
  if (FaultDecision fault = faults_.Decide(action); fault.latency_ms > 0 || fault.error) {
    if (fault.latency_ms > 0) respond = Delayed(std::move(respond), fault.latency_ms);
    if (fault.error) {
      fault_note = " fault=" + std::to_string(fault.rule_id);
      HttpResponse res =
          MakeResponse(req, static_cast<http::status>(fault.error->http_status),
                       WireCodec::EncodeError(fault.error->code, fault.error->http_status < 500,
                                              fault.error->message, request_id),
                       "text/xml");
      res.set("x-amzn-RequestId", request_id);
      finish(std::move(res));
      return;
    }
  }
  AnswerTo to{req.version(),
              req.keep_alive(),
              action,
              request_id,
              "action=" + LogValue(action) + " id=" + LogValue(ident) + " request=" + request_id,
              t0,
              std::move(respond)};
  Dispatch(action, *std::move(decoded), std::move(to));
}

void Router::Dispatch(const std::string& action, nlohmann::json decoded, AnswerTo to) {
  if (service_.Blocks(action)) {
    // It runs PostgreSQL programs or talks to servers: never on this io_context thread.
    service_.CallAsync(action, std::move(decoded),
                       [this, to = std::move(to)](Result<Accepted> result) mutable {
                         Answer(std::move(to), result, nullptr);
                       });
    return;
  }
  SharedList shared;
  Result<Accepted> result = CallService(action, decoded, &shared);
  Answer(std::move(to), result, shared.member.empty() ? nullptr : &shared);
}

void Router::HandleConsoleAction(const HttpRequest& req, Responder respond) {
  const int64_t t0 = NowMs();
  AnswerTo to;
  to.version = req.version();
  to.keep_alive = req.keep_alive();
  to.request_id = NewRequestId();
  to.t0 = t0;
  to.respond = std::move(respond);
  to.json = true;
  to.log_line = "console action=- request=" + to.request_id;
  auto account = console_.SessionAccount(req);
  if (!account.ok()) {
    LogLine("api") << "console refused " << req.method_string()
                   << " \"/console/api/rds\" (no session)";
    Answer(std::move(to), account.status(), nullptr);
    return;
  }
  if (req.method() != http::verb::post) {
    Answer(std::move(to), Status::Error(AwsError::kInvalidAction, "Only POST is supported."),
           nullptr);
    return;
  }
  auto query = ParseQueryString(std::string(RawQuery(req)));
  auto params = ParseQueryString(req.body());
  if (!query.ok() || !params.ok()) {
    Answer(std::move(to), !query.ok() ? query.status() : params.status(), nullptr);
    return;
  }
  Scope scope = service_.DefaultScope();
  scope.account = *account;
  if (auto r = query->find("region"); r != query->end()) scope.region = r->second;
  auto decoded = DecodeAction(*params, &to.action);
  to.log_line = "console action=" + LogValue(to.action) + " request=" + to.request_id;
  if (Status st = CheckScope(scope); !st.ok()) {
    Answer(std::move(to), st, nullptr);
    return;
  }
  if (service_.RegionInOutage(scope.region)) {
    Answer(std::move(to),
           Status::Error(AwsError::kServiceUnavailable,
                         "Service is unavailable. Please try again later."),
           nullptr);
    return;
  }
  if (!decoded.ok()) {
    Answer(std::move(to), decoded.status(), nullptr);
    return;
  }
  to.log_line = "console action=" + LogValue(to.action) +
                " id=" + LogValue(IdentifierOf(*decoded)) + " request=" + to.request_id;
  SetRequestScope(*decoded, scope);
  const std::string action = to.action;
  Dispatch(action, *std::move(decoded), std::move(to));
}

void Router::Answer(AnswerTo to, const Result<Accepted>& result, const SharedList* shared) {
  HttpResponse res;
  if (to.json) {
    // The console's answer: {"requestId", "result"} or {"requestId", "error"} (api/console.h).
    nlohmann::json body = {{"requestId", to.request_id}};
    http::status status = http::status::ok;
    if (!result.ok()) {
      status = static_cast<http::status>(result.status().info().http_status);
      body["error"] = Console::ErrorJson(result.status());
    } else {
      body["result"] = result->body;
      if (shared) {
        nlohmann::json& items = body["result"][shared->member] = nlohmann::json::array();
        for (const auto& item : shared->items) items.push_back(*item);
      }
    }
    HttpRequest shape{http::verb::post, "/", to.version};
    shape.keep_alive(to.keep_alive);
    res = Console::Json(shape, status, body);
  } else if (!result.ok()) {
    res = MakeHttpResponse(to.version, to.keep_alive,
                           static_cast<http::status>(result.status().info().http_status),
                           WireCodec::EncodeError(result.status(), to.request_id), "text/xml");
  } else {
    res = MakeHttpResponse(
        to.version, to.keep_alive, http::status::ok,
        WireCodec::Builtin().EncodeResponse(to.action, result->body, to.request_id, shared),
        "text/xml");
  }
  res.set("x-amzn-RequestId", to.request_id);
  if (!result.ok() || result->operation_id == 0) {
    LogLine("api") << to.log_line << " status=" << res.result_int() << " " << (NowMs() - to.t0)
                   << "ms";
    to.respond(std::move(res));
    return;
  }
  RespondWhenDone(result->operation_id, std::move(res), std::move(to.respond),
                  std::move(to.log_line), to.t0);
}

Result<Scope> Router::ControlScope(const HttpRequest& req) const {
  auto params = ParseQueryString(std::string(RawQuery(req)));
  if (!params.ok()) return params.status();
  Scope scope = service_.DefaultScope();
  if (auto it = params->find("region"); it != params->end()) scope.region = it->second;
  if (auto it = params->find("account"); it != params->end()) scope.account = it->second;
  LOCALRDS_RETURN_IF_ERROR(CheckScope(scope));
  return scope;
}

Status Router::CheckScope(const Scope& scope) {
  if (!FindRegion(scope.region)) {
    return Status::InvalidParameter("Unknown region '" + scope.region +
                                    "': not an AWS commercial region.");
  }
  if (scope.account.size() != 12 ||
      scope.account.find_first_not_of("0123456789") != std::string::npos) {
    return Status::InvalidParameter("Invalid account id '" + scope.account +
                                    "': an AWS account id is 12 digits.");
  }
  return Status::Ok();
}

Result<nlohmann::json> Router::DecodeQueryRequest(const HttpRequest& req, std::string* action,
                                                  RequestIdentity* identity) const {
  if (req.method() != http::verb::post && req.method() != http::verb::get) {
    return Status::Error(AwsError::kInvalidAction, "Only GET and POST are supported.");
  }
  auto params = ReadQueryParams(req);
  if (!params.ok()) return params.status();
  auto a = params->find("Action");
  const char* reason = "refused";
  auto signer = guard_.Authenticate(req, *params, a == params->end() ? std::string() : a->second,
                                    NowMs(), &reason);
  if (!signer.ok()) {
    if (signer.status().code() == AwsError::kAccessDenied) {
      std::string target(req.target());
      LogLine("api") << "refused " << req.method_string() << " "
                     << Quoted(target.substr(0, target.find('?'))) << " (" << reason << ")";
    }
    return signer.status();
  }
  *identity = std::move(*signer);
  // AWS's answer to a credential scoped to a region it does not have (STS, IAM and the other
  // Query APIs word it so): the signature cannot be right for any of its endpoints.
  if (!identity->region.empty() && !FindRegion(identity->region)) {
    return Status::Error(
        AwsError::kSignatureDoesNotMatch,
        "Credential should be scoped to a valid region, not '" + identity->region + "'. ");
  }
  return DecodeAction(*params, action);
}

Result<nlohmann::json> Router::DecodeAction(const QueryParams& params, std::string* action) const {
  auto a = params.find("Action");
  if (a == params.end() || a->second.empty()) {
    return Status::Error(AwsError::kMissingAction,
                         "The request must contain the parameter Action.");
  }
  *action = a->second;
  const WireCodec& codec = WireCodec::Builtin();
  if (!codec.HasOperation(*action)) {
    return Status::Error(AwsError::kInvalidAction,
                         "The action " + *action + " is not valid for this web service.");
  }
  if (!service_.Implements(*action)) {
    return Status::Error(AwsError::kInvalidAction,
                         "localrds does not implement the RDS action " + *action + " yet.");
  }
  return codec.DecodeRequest(*action, params);
}

Result<Accepted> Router::CallService(const std::string& action, const nlohmann::json& request,
                                     SharedList* shared) {
  try {
    if (action == "DescribeDBInstances") {
      // The hot path: rendered instances are encoded in place, never copied.
      auto page = service_.ListDBInstances(request);
      if (!page.ok()) return page.status();
      shared->member = "DBInstances";
      shared->items = std::move(page->instances);
      nlohmann::json rest = nlohmann::json::object();
      if (!page->marker.empty()) rest["Marker"] = page->marker;
      return Accepted{std::move(rest), 0};
    }
    return service_.Call(action, request);
  } catch (const std::exception& e) {
    return Status::Internal(std::string("internal error: ") + e.what());
  }
}

void Router::RespondWhenDone(int64_t operation_id, HttpResponse res, Responder respond,
                             std::string log_line, int64_t t0) {
  auto d = std::make_shared<DeferredResponse>(ioc_);
  d->res = std::move(res);
  d->respond = std::move(respond);
  d->t0 = t0;
  d->line = std::move(log_line);
  d->timer.expires_after(defer_deadline_);
  d->timer.async_wait([d](const boost::system::error_code&) { d->Send(); });
  service_.WhenOperationSettled(operation_id, [d] {
    d->Send();
    boost::asio::post(d->timer.get_executor(), [d] { d->timer.cancel(); });
  });
}

void Router::FaultsControl(const HttpRequest& req, const std::string& path,
                           const Responder& respond) {
  static constexpr std::string_view kOne = "/_localrds/faults/";  // then a rule's id
  const JsonReply reply(req);
  const std::string id = path.size() > kOne.size() ? path.substr(kOne.size()) : "";
  if (req.method() == http::verb::get && id.empty()) {
    respond(reply(http::status::ok, {{"faults", faults_.List()}}));
  } else if (req.method() == http::verb::post && id.empty()) {
    auto spec = nlohmann::json::parse(req.body(), nullptr, false);
    auto rule = faults_.Add(spec);
    LogLine("api") << "control=faults add "
                   << (rule.ok() ? rule->ToJson().dump(-1, ' ', false,
                                                       nlohmann::json::error_handler_t::replace)
                                 : rule.status().ToString());
    respond(rule.ok() ? reply(http::status::created, {{"fault", rule->ToJson()}})
                      : reply.Error(rule.status()));
  } else if (req.method() == http::verb::delete_ && id.empty()) {
    faults_.Clear();
    LogLine("api") << "control=faults clear";
    respond(reply(http::status::ok, {{"cleared", true}}));
  } else if (req.method() == http::verb::delete_) {
    const bool removed = id.find_first_not_of("0123456789") == std::string::npos && id.size() < 9 &&
                         faults_.Remove(std::stoi(id));
    LogLine("api") << "control=faults remove " << LogValue(id) << (removed ? "" : " (none)");
    respond(removed ? reply(http::status::ok, {{"removed", std::stoi(id)}})
                    : reply(http::status::not_found,
                            {{"error", "NotFound"}, {"message", "no fault rule " + id}}));
  } else {
    respond(reply(http::status::method_not_allowed,
                  {{"error", "MethodNotAllowed"},
                   {"message", "/_localrds/faults takes GET, POST and DELETE"}}));
  }
}

void Router::HandleControl(const HttpRequest& req, const std::string& path, Responder respond) {
  const JsonReply reply(req);
  const bool get = req.method() == http::verb::get;
  const bool post = req.method() == http::verb::post;
  const std::string prefix = "/_localrds/instances/";
  try {
    if (path == "/_localrds/health" && get) {
      respond(reply(http::status::ok, service_.Health()));
      return;
    }
    if (path == "/_localrds/ca.pem" && get) {
      // The bundle of every localrds CA: what sslrootcert names for sslmode=verify-full.
      auto bundle = service_.CaBundle();
      respond(bundle.ok() ? MakeHttpResponse(req.version(), req.keep_alive(), http::status::ok,
                                             *bundle, "application/x-pem-file")
                          : reply.Error(bundle.status()));
      return;
    }
    if (path == "/_localrds/events" && get) {
      auto events = service_.EventsWithIds(1000);
      respond(events.ok() ? reply(http::status::ok, {{"events", *events}})
                          : reply.Error(events.status()));
      return;
    }
    if (path == "/_localrds/reset" && post) {
      faults_.Clear();
      ResetControl(service_, reply, std::move(respond));
      return;
    }
    if (path == "/_localrds/faults" || path.rfind("/_localrds/faults/", 0) == 0) {
      FaultsControl(req, path, respond);
      return;
    }
    for (const bool zone : {false, true}) {
      const std::string area = zone ? "/_localrds/zones/" : "/_localrds/regions/";
      if (path.rfind(area, 0) != 0) continue;
      const std::string rest = path.substr(area.size());
      const size_t slash = rest.find('/');
      const std::string verb = slash == std::string::npos ? "" : rest.substr(slash + 1);
      if (post && (verb == "outage" || verb == "recover")) {
        OutageControl(service_, reply, rest.substr(0, slash), zone, verb == "outage",
                      std::move(respond));
        return;
      }
    }
    if (path.rfind(prefix, 0) == 0) {
      const std::string rest = path.substr(prefix.size());
      const size_t slash = rest.find('/');
      // ?region= and ?account= say where the instance lives (default: --region, --account-id).
      auto where = ControlScope(req);
      if (!where.ok()) {
        respond(reply.Error(where.status()));
        return;
      }
      // GET /_localrds/instances/<id>: the server and its replication (lag, WAL receiver).
      if (get && slash == std::string::npos) {
        auto details = service_.InstanceDetails(InstanceRef(rest, *where));
        respond(details.ok() ? reply(http::status::ok, *details) : reply.Error(details.status()));
        return;
      }
      const InstanceRef id(rest.substr(0, slash), *where);
      const std::string verb = slash == std::string::npos ? "" : rest.substr(slash + 1);
      if (post && (verb == "freeze" || verb == "thaw")) {
        FreezeControl(service_, reply, id, verb, std::move(respond));
        return;
      }
      if (post && verb == "crash") {
        CrashControl(service_, reply, id, std::move(respond));
        return;
      }
      if (post && verb == "backup") {
        BackupControl(service_, reply, id, respond);
        return;
      }
      if (verb == "timing") {
        TimingControl(service_, req, reply, id, respond);
        return;
      }
    }
    respond(reply(http::status::not_found,
                  {{"error", "NotFound"}, {"message", "no such localrds control: " + path}}));
  } catch (const std::exception& e) {
    respond(reply(http::status::internal_server_error, {{"error", e.what()}}));
  }
}

}  // namespace localrds
