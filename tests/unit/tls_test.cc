// The localrds CAs and the server certificates they issue (emulator/postgres/tls.h), the TLS
// files and force_ssl rules of a server's configuration, DescribeCertificates and the
// CACertificateIdentifier of ModifyDBInstance.
#include "emulator/postgres/tls.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/time_util.h"
#include "emulator/postgres/server_config.h"
#include "emulator/service/control_plane.h"
#include "tests/unit/control_plane_fixture.h"

namespace localrds {
namespace fs = std::filesystem;

namespace {

fs::path FreshDir(const std::string& name) {
  fs::path dir = fs::path("/tmp") / ("lr-tls-" + std::to_string(getpid()) + "-" + name);
  fs::remove_all(dir);
  return dir;
}

int Mode(const fs::path& p) {
  struct stat st {};
  stat(p.c_str(), &st);
  return st.st_mode & 0777;
}

std::string Slurp(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

X509* ReadCert(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return cert;
}

// Verifies `cert_pem` against the CAs of `bundle` as a client with verify-full would (chain,
// serverAuth purpose, the host or IP it connects to).
bool VerifiesFor(const std::string& cert_pem, const std::string& bundle, const std::string& host) {
  X509_STORE* store = X509_STORE_new();
  BIO* bio = BIO_new_mem_buf(bundle.data(), static_cast<int>(bundle.size()));
  while (X509* ca = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    X509_STORE_add_cert(store, ca);
    X509_free(ca);
  }
  BIO_free(bio);
  X509* cert = ReadCert(cert_pem);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, cert, nullptr);
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx);
  X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER);
  unsigned char ip[16];
  if (inet_pton(AF_INET, host.c_str(), ip) == 1) {
    X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
  } else {
    X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
  }
  const bool ok = X509_verify_cert(ctx) == 1;
  X509_STORE_CTX_free(ctx);
  X509_free(cert);
  X509_STORE_free(store);
  return ok;
}

std::string IssuerCn(const std::string& cert_pem) {
  X509* cert = ReadCert(cert_pem);
  char buf[256] = {0};
  X509_NAME_get_text_by_NID(X509_get_issuer_name(cert), NID_commonName, buf, sizeof buf);
  X509_free(cert);
  return buf;
}

std::pair<int, int> KeyTypeAndBits(const std::string& cert_pem) {
  X509* cert = ReadCert(cert_pem);
  EVP_PKEY* key = X509_get0_pubkey(cert);
  std::pair<int, int> out{EVP_PKEY_get_base_id(key), EVP_PKEY_get_bits(key)};
  X509_free(cert);
  return out;
}

}  // namespace

