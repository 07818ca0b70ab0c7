// DockerRuntime against a real Docker engine and the localrds/postgres image: a server per
// container with its class's limits, SCRAM logins through the host network, stop and kill (no
// process or container left), freeze and thaw, a streaming standby made by a pg_basebackup job,
// and a second runtime on the same data directory adopting the containers and removing strays.
//
// Skipped, with the reason, where no engine answers or no image exists; with
// LOCALRDS_REQUIRE_DOCKER=1 (CI) that is a failure instead.
#include "emulator/runtime/docker_runtime.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/scram.h"
#include "common/subprocess.h"
#include "emulator/runtime/cluster_pool.h"
#include "emulator/runtime/process_tree.h"
#include "storage/layout.h"
#include "tests/eventually.h"
#include "tests/integration/psql_client.h"

namespace localrds {
namespace fs = std::filesystem;

class DockerRuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path("/tmp") / ("lrdk-" + std::to_string(getpid()) + "-" +
                               ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    layout_ = std::make_unique<Layout>(dir_);
    layout_->CreateDirectories();
    fs::permissions(dir_, fs::perms::others_exec, fs::perm_options::add);
    auto r = MakeRuntime();
    if (!r.ok()) {
      const char* require = std::getenv("LOCALRDS_REQUIRE_DOCKER");
      if (require && std::string(require) == "1") {
        FAIL() << "LOCALRDS_REQUIRE_DOCKER=1 and the docker runtime cannot start: "
               << r.status().message();
      }
      GTEST_SKIP() << "no docker runtime here: " << r.status().message();
    }
    runtime_ = std::move(*r);
    spec_ = SpecFor("db-DKTEST", "pgdata", 21000 + getpid() % 4000);
    ASSERT_TRUE(runtime_->PrepareDirectory(layout_->InstanceDir(spec_.resource_id)).ok());
    MakeCluster(spec_);
  }
  void TearDown() override {
    if (runtime_) {
      for (const auto& s : started_) (void)runtime_->Kill(s);  // clean-up
      // Whatever a failing test left: every container of this data directory.
      auto ids = RunCommand(
          {"docker", "ps", "-aq", "--filter", "label=org.localrds.data-dir=" + dir_.string()});
      if (ids.ok() && !ids->output.empty()) {
        std::vector<std::string> rm = {"docker", "rm", "-f"};
        std::istringstream in(ids->output);
        for (std::string id; in >> id;) rm.push_back(id);
        (void)RunCommand(rm);  // clean-up
      }
    }
    fs::remove_all(dir_);
    fs::remove_all(layout_->SocketDir());
  }
  Result<std::unique_ptr<DockerRuntime>> MakeRuntime() {
    DockerRuntime::Config c;
    c.data_dir = layout_->data_dir();
    c.runtime_dir = layout_->RuntimeDir();
    return DockerRuntime::Create(c);
  }
  ServerSpec SpecFor(const std::string& rid, const std::string& dir, int port) {
    ServerSpec s;
    s.resource_id = rid;
    s.major = runtime_->InstalledVersions().front().major;
    s.pgdata = layout_->InstanceDir(rid) / dir;
    s.log_file = layout_->InstanceDir(rid) / (dir + ".log");
    s.socket_dir = layout_->SocketDir();
    s.port = port;
    s.instance_class = "db.t3.micro";
    return s;
  }
  void MakeCluster(const ServerSpec& s, const std::string& extra = "") {
    ClusterPool pool(*runtime_, *layout_, {s.major}, 0);
    ASSERT_TRUE(pool.MakeCluster(s.major, s.pgdata).ok());
    WriteConf(s, "127.0.0.1", extra);
  }
  static void WriteConf(const ServerSpec& s, const std::string& listen, const std::string& extra) {
    std::ofstream(s.pgdata / "localrds.conf")
        << "listen_addresses = '" << listen << "'\nport = " << s.port
        << "\nunix_socket_directories = '" << s.socket_dir.string()
        << "'\nshared_buffers = 16MB\nmax_connections = 20\n"
        << extra;
  }
  Status Start(const ServerSpec& s) {
    started_.push_back(s);
    return runtime_->Start(s);
  }
  int Psql(const std::string& user, const std::string& password, const std::string& sql,
           std::string* out = nullptr) {
    return PsqlOverTcp(spec_.port, user, password, sql, out);
  }
  static std::string Docker(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"docker"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = RunCommand(argv);
    return r.ok() && r->exit_code == 0 ? r->output : "";
  }
  //! The names of this data directory's containers (running or not).
  std::string Containers() {
    return Docker({"ps", "-a", "--filter", "label=org.localrds.data-dir=" + dir_.string(),
                   "--format", "{{.Names}}"});
  }

