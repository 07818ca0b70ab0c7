#include "emulator/service/console_service.h"

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <set>
#include <thread>
#include <vector>

#include "common/log.h"
#include "common/time_util.h"
#include "emulator/core/request.h"
#include "emulator/runtime/pg_client.h"

namespace localrds {

struct ConsoleService::Target {
  InstanceRow row;
  PgClientTarget client;  //!< without a password
};

//! One instance's drill. The writer's thread reads and writes it under `mutex`.
struct ConsoleService::DrillState {
  std::string resource_id;
  std::mutex mutex;              //!< guards every member below but `thread`
  std::condition_variable wake;  //!< the writer waits on it between writes; stop notifies
  std::string identifier;
  bool running = false;
  bool stopping = false;
  int64_t acknowledged = 0;
  int64_t failed_writes = 0;
  std::optional<std::string> last_error;
  nlohmann::json timeline = nlohmann::json::array();
  std::optional<int64_t> last_fault_ms;
  std::optional<int64_t> recovery_ms;
  bool failed_since_fault = false;  //!< a write failed after the last fault
  bool recovery_final = false;      //!< recovery_ms is the first good write after a failure
  bool failing = false;             //!< the last write failed
  std::optional<int64_t> lost_rows;
  bool verified = false;
  std::vector<int64_t> acked;  //!< every acknowledged seq, in order
  int64_t next_seq = 1;
  PgClientTarget target;  //!< with the password, while the writer runs
  std::thread thread;     //!< the writer; joined by whoever stops it (under no lock)

  void Add(int64_t at_ms, const char* kind, const std::string& text) {
    timeline.push_back({{"at", FormatIso8601(at_ms, true)}, {"kind", kind}, {"text", text}});
  }
};

namespace {

constexpr std::chrono::milliseconds kWriteWait{3000};    // an INSERT that takes longer failed
constexpr std::chrono::milliseconds kConnectWait{2000};  // the writer's reconnects
constexpr std::chrono::milliseconds kVerifyWait{30000};  // stop's read-back
constexpr std::chrono::milliseconds kEditorConnect{10000};

Status Missing(const char* name) {
  return Status::Error(AwsError::kMissingParameter,
                       std::string("The request must contain the parameter ") + name);
}

// A required string member of a console request.
Result<std::string> Required(const nlohmann::json& req, const char* name) {
  auto it = req.find(name);
  if (it == req.end() || it->is_null()) return Missing(name);
  if (!it->is_string()) {
    return Status::InvalidParameter(std::string("Invalid value for parameter ") + name +
                                    ": it must be a string.");
  }
  const std::string value = it->get<std::string>();
  if (value.empty()) return Missing(name);
  return value;
}

Result<std::optional<std::string>> Optional(const nlohmann::json& req, const char* name) {
  auto it = req.find(name);
  if (it == req.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) {
    return Status::InvalidParameter(std::string("Invalid value for parameter ") + name +
                                    ": it must be a string.");
  }
  if (it->get<std::string>().empty()) return std::optional<std::string>();
  return std::optional<std::string>(it->get<std::string>());
}

nlohmann::json SqlErrorBody(const PgClientError& e) {
  return {{"code", "SqlError"}, {"message", e.message}, {"sqlstate", e.sqlstate}};
}

// The server could not be reached (down, frozen, stopped): the instance's state, not the SQL.
Status Unreachable(const InstanceRow& row, const PgClientTarget& t, const PgClientError& e) {
  return Status::Error(AwsError::kInvalidDBInstanceState,
                       "Cannot connect to DB instance " + row.identifier + " at " + t.host + ":" +
                           std::to_string(t.port) + " (it is " + ToString(row.status) +
                           "): " + e.message);
}

nlohmann::json ResultJson(const PgStatementResult& r) {
  nlohmann::json j = {{"command", r.command}};
  if (r.returns_rows) {
    j["columns"] = r.columns;
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& row : r.rows) {
      nlohmann::json values = nlohmann::json::array();
      for (const auto& v : row) values.push_back(v ? nlohmann::json(*v) : nlohmann::json());
      rows.push_back(std::move(values));
    }
    j["rows"] = std::move(rows);
    j["truncated"] = r.truncated;
  }
  if (r.row_count) j["rowCount"] = *r.row_count;
  return j;
}

const std::set<std::string>& Faults() {
  static const std::set<std::string> kFaults = {"crash", "freeze", "thaw", "backup", "failover"};
  return kFaults;
}

}  // namespace

