#include "storage/catalog.h"

#include <sqlite3.h>

#include <stdexcept>

namespace localrds {
namespace {

// A prepared statement that finalizes itself.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) {
      throw std::runtime_error(std::string("sqlite prepare: ") + sqlite3_errmsg(db));
    }
  }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt& Bind(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Bind(int i, int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  bool Step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw std::runtime_error(std::string("sqlite step: ") +
                             sqlite3_errmsg(sqlite3_db_handle(stmt_)));
  }
  std::string Text(int col) {
    const unsigned char* t = sqlite3_column_text(stmt_, col);
    return t ? std::string(reinterpret_cast<const char*>(t)) : std::string();
  }
  int64_t Int(int col) { return sqlite3_column_int64(stmt_, col); }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

Status Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown";
    sqlite3_free(err);
    return Status::Internal(std::string("sqlite: ") + msg + " in " + sql);
  }
  return Status::Ok();
}

// A read that SQLite fails (a broken catalog) is a Status, as a failed write is.
template <class F>
auto ReadGuard(F&& read) -> Result<decltype(read())> {
  try {
    return read();
  } catch (const std::exception& e) {
    return Status::Internal(std::string("catalog read failed: ") + e.what());
  }
}

template <class F>
Status Guard(F&& f) {
  try {
    return f();
  } catch (const std::exception& e) {
    return Status::Internal(e.what());
  }
}

constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE instances(
  resource_id TEXT PRIMARY KEY,
  identifier TEXT NOT NULL UNIQUE,
  status TEXT NOT NULL,
  desired_state TEXT NOT NULL,
  port INTEGER NOT NULL,
  password_verifier TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  stopped_ms INTEGER NOT NULL DEFAULT 0,
  attrs TEXT NOT NULL);
CREATE TABLE operations(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  resource_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  step INTEGER NOT NULL,
  state TEXT NOT NULL,
  params TEXT NOT NULL,
  error TEXT NOT NULL DEFAULT '',
  created_ms INTEGER NOT NULL);
CREATE INDEX operations_unfinished ON operations(state) WHERE state = 'running';
CREATE TABLE events(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  date_ms INTEGER NOT NULL,
  source_type TEXT NOT NULL,
  source_identifier TEXT NOT NULL,
  source_arn TEXT NOT NULL,
  event_id TEXT NOT NULL,
  message TEXT NOT NULL,
  categories TEXT NOT NULL);
CREATE INDEX events_date ON events(date_ms);
)sql";

// v2: snapshots and retained automated backups (backups issue).
constexpr const char* kSchemaV2 = R"sql(
CREATE TABLE snapshots(
  id TEXT PRIMARY KEY,
  identifier TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  status TEXT NOT NULL,
  dbi_resource_id TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  attrs TEXT NOT NULL);
CREATE INDEX snapshots_dbi ON snapshots(dbi_resource_id);
CREATE TABLE retained_backups(
  resource_id TEXT PRIMARY KEY,
  instance TEXT NOT NULL,
  deleted_ms INTEGER NOT NULL);
)sql";

// v3: every resource belongs to an account and a region (regions issue): identifiers are unique
// per (account, region). SQLite cannot drop a UNIQUE constraint, so the two tables that had one
// are rebuilt; `%ACCOUNT%` and `%REGION%` are the scope existing rows move to (quoted by Migrate).
constexpr const char* kSchemaV3 = R"sql(
CREATE TABLE instances_v3(
  resource_id TEXT PRIMARY KEY,
  account TEXT NOT NULL,
  region TEXT NOT NULL,
  identifier TEXT NOT NULL,
  status TEXT NOT NULL,
  desired_state TEXT NOT NULL,
  port INTEGER NOT NULL,
  password_verifier TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  stopped_ms INTEGER NOT NULL DEFAULT 0,
  attrs TEXT NOT NULL,
  UNIQUE(account, region, identifier));
INSERT INTO instances_v3 SELECT resource_id, %ACCOUNT%, %REGION%, identifier, status,
  desired_state, port, password_verifier, created_ms, stopped_ms, attrs FROM instances;
