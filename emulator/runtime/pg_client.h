// PgClient: one libpq connection to an instance's endpoint over TCP, as a client (psql) makes
// it: a user and password, never the Unix socket or the cluster's superuser (pg_connection.h
// does that). The console's query editor and the DR drill writer use it.
//
// Every wait has a client-side deadline (libpq's own connect_timeout has a 2 s floor and does
// not cover a query; a frozen server answers neither) and gives up early when `stop` says so.
// A PgClient is used by one thread at a time; the password is only in libpq's connection.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

typedef struct pg_conn PGconn;
typedef struct pg_result PGresult;

namespace localrds {

//! Where and as whom to connect.
struct PgClientTarget {
  std::string host;
  int port = 0;
  std::string user;
  std::string password;
  std::string database;
  std::string application_name = "localrds-console";
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};
  //! The server's statement_timeout for the session (0: none).
  std::chrono::milliseconds statement_timeout{std::chrono::seconds(30)};
};

//! A failure. `server` is true when PostgreSQL answered it (a wrong password, a syntax error),
//! false when the server could not be reached or did not answer in time.
struct PgClientError {
  std::string message;   //!< PostgreSQL's primary message, or libpq's reason
  std::string sqlstate;  //!< PostgreSQL's SQLSTATE; "" when PostgreSQL did not send one
  bool server = false;
};

//! One statement's result, as psql shows it.
struct PgStatementResult {
  std::string command;               //!< the command tag ("INSERT 0 1", "SELECT 2")
  bool returns_rows = false;         //!< a SELECT (or RETURNING): columns and rows apply
  std::vector<std::string> columns;  //!< column names
  //! The first max_rows rows, values as text (nullopt: NULL).
  std::vector<std::vector<std::optional<std::string>>> rows;
  std::optional<int64_t> row_count;  //!< rows returned or affected, when the tag says
  bool truncated = false;            //!< more rows than max_rows came back
};

//! What a script did: every statement's result in order, up to the one that failed.
struct PgScriptOutcome {
  std::vector<PgStatementResult> results;
  std::optional<PgClientError> error;
};

class PgClient {
 public:
  using StopFn = std::function<bool()>;
  ~PgClient();
  PgClient(const PgClient&) = delete;
  PgClient& operator=(const PgClient&) = delete;

  //! Connects within target.connect_timeout (and until `stop` returns true, checked every
  //! 100 ms). Fills `error` and returns null on failure.
  static std::unique_ptr<PgClient> Connect(const PgClientTarget& target, PgClientError& error,
                                           const StopFn& stop = nullptr);

  //! Runs `sql` (one or more statements, as `psql -c` does) and collects every result, keeping
  //! at most `max_rows` rows of each (the rest are counted, never held). A failed statement ends
  //! the script; `wait` bounds the whole script (0: the statement timeout plus 5 s).
  PgScriptOutcome RunScript(const std::string& sql, size_t max_rows,
                            std::chrono::milliseconds wait = std::chrono::milliseconds(0));
  //! Runs one command; its first value (or "" for none, or NULL) when it returns rows. Waits at
  //! most `wait` and stops early when `stop` says so (then the connection is unusable).
  std::optional<PgClientError> Exec(const std::string& sql, std::chrono::milliseconds wait,
                                    std::string* first_value = nullptr,
                                    const StopFn& stop = nullptr);
  //! Runs a query and returns the first column of every row (NULLs skipped).
  std::optional<PgClientError> Column(const std::string& sql, std::chrono::milliseconds wait,
                                      std::vector<std::string>& values);

 private:
  explicit PgClient(PGconn* conn) : conn_(conn) {}
  //! Waits until the result is ready to read without blocking; false on the deadline or a stop.
  bool AwaitResult(std::chrono::steady_clock::time_point deadline, const StopFn& stop,
                   PgClientError& error);
  //! Sends `sql` and reads its results to the last within `wait` (and until `stop`): each goes to
  //! `each`, and the first that `each` refuses (returns false for) is the error.
  std::optional<PgClientError> Drain(const std::string& sql, std::chrono::milliseconds wait,
                                     const StopFn& stop,
                                     const std::function<bool(const PGresult*)>& each);

  PGconn* conn_;
  std::chrono::milliseconds statement_timeout_{0};
};

}  // namespace localrds