ConsoleService::ConsoleService(Registry& registry, InstanceService& instances, Controls& controls,
                               const Clock& clock, ConsoleConfig config)
    : registry_(registry),
      instances_(instances),
      controls_(controls),
      clock_(clock),
      config_(config) {}

ConsoleService::~ConsoleService() { Shutdown(); }

void ConsoleService::Shutdown() {
  std::map<std::string, std::shared_ptr<DrillState>> drills;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    shut_down_ = true;
    drills = drills_;
  }
  for (auto& [rid, drill] : drills) {
    std::thread writer;
    {
      std::lock_guard<std::mutex> lock(drill->mutex);
      drill->stopping = true;
      writer = std::move(drill->thread);
    }
    drill->wake.notify_all();
    if (writer.joinable()) writer.join();
  }
}

Result<ConsoleService::Target> ConsoleService::Resolve(const Scope& scope,
                                                       const std::string& identifier) {
  std::string rid;
  {
    Registry::Locked reg = registry_.Lock();
    auto found = reg.Find(scope, identifier);
    if (!found.ok()) return found.status();
    rid = found->resource_id;
  }
  return ResolveById(rid);
}

Result<ConsoleService::Target> ConsoleService::ResolveById(const std::string& resource_id) {
  Registry::Locked reg = registry_.Lock();
  auto it = reg.instances().find(resource_id);
  if (it == reg.instances().end()) {
    return Status::Error(AwsError::kDBInstanceNotFound, "DBInstance not found.");
  }
  Target t;
  t.row = it->second;
  const nlohmann::json rendered = reg.RenderInstance(t.row);
  const auto endpoint = rendered.find("Endpoint");
  if (endpoint == rendered.end() || !endpoint->is_object() || endpoint->value("Port", 0) == 0) {
    return Status::Error(AwsError::kInvalidDBInstanceState, "DB instance " + t.row.identifier +
                                                                " has no endpoint yet (it is " +
                                                                ToString(t.row.status) + ").");
  }
  t.client.host = endpoint->value("Address", "127.0.0.1");
  t.client.port = endpoint->value("Port", 0);
  t.client.user = t.row.attrs.value("MasterUsername", "");
  t.client.database = t.row.attrs.value("DBName", "");
  if (t.client.database.empty()) t.client.database = "postgres";
  return t;
}

Result<ConsoleService::Target> ConsoleService::Login(const Scope& scope,
                                                     const nlohmann::json& req) {
  auto id = Required(req, "DBInstanceIdentifier");
  if (!id.ok()) return id.status();
  auto password = Required(req, "password");
  if (!password.ok()) return password.status();
  auto database = Optional(req, "database");
  if (!database.ok()) return database.status();
  auto target = Resolve(scope, *id);
  if (!target.ok()) return target.status();
  target->client.password = *password;
  if (*database) target->client.database = **database;
  target->client.connect_timeout = kEditorConnect;
  return target;
}

