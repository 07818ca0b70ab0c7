// SnapshotService: the backup actions: DB snapshots (create, copy, delete, describe), the two
// restores, and automated backups (describe, delete retained ones). See ServiceBase.
// snapshot_service.cc holds the snapshots and the restore from a snapshot; automated_backups.cc
// the point-in-time restore and the automated backups.
#pragma once

#include "emulator/background/executor.h"
#include "emulator/service/service_base.h"

namespace localrds {

class SnapshotService : public ServiceBase {
 public:
  //! `background` removes the files of deleted snapshots after the call has answered.
  SnapshotService(Registry& registry, InstanceServers& servers, PgRuntime& runtime,
                  const Layout& layout, OperationStarter& starter, ServiceConfig config,
                  Executor& background)
      : ServiceBase(registry, servers, runtime, layout, starter, config), background_(background) {}

  Result<Accepted> CreateDBSnapshot(const nlohmann::json& req);
  Result<Accepted> CopyDBSnapshot(const nlohmann::json& req);
  Result<Accepted> DeleteDBSnapshot(const nlohmann::json& req);
  Result<nlohmann::json> DescribeDBSnapshots(const nlohmann::json& req);
  //! Sharing: the `restore` attribute (account ids, or "all" for public) of a manual snapshot.
  Result<nlohmann::json> ModifyDBSnapshotAttribute(const nlohmann::json& req);
  Result<nlohmann::json> DescribeDBSnapshotAttributes(const nlohmann::json& req);
  Result<Accepted> RestoreDBInstanceFromDBSnapshot(const nlohmann::json& req);
  Result<Accepted> RestoreDBInstanceToPointInTime(const nlohmann::json& req);
  Result<nlohmann::json> DescribeDBInstanceAutomatedBackups(const nlohmann::json& req);
  Result<Accepted> DeleteDBInstanceAutomatedBackup(const nlohmann::json& req);
  //! Automated backups replication, called in the destination Region: the source's base
  //! backups and WAL archive are copied there continuously (BackupReplicator).
  Result<Accepted> StartDBInstanceAutomatedBackupsReplication(const nlohmann::json& req);
  Result<Accepted> StopDBInstanceAutomatedBackupsReplication(const nlohmann::json& req);

 private:
  //! The checks and the new row shared by both restores; `source` gives the defaults.
  Result<InstanceRow> NewRestoredInstance(Registry::Locked& reg, const nlohmann::json& req,
                                          const std::string& target_identifier,
                                          const InstanceRow& source);

  Executor& background_;
};

}  // namespace localrds
