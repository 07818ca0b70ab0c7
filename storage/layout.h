// Every on-disk path under the data directory, in one place.
//
//   catalog.db                        the SQLite catalog
//   instances/<resource-id>/pgdata    an instance's PostgreSQL cluster (host "a")
//   instances/<resource-id>/postgresql.log
//   instances/<resource-id>/pgdata-b  the second host of a Multi-AZ instance (primary and
//   instances/<resource-id>/postgresql-b.log   standby swap hosts at each failover)
//   instances/<resource-id>/log[-b]/error/     each host's PostgreSQL log files (HostLogDir)
//   pool/<major>/<name>               ready-made clusters waiting to become instances
//   archive/<resource-id>/            an instance's WAL archive (gzip'd segments; kept with its
//                                     automated backups after the instance is deleted)
//   snapshots/<snapshot-id>/          one base backup per DB snapshot, manual or automated
//   trash/                            directories being removed (renamed here first)
//   outages.json                      the regions and zones in an outage drill (Outages)
//   runtime/                          what a runtime keeps (the docker runtime: the passwd and
//                                     group files its containers see)
//
// Directories are named by immutable resource ids, never by user-chosen identifiers, so renames
// are free and no identifier can escape the data directory. Immutable after construction;
// thread-safe.
#pragma once

#include <filesystem>
#include <string>

namespace localrds {

class Layout {
 public:
  explicit Layout(std::filesystem::path data_dir);

  const std::filesystem::path& data_dir() const { return data_dir_; }
  std::filesystem::path CatalogPath() const { return data_dir_ / "catalog.db"; }
  std::filesystem::path InstancesDir() const { return data_dir_ / "instances"; }
  std::filesystem::path InstanceDir(const std::string& resource_id) const {
    return InstancesDir() / resource_id;
  }
  std::filesystem::path PgData(const std::string& resource_id) const {
    return InstanceDir(resource_id) / "pgdata";
  }
  std::filesystem::path ServerLog(const std::string& resource_id) const {
    return InstanceDir(resource_id) / "postgresql.log";
  }
  //! The data directory of one host of an instance: "a" is PgData, "b" the Multi-AZ second one.
  std::filesystem::path HostPgData(const std::string& resource_id, const std::string& host) const {
    return host == "b" ? InstanceDir(resource_id) / "pgdata-b" : PgData(resource_id);
  }
  std::filesystem::path HostLog(const std::string& resource_id, const std::string& host) const {
    return host == "b" ? InstanceDir(resource_id) / "postgresql-b.log" : ServerLog(resource_id);
  }
  //! The log root of one host: its collector writes `error/postgresql.log.YYYY-MM-DD-HH` there.
  //! Beside the data directory, not in it: pg_basebackup would copy it into snapshots and
  //! replicas (a restored instance or a new replica starts with no history, as on RDS), and it
  //! stays with the host through failovers (each host keeps what its own server said).
  std::filesystem::path HostLogDir(const std::string& resource_id, const std::string& host) const {
    return InstanceDir(resource_id) / (host == "b" ? "log-b" : "log");
  }
  std::filesystem::path PoolDir(const std::string& major) const {
    return data_dir_ / "pool" / major;
  }
  std::filesystem::path ArchiveDir(const std::string& resource_id) const {
    return data_dir_ / "archive" / resource_id;
  }
  std::filesystem::path SnapshotsDir() const { return data_dir_ / "snapshots"; }
  std::filesystem::path SnapshotDir(const std::string& snapshot_id) const {
    return SnapshotsDir() / snapshot_id;
  }
  //! The frozen view of a source's archive that a point-in-time restore replays.
  std::filesystem::path RestoreWalDir(const std::string& resource_id) const {
    return InstanceDir(resource_id) / "restore-wal";
  }
  std::filesystem::path TrashDir() const { return data_dir_ / "trash"; }
  std::filesystem::path RuntimeDir() const { return data_dir_ / "runtime"; }
  //! The regions and Availability Zones in an outage drill (emulator/state/outages.h).
  std::filesystem::path OutagesPath() const { return data_dir_ / "outages.json"; }
  //! The key rdsrepladmin's passwords derive from (ServerSecrets), 0600.
  std::filesystem::path KeyPath() const { return data_dir_ / "localrds.key"; }
  //! localrds_guard_<major>.so, copied here for the servers to load (owned by localrds).
  std::filesystem::path LibDir() const { return data_dir_ / "lib"; }
  //! Names the socket directory (ClaimSocketDirectory).
  std::filesystem::path SocketDirRecord() const { return data_dir_ / "socket-dir"; }
  //! Unix sockets of every server of this data directory. Kept short (sun_path is 108 bytes):
  //! the directory SocketDirRecord names (a random /tmp/localrds-XXXXXX that
  //! ClaimSocketDirectory made), else /tmp/localrds-<hash of the data dir> (tests).
  const std::filesystem::path& SocketDir() const { return socket_dir_; }

  //! Creates the directory tree (not the socket directory's ownership: see PgRuntime).
  void CreateDirectories() const;

  //! Moves `dir` into the trash (atomic rename) and deletes it there; idempotent.
  static void RemoveTree(const std::filesystem::path& dir, const std::filesystem::path& trash);

 private:
  std::filesystem::path data_dir_;
  std::filesystem::path socket_dir_;
};

}  // namespace localrds
