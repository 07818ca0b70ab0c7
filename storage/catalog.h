// The SQLite catalog: the durable record of every instance, operation and event.
//
// One connection in WAL mode, guarded by `mutex_`; every method is thread-safe. Writes happen in
// `Transact`, which runs a callback inside BEGIN IMMEDIATE ... COMMIT and rolls back when the
// callback returns a non-OK Status (or throws). The schema is migrated by PRAGMA user_version.
// The catalog stores what the control plane hands it and knows nothing of RDS rules.
// Reads and writes report failures as Status / Result (InternalFailure: a broken catalog).
#pragma once

// SQLite stays inside storage/: its handle is only named here.
struct sqlite3;

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/db_status.h"
#include "storage/op_kind.h"

namespace localrds {

//! The AWS account and region a resource belongs to: RDS identifiers are unique within one, and
//! a request sees only its own (see emulator/state/registry.h).
struct Scope {
  std::string account;  //!< 12 digits
  std::string region;   //!< "us-east-1"
  bool operator==(const Scope&) const = default;
  auto operator<=>(const Scope&) const = default;
};

struct InstanceRow {
  std::string resource_id;                //!< immutable, names the directories ("db-…")
  Scope scope;                            //!< where it lives
  std::string identifier;                 //!< DBInstanceIdentifier, lowercase, unique in scope
  DbStatus status = DbStatus::kCreating;  //!< DBInstanceStatus as reported
  std::string desired_state;              //!< "running" or "stopped": what the reconciler restores
  int port = 0;                           //!< Endpoint.Port
  std::string password_verifier;          //!< SCRAM verifier of the master password
  int64_t created_ms = 0;
  int64_t stopped_ms = 0;  //!< when it was stopped (for the 7-day auto start)
  nlohmann::json attrs;    //!< every other DBInstance field, by RDS member name
};

//! A DB snapshot, manual or automated: one base backup under snapshots/<id>/.
struct SnapshotRow {
  std::string id;               //!< immutable, names the directory ("snap-…")
  Scope scope;                  //!< where it lives (an instance's snapshots: the instance's)
  std::string identifier;       //!< DBSnapshotIdentifier, unique in scope ("rds:…": automated)
  std::string type;             //!< "manual" or "automated"
  std::string status;           //!< "creating", "available", "failed", …
  std::string dbi_resource_id;  //!< the instance it was taken from
  int64_t created_ms = 0;       //!< SnapshotCreateTime
  nlohmann::json attrs;         //!< every other DBSnapshot field, by RDS member name
};

//! The automated backups of a deleted instance that the user kept (DeleteAutomatedBackups=false).
struct RetainedBackupRow {
  std::string resource_id;  //!< the deleted instance's DbiResourceId
  InstanceRow instance;     //!< the instance as it was when deleted
  int64_t deleted_ms = 0;
};

//! A named resource of the control plane that lives in the catalog only: a DB parameter, subnet
//! or option group, or an event subscription (`kind`). Unique by (kind, scope, name).
struct GroupRow {
  std::string kind;  //!< "parameter", "subnet", "option", "subscription"
  Scope scope;       //!< where it lives
  std::string name;  //!< its name, lower-cased (RDS stores these names lower-cased)
  int64_t created_ms = 0;
  nlohmann::json body;  //!< every other field, by RDS member name (TagList included)
};

struct OperationRow {
  int64_t id = 0;
  std::string resource_id;
  OpKind kind = OpKind::kCreate;
  int step = 0;       //!< index of the next step to run
  std::string state;  //!< "running", "done" or "failed"
  nlohmann::json params;
  std::string error;
  int64_t created_ms = 0;
};

struct EventRow {
  int64_t seq = 0;
  Scope scope;  //!< the source's
  int64_t date_ms = 0;
  std::string source_type;  //!< "db-instance", ...
  std::string source_identifier;
  std::string source_arn;
  std::string event_id;  //!< "RDS-EVENT-0005"; not on the wire, kept for /_localrds/
  std::string message;
  std::vector<std::string> categories;
};

struct EventQuery {
  std::optional<Scope> scope;  //!< nullopt: every account and region
  int64_t start_ms = 0;
  int64_t end_ms = INT64_MAX;
  std::string source_type;        //!< empty: any
  std::string source_identifier;  //!< empty: any
  int64_t after_seq = 0;          //!< pagination marker
  int limit = 100;
};

class Catalog;

//! Handle to an open write transaction; only valid inside Catalog::Transact.
class CatalogTxn {
 public:
  Status PutInstance(const InstanceRow& row);
  Status DeleteInstance(const std::string& resource_id);
  Result<int64_t> InsertOperation(const OperationRow& row);
  Status UpdateOperation(int64_t id, int step, const std::string& state, const std::string& error);
  Status InsertEvent(const EventRow& row);
  Status PutSnapshot(const SnapshotRow& row);
  Status DeleteSnapshot(const std::string& id);
  Status PutRetainedBackup(const RetainedBackupRow& row);
  Status DeleteRetainedBackup(const std::string& resource_id);
  Status PutGroup(const GroupRow& row);
  Status DeleteGroup(const std::string& kind, const Scope& scope, const std::string& name);
  //! Sets the named cursor (a background loop's position in the events, say) to `value`.
  Status SetCursor(const std::string& name, int64_t value);
  Status DeleteEverything();

 private:
  friend class Catalog;
  explicit CatalogTxn(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

class Catalog {
 public:
  //! Opens (creating or migrating) the catalog at `path`. Rows written before resources had a
  //! scope move to the one their events' ARNs name, else to `legacy_scope` (the --account-id
  //! and --region of this run).
  static Result<std::unique_ptr<Catalog>> Open(const std::string& path,
                                               const Scope& legacy_scope = {"000000000000",
                                                                            "us-east-1"});
  ~Catalog();

  Status Transact(const std::function<Status(CatalogTxn&)>& fn);

  Result<std::vector<InstanceRow>> LoadInstances();
  Result<std::vector<SnapshotRow>> LoadSnapshots();
  Result<std::vector<RetainedBackupRow>> LoadRetainedBackups();
  Result<std::vector<GroupRow>> LoadGroups();
  //! The named cursor's value; 0 when it was never set.
  Result<int64_t> LoadCursor(const std::string& name);
  Result<std::vector<OperationRow>> LoadUnfinishedOperations();
  Result<std::optional<OperationRow>> LoadOperation(int64_t id);
  Result<std::vector<EventRow>> QueryEvents(const EventQuery& q);

 private:
  explicit Catalog(sqlite3* db) : db_(db) {}
  Status Migrate(const Scope& legacy_scope);
  //! The scope the newest event's ARN names, when there is one (for the v3 migration).
  std::optional<Scope> ScopeOfNewestEvent();

  std::mutex mutex_;  //!< guards db_
  sqlite3* db_;
};

}  // namespace localrds