TEST(TlsTest, EveryCaIsRealHasRdsKeyTypeAndSurvivesARestart) {
  const fs::path dir = FreshDir("cas");
  std::string bundle, thumb;
  {
    CertificateAuthorities cas(dir);
    auto b = cas.Bundle();
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    bundle = *b;
    EXPECT_EQ(KeyTypeAndBits(cas.Get("rds-ca-rsa2048-g1")->pem),
              std::make_pair(EVP_PKEY_RSA, 2048));
    EXPECT_EQ(KeyTypeAndBits(cas.Get("rds-ca-rsa4096-g1")->pem),
              std::make_pair(EVP_PKEY_RSA, 4096));
    EXPECT_EQ(KeyTypeAndBits(cas.Get("rds-ca-ecc384-g1")->pem), std::make_pair(EVP_PKEY_EC, 384));
    auto ca = cas.Get("rds-ca-rsa2048-g1");
    thumb = ca->thumbprint;
    EXPECT_EQ(thumb.size(), 40u);  // SHA-1, hex
    EXPECT_LT(ca->valid_from_ms, NowMs());
    EXPECT_GT(ca->valid_till_ms, NowMs() + 39LL * 365 * 24 * 3600 * 1000);
    EXPECT_FALSE(cas.Get("rds-ca-2019").ok());
  }
  // The keys stay in a directory only localrds reads; the certificates never carry them.
  EXPECT_EQ(Mode(dir), 0700);
  EXPECT_EQ(Mode(dir / "rds-ca-rsa2048-g1.key"), 0600);
  EXPECT_EQ(bundle.find("PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(std::count(bundle.begin(), bundle.end(), '\n') > 0, true);
  // Opened again (a restart): the same CAs, so clients' bundles stay valid.
  CertificateAuthorities again(dir);
  EXPECT_EQ(again.Get("rds-ca-rsa2048-g1")->thumbprint, thumb);
  EXPECT_EQ(*again.Bundle(), bundle);
  fs::remove_all(dir);
}

TEST(TlsTest, ServerCertificateVerifiesForTheEndpointAndLocalhost) {
  const fs::path dir = FreshDir("server");
  CertificateAuthorities cas(dir);
  const int64_t till = NowMs() + kServerCertificateLifetimeMs;
  auto cert = cas.Issue("rds-ca-rsa2048-g1", "127.0.0.1", till);
  ASSERT_TRUE(cert.ok()) << cert.status().ToString();
  const std::string rsa_bundle = cas.Get("rds-ca-rsa2048-g1")->pem;
  EXPECT_TRUE(VerifiesFor(cert->cert_pem, rsa_bundle, "127.0.0.1"));
  EXPECT_TRUE(VerifiesFor(cert->cert_pem, rsa_bundle, "localhost"));
  EXPECT_FALSE(VerifiesFor(cert->cert_pem, rsa_bundle, "127.0.0.2"));
  EXPECT_FALSE(VerifiesFor(cert->cert_pem, cas.Get("rds-ca-ecc384-g1")->pem, "127.0.0.1"));
  EXPECT_EQ(cert->not_after_ms, till / 1000 * 1000);
  EXPECT_EQ(CertificateNotAfter(cert->cert_pem), till / 1000 * 1000);
  EXPECT_NE(IssuerCn(cert->cert_pem).find("rds-ca-rsa2048-g1"), std::string::npos);
  EXPECT_EQ(KeyTypeAndBits(cert->cert_pem), std::make_pair(EVP_PKEY_RSA, 2048));

  // A name as the endpoint address gets a DNS name.
  auto named = cas.Issue("rds-ca-ecc384-g1", "db.localrds.test", till);
  ASSERT_TRUE(named.ok());
  const std::string ecc_bundle = cas.Get("rds-ca-ecc384-g1")->pem;
  EXPECT_TRUE(VerifiesFor(named->cert_pem, ecc_bundle, "db.localrds.test"));
  EXPECT_EQ(KeyTypeAndBits(named->cert_pem).first, EVP_PKEY_EC);

  // Kept while still right; issued again for another CA, address or expiry.
  auto same = cas.Ensure(*cert, "rds-ca-rsa2048-g1", "127.0.0.1", till);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->cert_pem, cert->cert_pem);
  auto other_ca = cas.Ensure(*cert, "rds-ca-ecc384-g1", "127.0.0.1", till);
  ASSERT_TRUE(other_ca.ok());
  EXPECT_NE(other_ca->cert_pem, cert->cert_pem);
  EXPECT_TRUE(VerifiesFor(other_ca->cert_pem, ecc_bundle, "127.0.0.1"));
  EXPECT_NE(cas.Ensure(*cert, "rds-ca-rsa2048-g1", "127.0.0.9", till)->cert_pem, cert->cert_pem);
  EXPECT_NE(cas.Ensure(*cert, "rds-ca-rsa2048-g1", "127.0.0.1", till + 5000)->cert_pem,
            cert->cert_pem);
  EXPECT_NE(cas.Ensure(ServerCertificate{}, "rds-ca-rsa2048-g1", "127.0.0.1", till)->cert_pem, "");
  fs::remove_all(dir);
}

TEST(TlsTest, ConfigFilesServeTlsAndForceSslTakesHostsslOnly) {
  const fs::path dir = FreshDir("config");
  fs::create_directories(dir);
  ServerTlsFiles files{"CERT\n", "KEY\n", std::nullopt};
  ASSERT_TRUE(WriteConfigFiles(dir, "port = 1\n", "127.0.0.1", true, &files).ok());
  EXPECT_EQ(Mode(dir / kServerKeyFile), 0600);
  EXPECT_EQ(Slurp(dir / kServerKeyFile), "KEY\n");
  EXPECT_EQ(Slurp(dir / kServerCertFile), "CERT\n");
  const std::string conf = Slurp(dir / kServerConfFile);
  EXPECT_NE(conf.find("ssl = on\n"), std::string::npos);
  EXPECT_NE(conf.find("ssl_key_file = '" + (dir / kServerKeyFile).string() + "'"),
            std::string::npos);
  const std::string hba = Slurp(dir / kHbaFile);
  EXPECT_NE(hba.find("hostssl all          all   127.0.0.1/32    scram-sha-256"),
            std::string::npos);
  EXPECT_EQ(hba.find("host    all          all   127.0.0.1/32"), std::string::npos);

  EXPECT_NE(HbaRules("127.0.0.1").find("host    all          all   127.0.0.1/32"),
            std::string::npos);
  const std::string anywhere = HbaRules("0.0.0.0", true);
  EXPECT_NE(anywhere.find("hostssl all          all   0.0.0.0/0"), std::string::npos);
  EXPECT_EQ(anywhere.find("host    all          all   0.0.0.0/0"), std::string::npos);
  fs::remove_all(dir);
}

class CertificatesTest : public ControlPlaneTest {};

TEST_F(CertificatesTest, DescribeCertificatesShowsTheLocalrdsCas) {
  auto all = cp_->Call("DescribeCertificates", nlohmann::json::object());
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  const auto& body = all->body;
  EXPECT_EQ(body["DefaultCertificateForNewLaunches"], "rds-ca-rsa2048-g1");
  ASSERT_EQ(body["Certificates"].size(), 3u);
  EXPECT_FALSE(body.contains("Marker"));
  const auto& c = body["Certificates"][1];
  EXPECT_EQ(c["CertificateIdentifier"], "rds-ca-rsa2048-g1");
  EXPECT_EQ(c["CertificateType"], "CA");
  EXPECT_EQ(c["CertificateArn"], "arn:aws:rds:us-east-1::cert:rds-ca-rsa2048-g1");
  EXPECT_EQ(c["CustomerOverride"], false);
  EXPECT_EQ(c["Thumbprint"], cp_->tls().Get("rds-ca-rsa2048-g1")->thumbprint);
  EXPECT_EQ(c["ValidTill"],
            FormatIso8601(cp_->tls().Get("rds-ca-rsa2048-g1")->valid_till_ms, false));

  auto one = cp_->Call("DescribeCertificates", {{"CertificateIdentifier", "RDS-CA-ECC384-G1"}});
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->body["Certificates"].size(), 1u);
  EXPECT_EQ(one->body["Certificates"][0]["CertificateIdentifier"], "rds-ca-ecc384-g1");

  ExpectError(
      cp_->Call("DescribeCertificates", {{"CertificateIdentifier", "rds-ca-2015"}}).status(),
      "CertificateNotFound", 404, "Certificate rds-ca-2015 not found");
  ExpectError(cp_->Call("DescribeCertificates", {{"MaxRecords", 5}}).status(),
              "InvalidParameterValue", 400,
              "Invalid value 5 for MaxRecords. Must be between 20 and 100");
  ExpectError(cp_->Call("DescribeCertificates", {{"Marker", "x"}}).status(),
              "InvalidParameterValue", 400, testing::HasSubstr("Marker"));
}

