// What localrds writes into every data directory at every start of its server: localrds.conf
// (included last by postgresql.conf), the client authentication rules and the ident map.
// Pure text, apart from the two writers (WriteFileAtomically, WriteConfigFiles). Thread-safe.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>

#include "common/status.h"
#include "common/subprocess.h"

namespace localrds {

//! The file names, next to postgresql.conf.
inline constexpr const char* kServerConfFile = "localrds.conf";
inline constexpr const char* kHbaFile = "localrds_hba.conf";
inline constexpr const char* kIdentFile = "localrds_ident.conf";
//! The server's TLS certificate and key (ssl_cert_file, ssl_key_file).
inline constexpr const char* kServerCertFile = "localrds_server.crt";
inline constexpr const char* kServerKeyFile = "localrds_server.key";

//! What a server serves TLS with: its certificate and key (PEM) and the OS user its key file
//! must belong to (PostgreSQL refuses a key another user owns or others may read); no owner:
//! the one localrds runs as.
struct ServerTlsFiles {
  std::string cert_pem;
  std::string key_pem;
  std::optional<RunAs> owner;
};

//! The pg_hba.conf rules of a server that listens on `listen` ("" for no TCP): SCRAM over
//! loopback, or from anywhere when it listens beyond loopback. No trust anywhere: on the socket
//! directory rdsadmin is `peer` (only localrds' own OS user, see IdentMap), rdsrepladmin
//! replicates with its password, everyone else logs in with SCRAM. With `force_ssl`
//! (rds.force_ssl) clients over TCP must use TLS: their rules are hostssl, so a plaintext login
//! gets PostgreSQL's "no pg_hba.conf entry for host ..., no encryption".
std::string HbaRules(const std::string& listen, bool force_ssl = false);
//! pg_ident.conf: the map `localrds` that lets `os_user` (the one localrds runs as) in as
//! rdsadmin, and nobody else.
std::string IdentMap(const std::string& os_user);
//! Writes `text` to `path` atomically (a temporary name, then a rename) with `mode`, owned by
//! `owner` when given and flushed to disk first when `sync`: a reader never sees a partial file
//! or other permissions.
Status WriteFileAtomically(const std::filesystem::path& path, const std::string& text, mode_t mode,
                           const std::optional<RunAs>& owner = std::nullopt, bool sync = false);
//! Writes `settings` (plus hba_file and ident_file) as pgdata/localrds.conf, and the rules for a
//! server listening on `listen` and the ident map, each atomically (a temporary name, then a
//! rename): a source's start rewrites its replicas' files while their own operations may be
//! writing them too, and the last rename wins. With `tls`, the certificate and key files too
//! (the key 0600, given to its owner) and `ssl = on` naming them.
Status WriteConfigFiles(const std::filesystem::path& pgdata, const std::string& settings,
                        const std::string& listen, bool force_ssl = false,
                        const ServerTlsFiles* tls = nullptr);

}  // namespace localrds
