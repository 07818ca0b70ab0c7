// LocalRuntime against real PostgreSQL: initdb, start, SCRAM login, stop, kill and reap.
#include "emulator/runtime/local_runtime.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/scram.h"
#include "common/subprocess.h"
#include "emulator/runtime/cluster_pool.h"
#include "storage/layout.h"
#include "tests/integration/psql_client.h"

namespace localrds {
namespace fs = std::filesystem;

class LocalRuntimeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto r = LocalRuntime::Create("postgres", "/usr/lib/postgresql");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    runtime_ = r->release();
  }
  static void TearDownTestSuite() { delete runtime_; }
  void SetUp() override {
    dir_ = fs::path("/tmp") / ("lrit-" + std::to_string(getpid()) + "-" +
                               ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    layout_ = std::make_unique<Layout>(dir_);
    layout_->CreateDirectories();
    fs::permissions(dir_, fs::perms::others_exec, fs::perm_options::add);
    ASSERT_TRUE(runtime_->PrepareDirectory(layout_->InstanceDir("db-TEST")).ok());
    spec_.resource_id = "db-TEST";
    spec_.major = runtime_->InstalledVersions().front().major;
    spec_.pgdata = layout_->PgData("db-TEST");
    spec_.log_file = layout_->ServerLog("db-TEST");
    spec_.socket_dir = layout_->SocketDir();
    spec_.port = 20000 + getpid() % 5000;
    ClusterPool pool(*runtime_, *layout_, {spec_.major}, 0);
    ASSERT_TRUE(pool.MakeCluster(spec_.major, spec_.pgdata).ok());
    std::ofstream(spec_.pgdata / "localrds.conf")
        << "listen_addresses = '127.0.0.1'\nport = " << spec_.port
        << "\nunix_socket_directories = '" << spec_.socket_dir.string()
        << "'\nshared_buffers = 16MB\nmax_connections = 20\n";
  }
  void TearDown() override {
    (void)runtime_->Kill(spec_);  // clean-up
    fs::remove_all(dir_);
    fs::remove_all(layout_->SocketDir());
  }
  int Psql(const std::string& user, const std::string& password, const std::string& sql,
           std::string* out = nullptr) {
    return PsqlOverTcp(spec_.port, user, password, sql, out);
  }

  static LocalRuntime* runtime_;
  fs::path dir_;
  std::unique_ptr<Layout> layout_;
  ServerSpec spec_;
};
LocalRuntime* LocalRuntimeTest::runtime_ = nullptr;

TEST_F(LocalRuntimeTest, FindsInstalledVersions) {
  auto v = runtime_->InstalledVersions();
  ASSERT_FALSE(v.empty());
  EXPECT_EQ(v.front().full.rfind(v.front().major + ".", 0), 0u);
}

TEST_F(LocalRuntimeTest, StartsAServerThatChecksScramPasswords) {
  ASSERT_TRUE(runtime_->Start(spec_).ok());
  EXPECT_TRUE(runtime_->IsRunning(spec_));
  ASSERT_TRUE(
      runtime_
          ->ExecSql(spec_, "postgres",
                    {"CREATE ROLE app LOGIN PASSWORD '" + ScramSha256Verifier("secret99") + "'",
                     "CREATE ROLE app LOGIN"})  // duplicate: idempotent
          .ok());
  std::string out;
  EXPECT_EQ(Psql("app", "secret99", "SELECT current_user", &out), 0) << out;
  EXPECT_EQ(out, "app\n");
  EXPECT_NE(Psql("app", "wrong-password", "SELECT 1", &out), 0);
  EXPECT_NE(out.find("password authentication failed"), std::string::npos) << out;
  // The superuser has no password: it cannot log in over TCP.
  EXPECT_NE(Psql(kSuperuser, "", "SELECT 1"), 0);
  Status bad = runtime_->ExecSql(spec_, "postgres", {"SELEC 1"});
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("syntax error"), std::string::npos);
}

TEST_F(LocalRuntimeTest, StopIsCleanAndDataSurvivesRestart) {
  ASSERT_TRUE(runtime_->Start(spec_).ok());
  ASSERT_TRUE(
      runtime_->ExecSql(spec_, "postgres", {"CREATE TABLE t(x int)", "INSERT INTO t VALUES (42)"})
          .ok());
  ASSERT_TRUE(runtime_->Stop(spec_).ok());
  EXPECT_FALSE(runtime_->IsRunning(spec_));
  EXPECT_FALSE(fs::exists(spec_.pgdata / "postmaster.pid"));
  ASSERT_TRUE(runtime_->Start(spec_).ok());
  ASSERT_TRUE(
      runtime_
          ->ExecSql(spec_, "postgres",
                    {"CREATE ROLE r LOGIN PASSWORD '" + ScramSha256Verifier("secret99") + "'",
                     "GRANT SELECT ON t TO r"})
          .ok());
  std::string out;
  EXPECT_EQ(Psql("r", "secret99", "SELECT x FROM t", &out), 0) << out;
  EXPECT_EQ(out, "42\n");
  EXPECT_TRUE(runtime_->Stop(spec_).ok());  // stopping twice is fine
  EXPECT_TRUE(runtime_->Stop(spec_).ok());
}

