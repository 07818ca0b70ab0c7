// CertificateAuthorities: the localrds certificate authorities, one real CA per RDS CA
// identifier (rds-ca-rsa2048-g1, rds-ca-rsa4096-g1, rds-ca-ecc384-g1, with RDS's key types), and
// the server certificates they issue for the instances' PostgreSQL servers.
//
// Each CA is made once, on first use, and kept under its directory (<data-dir>/tls, 0700:
// <id>.key 0600 and <id>.pem), so it survives restarts and a client's bundle stays valid. The
// private keys never leave that directory and are never logged; a server's own key is written
// only into its data directory (WriteConfigFiles).
//
// Thread-safety: thread-safe (each CA has its own mutex). Creating an RSA 4096 CA takes a
// second or two; call it from operation workers or service calls that may wait, never from an
// io_context thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace localrds {

//! RDS's CA for new instances when the request names none (DefaultCertificateForNewLaunches).
inline constexpr const char* kDefaultCaIdentifier = "rds-ca-rsa2048-g1";
//! How long a server certificate is valid (RDS rotates them yearly).
inline constexpr int64_t kServerCertificateLifetimeMs = 365LL * 24 * 3600 * 1000;

//! One RDS CA identifier and how localrds makes it.
struct CaSpec {
  std::string id;           //!< "rds-ca-rsa2048-g1"
  std::string key_type;     //!< "RSA2048", "RSA4096", "ECC384" (its CN says so, as RDS's do)
  int valid_years = 0;      //!< the CA certificate's lifetime (RDS: 40 or 100 years)
  int server_key_bits = 0;  //!< the RSA size of the server keys it issues; 0: EC P-384
};

//! The CA identifiers RDS offers PostgreSQL today, in DescribeCertificates' order.
const std::vector<CaSpec>& CaSpecs();
//! The spec of `id`, or null when RDS has no such CA.
const CaSpec* FindCaSpec(const std::string& id);

//! A loaded CA as DescribeCertificates shows it.
struct CaCertificate {
  std::string id;
  std::string pem;         //!< the certificate (never the key)
  std::string thumbprint;  //!< SHA-1 of the DER certificate, lower-case hex
  int64_t valid_from_ms = 0;
  int64_t valid_till_ms = 0;
};

//! A server's certificate and key (PEM) and its expiry.
struct ServerCertificate {
  std::string cert_pem;
  std::string key_pem;
  int64_t not_after_ms = 0;
};

class CertificateAuthorities {
 public:
  //! Borrows nothing; `dir` is made when the first CA is.
  explicit CertificateAuthorities(std::filesystem::path dir);
  ~CertificateAuthorities();
  CertificateAuthorities(const CertificateAuthorities&) = delete;
  CertificateAuthorities& operator=(const CertificateAuthorities&) = delete;

  //! The CA `id` (loaded from its directory, or made and saved there once).
  Result<CaCertificate> Get(const std::string& id);
  //! Every CA's certificate, PEM, concatenated (what clients put in sslrootcert).
  Result<std::string> Bundle();
  //! A new server certificate from CA `ca_id` for `address` (an IP address gets an IP SAN, a
  //! name a DNS SAN; `localhost` is always added), expiring at `not_after_ms`.
  Result<ServerCertificate> Issue(const std::string& ca_id, const std::string& address,
                                  int64_t not_after_ms);
  //! `existing` when it is still right (issued by `ca_id`'s CA, for `address`, with this expiry,
  //! its key matching), else a new one from Issue: a server keeps its certificate across
  //! restarts and a Multi-AZ standby serves the same one as its primary.
  Result<ServerCertificate> Ensure(const ServerCertificate& existing, const std::string& ca_id,
                                   const std::string& address, int64_t not_after_ms);

 private:
  struct Loaded;
  //! One CA: its mutex guards `loaded`, so making a slow one never holds up the others.
  struct Slot {
    std::mutex mutex;
    std::unique_ptr<Loaded> loaded;
  };
  //! The CA of `slot` (loaded or made); the caller holds slot.mutex.
  Result<Loaded*> LoadLocked(const std::string& id, Slot& slot);
  //! The slot of `id`, or null for an identifier RDS does not have.
  Slot* SlotOf(const std::string& id) const;

  const std::filesystem::path dir_;
  std::map<std::string, std::unique_ptr<Slot>> slots_;  //!< one per CaSpecs(), fixed
};

//! The expiry (ms since the epoch) of a PEM certificate; nullopt when it is not one.
std::optional<int64_t> CertificateNotAfter(const std::string& cert_pem);

}  // namespace localrds