Result<nlohmann::json> ConsoleService::RunSql(const Scope& scope, const nlohmann::json& req) {
  const auto started = std::chrono::steady_clock::now();
  // The identifier first: a request missing both is told about the instance.
  if (auto id = Required(req, "DBInstanceIdentifier"); !id.ok()) return id.status();
  auto sql = Required(req, "sql");
  if (!sql.ok()) return sql.status();
  auto target = Login(scope, req);
  if (!target.ok()) return target.status();
  const PgClientTarget& client = target->client;
  auto elapsed = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 started)
        .count();
  };
  PgClientError error;
  auto conn = PgClient::Connect(client, error);
  if (!conn) {
    if (!error.server) return Unreachable(target->row, client, error);
    return nlohmann::json{{"error", SqlErrorBody(error)},
                          {"results", nlohmann::json::array()},
                          {"elapsedMs", elapsed()}};
  }
  const PgScriptOutcome outcome = conn->RunScript(*sql, config_.max_rows);
  nlohmann::json results = nlohmann::json::array();
  for (const auto& r : outcome.results) results.push_back(ResultJson(r));
  nlohmann::json body = {{"results", std::move(results)}};
  if (outcome.error) body["error"] = SqlErrorBody(*outcome.error);
  body["elapsedMs"] = elapsed();
  return body;
}

std::shared_ptr<ConsoleService::DrillState> ConsoleService::Find(const std::string& resource_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = drills_.find(resource_id);
  return it == drills_.end() ? nullptr : it->second;
}

nlohmann::json ConsoleService::Render(DrillState& d) {
  std::lock_guard<std::mutex> lock(d.mutex);
  auto opt = [](const auto& v) { return v ? nlohmann::json(*v) : nlohmann::json(); };
  return {{"DBInstanceIdentifier", d.identifier},
          {"running", d.running},
          {"intervalMs", config_.write_interval.count()},
          {"acknowledged", d.acknowledged},
          {"failedWrites", d.failed_writes},
          {"lastError", opt(d.last_error)},
          {"timeline", d.timeline},
          {"lastFaultAt", d.last_fault_ms ? nlohmann::json(FormatIso8601(*d.last_fault_ms, true))
                                          : nlohmann::json()},
          {"recoveryMs", opt(d.recovery_ms)},
          {"lostRows", opt(d.lost_rows)},
          {"verified", d.verified}};
}

Result<std::string> ConsoleService::ResourceIdOf(const Scope& scope, const nlohmann::json& req) {
  auto id = Required(req, "DBInstanceIdentifier");
  if (!id.ok()) return id.status();
  Registry::Locked reg = registry_.Lock();
  auto found = reg.Find(scope, *id);
  if (!found.ok()) return found.status();
  return found->resource_id;
}

Result<nlohmann::json> ConsoleService::Drill(const Scope& scope, const std::string& what,
                                             const nlohmann::json& req) {
  if (what == "writer") return StartWriter(scope, req);
  if (what == "fault") return InjectFault(scope, req);
  if (what == "stop") return StopWriter(scope, req);
  if (what != "status") {
    return Status::InvalidParameter("Unknown drill request " + what +
                                    ": use status, writer, fault or stop.");
  }
  auto rid = ResourceIdOf(scope, req);
  if (!rid.ok()) return rid.status();
  auto drill = Find(*rid);
  return nlohmann::json{{"drill", drill ? Render(*drill) : nlohmann::json()}};
}

