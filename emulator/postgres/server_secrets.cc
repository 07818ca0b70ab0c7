#include "emulator/postgres/server_secrets.h"

#include <fcntl.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "common/scram.h"

namespace localrds {
namespace fs = std::filesystem;

namespace {
constexpr size_t kKeyBytes = 32;

std::string Hex(const unsigned char* data, size_t len) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < len; ++i) {
    out += kDigits[data[i] >> 4];
    out += kDigits[data[i] & 15];
  }
  return out;
}
}  // namespace

Result<ServerSecrets> ServerSecrets::Open(const fs::path& key_file) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    int fd = open(key_file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0) {
      std::string key(kKeyBytes, '\0');
      ssize_t n = read(fd, key.data(), key.size());
      close(fd);
      if (n != static_cast<ssize_t>(kKeyBytes)) {
        return Status::Internal(key_file.string() + " is not a localrds key (" +
                                std::to_string(kKeyBytes) + " bytes)");
      }
      return ServerSecrets(std::move(key));
    }
    if (errno != ENOENT) {
      return Status::Internal("cannot read " + key_file.string() + ": " + std::strerror(errno));
    }
    // Written to a temporary name, then linked into place: the key appears complete or not at
    // all, and of two localrds racing for it (never: one per data directory) one wins.
    unsigned char raw[kKeyBytes];
    if (RAND_bytes(raw, sizeof raw) != 1) return Status::Internal("no random bytes for the key");
    const fs::path tmp = key_file.string() + ".tmp" + std::to_string(getpid());
    fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
      return Status::Internal("cannot create " + tmp.string() + ": " + std::strerror(errno));
    const bool written =
        write(fd, raw, sizeof raw) == static_cast<ssize_t>(sizeof raw) && fsync(fd) == 0;
    close(fd);
    if (!written || (link(tmp.c_str(), key_file.c_str()) != 0 && errno != EEXIST)) {
      unlink(tmp.c_str());
      return Status::Internal("cannot write " + key_file.string() + ": " + std::strerror(errno));
    }
    unlink(tmp.c_str());
  }
  return Status::Internal("cannot create " + key_file.string());
}

std::string ServerSecrets::Derive(const std::string& purpose, uint64_t system_identifier) const {
  const std::string msg = purpose + "/" + std::to_string(system_identifier);
  unsigned char out[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string ServerSecrets::ReplicationPassword(uint64_t system_identifier) const {
  const std::string raw = Derive(kReplicationUser, system_identifier);
  return Hex(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
}

std::string ServerSecrets::ReplicationVerifier(uint64_t system_identifier) const {
  return ScramSha256VerifierWithSalt(ReplicationPassword(system_identifier),
                                     Derive("salt", system_identifier).substr(0, 16), 4096);
}

Result<uint64_t> ClusterSystemIdentifier(const fs::path& pgdata) {
  std::ifstream in(pgdata / "global" / "pg_control", std::ios::binary);
  uint64_t id = 0;
  if (!in.read(reinterpret_cast<char*>(&id), sizeof id) || id == 0) {
    return Status::Internal("cannot read the system identifier in " +
                            (pgdata / "global" / "pg_control").string());
  }
  return id;
}

std::string EnsureServerRolesSql(const std::string& verifier) {
  const std::string v = "'" + verifier + "'";
  return "DO $localrds$\n"
         "DECLARE r record;\n"
         "BEGIN\n"
         "  IF pg_is_in_recovery() THEN RETURN; END IF;\n"
         "  IF NOT EXISTS (SELECT 1 FROM pg_authid WHERE rolname = 'rdsrepladmin') THEN\n"
         "    CREATE ROLE rdsrepladmin LOGIN REPLICATION PASSWORD " +
         v +
         ";\n"
         "  ELSIF NOT EXISTS (SELECT 1 FROM pg_authid WHERE rolname = 'rdsrepladmin' AND\n"
         "      rolpassword = " +
         v +
         " AND rolcanlogin AND rolreplication AND NOT rolsuper) THEN\n"
         "    ALTER ROLE rdsrepladmin LOGIN REPLICATION NOSUPERUSER PASSWORD " +
         v +
         ";\n"
         "  END IF;\n"
         "  FOR r IN SELECT g.rolname AS grp, m.rolname AS member FROM pg_auth_members am\n"
         "      JOIN pg_authid g ON g.oid = am.roleid JOIN pg_authid m ON m.oid = am.member\n"
         "      WHERE g.rolname IN ('pg_execute_server_program', 'pg_read_server_files',\n"
         "                          'pg_write_server_files') AND NOT m.rolsuper LOOP\n"
         "    EXECUTE format('REVOKE %I FROM %I', r.grp, r.member);\n"
         "  END LOOP;\n"
         "END\n"
         "$localrds$";
}

}  // namespace localrds
