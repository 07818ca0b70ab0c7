#include "api/router.h"

#include <openssl/rand.h>

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <memory>

#include "common/log.h"
#include "common/time_util.h"

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

HttpResponse ErrorResponse(const HttpRequest& req, const Status& st, const std::string& request_id) {
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

}  // namespace

Router::Router(RdsService& service, boost::asio::io_context& ioc, RequestGuard guard,
               std::chrono::milliseconds defer_deadline)
    : service_(service), ioc_(ioc), guard_(std::move(guard)), defer_deadline_(defer_deadline) {}

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
  HandleQueryApi(req, std::move(respond));
}

void Router::HandleQueryApi(const HttpRequest& req, Responder respond) {
  const int64_t t0 = NowMs();
  const std::string request_id = NewRequestId();
  std::string action = "-";
  std::string ident = "-";
  auto finish = [&](HttpResponse res) {
    LogLine("api") << "action=" << action << " id=" << ident << " request=" << request_id
                   << " status=" << res.result_int() << " " << (NowMs() - t0) << "ms";
    respond(std::move(res));
  };
  auto fail = [&](const Status& st) { finish(ErrorResponse(req, st, request_id)); };

  if (req.method() != http::verb::post && req.method() != http::verb::get) {
    fail(Status::Error(AwsError::kInvalidAction, "Only GET and POST are supported."));
    return;
  }
  std::string target(req.target());
  size_t q = target.find('?');
  std::string query = q == std::string::npos ? "" : target.substr(q + 1);
  QueryParams params;
  const std::string empty;
  const std::string* parts[] = {&query, req.method() == http::verb::post ? &req.body() : &empty};
  for (const std::string* part : parts) {
    auto parsed = ParseQueryString(*part);
    if (!parsed.ok()) {
      fail(parsed.status());
      return;
    }
    for (auto& [k, v] : *parsed) params[k] = v;
  }
  auto a = params.find("Action");
  if (auto refusal =
          guard_.CheckSignature(req, params, a == params.end() ? std::string() : a->second)) {
    if (refusal->status.code() == AwsError::kAccessDenied) {
      LogLine("api") << "refused " << req.method_string() << " " << Quoted(target.substr(0, q))
                     << " (" << refusal->reason << ")";
    }
    fail(refusal->status);
    return;
  }
  if (a == params.end() || a->second.empty()) {
    fail(Status::Error(AwsError::kMissingAction, "The request must contain the parameter Action."));
    return;
  }
  action = a->second;
  const WireCodec& codec = WireCodec::Builtin();
  if (!codec.HasOperation(action)) {
    fail(Status::Error(AwsError::kInvalidAction,
                       "The action " + action + " is not valid for this web service."));
    return;
  }
  if (!service_.Implements(action)) {
    fail(Status::Error(AwsError::kInvalidAction,
                       "localrds does not implement the RDS action " + action + " yet."));
    return;
  }
  auto decoded = codec.DecodeRequest(action, params);
  if (!decoded.ok()) {
    fail(decoded.status());
    return;
  }
  ident = IdentifierOf(*decoded);
  Result<Accepted> result = Status::Internal("not run");
  SharedList shared;
  try {
    if (action == "DescribeDBInstances") {
      // The hot path: rendered instances are encoded in place, never copied.
      auto page = service_.ListDBInstances(*decoded);
      if (page.ok()) {
        shared.member = "DBInstances";
        shared.items = std::move(page->instances);
        nlohmann::json rest = nlohmann::json::object();
        if (!page->marker.empty()) rest["Marker"] = page->marker;
        result = Accepted{std::move(rest), 0};
      } else {
        result = page.status();
      }
    } else {
      result = service_.Call(action, *decoded);
    }
  } catch (const std::exception& e) {
    result = Status::Internal(std::string("internal error: ") + e.what());
  }
  if (!result.ok()) {
    fail(result.status());
    return;
  }
  HttpResponse res = MakeResponse(req, http::status::ok,
                                  codec.EncodeResponse(action, result->body, request_id,
                                                       shared.member.empty() ? nullptr : &shared),
                                  "text/xml");
  res.set("x-amzn-RequestId", request_id);
  if (result->operation_id == 0) {
    finish(std::move(res));
    return;
  }
  // Respond when the operation ends, or at the deadline, whichever comes first.
  struct Deferred {
    std::atomic<bool> sent{false};
    HttpResponse res;
    Responder respond;
    boost::asio::steady_timer timer;
    std::string line;
    int64_t t0;
    explicit Deferred(boost::asio::io_context& ioc) : timer(ioc) {}
    void Send() {
      if (sent.exchange(true)) return;
      LogLine("api") << line << " status=" << res.result_int() << " " << (NowMs() - t0) << "ms";
      respond(std::move(res));
    }
  };
  auto d = std::make_shared<Deferred>(ioc_);
  d->res = std::move(res);
  d->respond = std::move(respond);
  d->t0 = t0;
  d->line = "action=" + action + " id=" + ident + " request=" + request_id;
  d->timer.expires_after(defer_deadline_);
  d->timer.async_wait([d](const boost::system::error_code&) { d->Send(); });
  service_.WhenOperationDone(result->operation_id, [d] {
    d->Send();
    boost::asio::post(d->timer.get_executor(), [d] { d->timer.cancel(); });
  });
}