  fs::path dir_;
  std::unique_ptr<Layout> layout_;
  std::unique_ptr<DockerRuntime> runtime_;
  ServerSpec spec_;
  std::vector<ServerSpec> started_;
};

TEST_F(DockerRuntimeTest, AServerRunsInAContainerWithItsClassLimitsAndChecksPasswords) {
  ASSERT_TRUE(Start(spec_).ok());
  EXPECT_TRUE(runtime_->IsRunning(spec_));
  EXPECT_EQ(runtime_->ServingPort(spec_), spec_.port);
  EXPECT_EQ(Containers(), "localrds-db-dktest-a\n");
  const std::string name = DockerRuntime::ContainerName(spec_);
  const std::string cpus = std::to_string(std::min(2u, std::thread::hardware_concurrency()));
  EXPECT_EQ(Docker({"inspect", "-f",
                    "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.NetworkMode}} "
                    "{{index .Config.Labels \"org.localrds.resource-id\"}}",
                    name}),
            "1073741824 " + cpus + "000000000 host db-DKTEST\n");
  // The host sees the postmaster as an ordinary process running in the data directory.
  const int pid = runtime_->PostmasterPid(spec_);
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(RunsDataDirectory(pid, spec_.pgdata));

  ASSERT_TRUE(
      runtime_
          ->ExecSql(spec_, "postgres",
                    {"CREATE ROLE app LOGIN PASSWORD '" + ScramSha256Verifier("secret99") + "'"})
          .ok());
  std::string out;
  EXPECT_EQ(Psql("app", "secret99", "SELECT current_user", &out), 0) << out;
  EXPECT_EQ(out, "app\n");
  EXPECT_NE(Psql("app", "wrong-password", "SELECT 1", &out), 0);
  EXPECT_NE(out.find("password authentication failed"), std::string::npos) << out;
  EXPECT_NE(Psql(kSuperuser, "", "SELECT 1"), 0) << "the superuser must not log in over TCP";

  // A class change: the running container's limits follow.
  spec_.instance_class = "db.t3.small";
  ASSERT_TRUE(runtime_->ApplyResourceLimits(spec_).ok());
  EXPECT_EQ(Docker({"inspect", "-f", "{{.HostConfig.Memory}}", name}), "2147483648\n");

  // A clean stop: no process, and the container goes with its server.
  ASSERT_TRUE(runtime_->Stop(spec_).ok());
  EXPECT_FALSE(ProcessAlive(pid));
  EXPECT_FALSE(fs::exists(spec_.pgdata / "postmaster.pid"));
  EXPECT_TRUE(localrds::Eventually([&] { return Containers().empty(); }, std::chrono::seconds(10)))
      << Containers();
  ASSERT_TRUE(Start(spec_).ok());  // and the data is all there
  EXPECT_EQ(Psql("app", "secret99", "SELECT 1", &out), 0) << out;
}

TEST_F(DockerRuntimeTest, AKilledServerLeavesNoProcessAndStartsAgain) {
  ASSERT_TRUE(Start(spec_).ok());
  const int pid = runtime_->PostmasterPid(spec_);
  const auto children = ChildrenOf(pid);
  ASSERT_FALSE(children.empty());
  ASSERT_TRUE(runtime_->Kill(spec_).ok());
  EXPECT_FALSE(runtime_->IsRunning(spec_));
  for (pid_t child : children) {
    EXPECT_TRUE(localrds::Eventually([&] { return !ProcessAlive(child); }, std::chrono::seconds(5)))
        << "backend " << child << " outlived its postmaster";
  }
  ASSERT_TRUE(Start(spec_).ok());  // crash recovery, same port
  EXPECT_NE(runtime_->PostmasterPid(spec_), pid);
  auto v = runtime_->QueryValue(spec_, "postgres", "SELECT 1");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, "1");
}

