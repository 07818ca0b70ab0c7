#include "emulator/runtime/pg_client.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cstring>

namespace localrds {
namespace {

using Clock = std::chrono::steady_clock;

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// The first line of libpq's text of an error, without its severity ("FATAL:  terminating
// connection due to administrator command\nSSL connection has been closed unexpectedly").
std::string FirstLine(const std::string& text) {
  std::string line = text.substr(0, text.find('\n'));
  for (const char* severity : {"FATAL:  ", "ERROR:  ", "PANIC:  "}) {
    if (line.rfind(severity, 0) == 0) line = line.substr(std::strlen(severity));
  }
  return Trim(line);
}

// The SQLSTATE of a server's refusal at connection time: libpq keeps only its text there
// (PQerrorMessage), so the well-known refusals are named by their primary message.
std::string ConnectSqlstate(const std::string& message) {
  struct Known {
    const char* text;
    const char* sqlstate;
  };
  static const Known kKnown[] = {
      {"password authentication failed", "28P01"},
      {"no pg_hba.conf entry", "28000"},
      {"does not exist", "3D000"},  // database "x" does not exist (a role gets 28P01)
      {"too many connections", "53300"},
      {"remaining connection slots are reserved", "53300"},
      {"the database system is", "57P03"},  // starting up, shutting down, in recovery mode
      {"is not currently accepting connections", "55000"},
      {"permission denied for database", "42501"},
  };
  for (const auto& k : kKnown) {
    if (message.find(k.text) != std::string::npos) return k.sqlstate;
  }
  return "08004";  // sqlserver_rejected_establishment_of_sqlconnection
}

PgClientError ConnectError(PGconn* conn, const std::string& why = "") {
  PgClientError e;
  const std::string text = why.empty() ? Trim(conn ? PQerrorMessage(conn) : "out of memory") : why;
  // libpq 15: 'connection to server at "127.0.0.1", port 5432 failed: FATAL:  password …'.
  const auto fatal = text.find("FATAL:  ");
  if (fatal != std::string::npos) {
    e.server = true;
    e.message = text.substr(fatal + 8);
    const auto eol = e.message.find('\n');
    if (eol != std::string::npos) e.message.resize(eol);
    e.sqlstate = ConnectSqlstate(e.message);
  } else {
    // 'connection to server at "127.0.0.1", port 5432 failed: Connection refused\n\tIs the
    // server running on that host and accepting TCP/IP connections?': on one line.
    for (char c : text) {
      if (c == '\t') continue;
      e.message += c == '\n' ? ' ' : c;
    }
  }
  return e;
}

// A failed statement's error, as psql prints its first line (without "ERROR:  ").
PgClientError ResultError(PGconn* conn, const PGresult* res) {
  PgClientError e;
  const char* primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  const char* sqlstate = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  if (primary != nullptr) {
    e.message = primary;
  } else {
    e.message = FirstLine(res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
    if (e.message.empty()) e.message = FirstLine(PQerrorMessage(conn));
  }
  e.sqlstate = sqlstate ? sqlstate : "";
  // Without a SQLSTATE the connection broke (the server crashed or went away).
  e.server = !e.sqlstate.empty();
  if (e.sqlstate.empty()) e.sqlstate = "08006";  // connection_failure
  return e;
}

// Waits for `events` on the connection's socket until `deadline`, in slices of at most 100 ms
// so that `stop` is seen; false on the deadline, a stop or a poll error.
bool WaitSocket(PGconn* conn, short events, Clock::time_point deadline,
                const PgClient::StopFn& stop) {
  for (;;) {
    if (stop && stop()) return false;
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd pfd{PQsocket(conn), events, 0};
    const int n = poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left.count(), 100)));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return false;
  }
}

std::vector<std::string> ColumnNames(const PGresult* res) {
  std::vector<std::string> names;
  for (int c = 0; c < PQnfields(res); ++c) names.emplace_back(PQfname(res, c));
  return names;
}

