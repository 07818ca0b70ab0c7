#include "api/console.h"

#include <openssl/rand.h>

#include <cstdio>

#include "api/sigv4.h"
#include "api/wire_codec.h"
#include "common/log.h"
#include "emulator/core/regions.h"
#include "emulator/core/request.h"

namespace localrds {

// The table api/embed_console.cmake writes (console_files.cc), ended by a null path.
struct ConsoleFile {
  const char* path;
  const char* content_type;
  const unsigned char* data;
  size_t size;
};
extern const ConsoleFile kConsoleFiles[];

namespace http = boost::beast::http;

namespace {

constexpr size_t kMaxSessions = 1000;  // oldest forgotten first: a page asks for a new one

// 32 random bytes as hex; "" when OpenSSL cannot make them.
std::string NewToken() {
  unsigned char b[32];
  if (RAND_bytes(b, sizeof b) != 1) return "";
  std::string out;
  char hex[3];
  for (unsigned char c : b) {
    std::snprintf(hex, sizeof hex, "%02x", c);
    out += hex;
  }
  return out;
}

HttpResponse Plain(const HttpRequest& req, http::status status, std::string body,
                   const std::string& content_type) {
  HttpResponse res{status, req.version()};
  res.set(http::field::server, "localrds");
  res.set(http::field::content_type, content_type);
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  Console::ConsoleHeaders(res);
  res.prepare_payload();
  return res;
}

}  // namespace

bool Console::Owns(const HttpRequest& req, const std::string& path) {
  if (path == "/console" || path.rfind("/console/", 0) == 0) return true;
  if (path != "/" || req.method() != http::verb::get) return false;
  const std::string target(req.target());
  auto accept = req.find(http::field::accept);
  return target == "/" && accept != req.end() &&
         std::string(accept->value()).find("text/html") != std::string::npos;
}

void Console::ConsoleHeaders(HttpResponse& res) {
  res.set("Content-Security-Policy",
          "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
          "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
  res.set("X-Frame-Options", "DENY");
  res.set("X-Content-Type-Options", "nosniff");
  res.set(http::field::cache_control, "no-store");
  res.set("Referrer-Policy", "no-referrer");
  res.set("Cross-Origin-Resource-Policy", "same-origin");
}

HttpResponse Console::Json(const HttpRequest& req, http::status status,
                           const nlohmann::json& body) {
  return Plain(req, status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
               "application/json");
}

nlohmann::json Console::ErrorJson(const Status& st) {
  const int code = st.info().http_status;
  return {{"code", st.info().code},
          {"message", st.message()},
          {"type", code < 500 ? "Sender" : "Receiver"}};
}

HttpResponse Console::JsonError(const HttpRequest& req, const Status& st) {
  return Json(req, static_cast<http::status>(st.info().http_status), {{"error", ErrorJson(st)}});
}

std::optional<Console::File> Console::FindFile(const std::string& path) {
  const std::string want = path.empty() ? "index.html" : path;
  for (const ConsoleFile* f = kConsoleFiles; f->path; ++f) {
    if (want == f->path) {
      return File{f->content_type,
                  std::string_view(reinterpret_cast<const char*>(f->data), f->size)};
    }
  }
  return std::nullopt;
}

Result<std::string> Console::SessionAccount(const HttpRequest& req) const {
  auto h = req.find(kConsoleTokenHeader);
  if (h != req.end()) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = sessions_.find(std::string(h->value()));
    if (it != sessions_.end()) return it->second;
  }
  return Status::Error(AwsError::kAccessDenied,
                       "The console session is missing or has expired: reload the page.");
}

void Console::Handle(const HttpRequest& req, const std::string& path, const Responder& respond) {
  const bool get = req.method() == http::verb::get;
  const bool post = req.method() == http::verb::post;
  if (path == "/" || path == "/console") {
    HttpResponse res = Plain(req, http::status::found, "", "text/plain");
    res.set(http::field::location, "/console/");
    respond(std::move(res));
    return;
  }
  static constexpr std::string_view kApi = "/console/api/";
  if (path.rfind(kApi, 0) != 0) {
    auto file = get ? FindFile(path.substr(std::string("/console/").size())) : std::nullopt;
    if (!file) {
      respond(Plain(req, get ? http::status::not_found : http::status::method_not_allowed,
                    get ? "Not found\n" : "The console's files take GET\n",
                    "text/plain; charset=utf-8"));
      return;
    }
    respond(Plain(req, http::status::ok, std::string(file->data), file->content_type));
    return;
  }
  const std::string call = path.substr(kApi.size());
  if (call == "info" && get) {
    nlohmann::json regions = nlohmann::json::array();
    for (const auto& r : AllRegions()) regions.push_back(r.name);
    respond(Json(req, http::status::ok,
                 {{"credentialsRequired", guard_.strict()},
                  {"defaultRegion", service_.DefaultScope().region},
                  {"regions", regions}}));
    return;
  }
  if (call == "session" && post) {
    NewSession(req, respond);
    return;
  }
  auto account = SessionAccount(req);
  if (!account.ok()) {
    LogLine("api") << "console refused " << req.method_string() << " " << Quoted(path)
                   << " (no session)";
    respond(JsonError(req, account.status()));
    return;
  }
  if ((call == "sql" || call == "drill/writer" || call == "drill/fault" || call == "drill/stop") &&
      post) {
    Workshop(req, call == "sql" ? "sql" : call.substr(6), *account, respond);
  } else if (call == "drill" && get) {
    Workshop(req, "status", *account, respond);
  } else if (call == "metrics" && get) {
    Workshop(req, "metrics", *account, respond);
  } else {
    respond(JsonError(req, Status::Error(AwsError::kInvalidAction,
                                         "The console has no call " +
                                             std::string(req.method_string()) + " " + path + ".")));
  }
}

void Console::NewSession(const HttpRequest& req, const Responder& respond) {
  auto body = nlohmann::json::parse(req.body().empty() ? "{}" : req.body(), nullptr, false);
  if (!body.is_object()) {
    respond(JsonError(req, Status::InvalidParameter("The session request must be a JSON object.")));
    return;
  }
  auto text = [&](const char* k) {
    auto it = body.find(k);
    return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  auto account = guard_.SessionAccount(text("accessKeyId"), text("secretAccessKey"));
  if (!account.ok()) {
    LogLine("api") << "console session refused (" << account.status().info().code << ")";
    respond(JsonError(req, account.status()));
    return;
  }
  const std::string token = NewToken();
  if (token.empty()) {
    respond(JsonError(req, Status::Internal("No random bytes for a session token.")));
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (order_.size() >= kMaxSessions) {  // the oldest session goes
      sessions_.erase(order_.front());
      order_.pop_front();
    }
    sessions_[token] = *account;
    order_.push_back(token);
  }
  LogLine("api") << "console session opened (account " << *account << ")";
  respond(Json(req, http::status::ok, {{"token", token}, {"account", *account}}));
}

void Console::Workshop(const HttpRequest& req, const std::string& what, const std::string& account,
                       const Responder& respond) {
  auto query = ParseQueryString(std::string(RawQuery(req)));
  if (!query.ok()) {
    respond(JsonError(req, query.status()));
    return;
  }
  Scope scope = service_.DefaultScope();
  scope.account = account;
  if (auto r = query->find("region"); r != query->end()) scope.region = r->second;
  if (!FindRegion(scope.region)) {
    respond(JsonError(req, Status::InvalidParameter("Unknown region '" + scope.region +
                                                    "': not an AWS commercial region.")));
    return;
  }
  if (service_.RegionInOutage(scope.region)) {  // as the Region's RDS API answers meanwhile
    respond(JsonError(req, Status::Error(AwsError::kServiceUnavailable,
                                         "Service is unavailable. Please try again later.")));
    return;
  }
  nlohmann::json body = nlohmann::json::object();
  if (req.method() == http::verb::post) {
    body = nlohmann::json::parse(req.body().empty() ? "{}" : req.body(), nullptr, false);
    if (!body.is_object()) {
      respond(JsonError(req, Status::InvalidParameter("The request must be a JSON object.")));
      return;
    }
  } else {
    for (const auto& [k, v] : *query) {
      if (k != "region") body[k] = v;
    }
  }
  const unsigned version = req.version();
  const bool keep_alive = req.keep_alive();
  const int64_t t0 = NowMs();
  auto reply = [version, keep_alive, what, t0, respond](Result<nlohmann::json> r) {
    HttpRequest shape{http::verb::get, "/", version};
    shape.keep_alive(keep_alive);
    HttpResponse res;
    if (r.ok()) {
      // An answer with an "error" member is a failure that carries more (a failed statement
      // keeps the results before it, for the query editor to show): 400.
      res = Json(shape, r->contains("error") ? http::status::bad_request : http::status::ok, *r);
    } else {
      const nlohmann::json err = {{"error", ErrorJson(r.status())}};
      res = Json(shape, static_cast<http::status>(r.status().info().http_status), err);
    }
    LogLine("api") << "console " << what << " status=" << res.result_int() << " " << (NowMs() - t0)
                   << "ms";
    respond(std::move(res));
  };
  if (what == "sql") {
    service_.RunSqlAsync(scope, std::move(body), std::move(reply));
  } else if (what == "metrics") {
    service_.MetricsAsync(InstanceRef(body.value("DBInstanceIdentifier", ""), scope),
                          std::move(reply));
  } else {
    service_.DrillAsync(scope, what, std::move(body), std::move(reply));
  }
}

}  // namespace localrds