Result<nlohmann::json> ConsoleService::StartWriter(const Scope& scope, const nlohmann::json& req) {
  auto target = Login(scope, req);
  if (!target.ok()) return target.status();
  const std::string rid = target->row.resource_id;
  if (auto running = Find(rid)) {
    std::lock_guard<std::mutex> lock(running->mutex);
    if (running->running) {
      return Status::Error(
          AwsError::kInvalidDBInstanceState,
          "A drill writer is already running on DB instance " + running->identifier + ".");
    }
  }
  PgClientTarget client = target->client;
  client.application_name = "localrds-drill";
  PgClientError error;
  auto conn = PgClient::Connect(client, error);
  if (!conn && !error.server) return Unreachable(target->row, client, error);
  std::string max_seq;
  if (conn) {
    auto failed = conn->Exec(
        "CREATE TABLE IF NOT EXISTS localrds_drill(seq bigint primary key, "
        "at timestamptz default now())",
        kVerifyWait);
    if (!failed) {
      failed =
          conn->Exec("SELECT coalesce(max(seq), 0) FROM localrds_drill", kVerifyWait, &max_seq);
    }
    if (failed) error = *failed;
    if (failed && !failed->server) return Unreachable(target->row, client, error);
    if (failed) conn.reset();
  }
  if (!conn) {
    return nlohmann::json{{"error", SqlErrorBody(error)}, {"drill", nullptr}};
  }
  int64_t last_seq = 0;
  if (!max_seq.empty() &&
      std::from_chars(max_seq.data(), max_seq.data() + max_seq.size(), last_seq).ec !=
          std::errc()) {
    return Status::Error(AwsError::kInvalidParameterValue,
                         "The table localrds_drill on DB instance " + target->row.identifier +
                             " is not the drill's (its seq holds " + max_seq +
                             "): drop or rename it.");
  }
  auto drill = std::make_shared<DrillState>();
  drill->resource_id = rid;
  drill->identifier = target->row.identifier;
  drill->running = true;
  drill->next_seq = last_seq + 1;
  drill->target = client;
  client.password.clear();
  drill->Add(clock_.NowMs(), "start",
             "Writer started: one INSERT into localrds_drill every " +
                 std::to_string(config_.write_interval.count()) + " ms on " + client.host + ":" +
                 std::to_string(client.port) + "/" + client.database + " from seq " +
                 std::to_string(drill->next_seq) + ".");
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (shut_down_) return Status::Internal("localrds is shutting down");
    auto& slot = drills_[rid];
    if (slot) {
      std::lock_guard<std::mutex> old(slot->mutex);
      if (slot->running) {
        return Status::Error(
            AwsError::kInvalidDBInstanceState,
            "A drill writer is already running on DB instance " + slot->identifier + ".");
      }
    }
    slot = drill;
    // The first write goes over the connection that created the table.
    std::lock_guard<std::mutex> dl(drill->mutex);
    drill->thread = std::thread([this, drill, first = std::move(conn)]() mutable {
      try {
        Write(drill, std::move(first));
      } catch (const std::exception& e) {
        LogLine("drill") << "writer of " << drill->identifier << " failed: " << e.what();
        std::lock_guard<std::mutex> lock(drill->mutex);
        drill->last_error = std::string("internal error: ") + e.what();
        drill->failing = true;
        drill->Add(clock_.NowMs(), "write-failed", "The writer stopped: " + *drill->last_error);
      } catch (...) {
        std::lock_guard<std::mutex> lock(drill->mutex);
        drill->last_error = "internal error";
        drill->failing = true;
        drill->Add(clock_.NowMs(), "write-failed", "The writer stopped: internal error");
      }
    });
  }
  return nlohmann::json{{"drill", Render(*drill)}};
}

void ConsoleService::Write(std::shared_ptr<DrillState> drill, std::unique_ptr<PgClient> conn) {
  PgClientTarget target;
  {
    std::lock_guard<std::mutex> lock(drill->mutex);
    target = drill->target;
  }
  auto stopped = [&] {
    std::lock_guard<std::mutex> lock(drill->mutex);
    return drill->stopping;
  };
  auto next = std::chrono::steady_clock::now();
  while (!stopped()) {
    std::optional<PgClientError> failed;
    int64_t seq = 0;
    if (!conn) {
      // After a Multi-AZ failover the endpoint is the same; after a rename or a restore it is
      // not: where to connect is read again every time.
      auto resolved = ResolveById(drill->resource_id);
      if (resolved.ok()) {
        target.host = resolved->client.host;
        target.port = resolved->client.port;
        target.connect_timeout = kConnectWait;
        PgClientError error;
        conn = PgClient::Connect(target, error, stopped);
        if (!conn) failed = error;
      } else {
        failed = PgClientError{resolved.status().message(), "", false};
      }
    }
    if (conn) {
      {
        std::lock_guard<std::mutex> lock(drill->mutex);
        seq = drill->next_seq++;  // never reused: a write that timed out may still commit
      }
      failed = conn->Exec("INSERT INTO localrds_drill(seq) VALUES (" + std::to_string(seq) + ")",
                          kWriteWait, nullptr, stopped);
      if (failed) conn.reset();
    }
    if (stopped()) break;
    const int64_t now = clock_.NowMs();
    {
      std::lock_guard<std::mutex> lock(drill->mutex);
      if (failed) {
        ++drill->failed_writes;
        drill->last_error = failed->message;
        if (drill->last_fault_ms) drill->failed_since_fault = true;
        if (!drill->failing) {
          drill->failing = true;
          drill->Add(now, "write-failed", "Write failed: " + failed->message);
        }
      } else {
        ++drill->acknowledged;
        drill->acked.push_back(seq);
        if (drill->last_fault_ms && !drill->recovery_final) {
          // The first acknowledged write after the last fault; once writes have failed since
          // the fault, the first one after them (a failover takes a moment to begin).
          if (drill->failed_since_fault) {
            drill->recovery_ms = now - *drill->last_fault_ms;
            drill->recovery_final = true;
          } else if (!drill->recovery_ms) {
            drill->recovery_ms = now - *drill->last_fault_ms;
          }
        }
        if (drill->failing) {
          drill->failing = false;
          std::string text = "Writes recovered";
          if (drill->last_fault_ms) {
            text += " " + std::to_string(now - *drill->last_fault_ms) + " ms after the fault";
          }
          drill->Add(now, "recovered", text + ".");
        }
      }
    }
    next += config_.write_interval;
    const auto now_steady = std::chrono::steady_clock::now();
    if (next < now_steady) next = now_steady;
    std::unique_lock<std::mutex> lock(drill->mutex);
    drill->wake.wait_until(lock, next, [&] { return drill->stopping; });
  }
}

