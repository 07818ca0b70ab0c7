#include "emulator/postgres/server_config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <utility>

#include "emulator/postgres/backup_files.h"
#include "emulator/runtime/server_files.h"

namespace localrds {
namespace fs = std::filesystem;

std::string HbaRules(const std::string& listen, bool force_ssl) {
  // No trust: every server of the machine runs as the same OS user, so a rule that trusted the
  // socket would let one compromised server in as the superuser of every other. rdsadmin (the
  // superuser) logs in over the socket only, by peer authentication from the OS user localrds
  // runs as (IdentMap), also to replicate (pg_basebackup by hand); rdsrepladmin only replicates,
  // over the socket, with its password;
  // clients log in with a SCRAM password over TCP (and the socket). A server listening beyond
  // loopback (inside the localrds image, where published ports arrive from the container's
  // own network) takes them from anywhere.
  std::string out =
      "# Written by localrds at every start; edits are overwritten.\n"
      "local   all          rdsadmin              peer map=localrds\n"
      "local   replication  rdsadmin              peer map=localrds\n"
      "local   replication  rdsrepladmin          scram-sha-256\n"
      "local   all          rdsrepladmin          reject\n"
      "local   replication  all                   reject\n"
      "local   all          all                   scram-sha-256\n"
      "host    all          rdsadmin      all     reject\n"
      "host    all          rdsrepladmin  all     reject\n"
      "host    replication  all           all     reject\n";
  // rds.force_ssl: clients over TCP only with TLS (hostssl matches only encrypted connections).
  const std::string host = force_ssl ? "hostssl " : "host    ";
  out += host + "all          all   127.0.0.1/32    scram-sha-256\n" + host +
         "all          all   ::1/128         scram-sha-256\n";
  const bool loopback =
      listen.empty() || listen == "localhost" || listen == "::1" || listen.rfind("127.", 0) == 0;
  if (!loopback) {
    out += host + "all          all   0.0.0.0/0       scram-sha-256\n" + host +
           "all          all   ::/0            scram-sha-256\n";
  }
  return out;
}

Status WriteFileAtomically(const fs::path& path, const std::string& text, mode_t mode,
                           const std::optional<RunAs>& owner, bool sync) {
  static std::atomic<uint64_t> writes{0};
  const fs::path tmp = path.string() + ".tmp" + std::to_string(writes.fetch_add(1));
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Status::Internal("cannot write " + tmp.string());
  bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            (!owner || fchown(fd, owner->uid, owner->gid) == 0) && fchmod(fd, mode) == 0 &&
            (!sync || fsync(fd) == 0);
  ok = close(fd) == 0 && ok;
  std::error_code ec;
  if (ok) fs::rename(tmp, path, ec);
  if (!ok || ec) {
    fs::remove(tmp, ec);
    return Status::Internal("cannot write " + path.string());
  }
  return Status::Ok();
}

std::string IdentMap(const std::string& os_user) {
  return "# Written by localrds at every start; edits are overwritten.\n"
         "localrds   " +
         os_user + "   rdsadmin\n";
}

Status WriteConfigFiles(const fs::path& pgdata, const std::string& settings,
                        const std::string& listen, bool force_ssl, const ServerTlsFiles* tls) {
  static std::atomic<uint64_t> writes{0};
  static const std::string os_user = CurrentOsUser();
  LOCALRDS_RETURN_IF_ERROR(backup_files::CheckConfigSafePath(pgdata));
  std::string ssl;
  if (tls) {
    // The server reads its key as its own OS user and refuses one with group or other access.
    const std::optional<RunAs> owner = tls->owner;
    LOCALRDS_RETURN_IF_ERROR(
        WriteFileAtomically(pgdata / kServerKeyFile, tls->key_pem, 0600, owner));
    LOCALRDS_RETURN_IF_ERROR(
        WriteFileAtomically(pgdata / kServerCertFile, tls->cert_pem, 0644, owner));
    ssl = "ssl = on\nssl_cert_file = '" + (pgdata / kServerCertFile).string() +
          "'\nssl_key_file = '" + (pgdata / kServerKeyFile).string() + "'\n";
  }
  // Who may connect how is localrds' too (absolute paths: the server resolves a relative one
  // against the directory it was started in).
  const std::pair<const char*, std::string> files[] = {
      {kHbaFile, HbaRules(listen, force_ssl)},
      {kIdentFile, IdentMap(os_user)},
      {kServerConfFile, settings + ssl + "hba_file = '" + (pgdata / kHbaFile).string() + "'\n" +
                            "ident_file = '" + (pgdata / kIdentFile).string() + "'\n"}};
  for (const auto& [name, text] : files) {
    fs::path tmp = pgdata / (std::string(name) + ".tmp" + std::to_string(writes.fetch_add(1)));
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << text;
      if (!out) return Status::Internal("cannot write " + tmp.string());
    }
    std::error_code ec;
    fs::rename(tmp, pgdata / name, ec);
    if (ec) return Status::Internal("cannot rename " + tmp.string() + ": " + ec.message());
  }
  return Status::Ok();
}

}  // namespace localrds
