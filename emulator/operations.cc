// The operation kinds: create, delete, stop, start, reboot, modify, recover. Each step looks at
// reality first so that running it twice (after a crash) is harmless.
#include <filesystem>

#include "common/log.h"
#include "common/time_util.h"
#include "emulator/cluster_pool.h"
#include "emulator/operation_engine.h"

namespace localrds {
namespace fs = std::filesystem;
namespace {

std::string Major(const InstanceRow& row) {
  std::string v = row.attrs.value("EngineVersion", "");
  return v.substr(0, v.find('.'));
}

std::string QuoteIdent(const std::string& s) { return "\"" + s + "\""; }

Status PrepareCluster(OpContext& c) {
  const Layout& layout = c.cp.layout();
  fs::path pgdata = layout.PgData(c.instance.resource_id);
  // pgdata only ever appears by an atomic rename of a complete cluster.
  if (fs::exists(pgdata / "PG_VERSION")) return Status::Ok();
  LOCALRDS_RETURN_IF_ERROR(c.cp.runtime().PrepareDirectory(layout.InstanceDir(c.instance.resource_id)));
  if (c.cp.pool().Take(Major(c.instance), pgdata)) return Status::Ok();
  return c.cp.pool().MakeCluster(Major(c.instance), pgdata);
}

Status Configure(OpContext& c) {
  // The port may have been taken while the server was down: move to a free one.
  auto port = c.cp.AllocatePort(c.instance.port, c.instance.resource_id);
  if (!port) return Status::Internal("no free port for the instance's PostgreSQL server");
  if (*port != c.instance.port) {
    LogLine("ops") << c.instance.identifier << ": port " << c.instance.port << " is busy, moving to "
                   << *port;
    InstanceRow row = c.instance;
    row.port = *port;
    c.Put(row);
  }
  return c.cp.WriteServerConfig(c.instance);
}

// Starts the server; when its port was taken between the check and the bind (another program,
// or another localrds), moves to a free port and tries again.
Status StartServer(OpContext& c) {
  Status st;
  for (int attempt = 0; attempt < 5; ++attempt) {
    st = c.cp.runtime().Start(c.cp.Server(c.instance));
    if (st.ok() || st.message().find("Address already in use") == std::string::npos) return st;
    auto port = c.cp.AllocatePort(0, c.instance.resource_id, c.instance.port);
    if (!port) return st;
    LogLine("ops") << c.instance.identifier << ": port " << c.instance.port
                   << " was taken meanwhile, moving to " << *port;
    InstanceRow row = c.instance;
    row.port = *port;
    c.Put(row);
    LOCALRDS_RETURN_IF_ERROR(c.cp.WriteServerConfig(c.instance));
  }
  return st;
}
Status StopServer(OpContext& c) { return c.cp.runtime().Stop(c.cp.Server(c.instance)); }

// Steps that need the server first make sure it runs: after a crash of the whole machine (or of
// localrds with its servers) a resumed operation finds it stopped.
Status EnsureRunning(OpContext& c) {
  if (c.cp.runtime().IsRunning(c.cp.Server(c.instance))) return Status::Ok();
  LOCALRDS_RETURN_IF_ERROR(Configure(c));
  return StartServer(c);
}

Status Bootstrap(OpContext& c) {
  LOCALRDS_RETURN_IF_ERROR(EnsureRunning(c));
  const std::string user = QuoteIdent(c.instance.attrs.value("MasterUsername", ""));
  const std::string verifier = c.instance.password_verifier;
  std::vector<std::string> sql = {
      "CREATE ROLE rds_superuser NOLOGIN",
      "GRANT pg_monitor, pg_signal_backend, pg_read_all_settings, pg_read_all_stats, "
      "pg_stat_scan_tables TO rds_superuser WITH ADMIN OPTION",
      "CREATE ROLE " + user + " LOGIN CREATEDB CREATEROLE IN ROLE rds_superuser PASSWORD '" +
          verifier + "'",
      // Converges a role left by an interrupted run to the same attributes.
      "ALTER ROLE " + user + " LOGIN CREATEDB CREATEROLE NOSUPERUSER PASSWORD '" + verifier + "'",
      "GRANT rds_superuser TO " + user + " WITH ADMIN OPTION",
      // As on RDS, the master user owns the default databases (rdsadmin keeps template0).
      "ALTER DATABASE postgres OWNER TO " + user,
      "ALTER DATABASE template1 OWNER TO " + user,
  };
  if (std::stoi(Major(c.instance)) >= 15) {  // pg_checkpoint is new in PostgreSQL 15
    sql.push_back("GRANT pg_checkpoint TO rds_superuser WITH ADMIN OPTION");
  }
  if (c.instance.attrs.contains("DBName")) {
    sql.push_back("CREATE DATABASE " + QuoteIdent(c.instance.attrs["DBName"].get<std::string>()) +
                  " OWNER " + user);
  }
  return c.cp.runtime().ExecSql(c.cp.Server(c.instance), "postgres", sql);
}

void SetStatus(OpContext& c, const std::string& status) {
  InstanceRow row = c.instance;
  row.status = status;
  c.Put(row);
}

Status FinishAvailable(OpContext& c, const EventSpec& event) {
  LOCALRDS_RETURN_IF_ERROR(EnsureRunning(c));  // `available` means a client can connect
  InstanceRow row = c.instance;
  row.status = "available";
  row.desired_state = "running";
  row.stopped_ms = 0;
  c.Put(row);
  c.Event(event);
  return Status::Ok();
}

void FailInstance(OpContext& c, const Status& why) {
  c.cp.runtime().Stop(c.cp.Server(c.instance));
  SetStatus(c, "failed");
  c.Event(rds_events::kFailed, std::string(rds_events::kFailed.message) + " (" + why.message() + ")");
}

// After a failed stop/start/reboot, report what is really true.
void ReflectReality(OpContext& c, const Status& why) {
  bool running = c.cp.runtime().IsRunning(c.cp.Server(c.instance));
  InstanceRow row = c.instance;
  row.status = running ? "available" : "stopped";
  row.desired_state = running ? "running" : "stopped";
  c.Put(row);
  LogLine("ops") << c.instance.identifier << ": operation failed (" << why.ToString()
                 << "), instance is " << row.status;
}

Status ModifyPassword(OpContext& c) {
  auto it = c.op.params.find("password_verifier");
  if (it == c.op.params.end()) return Status::Ok();
  LOCALRDS_RETURN_IF_ERROR(EnsureRunning(c));
  const std::string user = QuoteIdent(c.instance.attrs.value("MasterUsername", ""));
  LOCALRDS_RETURN_IF_ERROR(c.cp.runtime().ExecSql(
      c.cp.Server(c.instance), "postgres",
      {"ALTER ROLE " + user + " PASSWORD '" + it->get<std::string>() + "'"}));
  InstanceRow row = c.instance;
  row.password_verifier = it->get<std::string>();
  c.Put(row);
  c.Event(rds_events::kResetCredentials);
  return Status::Ok();
}

Status ModifyPort(OpContext& c) {
  auto it = c.op.params.find("port");
  if (it == c.op.params.end()) return Status::Ok();
  const int port = it->get<int>();
  const int old_port = c.instance.port;
  if (port == old_port && c.cp.runtime().IsRunning(c.cp.Server(c.instance))) return Status::Ok();
  // The port was free when the call was accepted; it must still be.
  if (c.cp.AllocatePort(port, c.instance.resource_id) != port) {
    return Status::Internal("port " + std::to_string(port) + " is no longer free");
  }
  LOCALRDS_RETURN_IF_ERROR(c.cp.runtime().Stop(c.cp.Server(c.instance)));
  InstanceRow row = c.instance;
  row.port = port;
  c.Put(row);
  Status st = c.cp.WriteServerConfig(c.instance);
  if (st.ok()) st = c.cp.runtime().Start(c.cp.Server(c.instance));
  if (!st.ok()) {
    // Back to the old port, so that the instance keeps serving where it did.
    row.port = old_port;
    c.Put(row);
    if (c.cp.WriteServerConfig(c.instance).ok()) c.cp.runtime().Start(c.cp.Server(c.instance));
    return st;
  }
  c.Event(rds_events::kRestarted);
  return Status::Ok();
}

Status ModifyFinish(OpContext& c) {
  LOCALRDS_RETURN_IF_ERROR(EnsureRunning(c));
  InstanceRow row = c.instance;
  const auto& p = c.op.params;
  if (p.contains("attrs")) {
    for (auto& [k, v] : p["attrs"].items()) row.attrs[k] = v;
  }
  if (p.contains("clear_pending")) {
    for (auto& k : p["clear_pending"]) row.attrs["PendingModifiedValues"].erase(k.get<std::string>());
  }
  std::string old_id = row.identifier;
  if (p.contains("new_identifier")) row.identifier = p["new_identifier"].get<std::string>();
  row.status = "available";
  c.Put(row);
  if (p.contains("attrs") && p["attrs"].contains("DBInstanceClass")) c.Event(rds_events::kClassChanged);
  if (p.contains("attrs") && p["attrs"].contains("AllocatedStorage")) c.Event(rds_events::kStorageChanged);
  if (p.contains("new_identifier")) {
    c.Event(rds_events::kRenamed, "Renamed instance from " + old_id + " to " + row.identifier);
  }
  return Status::Ok();
}

Status RemoveFiles(OpContext& c) {
  const Layout& layout = c.cp.layout();
  Layout::RemoveTree(layout.InstanceDir(c.op.resource_id), layout.TrashDir());
  return Status::Ok();
}

Status Forget(OpContext& c) {
  if (!c.instance.resource_id.empty()) {
    c.Event(rds_events::kDeleted);
    c.staged.remove.push_back(c.instance.resource_id);
  }
  return Status::Ok();
}

}  // namespace

const std::map<std::string, OperationKind>& OperationKinds() {
  static const std::map<std::string, OperationKind> kKinds = {
      {"create",
       {{{"prepare-cluster", PrepareCluster},
         {"configure", Configure},
         {"start", StartServer},
         {"bootstrap", Bootstrap},
         {"finish", [](OpContext& c) { return FinishAvailable(c, rds_events::kCreated); }}},
        FailInstance}},
      {"delete",
       {{{"stop", StopServer}, {"remove-files", RemoveFiles}, {"forget", Forget}},
        [](OpContext& c, const Status& why) { FailInstance(c, why); }}},
      {"stop",
       {{{"stop", StopServer},
         {"finish",
          [](OpContext& c) {
            InstanceRow row = c.instance;
            row.status = "stopped";
            row.desired_state = "stopped";
            row.stopped_ms = NowMs();
            c.Put(row);
            c.Event(rds_events::kStopped);
            return Status::Ok();
          }}},
        ReflectReality}},
      {"start",
       {{{"configure", Configure},
         {"start", StartServer},
         {"finish", [](OpContext& c) { return FinishAvailable(c, rds_events::kStarted); }}},
        ReflectReality}},
      {"reboot",
       {{{"stop",
          [](OpContext& c) {
            LOCALRDS_RETURN_IF_ERROR(StopServer(c));
            c.Event(rds_events::kShutdown);
            return Status::Ok();
          }},
         {"configure", Configure},
         {"start", StartServer},
         {"finish", [](OpContext& c) { return FinishAvailable(c, rds_events::kRestarted); }}},
        ReflectReality}},
      {"modify",
       {{{"password", ModifyPassword}, {"port", ModifyPort}, {"finish", ModifyFinish}},
        ReflectReality}},
      {"recover",
       {{{"configure", Configure},
         {"start", StartServer},
         {"finish",
          [](OpContext& c) {
            LOCALRDS_RETURN_IF_ERROR(EnsureRunning(c));
            c.Event(rds_events::kRecoveryFinished);
            return Status::Ok();
          }}},
        FailInstance}},
  };
  return kKinds;
}

}  // namespace localrds
