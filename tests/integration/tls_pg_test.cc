// TLS of real PostgreSQL servers: a client with sslmode=verify-full and the localrds bundle
// connects to the endpoint; a new CACertificateIdentifier changes the CA the server's
// certificate verifies with; with rds.force_ssl's rules a plaintext login is refused.
#include <gtest/gtest.h>

#include <fstream>

#include "common/poll.h"
#include "common/time_util.h"
#include "emulator/postgres/server_config.h"
#include "emulator/postgres/tls.h"
#include "tests/integration/pg_fixture.h"

namespace localrds {
namespace fs = std::filesystem;

class TlsPgTest : public PgControlPlaneTest {
 protected:
  TlsPgTest() : PgControlPlaneTest("lrtls-", 42000) {}

  fs::path WriteFile(const std::string& name, const std::string& text) {
    const fs::path p = dir_ / name;
    std::ofstream(p) << text;
    return p;
  }
  //! psql to `host`:`port` with `sslmode` (and `root` as sslrootcert): exit code, output.
  int PsqlSsl(const std::string& host, int port, const std::string& sslmode, const fs::path& root,
              const std::string& sql, std::string* out) {
    CommandOptions o;
    o.extra_env = {"PGPASSWORD=secret99", "PGCONNECT_TIMEOUT=5", "PGSSLMODE=" + sslmode,
                   "PGSSLROOTCERT=" + root.string()};
    auto r = RunCommand(
        {"psql", "-h", host, "-p", std::to_string(port), "-U", "root", "-d", "test", "-Atc", sql},
        o);
    *out = r.ok() ? r->output : r.status().ToString();
    return r.ok() ? r->exit_code : -1;
  }
};

TEST_F(TlsPgTest, VerifyFullWithTheBundleAndForceSsl) {
  Create("tls1", 0);
  const int port = Port("tls1");
  auto bundle = cp_->CaBundle();
  ASSERT_TRUE(bundle.ok()) << bundle.status().ToString();
  const fs::path ca = WriteFile("ca.pem", *bundle);
  const std::string ssl_sql = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";
  std::string out;
  ASSERT_EQ(PsqlSsl("127.0.0.1", port, "verify-full", ca, ssl_sql, &out), 0) << out;
  EXPECT_EQ(out, "t\n");
  ASSERT_EQ(PsqlSsl("localhost", port, "verify-full", ca, ssl_sql, &out), 0) << out;
  // Plaintext still works while rds.force_ssl is off.
  ASSERT_EQ(PsqlSsl("127.0.0.1", port, "disable", ca, ssl_sql, &out), 0) << out;
  EXPECT_EQ(out, "f\n");

  // Only the CA the instance names verifies its certificate.
  const fs::path rsa = WriteFile("rsa.pem", cp_->tls().Get("rds-ca-rsa2048-g1")->pem);
  const fs::path ecc = WriteFile("ecc.pem", cp_->tls().Get("rds-ca-ecc384-g1")->pem);
  EXPECT_EQ(PsqlSsl("127.0.0.1", port, "verify-full", rsa, "SELECT 1", &out), 0) << out;
  EXPECT_NE(PsqlSsl("127.0.0.1", port, "verify-full", ecc, "SELECT 1", &out), 0) << out;
  auto m = cp_->Call("ModifyDBInstance", {{"DBInstanceIdentifier", "tls1"},
                                          {"CACertificateIdentifier", "rds-ca-ecc384-g1"},
                                          {"ApplyImmediately", true}});
  WaitAvailable(m, "tls1");
  EXPECT_EQ(PsqlSsl("127.0.0.1", port, "verify-full", ecc, "SELECT 1", &out), 0) << out;
  EXPECT_NE(PsqlSsl("127.0.0.1", port, "verify-full", rsa, "SELECT 1", &out), 0) << out;
  EXPECT_NE(out.find("certificate verify failed"), std::string::npos) << out;
  // A restart keeps the certificate (and its expiry, CertificateDetails.ValidTill).
  const fs::path pgdata =
      cp_->servers().Server(*cp_->registry().GetInstance(Describe("tls1")["DbiResourceId"])).pgdata;
  std::ifstream before_in(pgdata / kServerCertFile);
  const std::string before((std::istreambuf_iterator<char>(before_in)), {});
  WaitAvailable(cp_->Call("RebootDBInstance", {{"DBInstanceIdentifier", "tls1"}}), "tls1");
  std::ifstream after_in(pgdata / kServerCertFile);
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(after_in)), {}), before);
  auto till = ParseIso8601(Describe("tls1")["CertificateDetails"]["ValidTill"].get<std::string>());
  EXPECT_EQ(CertificateNotAfter(before), till);

  // rds.force_ssl's rules (what WriteConfigFiles writes with force_ssl), reloaded.
  std::ofstream(pgdata / kHbaFile) << HbaRules("127.0.0.1", true);
  const ServerSpec spec =
      cp_->servers().Server(*cp_->registry().GetInstance(Describe("tls1")["DbiResourceId"]));
  ASSERT_TRUE(runtime_->ExecSql(spec, "postgres", {"SELECT pg_reload_conf()"}).ok());
  // The postmaster reloads asynchronously: new logins follow the rules once it has.
  EXPECT_TRUE(
      PollUntil([&] { return PsqlSsl("127.0.0.1", port, "disable", ca, "SELECT 1", &out) != 0; },
                std::chrono::seconds(10),
                Backoff{std::chrono::milliseconds(20), std::chrono::milliseconds(200)}));
  EXPECT_NE(out.find("no pg_hba.conf entry for host \"127.0.0.1\", user \"root\", database "
                     "\"test\", no encryption"),
            std::string::npos)
      << out;
  ASSERT_EQ(PsqlSsl("127.0.0.1", port, "verify-full", ca, ssl_sql, &out), 0) << out;
  EXPECT_EQ(out, "t\n");
}

}  // namespace localrds
