// ConsoleService: the console's workshop tools behind /console/api/sql and /console/api/drill*
// (the contract: api/console.h). Both talk to an instance as any client does: libpq over TCP to
// its Endpoint, as its master user, with the password the request carries.
//
//   RunSql  runs a script (one or more statements, as `psql -c`) and answers every statement's
//           result in order: {"results": [...], "elapsedMs"}. A statement that fails is not an
//           AWS error: the answer is still OK, with {"error": {"code": "SqlError", "message",
//           "sqlstate"}, "results": [those before it], "elapsedMs"}, which the HTTP side sends
//           with status 400.
//   Drill   one DR drill per instance: "writer" starts a steady writer (one INSERT into
//           localrds_drill every 100 ms, reconnecting after a failure, counting acknowledged
//           commits), "fault" crashes, freezes, thaws, backs up or fails over the instance
//           through the same code as the /_localrds/ controls and RebootDBInstance, "stop"
//           stops the writer and counts the acknowledged rows missing from the table, "status"
//           reads it. Each answers {"drill": Status} ({"drill": null} before any).
//
// The master password is held in memory only while a writer runs (it reconnects with it), and
// is never stored or logged.
//
// Thread-safety: thread-safe; every method blocks on PostgreSQL (the control plane runs them on
// a pool of their own). Each writer runs on a thread of its own (it lives as long as its drill,
// and the executor's pool is for one-off tasks); Shutdown stops and joins them all. Lock order:
// mutex_ → a drill's mutex; no other lock is taken while holding either, and neither is held
// while calling PostgreSQL or the registry. Borrows everything it is given.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "emulator/service/controls.h"
#include "emulator/service/instance_service.h"
#include "emulator/state/registry.h"

namespace localrds {

class PgClient;

struct ConsoleConfig {
  std::chrono::milliseconds write_interval{100};  //!< the drill writer's pace
  size_t max_rows = 1000;                         //!< rows of one result the query editor shows
};

class ConsoleService {
 public:
  ConsoleService(Registry& registry, InstanceService& instances, Controls& controls,
                 const Clock& clock, ConsoleConfig config = {});
  ~ConsoleService();
  ConsoleService(const ConsoleService&) = delete;
  ConsoleService& operator=(const ConsoleService&) = delete;

  //! /console/api/sql: {"DBInstanceIdentifier", "password", "database"?, "sql"}.
  Result<nlohmann::json> RunSql(const Scope& scope, const nlohmann::json& req);
  //! /console/api/drill*: `what` is "status", "writer", "fault" or "stop".
  Result<nlohmann::json> Drill(const Scope& scope, const std::string& what,
                               const nlohmann::json& req);
  //! Stops every writer and joins its thread (no verification). Idempotent.
  void Shutdown();

  struct DrillState;  // console_service.cc

 private:
  //! The instance, and where to reach it as its master user.
  struct Target;
  Result<Target> Resolve(const Scope& scope, const std::string& identifier);
  Result<Target> ResolveById(const std::string& resource_id);
  //! The request's instance (DBInstanceIdentifier) with its client logged in as the master user:
  //! the request's password, its database if given, the editor's connect timeout. Checks the
  //! request's fields in that order, then the instance (DBInstanceNotFound, no endpoint yet).
  Result<Target> Login(const Scope& scope, const nlohmann::json& req);
  //! The resource id of the request's DBInstanceIdentifier in `scope` (MissingParameter,
  //! DBInstanceNotFound).
  Result<std::string> ResourceIdOf(const Scope& scope, const nlohmann::json& req);
  Result<nlohmann::json> StartWriter(const Scope& scope, const nlohmann::json& req);
  Result<nlohmann::json> InjectFault(const Scope& scope, const nlohmann::json& req);
  Result<nlohmann::json> StopWriter(const Scope& scope, const nlohmann::json& req);
  std::shared_ptr<DrillState> Find(const std::string& resource_id);
  //! The writer's loop, on its own thread, until the drill is stopping; `conn` may be null.
  void Write(std::shared_ptr<DrillState> drill, std::unique_ptr<PgClient> conn);
  nlohmann::json Render(DrillState& drill);

  Registry& registry_;
  InstanceService& instances_;
  Controls& controls_;
  const Clock& clock_;
  const ConsoleConfig config_;
  std::mutex mutex_;  //!< guards drills_ and shut_down_
  //! Each instance's drill, by DbiResourceId (it follows a rename).
  std::map<std::string, std::shared_ptr<DrillState>> drills_;
  bool shut_down_ = false;
};

}  // namespace localrds