DROP TABLE instances;
ALTER TABLE instances_v3 RENAME TO instances;
CREATE TABLE snapshots_v3(
  id TEXT PRIMARY KEY,
  account TEXT NOT NULL,
  region TEXT NOT NULL,
  identifier TEXT NOT NULL,
  type TEXT NOT NULL,
  status TEXT NOT NULL,
  dbi_resource_id TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  attrs TEXT NOT NULL,
  UNIQUE(account, region, identifier));
INSERT INTO snapshots_v3 SELECT id, %ACCOUNT%, %REGION%, identifier, type, status,
  dbi_resource_id, created_ms, attrs FROM snapshots;
DROP TABLE snapshots;
ALTER TABLE snapshots_v3 RENAME TO snapshots;
CREATE INDEX snapshots_dbi ON snapshots(dbi_resource_id);
ALTER TABLE retained_backups ADD COLUMN account TEXT NOT NULL DEFAULT '';
ALTER TABLE retained_backups ADD COLUMN region TEXT NOT NULL DEFAULT '';
UPDATE retained_backups SET account = %ACCOUNT%, region = %REGION%;
ALTER TABLE events ADD COLUMN account TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN region TEXT NOT NULL DEFAULT '';
UPDATE events SET account = %ACCOUNT%, region = %REGION%;
CREATE INDEX events_scope ON events(account, region, seq);
)sql";

// v4: the control plane's groups and event subscriptions (GroupRow), and the cursors of the
// loops that walk the events (control-plane issue).
constexpr const char* kSchemaV4 = R"sql(
CREATE TABLE groups(
  kind TEXT NOT NULL,
  account TEXT NOT NULL,
  region TEXT NOT NULL,
  name TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY(kind, account, region, name));
CREATE TABLE cursors(
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL);
)sql";

constexpr int kSchemaVersion = 4;

// `s` as an SQL string literal.
std::string SqlQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

std::string ReplaceAll(std::string s, const std::string& from, const std::string& to) {
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
  return s;
}

nlohmann::json InstanceToJson(const InstanceRow& r) {
  return {{"resource_id", r.resource_id},
          {"account", r.scope.account},
          {"region", r.scope.region},
          {"identifier", r.identifier},
          {"status", ToString(r.status)},
          {"desired_state", r.desired_state},
          {"port", r.port},
          {"password_verifier", r.password_verifier},
          {"created_ms", r.created_ms},
          {"stopped_ms", r.stopped_ms},
          {"attrs", r.attrs}};
}

InstanceRow InstanceFromJson(const nlohmann::json& j) {
  InstanceRow r;
  r.resource_id = j.value("resource_id", "");
  r.scope = {j.value("account", ""), j.value("region", "")};
  r.identifier = j.value("identifier", "");
  r.status = ParseDbStatus(j.value("status", "")).value_or(DbStatus::kFailed);
  r.desired_state = j.value("desired_state", "");
  r.port = j.value("port", 0);
  r.password_verifier = j.value("password_verifier", "");
  r.created_ms = j.value("created_ms", int64_t{0});
  r.stopped_ms = j.value("stopped_ms", int64_t{0});
  r.attrs = j.value("attrs", nlohmann::json::object());
  return r;
}

}  // namespace

Result<std::unique_ptr<Catalog>> Catalog::Open(const std::string& path, const Scope& legacy_scope) {
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Status::Internal("cannot open catalog " + path + ": " + msg);
  }
  sqlite3_busy_timeout(db, 5000);
  std::unique_ptr<Catalog> c(new Catalog(db));
  LOCALRDS_RETURN_IF_ERROR(Exec(db,
                                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                                " PRAGMA foreign_keys=ON;"));
  LOCALRDS_RETURN_IF_ERROR(c->Migrate(legacy_scope));
  return c;
}

Catalog::~Catalog() { sqlite3_close(db_); }

std::optional<Scope> Catalog::ScopeOfNewestEvent() {
  Stmt s(db_, "SELECT source_arn FROM events ORDER BY seq DESC LIMIT 1");
  if (!s.Step()) return std::nullopt;
  // arn:aws:rds:<region>:<account>:<type>:<id>
  std::vector<std::string> parts;
  const std::string arn = s.Text(0);
  for (size_t start = 0, end; parts.size() < 5; start = end + 1) {
    end = arn.find(':', start);
    if (end == std::string::npos) return std::nullopt;
    parts.push_back(arn.substr(start, end - start));
  }
  if (parts[0] != "arn" || parts[3].empty() || parts[4].size() != 12) return std::nullopt;
  return Scope{parts[4], parts[3]};
}

