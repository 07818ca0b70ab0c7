#include "emulator/postgres/tls.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <optional>
#include <sstream>

#include "common/time_util.h"
#include "emulator/postgres/server_config.h"

namespace localrds {
namespace fs = std::filesystem;

namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Cert = std::unique_ptr<X509, X509Free>;
using Bio = std::unique_ptr<BIO, BioFree>;

constexpr int64_t kDayMs = 24LL * 3600 * 1000;

Pkey NewKey(int rsa_bits) {
  return Pkey(rsa_bits > 0 ? EVP_RSA_gen(static_cast<unsigned>(rsa_bits)) : EVP_EC_gen("P-384"));
}

std::string KeyPem(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr)) return "";
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string CertPem(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_X509(bio.get(), cert)) return "";
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

Cert ReadCert(const std::string& pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return Cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

Pkey ReadKey(const std::string& pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return Pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

std::optional<int64_t> AsnTimeMs(const ASN1_TIME* t) {
  struct tm tm {};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return std::nullopt;
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

bool SetTimeMs(ASN1_TIME* t, int64_t ms) {
  // X509_time_adj_ex takes days and seconds from a base: far dates (2121) overflow plain secs.
  const int64_t secs = ms / 1000;
  const time_t base = 0;
  return ASN1_TIME_adj(t, base, static_cast<int>(secs / 86400), static_cast<long>(secs % 86400)) !=
         nullptr;
}

bool AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

bool SetRandomSerial(X509* cert) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return false;
  bytes[0] &= 0x7f;  // positive
  BIGNUM* bn = BN_bin2bn(bytes, sizeof bytes, nullptr);
  const bool ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != nullptr;
  BN_free(bn);
  return ok;
}

void AddName(X509_NAME* name, const char* field, const std::string& value) {
  X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0);
}

bool IsIpAddress(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

std::string SubjectAltNames(const std::string& address) {
  std::string sans = (IsIpAddress(address) ? "IP:" : "DNS:") + address;
  if (address != "localhost") sans += ",DNS:localhost";
  return sans;
}

std::optional<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Thumbprint(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (X509_digest(cert, EVP_sha1(), md, &n) != 1) return "";
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

}  // namespace

const std::vector<CaSpec>& CaSpecs() {
  // RDS: rds-ca-rsa2048-g1 valid until 2061, the RSA4096 and ECC384 ones until 2121.
  static const std::vector<CaSpec> kSpecs = {
      {"rds-ca-ecc384-g1", "ECC384", 100, 0},
      {"rds-ca-rsa2048-g1", "RSA2048", 40, 2048},
      {"rds-ca-rsa4096-g1", "RSA4096", 100, 2048},
  };
  return kSpecs;
}

const CaSpec* FindCaSpec(const std::string& id) {
  for (const auto& s : CaSpecs()) {
    if (s.id == id) return &s;
  }
  return nullptr;
}

std::optional<int64_t> CertificateNotAfter(const std::string& cert_pem) {
  Cert cert = ReadCert(cert_pem);
  if (!cert) return std::nullopt;
  return AsnTimeMs(X509_get0_notAfter(cert.get()));
}

struct CertificateAuthorities::Loaded {
  CaCertificate info;
  Cert cert;
  Pkey key;
};

CertificateAuthorities::CertificateAuthorities(fs::path dir) : dir_(std::move(dir)) {
  for (const auto& spec : CaSpecs()) slots_[spec.id] = std::make_unique<Slot>();
}

CertificateAuthorities::Slot* CertificateAuthorities::SlotOf(const std::string& id) const {
  auto it = slots_.find(id);
  return it == slots_.end() ? nullptr : it->second.get();
}
CertificateAuthorities::~CertificateAuthorities() = default;

Result<CertificateAuthorities::Loaded*> CertificateAuthorities::LoadLocked(const std::string& id,
                                                                           Slot& slot) {
  if (slot.loaded) return slot.loaded.get();
  const CaSpec* spec = FindCaSpec(id);
  const fs::path key_path = dir_ / (id + ".key");
  const fs::path cert_path = dir_ / (id + ".pem");
  auto loaded = std::make_unique<Loaded>();
  auto key_pem = ReadFile(key_path);
  auto cert_pem = ReadFile(cert_path);
  if (key_pem && cert_pem) {
    loaded->key = ReadKey(*key_pem);
    loaded->cert = ReadCert(*cert_pem);
    if (!loaded->key || !loaded->cert ||
        X509_check_private_key(loaded->cert.get(), loaded->key.get()) != 1) {
      // Never replaced behind the clients that trust it: a damaged CA is for a human to see.
      return Status::Internal("the localrds CA " + id + " in " + dir_.string() +
                              " is damaged (its key and certificate do not match)");
    }
  } else {
    // Made once: the key is renamed into place before the certificate, so a CA cut short is a
    // key without a certificate, made again here.
    std::error_code ec;
    fs::create_directories(dir_, ec);
    if (ec || chmod(dir_.c_str(), 0700) != 0) {
      return Status::Internal("cannot make " + dir_.string());
    }
    loaded->key = NewKey(spec->key_type == "ECC384" ? 0 : std::stoi(spec->key_type.substr(3)));
    loaded->cert.reset(X509_new());
    X509* cert = loaded->cert.get();
    if (!loaded->key || !cert) return Status::Internal("cannot make a key for CA " + id);
    const int64_t now = NowMs();
    X509_set_version(cert, 2);
    X509_NAME* name = X509_get_subject_name(cert);
    AddName(name, "C", "US");
    AddName(name, "O", "localrds");
    AddName(name, "OU", "Amazon RDS");
    AddName(name, "CN", "localrds Root CA " + spec->key_type + " G1 (" + id + ")");
    bool ok = SetRandomSerial(cert) && X509_set_issuer_name(cert, name) == 1 &&
              SetTimeMs(X509_getm_notBefore(cert), now - kDayMs) &&
              SetTimeMs(X509_getm_notAfter(cert), now + spec->valid_years * 365 * kDayMs) &&
              X509_set_pubkey(cert, loaded->key.get()) == 1 &&
              AddExtension(cert, cert, NID_basic_constraints, "critical,CA:TRUE") &&
              AddExtension(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign") &&
              AddExtension(cert, cert, NID_subject_key_identifier, "hash") &&
              X509_sign(cert, loaded->key.get(), EVP_sha384()) > 0;
    if (!ok) return Status::Internal("cannot make the certificate of CA " + id);
    LOCALRDS_RETURN_IF_ERROR(
        WriteFileAtomically(key_path, KeyPem(loaded->key.get()), 0600, std::nullopt, true));
    LOCALRDS_RETURN_IF_ERROR(
        WriteFileAtomically(cert_path, CertPem(cert), 0644, std::nullopt, true));
  }
  X509* cert = loaded->cert.get();
  loaded->info.id = id;
  loaded->info.pem = CertPem(cert);
  loaded->info.thumbprint = Thumbprint(cert);
  loaded->info.valid_from_ms = AsnTimeMs(X509_get0_notBefore(cert)).value_or(0);
  loaded->info.valid_till_ms = AsnTimeMs(X509_get0_notAfter(cert)).value_or(0);
  slot.loaded = std::move(loaded);
  return slot.loaded.get();
}

Result<CaCertificate> CertificateAuthorities::Get(const std::string& id) {
  Slot* slot = SlotOf(id);
  if (!slot) return Status::Internal("no CA " + id);
  std::lock_guard<std::mutex> lock(slot->mutex);
  auto loaded = LoadLocked(id, *slot);
  if (!loaded.ok()) return loaded.status();
  return (*loaded)->info;
}

Result<std::string> CertificateAuthorities::Bundle() {
  std::string out;
  for (const auto& spec : CaSpecs()) {
    auto ca = Get(spec.id);
    if (!ca.ok()) return ca.status();
    out += ca->pem;
  }
  return out;
}

Result<ServerCertificate> CertificateAuthorities::Issue(const std::string& ca_id,
                                                        const std::string& address,
                                                        int64_t not_after_ms) {
  Slot* slot = SlotOf(ca_id);
  if (!slot) return Status::Internal("no CA " + ca_id);
  // The server's key first, outside the CA's lock.
  Pkey key = NewKey(FindCaSpec(ca_id)->server_key_bits);
  Cert cert(X509_new());
  {
    std::lock_guard<std::mutex> lock(slot->mutex);
    auto loaded = LoadLocked(ca_id, *slot);
    if (!loaded.ok()) return loaded.status();
    if (!key || !cert) return Status::Internal("cannot make a server key");
    X509* c = cert.get();
    X509* issuer = (*loaded)->cert.get();
    X509_set_version(c, 2);
    X509_NAME* name = X509_get_subject_name(c);
    AddName(name, "C", "US");
    AddName(name, "O", "localrds");
    AddName(name, "CN", address);
    bool ok = SetRandomSerial(c) && X509_set_issuer_name(c, X509_get_subject_name(issuer)) == 1 &&
              SetTimeMs(X509_getm_notBefore(c), NowMs() - kDayMs) &&
              SetTimeMs(X509_getm_notAfter(c), not_after_ms) &&
              X509_set_pubkey(c, key.get()) == 1 &&
              AddExtension(c, issuer, NID_basic_constraints, "critical,CA:FALSE") &&
              AddExtension(c, issuer, NID_key_usage, "critical,digitalSignature,keyEncipherment") &&
              AddExtension(c, issuer, NID_ext_key_usage, "serverAuth") &&
              AddExtension(c, issuer, NID_subject_alt_name, SubjectAltNames(address)) &&
              AddExtension(c, issuer, NID_authority_key_identifier, "keyid:always") &&
              X509_sign(c, (*loaded)->key.get(), EVP_sha256()) > 0;
    if (!ok) return Status::Internal("cannot issue a server certificate from " + ca_id);
  }
  ServerCertificate out;
  out.cert_pem = CertPem(cert.get());
  out.key_pem = KeyPem(key.get());
  out.not_after_ms = AsnTimeMs(X509_get0_notAfter(cert.get())).value_or(0);
  return out;
}

Result<ServerCertificate> CertificateAuthorities::Ensure(const ServerCertificate& existing,
                                                         const std::string& ca_id,
                                                         const std::string& address,
                                                         int64_t not_after_ms) {
  Cert cert = ReadCert(existing.cert_pem);
  Pkey key = ReadKey(existing.key_pem);
  if (cert && key && X509_check_private_key(cert.get(), key.get()) == 1 &&
      AsnTimeMs(X509_get0_notAfter(cert.get())) == not_after_ms / 1000 * 1000) {
    bool issued_here = false;
    Slot* slot = SlotOf(ca_id);
    if (!slot) return Status::Internal("no CA " + ca_id);
    {
      std::lock_guard<std::mutex> lock(slot->mutex);
      auto loaded = LoadLocked(ca_id, *slot);
      if (!loaded.ok()) return loaded.status();
      EVP_PKEY* ca_key = X509_get0_pubkey((*loaded)->cert.get());
      issued_here = X509_verify(cert.get(), ca_key) == 1;
    }
    const bool names = IsIpAddress(address)
                           ? X509_check_ip_asc(cert.get(), address.c_str(), 0) == 1
                           : X509_check_host(cert.get(), address.c_str(), 0, 0, nullptr) == 1;
    if (issued_here && names) {
      ServerCertificate same = existing;
      same.not_after_ms = not_after_ms / 1000 * 1000;
      return same;
    }
  }
  return Issue(ca_id, address, not_after_ms);
}

}  // namespace localrds