void AppendRows(const PGresult* res, size_t max_rows, PgStatementResult& out, int64_t& counted) {
  for (int r = 0; r < PQntuples(res); ++r) {
    ++counted;
    if (out.rows.size() >= max_rows) {
      out.truncated = true;
      continue;
    }
    std::vector<std::optional<std::string>> row;
    for (int c = 0; c < PQnfields(res); ++c) {
      if (PQgetisnull(res, r, c)) {
        row.emplace_back(std::nullopt);
      } else {
        row.emplace_back(std::string(PQgetvalue(res, r, c), PQgetlength(res, r, c)));
      }
    }
    out.rows.push_back(std::move(row));
  }
}

}  // namespace

PgClient::~PgClient() { PQfinish(conn_); }

std::unique_ptr<PgClient> PgClient::Connect(const PgClientTarget& target, PgClientError& error,
                                            const StopFn& stop) {
  const std::string port = std::to_string(target.port);
  const std::string options =
      "-c statement_timeout=" + std::to_string(target.statement_timeout.count());
  const std::string connect_timeout =
      std::to_string(std::max<int64_t>(2, target.connect_timeout.count() / 1000));
  const char* keys[] = {"host",
                        "port",
                        "user",
                        "password",
                        "dbname",
                        "options",
                        "connect_timeout",
                        "application_name",
                        "gssencmode",
                        nullptr};
  const char* values[] = {target.host.c_str(),
                          port.c_str(),
                          target.user.c_str(),
                          target.password.c_str(),
                          target.database.c_str(),
                          options.c_str(),
                          connect_timeout.c_str(),
                          target.application_name.c_str(),
                          "disable",
                          nullptr};
  PGconn* conn = PQconnectStartParams(keys, values, 0);
  if (conn == nullptr || PQstatus(conn) == CONNECTION_BAD) {
    error = ConnectError(conn);
    PQfinish(conn);
    return nullptr;
  }
  const auto deadline = Clock::now() + target.connect_timeout;
  for (PostgresPollingStatusType st = PGRES_POLLING_WRITING; st != PGRES_POLLING_OK;) {
    if (st == PGRES_POLLING_FAILED) {
      error = ConnectError(conn);
      PQfinish(conn);
      return nullptr;
    }
    if (!WaitSocket(conn, st == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline, stop)) {
      error = ConnectError(conn, stop && stop()
                                     ? "stopped"
                                     : "the server did not answer within " +
                                           std::to_string(target.connect_timeout.count()) + " ms");
      PQfinish(conn);
      return nullptr;
    }
    st = PQconnectPoll(conn);
  }
  // A server's NOTICE or WARNING ("there is no transaction in progress") is the client's to
  // show, never localrds' stderr.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  std::unique_ptr<PgClient> client(new PgClient(conn));
  client->statement_timeout_ = target.statement_timeout;
  return client;
}

bool PgClient::AwaitResult(Clock::time_point deadline, const StopFn& stop, PgClientError& error) {
  for (;;) {
    if (!PQconsumeInput(conn_)) {
      error = ResultError(conn_, nullptr);
      return false;
    }
    if (!PQisBusy(conn_)) return true;
    if (!WaitSocket(conn_, POLLIN, deadline, stop)) {
      // No PQcancel here: it waits for the server to close the cancel connection, which a
      // frozen server (the drill's freeze) never does. The statement_timeout the session sets
      // ends what the server was still running.
      error.server = false;
      error.sqlstate = "";
      error.message = stop && stop() ? "stopped" : "the server did not answer in time";
      return false;
    }
  }
}