Result<nlohmann::json> ConsoleService::InjectFault(const Scope& scope, const nlohmann::json& req) {
  auto id = Required(req, "DBInstanceIdentifier");
  if (!id.ok()) return id.status();
  auto fault = Required(req, "fault");
  if (!fault.ok()) return fault.status();
  if (!Faults().count(*fault)) {
    return Status::InvalidParameter("Invalid value " + *fault +
                                    " for parameter fault: use crash, freeze, thaw, backup or "
                                    "failover.");
  }
  std::string rid, identifier;
  {
    Registry::Locked reg = registry_.Lock();
    auto found = reg.Find(scope, *id);
    if (!found.ok()) return found.status();
    rid = found->resource_id;
    identifier = found->identifier;
  }
  const InstanceRef ref(identifier, scope);
  const int64_t at = clock_.NowMs();
  std::string text;
  if (*fault == "crash") {
    LOCALRDS_RETURN_IF_ERROR(controls_.CrashInstance(ref));
    text = "Crash: the primary's postmaster was killed (SIGKILL).";
  } else if (*fault == "freeze" || *fault == "thaw") {
    const bool freeze = *fault == "freeze";
    LOCALRDS_RETURN_IF_ERROR(controls_.FreezeInstance(ref, freeze));
    text = freeze ? "Freeze: the primary's server was stopped (SIGSTOP)."
                  : "Thaw: the primary's server was resumed (SIGCONT).";
  } else if (*fault == "backup") {
    auto backup = controls_.BackupNow(ref);
    if (!backup.ok()) return backup.status();
    text = "Backup: the automated backup window runs now.";
  } else {
    nlohmann::json reboot = {{"DBInstanceIdentifier", identifier}, {"ForceFailover", true}};
    SetRequestScope(reboot, scope);
    auto rebooted = instances_.RebootDBInstance(reboot);
    if (!rebooted.ok()) return rebooted.status();
    text = "Failover: RebootDBInstance with ForceFailover.";
  }
  std::shared_ptr<DrillState> drill;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto& slot = drills_[rid];
    if (!slot) {
      slot = std::make_shared<DrillState>();
      slot->resource_id = rid;
    }
    drill = slot;
  }
  {
    std::lock_guard<std::mutex> lock(drill->mutex);
    drill->identifier = identifier;
    // The writer may have seen the fault already (a failed write after the kill): the fault
    // goes before it in the timeline, and those failures count as after it.
    const std::string at_iso = FormatIso8601(at, true);
    auto& events = drill->timeline;
    auto pos = std::find_if(events.begin(), events.end(),
                            [&](const nlohmann::json& e) { return e.value("at", "") > at_iso; });
    events.insert(pos, nlohmann::json{{"at", at_iso}, {"kind", "fault"}, {"text", text}});
    // Recovery is measured from what breaks the primary (crash, freeze, failover) while a
    // writer runs: a thaw or a backup window, or a fault after the stop, only goes in the
    // timeline and keeps the recovery the drill measured.
    const bool breaks = *fault == "crash" || *fault == "freeze" || *fault == "failover";
    if (breaks) drill->last_fault_ms = at;
    if (breaks && drill->running) {
      drill->recovery_ms.reset();
      drill->failed_since_fault = drill->failing;
      drill->recovery_final = false;
    }
  }
  return nlohmann::json{{"drill", Render(*drill)}};
}

