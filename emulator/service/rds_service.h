// RdsService: what the API layer needs from localrds, and all it may use: the RDS actions by
// name, the hot DescribeDBInstances path, waiting for an operation, and the emulator's own
// /_localrds/ controls. ControlPlane implements it; the API's unit tests use a fake.
//
// Thread-safety: every method is thread-safe. None blocks on PostgreSQL, so that they can run
// on an io_context thread, except Call for an action where Blocks says so: the API runs those
// through CallAsync. The *Async methods run on a background thread and call `done` there.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/status.h"
#include "emulator/core/timing.h"
#include "emulator/engine/starter.h"
#include "emulator/service/service_base.h"

namespace localrds {

class RdsService {
 public:
  virtual ~RdsService() = default;

  //! True when localrds implements the RDS action `action`.
  virtual bool Implements(const std::string& action) const = 0;
  //! Runs an implemented action on its decoded request (RDS member names). The body is the
  //! action's result, as the service model names its members (e.g. {"DBInstance": {...}}).
  virtual Result<Accepted> Call(const std::string& action, const nlohmann::json& req) = 0;
  //! True when Call(action) may block (it runs PostgreSQL programs or talks to servers): the
  //! parameter-group actions, which check values with `postgres` and reload servers.
  virtual bool Blocks(const std::string& /*action*/) const { return false; }
  //! Call on a background thread; `done` gets its result there (an exception as InternalFailure).
  virtual void CallAsync(const std::string& action, nlohmann::json req,
                         std::function<void(Result<Accepted>)> done) {
    done(Call(action, req));
  }
  //! DescribeDBInstances without copying the rendered instances.
  virtual Result<InstancePage> ListDBInstances(const nlohmann::json& req) = 0;
  //! Calls `cb` (on a worker thread, or at once) when the operation is no longer running.
  virtual void WhenOperationDone(int64_t operation_id, std::function<void()> cb) = 0;
  //! Calls `cb` when the operation is done or only a timing profile's hold is left (its work is
  //! done): when an accepted call answers.
  virtual void WhenOperationSettled(int64_t operation_id, std::function<void()> cb) {
    WhenOperationDone(operation_id, std::move(cb));
  }

  //! The account and region of a request that names none (--account-id, --region).
  virtual Scope DefaultScope() const = 0;

  // The emulator's own controls (/_localrds/).
  virtual nlohmann::json Health() = 0;
  virtual Result<nlohmann::json> EventsWithIds(int limit) = 0;
  //! The PEM bundle of every localrds CA (GET /_localrds/ca.pem).
  virtual Result<std::string> CaBundle() {
    return Status::Error(AwsError::kInternalFailure, "no certificate authorities here");
  }
  virtual void ResetAsync(std::function<void(Status)> done) = 0;
  virtual void CrashInstanceAsync(const InstanceRef& identifier,
                                  std::function<void(Status)> done) = 0;
  virtual void FreezeInstanceAsync(const InstanceRef& identifier, bool freeze,
                                   std::function<void(Status)> done) = 0;
  virtual Result<nlohmann::json> InstanceDetails(const InstanceRef& identifier) = 0;
  virtual Result<Accepted> BackupNow(const InstanceRef& identifier) = 0;
  //! The instance's timing profile: its own (if any), the server's, and the one in effect.
  virtual Result<nlohmann::json> InstanceTiming(const InstanceRef& identifier) = 0;
  //! Gives the instance its own timing profile, or (nullopt) makes it follow the server's again.
  virtual Result<nlohmann::json> SetInstanceTiming(const InstanceRef& identifier,
                                                   const std::optional<TimingProfile>& timing) = 0;
  // The console's workshop tools (emulator/service/console_service.h): each runs on a worker
  // thread and calls `done` there; requests and answers are those of /console/api/sql and
  // /console/api/drill* (api/console.h).
  //! Runs `req["sql"]` on instance `req["DBInstanceIdentifier"]` of `scope` as its master user.
  virtual void RunSqlAsync(const Scope& /*scope*/, nlohmann::json /*req*/,
                           std::function<void(Result<nlohmann::json>)> done) {
    done(Status::Error(AwsError::kInvalidAction, "This localrds has no query editor."));
  }
  //! The DR drill of instance `req["DBInstanceIdentifier"]`: `what` is "status", "writer",
  //! "fault" or "stop".
  virtual void DrillAsync(const Scope& /*scope*/, const std::string& /*what*/,
                          nlohmann::json /*req*/,
                          std::function<void(Result<nlohmann::json>)> done) {
    done(Status::Error(AwsError::kInvalidAction, "This localrds has no DR drills."));
  }
  //! The console's Monitoring sample of an instance (Controls::InstanceMetrics).
  virtual void MetricsAsync(const InstanceRef& /*identifier*/,
                            std::function<void(Result<nlohmann::json>)> done) {
    done(Status::Error(AwsError::kInvalidAction, "This localrds has no metrics."));
  }
  //! True while an outage drill has `region` down: its RDS API answers ServiceUnavailable.
  virtual bool RegionInOutage(const std::string& region) const = 0;
  //! Puts a Region (or, with `zone`, an Availability Zone) in an outage drill (`out`) or
  //! recovers it; `done` gets what it did, or InvalidParameterValue for an unknown name.
  virtual void SetOutageAsync(const std::string& name, bool zone, bool out,
                              std::function<void(Result<nlohmann::json>)> done) = 0;
};

}  // namespace localrds
