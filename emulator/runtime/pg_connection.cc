#include "emulator/runtime/pg_connection.h"

#include <libpq-fe.h>
#include <poll.h>

namespace localrds {

namespace {
std::string Conninfo(const ServerSpec& spec, const std::string& database) {
  return "host=" + spec.socket_dir.string() + " port=" + std::to_string(spec.port) +
         " user=" + kSuperuser + " dbname=" + database +
         " connect_timeout=30 application_name=localrds keepalives=1"
         " options='-c statement_timeout=120000'";
}
}  // namespace

Result<std::string> PgQueryValue(const ServerSpec& spec, const std::string& database,
                                 const std::string& sql) {
  PGconn* conn = PQconnectdb(Conninfo(spec, database).c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(conn);
    PQfinish(conn);
    return Status::Internal("cannot connect to PostgreSQL: " + msg);
  }
  PGresult* res = PQexec(conn, sql.c_str());
  if (PQresultStatus(res) != PGRES_TUPLES_OK) {
    std::string msg = PQresultErrorMessage(res);
    PQclear(res);
    PQfinish(conn);
    return Status::Internal("SQL failed: " + msg);
  }
  std::string value;
  if (PQntuples(res) > 0 && PQnfields(res) > 0 && !PQgetisnull(res, 0, 0)) {
    value = PQgetvalue(res, 0, 0);
  }
  PQclear(res);
  PQfinish(conn);
  return value;
}

Status PgExecSql(const ServerSpec& spec, const std::string& database,
                 const std::vector<std::string>& statements) {
  PGconn* conn = PQconnectdb(Conninfo(spec, database).c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(conn);
    PQfinish(conn);
    return Status::Internal("cannot connect to PostgreSQL: " + msg);
  }
  for (const auto& sql : statements) {
    PGresult* res = PQexec(conn, sql.c_str());
    ExecStatusType st = PQresultStatus(res);
    const char* sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    // duplicate_object / duplicate_database: the statement already took effect (a re-run).
    bool already_done = sqlstate != nullptr &&
                        (std::string(sqlstate) == "42710" || std::string(sqlstate) == "42P04");
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && !already_done) {
      std::string msg = PQresultErrorMessage(res);
      PQclear(res);
      PQfinish(conn);
      return Status::Internal("SQL failed: " + msg);
    }
    PQclear(res);
  }
  PQfinish(conn);
  return Status::Ok();
}

// libpq's asynchronous API with our own deadline: connect_timeout has a 2 s floor and covers
// only the connection, and a hung server answers neither the startup packet nor a query.
Status PgProbe(const ServerSpec& spec, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const std::string port = std::to_string(spec.port);
  const std::string host = spec.socket_dir.string();
  const char* keys[] = {"host", "port", "user", "dbname", "application_name", nullptr};
  const char* values[] = {host.c_str(), port.c_str(),      kSuperuser,
                          "postgres",   "localrds-health", nullptr};
  PGconn* conn = PQconnectStartParams(keys, values, 0);
  auto fail = [&](const std::string& why) {
    std::string msg = why.empty() ? std::string(PQerrorMessage(conn)) : why;
    PQfinish(conn);
    return Status::Internal("health check of " + spec.resource_id + " failed: " + msg);
  };
  // Waits until the socket is ready for `events`, or the deadline passes.
  auto wait = [&](short events) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd pfd{PQsocket(conn), events, 0};
    return poll(&pfd, 1, static_cast<int>(left.count())) > 0;
  };
  if (conn == nullptr || PQstatus(conn) == CONNECTION_BAD) return fail("");
  for (PostgresPollingStatusType st = PGRES_POLLING_WRITING; st != PGRES_POLLING_OK;) {
    if (st == PGRES_POLLING_FAILED) return fail("");
    if (!wait(st == PGRES_POLLING_READING ? POLLIN : POLLOUT)) return fail("no answer in time");
    st = PQconnectPoll(conn);
  }
  if (!PQsendQuery(conn, "SELECT 1")) return fail("");
  for (;;) {
    if (!PQconsumeInput(conn)) return fail("");
    if (!PQisBusy(conn)) break;
    if (!wait(POLLIN)) return fail("no answer in time");
  }
  bool ok = true;
  while (PGresult* res = PQgetResult(conn)) {
    ok = ok && PQresultStatus(res) == PGRES_TUPLES_OK;
    PQclear(res);
  }
  if (!ok) return fail("");
  PQfinish(conn);
  return Status::Ok();
}

}  // namespace localrds