void Router::HandleControl(const HttpRequest& req, const std::string& path, Responder respond) {
  // Copies what it needs of the request: reset and crash drills answer from another thread.
  auto json_response = [version = req.version(), keep_alive = req.keep_alive()](
                           http::status st, const nlohmann::json& body) {
    return MakeHttpResponse(version, keep_alive, st, body.dump(2) + "\n", "application/json");
  };
  const bool get = req.method() == http::verb::get;
  const bool post = req.method() == http::verb::post;
  try {
    if (path == "/_localrds/health" && get) {
      respond(json_response(http::status::ok, service_.Health()));
      return;
    }
    if (path == "/_localrds/events" && get) {
      respond(json_response(http::status::ok, {{"events", service_.EventsWithIds(1000)}}));
      return;
    }
    if (path == "/_localrds/reset" && post) {
      auto shared = std::make_shared<Responder>(std::move(respond));
      service_.ResetAsync([shared, json_response](Status st) {
        if (st.ok()) {
          (*shared)(json_response(http::status::ok, {{"reset", true}}));
        } else {
          (*shared)(json_response(http::status::internal_server_error, {{"error", st.ToString()}}));
        }
      });
      LogLine("api") << "control=reset";
      return;
    }
    auto error_response = [json_response](const Status& st) {
      return json_response(static_cast<http::status>(st.info().http_status),
                           {{"error", st.info().code}, {"message", st.message()}});
    };
    const std::string prefix = "/_localrds/instances/";
    // GET /_localrds/instances/<id>: the server and its replication (lag, WAL receiver).
    if (get && path.rfind(prefix, 0) == 0 && path.find('/', prefix.size()) == std::string::npos) {
      auto details = service_.InstanceDetails(path.substr(prefix.size()));
      respond(details.ok() ? json_response(http::status::ok, *details)
                           : error_response(details.status()));
      return;
    }
    // POST /_localrds/instances/<id>/crash: SIGKILL the instance's postmaster (a drill).
    if (post && path.rfind(prefix, 0) == 0) {
      std::string rest = path.substr(prefix.size());
      size_t slash = rest.find('/');
      // POST /_localrds/instances/<id>/freeze | thaw: SIGSTOP / SIGCONT of its server (a drill).
      const std::string verb = slash == std::string::npos ? "" : rest.substr(slash + 1);
      if (verb == "freeze" || verb == "thaw") {
        std::string id = rest.substr(0, slash);
        auto shared = std::make_shared<Responder>(std::move(respond));
        service_.FreezeInstanceAsync(id, verb == "freeze",
                                [shared, id, verb, json_response, error_response](Status st) {
                                  LogLine("api") << "control=" << verb << " id=" << id << " "
                                                 << st.ToString();
                                  (*shared)(st.ok() ? json_response(http::status::ok, {{verb, id}})
                                                    : error_response(st));
                                });
        return;
      }
      if (slash != std::string::npos && rest.substr(slash + 1) == "crash") {
        // Killing and reaping waits for the process: not on an io_context thread.
        std::string id = rest.substr(0, slash);
        auto shared = std::make_shared<Responder>(std::move(respond));
        service_.CrashInstanceAsync(id, [shared, id, json_response](Status st) {
          LogLine("api") << "control=crash id=" << id << " " << st.ToString();
          if (!st.ok()) {
            (*shared)(json_response(static_cast<http::status>(st.info().http_status),
                                    {{"error", st.info().code}, {"message", st.message()}}));
          } else {
            (*shared)(json_response(http::status::ok, {{"crashed", id}}));
          }
        });
        return;
      }
      // POST /_localrds/instances/<id>/backup: run the instance's backup window now.
      if (slash != std::string::npos && rest.substr(slash + 1) == "backup") {
        std::string id = rest.substr(0, slash);
        auto r = service_.BackupNow(id);
        LogLine("api") << "control=backup id=" << id << " " << (r.ok() ? "started" : r.status().ToString());
        if (!r.ok()) {
          respond(json_response(static_cast<http::status>(r.status().info().http_status),
                                {{"error", r.status().info().code}, {"message", r.status().message()}}));
        } else {
          respond(json_response(http::status::accepted,
                                {{"backup", id}, {"status", r->body.value("DBInstanceStatus", "")}}));
        }
        return;
      }
    }
    respond(json_response(http::status::not_found,
                          {{"error", "NotFound"}, {"message", "no such localrds control: " + path}}));
  } catch (const std::exception& e) {
    respond(json_response(http::status::internal_server_error, {{"error", e.what()}}));
  }
}

}  // namespace localrds
