// InstanceServers: what localrds does to the PostgreSQL servers of an instance, with the
// registry's knowledge of how instances relate (a replica's source, a Multi-AZ standby).
//
// It says where each server of an instance is (ServerSpec of the primary and of the standby),
// writes their configuration at every start (localrds.conf, pg_hba, the ident map), keeps the
// replication slots, the replication role and the standby's settings in step with the catalog,
// and picks ports. Steps, background loops and services all go through it.
//
// Thread-safety: thread-safe. It calls the runtime (which may block), so never call it from an
// io_context thread nor while holding the registry's lock. Borrows everything it is given.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "emulator/postgres/server_config.h"
#include "emulator/postgres/server_secrets.h"
#include "emulator/postgres/tls.h"
#include "emulator/runtime/pg_runtime.h"
#include "emulator/state/registry.h"
#include "storage/layout.h"

namespace localrds {

struct ServersConfig {
  int port_range_lo = 15432;  //!< ports handed out when Port is busy or taken
  int port_range_hi = 16431;
  //! listen_addresses of every instance's server (never of a Multi-AZ standby: it has no TCP).
  std::string pg_listen_address = "127.0.0.1";
  //! Where localrds_guard_<major>.so lives (shared_preload_libraries); empty: no guard (unit
  //! tests over the fake runtime).
  std::filesystem::path guard_library_dir;
  //! How late a cross-Region read replica applies its source's WAL (the Regions' distance, as
  //! ReplicaLag shows it; PostgreSQL's recovery_min_apply_delay). 0: no delay.
  std::chrono::milliseconds inter_region_latency{40};
  //! The CAs that issue every server's TLS certificate (emulator/postgres/tls.h); null: the
  //! servers serve no TLS (unit tests over the fake runtime).
  CertificateAuthorities* tls = nullptr;
  //! Endpoint.Address: what the servers' certificates are issued for (with localhost).
  std::string endpoint_address = "127.0.0.1";
};

class InstanceServers {
 public:
  InstanceServers(Registry& registry, PgRuntime& runtime, const Layout& layout,
                  const ServerSecrets& secrets, ServersConfig config);

  const ServersConfig& config() const { return config_; }
  //! The instance's primary server (the host the catalog names).
  ServerSpec Server(const InstanceRow& row) const;
  //! The Multi-AZ standby's server (the other host, on its socket-only port).
  ServerSpec StandbyServer(const InstanceRow& row) const;
  //! Server(row) with the password of rdsrepladmin there (pg_basebackup from it).
  ServerSpec ReplicationSource(const InstanceRow& row) const;
  //! "user=rdsrepladmin password=…" of a standby or replica of `source` (primary_conninfo).
  std::string ReplicationLogin(const InstanceRow& source) const;

  //! Writes the instance's localrds.conf (port, sockets, memory settings) atomically. A read
  //! replica also gets its standby settings (primary_conninfo to its source, its slot) and a
  //! standby.signal. `recovery` adds settings for a point-in-time restore (restore_command, …).
  Status WriteServerConfig(const InstanceRow& row, const std::string& recovery = "");
  //! Writes the standby's localrds.conf (a hot standby of the primary, no TCP) and its
  //! standby.signal.
  Status WriteStandbyConfig(const InstanceRow& row);
  //! The certificate and key a server of the instance in `pgdata` serves: the one there when
  //! it is still right (its CA is CACertificateIdentifier's, it names the endpoint, it expires
  //! at CertificateDetails.ValidTill), else a new one. nullopt without TLS.
  Result<std::optional<ServerTlsFiles>> ServerTls(const InstanceRow& row,
                                                  const std::filesystem::path& pgdata) const;

  //! Rewrites the configuration of `row`'s servers from its InstanceParameters and reloads the
  //! running ones (dynamic parameters applied at once); the Multi-AZ standby too, as it is the
  //! primary after a failover. OK when a server is not running or not made yet (its start reads
  //! the file).
  Status ReloadParameters(const InstanceRow& row);
  //! Rewrites the primary's localrds.conf with the instance's localrds.storage_full (from
  //! StorageFull(row)), reloads it and waits until a new session sees the value, so that the
  //! status can follow: writes fail (or work again) from then on. OK when the server is not
  //! running (its next start reads the file); with no guard loaded, only writes the file.
  Status ApplyStorageFull(const InstanceRow& row);

  //! Creates or re-keys rdsrepladmin on `row`'s running primary and takes the server-file roles
  //! from non-superusers (EnsureServerRolesSql). A no-op on a standby; logs a failure.
  Status EnsureServerRoles(const InstanceRow& row);
  //! Creates the physical replication slot a replica streams through on its source (once).
  Status EnsureReplicationSlot(const InstanceRow& source, const std::string& slot);
  //! Drops a replica's slot on its source, waiting briefly for the walsender to let go of it.
  //! OK when the slot or the source's server is not there.
  Status DropReplicationSlot(const InstanceRow& source, const std::string& slot);
  //! Drops the localrds slots on `row`'s server that no replica of it (nor its Multi-AZ
  //! standby) owns any more; `active_too` also those a walsender still holds (waiting briefly
  //! for it to let go: a server thawed after an outage).
  void DropStaleReplicationSlots(const InstanceRow& row, bool active_too = false);
  //! Rewrites the standby settings of `source`'s running replicas (its port may have moved)
  //! and reloads them.
  void RefreshReplicaConnections(const std::string& source_resource_id);

  //! True when the instance's standby is (being) built and its data directory is there.
  bool StandbyBuilt(const InstanceRow& row) const;
  //! Rewrites the standby's settings (the primary's port may have moved) and reloads or starts
  //! it. OK when the instance has no built standby.
  Status EnsureStandbyRunning(const InstanceRow& row);
  Status StopStandby(const InstanceRow& row);

  //! Picks a port for an instance: `requested` when free, else one from the configured range.
  //! `self` is the resource id whose current port does not count as taken; `avoid` is never
  //! returned (a port that just failed to bind).
  std::optional<int> AllocatePort(int requested, const std::string& self, int avoid = -1);

 private:
  //! The settings every server of `row` gets (port, sockets, memory, archiving, WAL senders,
  //! logging into `log_root`).
  std::string ServerSettings(const InstanceRow& row, int port, const std::string& listen,
                             const std::filesystem::path& log_root) const;
  //! The standby settings of a replica's localrds.conf ("" for an instance that is not one).
  std::string StandbySettings(const InstanceRow& row) const;
  //! synchronous_standby_names for a Multi-AZ primary whose standby is in sync ("" otherwise).
  std::string MultiAzPrimarySettings(const InstanceRow& row) const;

  Registry& registry_;
  PgRuntime& runtime_;
  const Layout& layout_;
  const ServerSecrets& secrets_;
  const ServersConfig config_;
};

}  // namespace localrds