Status Catalog::Migrate(const Scope& legacy_scope) {
  return Guard([&]() -> Status {
    int64_t version = 0;
    {  // finalized before the migrations: an open statement would lock the tables they drop
      Stmt s(db_, "PRAGMA user_version");
      s.Step();
      version = s.Int(0);
    }
    if (version > kSchemaVersion) {
      return Status::Internal("catalog schema version " + std::to_string(version) +
                              " is newer than this localrds");
    }
    // Each migration runs in its own transaction with its user_version bump.
    const char* kMigrations[] = {kSchemaV1, kSchemaV2, kSchemaV3, kSchemaV4};
    for (int64_t v = version; v < kSchemaVersion; ++v) {
      std::string sql = kMigrations[v];
      if (v == 2) {
        // The rows of a catalog made before scopes belong where their events say they were
        // made (the --region and --account-id of the run that made them), else to this run's.
        const Scope scope = ScopeOfNewestEvent().value_or(legacy_scope);
        sql = ReplaceAll(ReplaceAll(sql, "%ACCOUNT%", SqlQuote(scope.account)), "%REGION%",
                         SqlQuote(scope.region));
      }
      LOCALRDS_RETURN_IF_ERROR(Exec(db_, "BEGIN IMMEDIATE"));
      Status st = Exec(db_, sql.c_str());
      if (st.ok()) st = Exec(db_, ("PRAGMA user_version=" + std::to_string(v + 1)).c_str());
      if (!st.ok()) {
        (void)Exec(db_, "ROLLBACK");  // the error that made us roll back is what is reported
        return st;
      }
      LOCALRDS_RETURN_IF_ERROR(Exec(db_, "COMMIT"));
    }
    return Status::Ok();
  });
}

Status Catalog::Transact(const std::function<Status(CatalogTxn&)>& fn) {
  std::lock_guard<std::mutex> lock(mutex_);
  LOCALRDS_RETURN_IF_ERROR(Exec(db_, "BEGIN IMMEDIATE"));
  CatalogTxn txn(db_);
  Status st;
  try {
    st = fn(txn);
  } catch (const std::exception& e) {
    st = Status::Internal(std::string("catalog transaction: ") + e.what());
  }
  if (!st.ok()) {
    (void)Exec(db_, "ROLLBACK");  // as above
    return st;
  }
  Status commit = Exec(db_, "COMMIT");
  if (!commit.ok()) (void)Exec(db_, "ROLLBACK");  // the COMMIT error is reported
  return commit;
}

Status CatalogTxn::PutInstance(const InstanceRow& r) {
  return Guard([&] {
    Stmt s(db_,
           "INSERT INTO instances(resource_id, identifier, status, desired_state, port,"
           " password_verifier, created_ms, stopped_ms, attrs, account, region)"
           " VALUES(?,?,?,?,?,?,?,?,?,?,?)"
           " ON CONFLICT(resource_id) DO UPDATE SET identifier=excluded.identifier,"
           " status=excluded.status, desired_state=excluded.desired_state, port=excluded.port,"
           " password_verifier=excluded.password_verifier, stopped_ms=excluded.stopped_ms,"
           " attrs=excluded.attrs");
    s.Bind(1, r.resource_id)
        .Bind(2, r.identifier)
        .Bind(3, std::string(ToString(r.status)))
        .Bind(4, r.desired_state)
        .Bind(5, static_cast<int64_t>(r.port))
        .Bind(6, r.password_verifier)
        .Bind(7, r.created_ms)
        .Bind(8, r.stopped_ms)
        .Bind(9, r.attrs.dump())
        .Bind(10, r.scope.account)
        .Bind(11, r.scope.region);
    s.Step();
    return Status::Ok();
  });
}

Status CatalogTxn::DeleteInstance(const std::string& resource_id) {
  return Guard([&] {
    Stmt s(db_, "DELETE FROM instances WHERE resource_id=?");
    s.Bind(1, resource_id).Step();
    return Status::Ok();
  });
}

