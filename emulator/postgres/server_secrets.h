// ServerSecrets: the credentials localrds' own connections use, so that no server is reachable
// without one (no `trust` in any pg_hba.conf).
//
//  - rdsadmin, the superuser of every cluster, logs in only over the Unix socket and only by
//    `peer` authentication from the OS user localrds runs as: it has no password at all.
//  - rdsrepladmin (REPLICATION, not a superuser) is what standbys, read replicas and
//    pg_basebackup connect as. Its password is derived from a random key that only localrds can
//    read (<data-dir>/localrds.key, 0600) and from the cluster's system identifier, which every
//    copy of a cluster keeps (base backups, snapshots and their restores, replicas, promotions):
//    the instances made from one cluster share one password, and every other cluster has its
//    own, so a password found in one standby's configuration opens no unrelated instance.
//
// Thread-safe: immutable once opened.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "common/status.h"
#include "emulator/runtime/pg_runtime.h"

namespace localrds {

class ServerSecrets {
 public:
  //! Reads `key_file`, creating it (32 random bytes, 0600) when it does not exist yet.
  static Result<ServerSecrets> Open(const std::filesystem::path& key_file);
  //! A fixed key (tests).
  explicit ServerSecrets(std::string key) : key_(std::move(key)) {}

  //! rdsrepladmin's password in the clusters of `system_identifier` (64 hex digits).
  std::string ReplicationPassword(uint64_t system_identifier) const;
  //! Its SCRAM-SHA-256 verifier, always the same text for the same cluster (the salt is derived
  //! too), so that localrds can tell whether a server already has it.
  std::string ReplicationVerifier(uint64_t system_identifier) const;

 private:
  std::string Derive(const std::string& purpose, uint64_t system_identifier) const;
  std::string key_;
};

//! The database system identifier in `pgdata`/global/pg_control (the first 8 bytes).
Result<uint64_t> ClusterSystemIdentifier(const std::filesystem::path& pgdata);

//! One statement, run as rdsadmin on a primary after each start (a no-op on a standby): creates
//! rdsrepladmin with `verifier` or gives it that verifier, and takes pg_execute_server_program,
//! pg_read_server_files and pg_write_server_files from every role that is not a superuser (a
//! grant made before localrds_guard was loaded).
std::string EnsureServerRolesSql(const std::string& verifier);

}  // namespace localrds