Result<nlohmann::json> ConsoleService::StopWriter(const Scope& scope, const nlohmann::json& req) {
  auto rid = ResourceIdOf(scope, req);
  if (!rid.ok()) return rid.status();
  auto drill = Find(*rid);
  if (!drill) return nlohmann::json{{"drill", nullptr}};
  std::thread writer;
  PgClientTarget target;
  bool running = false;
  {
    std::lock_guard<std::mutex> lock(drill->mutex);
    // A second stop while the first is stopping (a double click) waits for nothing: the first
    // one joins the writer and counts the rows.
    running = drill->running && !drill->stopping;
    if (running) {
      drill->stopping = true;
      writer = std::move(drill->thread);
    }
  }
  if (!running) return nlohmann::json{{"drill", Render(*drill)}};
  drill->wake.notify_all();
  if (writer.joinable()) writer.join();
  std::vector<int64_t> acked;
  {
    std::lock_guard<std::mutex> lock(drill->mutex);
    drill->running = false;
    drill->Add(clock_.NowMs(), "stop",
               "Writer stopped after " + std::to_string(drill->acknowledged) +
                   " acknowledged writes (" + std::to_string(drill->failed_writes) + " failed).");
    target = drill->target;
    drill->target.password.clear();
    acked = drill->acked;
  }
  // Read the table back through the endpoint (where it is now) and count the acknowledged
  // seqs that are not there.
  std::optional<PgClientError> failed;
  std::vector<std::string> present;
  auto resolved = ResolveById(*rid);
  if (!resolved.ok()) {
    failed = PgClientError{resolved.status().message(), "", false};
  } else {
    target.host = resolved->client.host;
    target.port = resolved->client.port;
    target.connect_timeout = kEditorConnect;
    PgClientError error;
    auto conn = PgClient::Connect(target, error);
    if (!conn) {
      failed = error;
    } else if (!acked.empty()) {
      const auto [lo, hi] = std::minmax_element(acked.begin(), acked.end());
      failed = conn->Column("SELECT seq FROM localrds_drill WHERE seq BETWEEN " +
                                std::to_string(*lo) + " AND " + std::to_string(*hi),
                            kVerifyWait, present);
    }
  }
  target.password.clear();
  {
    std::lock_guard<std::mutex> lock(drill->mutex);
    if (failed) {
      drill->last_error = failed->message;
      drill->Add(clock_.NowMs(), "stop", "Cannot read localrds_drill back: " + failed->message);
    } else {
      std::set<int64_t> found;
      for (const auto& v : present) {
        int64_t seq = 0;
        if (std::from_chars(v.data(), v.data() + v.size(), seq).ec == std::errc())
          found.insert(seq);
      }
      int64_t lost = 0;
      for (int64_t seq : acked) lost += found.count(seq) ? 0 : 1;
      drill->lost_rows = lost;
      drill->verified = true;
      drill->Add(clock_.NowMs(), "verified",
                 std::to_string(lost) + " of " + std::to_string(acked.size()) +
                     " acknowledged rows missing from localrds_drill.");
    }
  }
  return nlohmann::json{{"drill", Render(*drill)}};
}

}  // namespace localrds