Result<int64_t> CatalogTxn::InsertOperation(const OperationRow& r) {
  try {
    Stmt s(db_,
           "INSERT INTO operations(resource_id, kind, step, state, params, error, created_ms)"
           " VALUES(?,?,?,?,?,?,?)");
    s.Bind(1, r.resource_id)
        .Bind(2, std::string(ToString(r.kind)))
        .Bind(3, static_cast<int64_t>(r.step))
        .Bind(4, r.state)
        .Bind(5, r.params.dump())
        .Bind(6, r.error)
        .Bind(7, r.created_ms);
    s.Step();
    return static_cast<int64_t>(sqlite3_last_insert_rowid(db_));
  } catch (const std::exception& e) {
    return Status::Internal(e.what());
  }
}

Status CatalogTxn::UpdateOperation(int64_t id, int step, const std::string& state,
                                   const std::string& error) {
  return Guard([&] {
    Stmt s(db_, "UPDATE operations SET step=?, state=?, error=? WHERE id=?");
    s.Bind(1, static_cast<int64_t>(step)).Bind(2, state).Bind(3, error).Bind(4, id).Step();
    return Status::Ok();
  });
}

Status CatalogTxn::InsertEvent(const EventRow& r) {
  return Guard([&] {
    Stmt s(db_,
           "INSERT INTO events(date_ms, source_type, source_identifier, source_arn, event_id,"
           " message, categories, account, region) VALUES(?,?,?,?,?,?,?,?,?)");
    s.Bind(1, r.date_ms)
        .Bind(2, r.source_type)
        .Bind(3, r.source_identifier)
        .Bind(4, r.source_arn)
        .Bind(5, r.event_id)
        .Bind(6, r.message)
        .Bind(7, nlohmann::json(r.categories).dump())
        .Bind(8, r.scope.account)
        .Bind(9, r.scope.region);
    s.Step();
    return Status::Ok();
  });
}

Status CatalogTxn::PutSnapshot(const SnapshotRow& r) {
  return Guard([&] {
    Stmt s(db_,
           "INSERT INTO snapshots(id, identifier, type, status, dbi_resource_id, created_ms, attrs,"
           " account, region) VALUES(?,?,?,?,?,?,?,?,?)"
           " ON CONFLICT(id) DO UPDATE SET identifier=excluded.identifier,"
           " type=excluded.type, status=excluded.status, attrs=excluded.attrs");
    s.Bind(1, r.id)
        .Bind(2, r.identifier)
        .Bind(3, r.type)
        .Bind(4, r.status)
        .Bind(5, r.dbi_resource_id)
        .Bind(6, r.created_ms)
        .Bind(7, r.attrs.dump())
        .Bind(8, r.scope.account)
        .Bind(9, r.scope.region);
    s.Step();
    return Status::Ok();
  });
}

Status CatalogTxn::DeleteSnapshot(const std::string& id) {
  return Guard([&] {
    Stmt s(db_, "DELETE FROM snapshots WHERE id=?");
    s.Bind(1, id).Step();
    return Status::Ok();
  });
}

Status CatalogTxn::PutRetainedBackup(const RetainedBackupRow& r) {
  return Guard([&] {
    Stmt s(db_,
           "INSERT INTO retained_backups(resource_id, instance, deleted_ms, account, region)"
           " VALUES(?,?,?,?,?) ON CONFLICT(resource_id) DO UPDATE SET instance=excluded.instance,"
           " deleted_ms=excluded.deleted_ms");
    s.Bind(1, r.resource_id)
        .Bind(2, InstanceToJson(r.instance).dump())
        .Bind(3, r.deleted_ms)
        .Bind(4, r.instance.scope.account)
        .Bind(5, r.instance.scope.region);
    s.Step();
    return Status::Ok();
  });
}

Status CatalogTxn::DeleteRetainedBackup(const std::string& resource_id) {
  return Guard([&] {
    Stmt s(db_, "DELETE FROM retained_backups WHERE resource_id=?");
    s.Bind(1, resource_id).Step();
    return Status::Ok();
  });
}

