// What keeps one server from another: no trust in pg_hba, the replication passwords, the socket
// directory nobody can take first, the guard library, quoted log values.
#include "emulator/postgres/server_secrets.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/log.h"
#include "common/scram.h"
#include "emulator/postgres/server_config.h"
#include "emulator/runtime/server_files.h"
#include "emulator/service/control_plane.h"

namespace localrds {
namespace fs = std::filesystem;

namespace {
class TempDir {
 public:
  TempDir() {
    path_ = fs::path("/tmp") / ("lr-secrets-" + std::to_string(getpid()) + "-" +
                                ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

int Mode(const fs::path& p) {
  struct stat st {};
  return lstat(p.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 07777) : -1;
}
}  // namespace

TEST(ServerSecretsTest, TheKeyIsMadeOnceAndReadByNobodyElse) {
  TempDir dir;
  const fs::path key = dir.path() / "localrds.key";
  auto a = ServerSecrets::Open(key);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(Mode(key), 0600);
  EXPECT_EQ(fs::file_size(key), 32u);
  auto b = ServerSecrets::Open(key);  // a restart reads the same key
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->ReplicationPassword(42), b->ReplicationPassword(42));
  TempDir other;
  auto c = ServerSecrets::Open(other.path() / "localrds.key");  // another data directory
  ASSERT_TRUE(c.ok());
  EXPECT_NE(a->ReplicationPassword(42), c->ReplicationPassword(42));
  std::ofstream(dir.path() / "short.key") << "abc";
  auto bad = ServerSecrets::Open(dir.path() / "short.key");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("is not a localrds key"), std::string::npos);
}

TEST(ServerSecretsTest, EachClusterHasItsOwnReplicationPassword) {
  ServerSecrets secrets(std::string(32, 'k'));
  const std::string p1 = secrets.ReplicationPassword(7001), p2 = secrets.ReplicationPassword(7002);
  EXPECT_EQ(p1.size(), 64u);
  EXPECT_EQ(p1.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(p1, p2);
  // The verifier is PostgreSQL's SCRAM format, the same text every time, and checks the password.
  const std::string v = secrets.ReplicationVerifier(7001);
  EXPECT_EQ(v, secrets.ReplicationVerifier(7001));
  EXPECT_EQ(v.rfind("SCRAM-SHA-256$4096:", 0), 0u) << v;
  EXPECT_TRUE(ScramVerify(v, p1));
  EXPECT_FALSE(ScramVerify(v, p2));
}

TEST(ServerSecretsTest, TheSystemIdentifierIsReadFromPgControl) {
  TempDir dir;
  fs::create_directories(dir.path() / "global");
  const uint64_t id = 7393517211245581234ull;
  std::ofstream(dir.path() / "global" / "pg_control", std::ios::binary)
      .write(reinterpret_cast<const char*>(&id), sizeof id);
  auto read = ClusterSystemIdentifier(dir.path());
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(*read, id);
  auto missing = ClusterSystemIdentifier(dir.path() / "nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("cannot read the system identifier"),
            std::string::npos);
}

TEST(ServerSecretsTest, EnsureServerRolesSqlKeysTheRoleAndTakesServerFileRoles) {
  const std::string sql = EnsureServerRolesSql("SCRAM-SHA-256$4096:c2FsdA==$a:b");
  EXPECT_NE(sql.find("IF pg_is_in_recovery() THEN RETURN; END IF;"), std::string::npos);
  EXPECT_NE(sql.find("CREATE ROLE rdsrepladmin LOGIN REPLICATION PASSWORD "
                     "'SCRAM-SHA-256$4096:c2FsdA==$a:b'"),
            std::string::npos)
      << sql;
  EXPECT_NE(sql.find("ALTER ROLE rdsrepladmin LOGIN REPLICATION NOSUPERUSER PASSWORD"),
            std::string::npos);
  for (const char* role :
       {"pg_execute_server_program", "pg_read_server_files", "pg_write_server_files"}) {
    EXPECT_NE(sql.find(role), std::string::npos) << role;
  }
  EXPECT_NE(sql.find("NOT m.rolsuper"), std::string::npos);
}

TEST(ServerSecretsTest, NoServerTrustsAnyConnection) {
  for (const char* listen : {"127.0.0.1", "", "0.0.0.0"}) {
    const std::string hba = HbaRules(listen);
    EXPECT_EQ(hba.find("trust"), std::string::npos) << hba;
    EXPECT_NE(hba.find("local   all          rdsadmin              peer map=localrds\n"),
              std::string::npos)
        << hba;
    EXPECT_NE(hba.find("local   replication  rdsrepladmin          scram-sha-256\n"),
              std::string::npos);
    EXPECT_NE(hba.find("host    all          rdsadmin      all     reject\n"), std::string::npos);
    EXPECT_NE(hba.find("host    replication  all           all     reject\n"), std::string::npos);
    // rdsadmin's and rdsrepladmin's rules come before the rule for everyone.
    EXPECT_LT(hba.find("rdsadmin"), hba.find("local   all          all"));
    EXPECT_LT(hba.find("local   all          rdsrepladmin          reject"),
              hba.find("local   all          all"));
  }
  EXPECT_EQ(IdentMap("root"),
            "# Written by localrds at every start; edits are overwritten.\n"
            "localrds   root   rdsadmin\n");
}

TEST(ServerSecretsTest, TheSocketDirectoryIsOneNobodyCouldTakeFirst) {
  TempDir dir;
  const fs::path record = dir.path() / "socket-dir";
  auto first = ClaimSocketDirectory(record, std::nullopt);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->string().rfind("/tmp/localrds-", 0), 0u);
  EXPECT_EQ(Mode(*first), 0700);
  std::string recorded;
  std::getline(std::ifstream(record), recorded);
  EXPECT_EQ(recorded, first->string());
  EXPECT_EQ(Mode(record), 0600);
  // A restart keeps it (running servers listen there).
  auto again = ClaimSocketDirectory(record, std::nullopt);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *first);
  // Gone (a reboot emptied /tmp), then made by someone else (here: a symlink, or a directory
  // others may write): a new random name instead of failing.
  fs::remove(*first);
  fs::create_directory_symlink("/tmp", *first);
  auto moved = ClaimSocketDirectory(record, std::nullopt);
  ASSERT_TRUE(moved.ok());
  EXPECT_NE(*moved, *first);
  fs::remove(*first);
  fs::create_directory(*first);
  fs::permissions(*first, fs::perms::all);
  fs::remove(*moved);
  std::ofstream(record) << first->string() << "\n";
  auto again2 = ClaimSocketDirectory(record, std::nullopt);
  ASSERT_TRUE(again2.ok());
  EXPECT_NE(*again2, *first);
  fs::remove(*first);
  fs::remove(*again2);
  // Without a record, an earlier version's directory is kept only when it passes the checks.
  TempDir other;
  const fs::path legacy = "/tmp/localrds-legacy-" + std::to_string(getpid());
  fs::create_directory(legacy);
  fs::permissions(legacy, fs::perms::owner_all);
  auto kept = ClaimSocketDirectory(other.path() / "socket-dir", std::nullopt, legacy);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(*kept, legacy);
  fs::remove(legacy);
}

TEST(ServerSecretsTest, TheGuardLibraryIsInstalledOrLocalrdsSaysWhatToInstall) {
  TempDir dir;
  fs::create_directories(dir.path() / "build");
  std::ofstream(dir.path() / "build" / "localrds_guard_15.so") << "ELF";
  ASSERT_TRUE(InstallGuardLibraries(dir.path() / "build", dir.path() / "lib", {"15"}).ok());
  EXPECT_EQ(Mode(dir.path() / "lib"), 0755);
  EXPECT_EQ(Mode(dir.path() / "lib" / "localrds_guard_15.so"), 0644);
  Status missing = InstallGuardLibraries(dir.path() / "build", dir.path() / "lib", {"15", "16"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.message().find("install postgresql-server-dev-16"), std::string::npos)
      << missing.message();
  EXPECT_EQ(GuardLibraryName("15"), "localrds_guard_15.so");
}

TEST(ServerSecretsTest, ClientValuesInLogsCannotForgeLines) {
  EXPECT_EQ(Quoted("/"), "\"/\"");
  EXPECT_EQ(Quoted("a\nb\x1b[31mc\"d\\"), "\"a\\nb\\x1b[31mc\\\"d\\\\\"");
  EXPECT_EQ(Quoted("\xff\t"), "\"\\xff\\t\"");
  EXPECT_EQ(Quoted("abcdef", 3), "\"abc\"...");
}

TEST(ServerSecretsTest, LogValuesArePlainTokensOrQuoted) {
  EXPECT_EQ(LogValue("CreateDBInstance"), "CreateDBInstance");
  EXPECT_EQ(LogValue("db-1"), "db-1");
  EXPECT_EQ(LogValue("arn:aws:rds:us-east-1:000000000000:db:x"),
            "arn:aws:rds:us-east-1:000000000000:db:x");
  EXPECT_EQ(LogValue("x status=200"), "\"x status=200\"");  // cannot pose as another field
  EXPECT_EQ(LogValue("x\nfake"), "\"x\\nfake\"");
  EXPECT_EQ(LogValue(""), "\"\"");
}

// Whatever is streamed into a LogLine, one line reaches the log, with no control character.
TEST(ServerSecretsTest, ALogLineIsOneLineWhateverItHolds) {
  LogLine::SetQuiet(false);
  testing::internal::CaptureStderr();
  LogLine("test") << "id="
                  << "x\n2026-01-01T00:00:00.000Z [api] forged\x1b[31m\r\t\x7f"
                  << "\xc2\x9b"
                  << "\xff"
                  << " caf\xc3\xa9";
  const std::string out = testing::internal::GetCapturedStderr();
  LogLine::SetQuiet(true);
  ASSERT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  EXPECT_EQ(out.substr(out.find(" [test] ")),
            " [test] id=x\\n2026-01-01T00:00:00.000Z [api] forged\\x1b[31m\\r\\t\\x7f\\u009b"
            "\\xff caf\xc3\xa9\n");
}

TEST(ServerSecretsTest, PassFilesAreTheCommandsOnly) {
  TempDir dir;
  fs::path path;
  {
    auto f = PassFile::Create(dir.path(), std::nullopt, "rdsrepladmin", "s3cret");
    ASSERT_TRUE(f.ok());
    path = (*f)->path();
    EXPECT_EQ(Mode(path), 0600);
    std::stringstream text;
    text << std::ifstream(path).rdbuf();
    EXPECT_EQ(text.str(), "*:*:*:rdsrepladmin:s3cret\n");
  }
  EXPECT_FALSE(fs::exists(path));
}

}  // namespace localrds