TEST_F(LocalRuntimeTest, AKilledServerIsReapedAndItsPortReusable) {
  ASSERT_TRUE(runtime_->Start(spec_).ok());
  auto pid = LocalRuntime::LivePostmasterPid(spec_.pgdata);
  ASSERT_TRUE(pid.has_value());
  ASSERT_TRUE(runtime_->Kill(spec_).ok());
  EXPECT_FALSE(runtime_->IsRunning(spec_));
  // No zombie holds the port or the socket lock: the same server starts again at once
  // (crash recovery included).
  ASSERT_TRUE(runtime_->Start(spec_).ok());
  EXPECT_NE(*LocalRuntime::LivePostmasterPid(spec_.pgdata), *pid);
  std::string out;
  EXPECT_TRUE(runtime_->ExecSql(spec_, "postgres", {"SELECT 1"}).ok());
}

TEST_F(LocalRuntimeTest, ServersRunAsTheUnprivilegedUser) {
  if (geteuid() != 0) GTEST_SKIP() << "only meaningful when localrds runs as root";
  ASSERT_TRUE(runtime_->Start(spec_).ok());
  auto pid = LocalRuntime::LivePostmasterPid(spec_.pgdata);
  ASSERT_TRUE(pid.has_value());
  std::ifstream status("/proc/" + std::to_string(*pid) + "/status");
  std::string line;
  uid_t uid = 0;
  while (std::getline(status, line)) {
    if (line.rfind("Uid:", 0) == 0) uid = static_cast<uid_t>(std::stoul(line.substr(5)));
  }
  auto pg = RunAs::Lookup("postgres");
  ASSERT_TRUE(pg.ok());
  EXPECT_EQ(uid, pg->uid);
}

TEST_F(LocalRuntimeTest, AServerOnAnotherPortThanRecordedIsMovedToIt) {
  ASSERT_TRUE(runtime_->Start(spec_).ok());
  // As after a crash between starting on a new port and recording it: the config says one
  // port, the running server listens on the old one.
  ServerSpec moved = spec_;
  moved.port = spec_.port + 1;
  std::ofstream(spec_.pgdata / "localrds.conf", std::ios::app) << "port = " << moved.port << "\n";
  ASSERT_TRUE(runtime_->Start(moved).ok());
  EXPECT_EQ(LocalRuntime::ListeningPort(spec_.pgdata), moved.port);
  spec_ = moved;
  EXPECT_TRUE(runtime_->ExecSql(spec_, "postgres", {"SELECT 1"}).ok());
}

TEST_F(LocalRuntimeTest, AStalePidFileNamingAnotherProcessIsNotARunningServer) {
  // After a reboot, postmaster.pid may name a pid that now belongs to someone else.
  std::ofstream(spec_.pgdata / "postmaster.pid") << getpid() << "\n"
                                                 << spec_.pgdata.string() << "\n";
  EXPECT_FALSE(runtime_->IsRunning(spec_));
  ASSERT_TRUE(runtime_->Start(spec_).ok());  // and it does not stop a real start
  EXPECT_TRUE(runtime_->IsRunning(spec_));
}

TEST_F(LocalRuntimeTest, AStalePidFileNamingAnotherLiveProcessDoesNotBlockAStart) {
  // As after a restart of the machine or of the localrds container: the crashed server's
  // postmaster.pid (shared memory key included) names a pid that another process has now.
  ASSERT_TRUE(runtime_->Start(spec_).ok());
  ASSERT_TRUE(runtime_->ExecSql(spec_, "postgres", {"CREATE TABLE kept(x int)"}).ok());
  ASSERT_TRUE(runtime_->Kill(spec_).ok());
  auto other = SpawnDaemon({"sleep", "60"}, CommandOptions{}, (dir_ / "sleep.log").string());
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  std::vector<std::string> lines;
  {
    std::ifstream in(spec_.pgdata / "postmaster.pid");
    for (std::string line; std::getline(in, line);) lines.push_back(line);
  }
  ASSERT_GE(lines.size(), 7u);
  lines[0] = std::to_string(*other);
  {
    std::ofstream out(spec_.pgdata / "postmaster.pid", std::ios::trunc);
    for (const auto& line : lines) out << line << "\n";
  }
  EXPECT_FALSE(runtime_->IsRunning(spec_));
  const auto t0 = std::chrono::steady_clock::now();
  Status st = runtime_->Start(spec_);
  kill(*other, SIGKILL);
  ReapChild(*other);
  ASSERT_TRUE(st.ok()) << st.ToString();
  // Not after waiting 15 s for that process to go away.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  EXPECT_TRUE(runtime_->ExecSql(spec_, "postgres", {"SELECT * FROM kept"}).ok());
}

TEST_F(LocalRuntimeTest, ALinkPlantedAtTheSocketDirectoryIsRefused) {
  fs::path target = dir_ / "elsewhere";
  fs::create_directories(target);
  ServerSpec planted = spec_;
  planted.socket_dir = dir_ / "planted-link";
  fs::create_directory_symlink(target, planted.socket_dir);
  Status st = runtime_->Start(planted);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("unsafe socket directory"), std::string::npos) << st.message();
  EXPECT_FALSE(runtime_->IsRunning(planted));
}

TEST_F(LocalRuntimeTest, AFailedStartReportsTheServerLog) {
  std::ofstream(spec_.pgdata / "localrds.conf", std::ios::app) << "shared_buffers = banana\n";
  Status st = runtime_->Start(spec_);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("shared_buffers"), std::string::npos) << st.message();
  EXPECT_FALSE(runtime_->IsRunning(spec_));
}

}  // namespace localrds