Status CatalogTxn::PutGroup(const GroupRow& r) {
  return Guard([&] {
    Stmt s(db_,
           "INSERT INTO groups(kind, account, region, name, created_ms, body)"
           " VALUES(?,?,?,?,?,?) ON CONFLICT(kind, account, region, name)"
           " DO UPDATE SET body=excluded.body");
    s.Bind(1, r.kind)
        .Bind(2, r.scope.account)
        .Bind(3, r.scope.region)
        .Bind(4, r.name)
        .Bind(5, r.created_ms)
        .Bind(6, r.body.dump());
    s.Step();
    return Status::Ok();
  });
}

Status CatalogTxn::DeleteGroup(const std::string& kind, const Scope& scope,
                               const std::string& name) {
  return Guard([&] {
    Stmt s(db_, "DELETE FROM groups WHERE kind=? AND account=? AND region=? AND name=?");
    s.Bind(1, kind).Bind(2, scope.account).Bind(3, scope.region).Bind(4, name).Step();
    return Status::Ok();
  });
}

Status CatalogTxn::SetCursor(const std::string& name, int64_t value) {
  return Guard([&] {
    Stmt s(db_,
           "INSERT INTO cursors(name, value) VALUES(?,?)"
           " ON CONFLICT(name) DO UPDATE SET value=excluded.value");
    s.Bind(1, name).Bind(2, value).Step();
    return Status::Ok();
  });
}

Status CatalogTxn::DeleteEverything() {
  return Exec(db_,
              "DELETE FROM instances; DELETE FROM operations; DELETE FROM events;"
              " DELETE FROM snapshots; DELETE FROM retained_backups; DELETE FROM groups;"
              " DELETE FROM cursors;");
}

Result<std::vector<GroupRow>> Catalog::LoadGroups() {
  return ReadGuard([&]() -> std::vector<GroupRow> {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<GroupRow> out;
    Stmt s(db_,
           "SELECT kind, account, region, name, created_ms, body FROM groups"
           " ORDER BY kind, account, region, name");
    while (s.Step()) {
      GroupRow r;
      r.kind = s.Text(0);
      r.scope = {s.Text(1), s.Text(2)};
      r.name = s.Text(3);
      r.created_ms = s.Int(4);
      r.body = nlohmann::json::parse(s.Text(5));
      out.push_back(std::move(r));
    }
    return out;
  });
}

Result<int64_t> Catalog::LoadCursor(const std::string& name) {
  return ReadGuard([&]() -> int64_t {
    std::lock_guard<std::mutex> lock(mutex_);
    Stmt s(db_, "SELECT value FROM cursors WHERE name=?");
    s.Bind(1, name);
    return s.Step() ? s.Int(0) : 0;
  });
}

Result<std::vector<SnapshotRow>> Catalog::LoadSnapshots() {
  return ReadGuard([&]() -> std::vector<SnapshotRow> {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<SnapshotRow> out;
    Stmt s(db_,
           "SELECT id, identifier, type, status, dbi_resource_id, created_ms, attrs, account,"
           " region FROM snapshots ORDER BY created_ms");
    while (s.Step()) {
      SnapshotRow r;
      r.id = s.Text(0);
      r.identifier = s.Text(1);
      r.type = s.Text(2);
      r.status = s.Text(3);
      r.dbi_resource_id = s.Text(4);
      r.created_ms = s.Int(5);
      r.attrs = nlohmann::json::parse(s.Text(6));
      r.scope = {s.Text(7), s.Text(8)};
      out.push_back(std::move(r));
    }
    return out;
  });
}

Result<std::vector<RetainedBackupRow>> Catalog::LoadRetainedBackups() {
  return ReadGuard([&]() -> std::vector<RetainedBackupRow> {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<RetainedBackupRow> out;
    Stmt s(db_, "SELECT resource_id, instance, deleted_ms, account, region FROM retained_backups");
    while (s.Step()) {
      RetainedBackupRow r;
      r.resource_id = s.Text(0);
      r.instance = InstanceFromJson(nlohmann::json::parse(s.Text(1)));
      r.deleted_ms = s.Int(2);
      r.instance.scope = {s.Text(3), s.Text(4)};
      out.push_back(std::move(r));
    }
    return out;
  });
}