TEST_F(CertificatesTest, ModifyCaIdentifierRotatesTheServerCertificate) {
  Create("db1");
  nlohmann::json before = Describe("db1");
  EXPECT_EQ(before["CACertificateIdentifier"], "rds-ca-rsa2048-g1");
  EXPECT_EQ(before["CertificateDetails"]["CAIdentifier"], "rds-ca-rsa2048-g1");
  const auto till = ParseIso8601(before["CertificateDetails"]["ValidTill"].get<std::string>());
  ASSERT_TRUE(till);
  EXPECT_NEAR(static_cast<double>(*till - NowMs()), kServerCertificateLifetimeMs, 60e3);

  ExpectError(cp_->Call("ModifyDBInstance", {{"DBInstanceIdentifier", "db1"},
                                             {"CACertificateIdentifier", "rds-ca-nope"},
                                             {"ApplyImmediately", true}})
                  .status(),
              "CertificateNotFound", 404, "Certificate rds-ca-nope not found");
  ExpectError(cp_->Call("CreateDBInstance",
                        [&] {
                          auto r = CreateReq("db2");
                          r["CACertificateIdentifier"] = "rds-ca-2019";
                          return r;
                        }())
                  .status(),
              "CertificateNotFound", 404, "Certificate rds-ca-2019 not found");

  auto m = cp_->Call("ModifyDBInstance", {{"DBInstanceIdentifier", "db1"},
                                          {"CACertificateIdentifier", "rds-ca-ecc384-g1"},
                                          {"ApplyImmediately", true}});
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_NE(m->operation_id, 0);  // a restart: the server serves the new certificate after it
  EXPECT_EQ(m->body["DBInstance"]["DBInstanceStatus"], "modifying");
  Wait(m->operation_id);
  nlohmann::json after = Describe("db1");
  EXPECT_EQ(after["DBInstanceStatus"], "available");
  EXPECT_EQ(after["CACertificateIdentifier"], "rds-ca-ecc384-g1");
  EXPECT_EQ(after["CertificateDetails"]["CAIdentifier"], "rds-ca-ecc384-g1");

  // Without a restart (CertificateRotationRestart=false), a reload.
  m = cp_->Call("ModifyDBInstance", {{"DBInstanceIdentifier", "db1"},
                                     {"CACertificateIdentifier", "rds-ca-rsa4096-g1"},
                                     {"CertificateRotationRestart", false},
                                     {"ApplyImmediately", true}});
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  Wait(m->operation_id);
  EXPECT_EQ(Describe("db1")["CACertificateIdentifier"], "rds-ca-rsa4096-g1");
  // The same CA again: nothing to rotate.
  m = cp_->Call("ModifyDBInstance", {{"DBInstanceIdentifier", "db1"},
                                     {"CACertificateIdentifier", "rds-ca-rsa4096-g1"},
                                     {"ApplyImmediately", true}});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->operation_id, 0);
}

}  // namespace localrds