PgScriptOutcome PgClient::RunScript(const std::string& sql, size_t max_rows,
                                    std::chrono::milliseconds wait) {
  PgScriptOutcome out;
  if (wait.count() <= 0) wait = statement_timeout_ + std::chrono::seconds(5);
  const auto deadline = Clock::now() + wait;
  if (!PQsendQuery(conn_, sql.c_str())) {
    out.error = ResultError(conn_, nullptr);
    return out;
  }
  // One row at a time: a SELECT of millions of rows is counted, never held.
  PQsetSingleRowMode(conn_);
  PgStatementResult current;
  bool in_rows = false;
  int64_t counted = 0;
  for (;;) {
    PgClientError waited;
    if (!AwaitResult(deadline, nullptr, waited)) {
      out.error = waited;
      return out;  // the connection is dropped with the client
    }
    PGresult* res = PQgetResult(conn_);
    if (res == nullptr) break;
    switch (PQresultStatus(res)) {
      case PGRES_SINGLE_TUPLE:
        if (!in_rows) {
          current = PgStatementResult{};
          current.returns_rows = true;
          current.columns = ColumnNames(res);
          in_rows = true;
          counted = 0;
        }
        AppendRows(res, max_rows, current, counted);
        break;
      case PGRES_TUPLES_OK: {
        if (!in_rows) {
          current = PgStatementResult{};
          current.returns_rows = true;
          current.columns = ColumnNames(res);
          counted = 0;
        }
        AppendRows(res, max_rows, current, counted);  // none in single-row mode
        current.command = PQcmdStatus(res);
        const std::string tuples = PQcmdTuples(res);
        current.row_count = tuples.empty() ? counted : std::stoll(tuples);
        if (!out.error) out.results.push_back(std::move(current));
        in_rows = false;
        break;
      }
      case PGRES_COMMAND_OK: {
        PgStatementResult done;
        done.command = PQcmdStatus(res);
        const std::string tuples = PQcmdTuples(res);
        if (!tuples.empty()) done.row_count = std::stoll(tuples);
        if (!out.error) out.results.push_back(std::move(done));
        break;
      }
      case PGRES_EMPTY_QUERY:
        break;
      case PGRES_COPY_IN:
        // Nothing to send from a query editor: the COPY fails with this message.
        PQputCopyEnd(conn_, "COPY FROM STDIN is not supported here");
        break;
      case PGRES_COPY_OUT: {
        // Read and dropped (the editor shows the command tag), under the script's deadline.
        for (;;) {
          char* buf = nullptr;
          const int n = PQgetCopyData(conn_, &buf, 1);
          if (n > 0) {
            PQfreemem(buf);
            continue;
          }
          if (n < 0) break;  // -1: done (its result follows); -2: an error (it follows too)
          if (!WaitSocket(conn_, POLLIN, deadline, nullptr) || !PQconsumeInput(conn_)) {
            PQclear(res);
            out.error = PgClientError{"the server did not answer in time", "", false};
            return out;  // the connection is dropped with the client
          }
        }
        break;
      }
      default:
        if (!out.error) out.error = ResultError(conn_, res);
        in_rows = false;
        break;
    }
    PQclear(res);
  }
  return out;
}

std::optional<PgClientError> PgClient::Drain(const std::string& sql, std::chrono::milliseconds wait,
                                             const StopFn& stop,
                                             const std::function<bool(const PGresult*)>& each) {
  const auto deadline = Clock::now() + wait;
  if (!PQsendQuery(conn_, sql.c_str())) return ResultError(conn_, nullptr);
  std::optional<PgClientError> error;
  for (;;) {
    PgClientError waited;
    if (!AwaitResult(deadline, stop, waited)) return waited;
    PGresult* res = PQgetResult(conn_);
    if (res == nullptr) break;
    if (!each(res) && !error) error = ResultError(conn_, res);
    PQclear(res);
  }
  return error;
}

std::optional<PgClientError> PgClient::Exec(const std::string& sql, std::chrono::milliseconds wait,
                                            std::string* first_value, const StopFn& stop) {
  return Drain(sql, wait, stop, [&](const PGresult* res) {
    const ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_TUPLES_OK && first_value && PQntuples(res) > 0 && PQnfields(res) > 0 &&
        !PQgetisnull(res, 0, 0)) {
      *first_value = PQgetvalue(res, 0, 0);
    }
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
  });
}

std::optional<PgClientError> PgClient::Column(const std::string& sql,
                                              std::chrono::milliseconds wait,
                                              std::vector<std::string>& values) {
  return Drain(sql, wait, nullptr, [&](const PGresult* res) {
    if (PQresultStatus(res) != PGRES_TUPLES_OK) return false;
    for (int r = 0; r < PQntuples(res); ++r) {
      if (PQnfields(res) > 0 && !PQgetisnull(res, r, 0)) values.emplace_back(PQgetvalue(res, r, 0));
    }
    return true;
  });
}

}  // namespace localrds