Result<std::vector<InstanceRow>> Catalog::LoadInstances() {
  return ReadGuard([&]() -> std::vector<InstanceRow> {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<InstanceRow> out;
    Stmt s(db_,
           "SELECT resource_id, identifier, status, desired_state, port, password_verifier,"
           " created_ms, stopped_ms, attrs, account, region FROM instances ORDER BY identifier");
    while (s.Step()) {
      InstanceRow r;
      r.resource_id = s.Text(0);
      r.identifier = s.Text(1);
      // A name this localrds does not know (written by a newer one) reads as failed.
      r.status = ParseDbStatus(s.Text(2)).value_or(DbStatus::kFailed);
      r.desired_state = s.Text(3);
      r.port = static_cast<int>(s.Int(4));
      r.password_verifier = s.Text(5);
      r.created_ms = s.Int(6);
      r.stopped_ms = s.Int(7);
      r.attrs = nlohmann::json::parse(s.Text(8));
      r.scope = {s.Text(9), s.Text(10)};
      out.push_back(std::move(r));
    }
    return out;
  });
}

namespace {
OperationRow ReadOperation(Stmt& s) {
  OperationRow r;
  r.id = s.Int(0);
  r.resource_id = s.Text(1);
  const std::string kind = s.Text(2);
  auto parsed = ParseOpKind(kind);
  // Written by a newer localrds: this one cannot resume it.
  if (!parsed) throw std::runtime_error("unknown operation kind '" + kind + "' in the catalog");
  r.kind = *parsed;
  r.step = static_cast<int>(s.Int(3));
  r.state = s.Text(4);
  r.params = nlohmann::json::parse(s.Text(5));
  r.error = s.Text(6);
  r.created_ms = s.Int(7);
  return r;
}
constexpr const char* kOperationColumns =
    "SELECT id, resource_id, kind, step, state, params, error, created_ms FROM operations ";
}  // namespace

Result<std::vector<OperationRow>> Catalog::LoadUnfinishedOperations() {
  return ReadGuard([&]() -> std::vector<OperationRow> {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<OperationRow> out;
    Stmt s(db_, (std::string(kOperationColumns) + "WHERE state='running' ORDER BY id").c_str());
    while (s.Step()) out.push_back(ReadOperation(s));
    return out;
  });
}

Result<std::optional<OperationRow>> Catalog::LoadOperation(int64_t id) {
  return ReadGuard([&]() -> std::optional<OperationRow> {
    std::lock_guard<std::mutex> lock(mutex_);
    Stmt s(db_, (std::string(kOperationColumns) + "WHERE id=?").c_str());
    s.Bind(1, id);
    if (!s.Step()) return std::nullopt;
    return ReadOperation(s);
  });
}

Result<std::vector<EventRow>> Catalog::QueryEvents(const EventQuery& q) {
  return ReadGuard([&]() -> std::vector<EventRow> {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<EventRow> out;
    Stmt s(db_,
           "SELECT seq, date_ms, source_type, source_identifier, source_arn, event_id, message,"
           " categories, account, region FROM events WHERE date_ms >= ?1 AND date_ms <= ?2"
           " AND seq > ?3 AND (?4 = '' OR source_type = ?4) AND (?5 = '' OR source_identifier = ?5)"
           " AND (?7 = 0 OR (account = ?8 AND region = ?9)) ORDER BY seq LIMIT ?6");
    s.Bind(1, q.start_ms)
        .Bind(2, q.end_ms)
        .Bind(3, q.after_seq)
        .Bind(4, q.source_type)
        .Bind(5, q.source_identifier)
        .Bind(6, static_cast<int64_t>(q.limit))
        .Bind(7, int64_t{q.scope.has_value()})
        .Bind(8, q.scope ? q.scope->account : std::string())
        .Bind(9, q.scope ? q.scope->region : std::string());
    while (s.Step()) {
      EventRow r;
      r.seq = s.Int(0);
      r.date_ms = s.Int(1);
      r.source_type = s.Text(2);
      r.source_identifier = s.Text(3);
      r.source_arn = s.Text(4);
      r.event_id = s.Text(5);
      r.message = s.Text(6);
      for (auto& c : nlohmann::json::parse(s.Text(7))) r.categories.push_back(c.get<std::string>());
      r.scope = {s.Text(8), s.Text(9)};
      out.push_back(std::move(r));
    }
    return out;
  });
}

}  // namespace localrds