TEST_F(DockerRuntimeTest, AFrozenServerAnswersNothingUntilThawed) {
  ASSERT_TRUE(Start(spec_).ok());
  ASSERT_TRUE(runtime_->Pause(spec_).ok());
  EXPECT_TRUE(runtime_->IsPaused(spec_));
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(runtime_->Probe(spec_, std::chrono::milliseconds(300)).ok());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
  ASSERT_TRUE(runtime_->Resume(spec_).ok());
  EXPECT_FALSE(runtime_->IsPaused(spec_));
  EXPECT_TRUE(runtime_->Probe(spec_, std::chrono::seconds(5)).ok());
}

TEST_F(DockerRuntimeTest, ABaseBackupJobMakesAStreamingStandby) {
  ASSERT_TRUE(Start(spec_).ok());
  ASSERT_TRUE(runtime_
                  ->ExecSql(spec_, "postgres",
                            {"SELECT pg_create_physical_replication_slot('s1', true)",
                             "CREATE ROLE rdsrepladmin LOGIN REPLICATION PASSWORD 'repl99'",
                             "CREATE TABLE t(x int)", "INSERT INTO t VALUES (1)"})
                  .ok());
  ServerSpec standby = SpecFor(spec_.resource_id, "pgdata-b", spec_.port + 1);
  ASSERT_TRUE(runtime_->PrepareDirectory(standby.pgdata).ok());
  ServerSpec source = spec_;
  source.replication_password = "repl99";  // the job logs in as rdsrepladmin
  ASSERT_TRUE(runtime_->BaseBackup(source, standby.pgdata, "s1").ok());
  EXPECT_TRUE(fs::exists(standby.pgdata / "backup_label"));
  WriteConf(standby, "",
            "hot_standby = on\nprimary_slot_name = 's1'\nprimary_conninfo = 'host=" +
                standby.socket_dir.string() + " port=" + std::to_string(spec_.port) +
                " user=" + kSuperuser + "'\n");
  std::ofstream(standby.pgdata / "standby.signal");
  ASSERT_TRUE(Start(standby).ok());
  EXPECT_EQ(Docker({"inspect", "-f", "{{.Name}}", DockerRuntime::ContainerName(standby)}),
            "/localrds-db-dktest-b\n");
  auto in_recovery = runtime_->QueryValue(standby, "postgres", "SELECT pg_is_in_recovery()");
  ASSERT_TRUE(in_recovery.ok()) << in_recovery.status().ToString();
  EXPECT_EQ(*in_recovery, "t");
  ASSERT_TRUE(runtime_->ExecSql(spec_, "postgres", {"INSERT INTO t VALUES (2)"}).ok());
  EXPECT_TRUE(localrds::Eventually(
      [&] {
        auto n = runtime_->QueryValue(standby, "postgres", "SELECT count(*) FROM t");
        return n.ok() && *n == "2";
      },
      std::chrono::seconds(20)));
  // No job container is left.
  EXPECT_EQ(Containers().find("localrds-job"), std::string::npos) << Containers();
}

TEST_F(DockerRuntimeTest, ANewRuntimeAdoptsTheContainersAndRemovesStrays) {
  ServerSpec other = SpecFor("db-DKOTHER", "pgdata", spec_.port + 2);
  ASSERT_TRUE(runtime_->PrepareDirectory(layout_->InstanceDir(other.resource_id)).ok());
  MakeCluster(other);
  ASSERT_TRUE(Start(spec_).ok());
  ASSERT_TRUE(Start(other).ok());
  const int pid = runtime_->PostmasterPid(spec_);

  // localrds restarts: a new runtime on the same data directory.
  auto again = MakeRuntime();
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  runtime_ = std::move(*again);
  EXPECT_TRUE(runtime_->IsRunning(spec_));
  EXPECT_EQ(runtime_->PostmasterPid(spec_), pid) << "adopted, not restarted";
  EXPECT_TRUE(runtime_->IsRunning(other));
  // The catalog knows only spec_: the other container is a stray.
  EXPECT_EQ(runtime_->StopStrayServers({spec_.pgdata}),
            "removed 1 stray server container(s) (localrds-db-dkother-a)");
  EXPECT_FALSE(runtime_->IsRunning(other));
  EXPECT_TRUE(runtime_->IsRunning(spec_));
  EXPECT_TRUE(localrds::Eventually([&] { return Containers() == "localrds-db-dktest-a\n"; },
                                   std::chrono::seconds(10)))
      << Containers();
}

}  // namespace localrds
