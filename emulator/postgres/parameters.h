// What a DB parameter group family (postgres15, …) holds, as DescribeDBParameters shows it, and
// how a group's values reach a server.
//
// The parameters are PostgreSQL's own: `postgres --describe-config` gives every setting with its
// context (which decides RDS's ApplyType: postmaster → static, the rest dynamic), type and
// range, and the allowed values of an enum come from PostgreSQL's own refusal of a wrong one.
// A value is checked by PostgreSQL itself (`postgres -C name -c name=value` against an empty
// configuration), so what a group accepts is what the server would. On top: RDS's own
// parameters that have a real meaning here (rds.force_ssl, rds.logical_replication), RDS's
// formulas ({DBInstanceClassMemory/32768}, LEAST(…), …) evaluated per instance class, and the
// settings localrds owns (ports, archive, replication, logs, TLS), which no group may set.
//
// ParameterCatalog is immutable once built; Parameters (the per-family cache) is thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/subprocess.h"

namespace localrds {

//! One parameter of a family, in RDS's terms.
struct ParameterInfo {
  std::string name;
  std::string description;
  std::string context;     //!< PostgreSQL's pg_settings.context ("postmaster", "sighup", …)
  std::string pg_type;     //!< BOOLEAN, INTEGER, REAL, STRING, ENUM
  std::string data_type;   //!< RDS DataType: boolean, integer, real, string
  std::string allowed;     //!< RDS AllowedValues: "0,1", "16-1073741823", "minimal,replica,logical"
  std::string apply_type;  //!< "static" or "dynamic"
  bool modifiable = true;
  //! The value of the default group (localrds' own sizing, RDS's settings), "" for none.
  std::string system_value;
};

//! A value a group sets, as ModifyDBParameterGroup gave it.
struct ParameterSetting {
  std::string value;
  std::string apply_method;  //!< "immediate" or "pending-reboot"
};

//! What RDS's formulas read, of one instance.
struct FormulaInputs {
  int64_t class_memory = 0;       //!< DBInstanceClassMemory, bytes
  int vcpus = 0;                  //!< DBInstanceVCPU
  int64_t allocated_storage = 0;  //!< AllocatedStorage, bytes
  int port = 0;                   //!< EndPointPort
};

//! Evaluates an RDS formula value ("{DBInstanceClassMemory/32768}", "LEAST({…},5000)",
//! "GREATEST(…)", "SUM(…)"); a value without braces or functions is returned as it is.
//! InvalidParameterValue for a formula RDS would not accept.
Result<std::string> EvaluateFormula(const std::string& value, const FormulaInputs& in);
//! True when `value` is an RDS formula.
bool IsFormula(const std::string& value);

class ParameterCatalog {
 public:
  //! Runs the family's `postgres` program with the given arguments (as the servers' user).
  using Runner = std::function<Result<CommandOutput>(const std::vector<std::string>& args)>;

  //! Builds the catalog of a major version: `run` gives `--describe-config` and the enum
  //! values; `scratch` is a directory holding an empty postgresql.conf (and
  //! postgresql.auto.conf) readable by the servers' user, for the value checks.
  static Result<std::unique_ptr<ParameterCatalog>> Build(const std::string& major, Runner run,
                                                         std::string scratch);
  //! From `--describe-config` output and enum values already known (unit tests).
  static std::unique_ptr<ParameterCatalog> FromDescription(
      const std::string& major, const std::string& describe_config,
      const std::map<std::string, std::string>& enum_values, Runner run, std::string scratch);

  const std::string& family() const { return family_; }
  const std::vector<ParameterInfo>& All() const { return params_; }
  const ParameterInfo* Find(const std::string& name) const;
  //! Checks one setting of ModifyDBParameterGroup as RDS does (the name exists and may be
  //! modified, the apply method suits the parameter, PostgreSQL accepts the value).
  Status Check(const std::string& name, const ParameterSetting& setting) const;

 private:
  ParameterCatalog() = default;
  std::string family_;
  std::vector<ParameterInfo> params_;  //!< by name
  std::map<std::string, size_t> index_;
  Runner run_;
  std::string scratch_;
};

//! The catalogs of every installed major, built on first use. Thread-safe.
class Parameters {
 public:
  using RunnerFor = std::function<ParameterCatalog::Runner(const std::string& major)>;
  //! `scratch` as for ParameterCatalog::Build (made by the caller).
  Parameters(RunnerFor runner_for, std::string scratch)
      : runner_for_(std::move(runner_for)), scratch_(std::move(scratch)) {}
  //! The catalog of family "postgresNN"; DBParameterGroupFamily not found for another.
  Result<const ParameterCatalog*> Family(const std::string& family);

 private:
  RunnerFor runner_for_;
  std::string scratch_;
  std::mutex mutex_;  //!< guards catalogs_
  std::map<std::string, std::unique_ptr<ParameterCatalog>> catalogs_;
};

//! The lines of postgresql.conf that `settings` (name → value, as a group holds them) give a
//! server of `in`'s instance: formulas evaluated, RDS's own parameters turned into PostgreSQL's
//! (rds.logical_replication=1 → wal_level=logical); rds.force_ssl is left to the hba rules.
std::string GroupSettingsConf(const std::map<std::string, std::string>& settings,
                              const FormulaInputs& in);

}  // namespace localrds
