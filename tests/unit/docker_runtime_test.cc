// DockerRuntime without a Docker engine: a scripted docker CLI answers, and what the runtime asks
// of it is checked (the run of a server, its limits and labels, jobs, adoption, strays), together
// with what it refuses (no engine, no image, a server outside Docker on the same directory).
// "Containers" are ordinary processes started here whose command line names their data
// directory, as the postmaster's does.
#include "emulator/runtime/docker_runtime.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "common/subprocess.h"
#include "emulator/runtime/process_tree.h"
#include "tests/eventually.h"

namespace localrds {
namespace fs = std::filesystem;
namespace {

using Argv = std::vector<std::string>;

// The docker CLI as a script: each call's argv (without "docker") is recorded and answered by
// the first rule whose prefix matches it; unmatched calls succeed with no output.
class ScriptedDocker {
 public:
  struct Rule {
    Argv prefix;
    std::function<CommandOutput(const Argv&)> answer;
  };
  void On(Argv prefix, int exit_code, std::string output) {
    On(std::move(prefix), [exit_code, output](const Argv&) {
      return CommandOutput{exit_code, output};
    });
  }
  void On(Argv prefix, std::function<CommandOutput(const Argv&)> answer) {
    std::lock_guard<std::mutex> l(mutex_);
    rules_.insert(rules_.begin(), Rule{std::move(prefix), std::move(answer)});  // newest first
  }
  DockerRuntime::CommandRunner Runner() {
    return [this](const Argv& argv, const CommandOptions&) -> Result<CommandOutput> {
      Argv args(argv.begin() + 1, argv.end());
      std::function<CommandOutput(const Argv&)> answer;
      {
        std::lock_guard<std::mutex> l(mutex_);
        calls_.push_back(args);
        for (const auto& r : rules_) {
          if (args.size() >= r.prefix.size() &&
              std::equal(r.prefix.begin(), r.prefix.end(), args.begin())) {
            answer = r.answer;
            break;
          }
        }
      }
      return answer ? answer(args) : CommandOutput{0, ""};
    };
  }
  std::vector<Argv> Calls() {
    std::lock_guard<std::mutex> l(mutex_);
    return calls_;
  }
  //! The calls whose first words are `prefix`.
  std::vector<Argv> CallsOf(const Argv& prefix) {
    std::vector<Argv> out;
    for (const auto& c : Calls()) {
      if (c.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), c.begin())) {
        out.push_back(c);
      }
    }
    return out;
  }

 private:
  std::mutex mutex_;
  std::vector<Rule> rules_;
  std::vector<Argv> calls_;
};

bool Has(const Argv& args, const std::string& flag, const std::string& value) {
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == flag && args[i + 1] == value) return true;
  }
  return false;
}

class DockerRuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("docker-rt-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "data" / "instances" / "db-X1");
    fs::create_directories(dir_ / "sock");
    config_.data_dir = dir_ / "data";
    config_.runtime_dir = dir_ / "data" / "runtime";
    config_.os_user = "postgres";
    docker_.On({"version"}, 0, "20.10.24\n");
    docker_.On({"image", "ls"}, 0, "15\n15.18\nlatest\n");
    docker_.On({"image", "inspect"}, 0, "15.18\n");
    spec_.resource_id = "db-X1";
    spec_.major = "15";
    spec_.pgdata = dir_ / "data" / "instances" / "db-X1" / "pgdata";
    spec_.log_file = dir_ / "data" / "instances" / "db-X1" / "postgresql.log";
    spec_.socket_dir = dir_ / "sock";
    spec_.port = 25432;
    spec_.instance_class = "db.t3.micro";
    fs::create_directories(spec_.pgdata);
  }
  void TearDown() override {
    for (pid_t pid : children_) {
      kill(pid, SIGKILL);
      localrds::Eventually([&] { return ReapChild(pid); }, std::chrono::seconds(5));
    }
    fs::remove_all(dir_);
  }
  std::unique_ptr<DockerRuntime> Make() {
    auto r = DockerRuntime::Create(config_, docker_.Runner());
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(*r) : nullptr;
  }
  // A process whose command line names `pgdata` as a postmaster's does (`... -D <pgdata>`).
  pid_t FakePostmaster(const fs::path& pgdata) {
    CommandOptions o;
    // A shell that ends on SIGINT, as a postmaster does on a fast shutdown.
    auto pid = SpawnDaemon(
        {"/bin/sh", "-c", "trap 'exit 0' INT; while :; do sleep 0.05; done", "-D", pgdata.string()},
        o, (dir_ / "fake.log").string());
    EXPECT_TRUE(pid.ok()) << pid.status().ToString();
    children_.push_back(*pid);
    EXPECT_TRUE(localrds::Eventually([&] { return RunsDataDirectory(*pid, pgdata); },
                                     std::chrono::seconds(10)));
    return *pid;
  }
  // What a postmaster writes once it accepts connections.
  static void WriteReadyPidFile(const fs::path& pgdata, int port, const std::string& status) {
    std::ofstream(pgdata / "postmaster.pid") << "1\n"
                                             << pgdata.string() << "\n1796113674\n"
                                             << port << "\n/sock\n127.0.0.1\n  1  0\n"
                                             << status << "\n";
  }

  fs::path dir_;
  DockerRuntime::Config config_;
  ScriptedDocker docker_;
  ServerSpec spec_;
  std::vector<pid_t> children_;
};

TEST_F(DockerRuntimeTest, LimitsFollowTheInstanceClass) {
  EXPECT_EQ(DockerRuntime::LimitFlags("db.t3.micro", 8),
            (Argv{"--memory", "1024m", "--memory-swap", "1024m", "--cpus", "2"}));
  EXPECT_EQ(DockerRuntime::LimitFlags("db.m5.4xlarge", 8),
            (Argv{"--memory", "65536m", "--memory-swap", "65536m", "--cpus", "8"}))
      << "16 vCPUs are capped at the machine's 8";
  EXPECT_EQ(DockerRuntime::LimitFlags("db.r5.large", 2),
            (Argv{"--memory", "16384m", "--memory-swap", "16384m", "--cpus", "2"}));
  EXPECT_TRUE(DockerRuntime::LimitFlags("db.x99.huge", 2).empty());
  EXPECT_TRUE(DockerRuntime::LimitFlags("", 2).empty());
}

TEST_F(DockerRuntimeTest, ContainersAreNamedByInstanceAndHost) {
  EXPECT_EQ(DockerRuntime::ContainerName(spec_), "localrds-db-x1-a");
  ServerSpec b = spec_;
  b.pgdata = spec_.pgdata.parent_path() / "pgdata-b";
  EXPECT_EQ(DockerRuntime::ContainerName(b), "localrds-db-x1-b");
}

TEST_F(DockerRuntimeTest, WithoutAnEngineItSaysHowToStartOne) {
  docker_.On({"version"}, 1, "Cannot connect to the Docker daemon at unix:///var/run/docker.sock");
  auto r = DockerRuntime::Create(config_, docker_.Runner());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no Docker engine answers"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("Cannot connect to the Docker daemon"), std::string::npos);
  EXPECT_NE(r.status().message().find("--runtime local"), std::string::npos);
}

TEST_F(DockerRuntimeTest, WithoutAnImageItSaysHowToBuildOne) {
  docker_.On({"image", "ls"}, 0, "latest\n");  // no major-version tag
  auto r = DockerRuntime::Create(config_, docker_.Runner());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "--runtime docker: no PostgreSQL image localrds/postgres:<major> found. Build one, no "
            "registry needed: sudo docker/build-image.sh (or, with a registry: docker build -t "
            "localrds/postgres:15 -f docker/postgres.Dockerfile docker)");
}

TEST_F(DockerRuntimeTest, EngineVersionsComeFromTheImageTags) {
  docker_.On({"image", "ls"}, 0, "14\n15\n15.18\n");
  docker_.On({"image", "inspect"}, [](const Argv& a) {
    return a.back() == "localrds/postgres:15" ? CommandOutput{0, "15.18\n"}
                                              : CommandOutput{0, "\n"};
  });
  // An image without the label: its postgres is asked.
  docker_.On({"run", "--rm", "--network", "none", "localrds/postgres:14"}, 0,
             "postgres (PostgreSQL) 14.13 (Debian 14.13-1.pgdg120+1)\n");
  auto rt = Make();
  ASSERT_TRUE(rt);
  auto v = rt->InstalledVersions();
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ((std::pair{v[0].major, v[0].full}),
            (std::pair<std::string, std::string>{"15", "15.18"}));
  EXPECT_EQ((std::pair{v[1].major, v[1].full}),
            (std::pair<std::string, std::string>{"14", "14.13"}));
  EXPECT_EQ(rt->Name(), "docker");
  // initdb finds its user: the containers see a passwd naming the data directory's owner.
  const std::string passwd = ReadFileFrom(config_.runtime_dir / "passwd", 0);
  EXPECT_NE(passwd.find("postgres:x:"), std::string::npos) << passwd;
}

TEST_F(DockerRuntimeTest, JobsOfAPreviousRunAreRemovedAndServersAdopted) {
  const std::string data = config_.data_dir.string();
  docker_.On({"ps", "-aq", "--filter", "label=org.localrds.data-dir=" + data, "--filter",
              "label=org.localrds.role=job"},
             0, "1a2b\n3c4d\n");
  const pid_t pid = FakePostmaster(spec_.pgdata);
  docker_.On({"ps", "--filter", "label=org.localrds.data-dir=" + data, "--filter",
              "label=org.localrds.role=server"},
             0, "localrds-db-x1-a\t" + spec_.pgdata.string() + "\n");
  docker_.On({"inspect", "-f", "{{.Name}}\t{{.State.Pid}}", "localrds-db-x1-a"}, 0,
             "/localrds-db-x1-a\t" + std::to_string(pid) + "\n");
  auto rt = Make();
  ASSERT_TRUE(rt);
  EXPECT_EQ(docker_.CallsOf({"rm", "-f"}), (std::vector<Argv>{{"rm", "-f", "1a2b", "3c4d"}}));
  WriteReadyPidFile(spec_.pgdata, spec_.port, "ready");
  EXPECT_TRUE(rt->IsRunning(spec_));
  EXPECT_EQ(rt->PostmasterPid(spec_), pid);
  EXPECT_EQ(rt->ServingPort(spec_), spec_.port);
  // Adopted as it runs: a start on its port finds it there and runs nothing.
  const size_t calls = docker_.Calls().size();
  EXPECT_TRUE(rt->Start(spec_).ok());
  EXPECT_EQ(docker_.Calls().size(), calls);
  // Its process gone, it is not running (no engine call needed to know).
  kill(pid, SIGKILL);
  EXPECT_TRUE(localrds::Eventually([&] { return !rt->IsRunning(spec_); }, std::chrono::seconds(5)));
  EXPECT_EQ(docker_.Calls().size(), calls);
}

TEST_F(DockerRuntimeTest, AServerRunsInAContainerOfItsOwn) {
  auto rt = Make();
  ASSERT_TRUE(rt);
  const Argv args = rt->ServerRunArgs(spec_);
  const std::string data = config_.data_dir.string();
  EXPECT_EQ(Argv(args.begin(), args.begin() + 5),
            (Argv{"run", "-d", "--rm", "--name", "localrds-db-x1-a"}));
  EXPECT_TRUE(Has(args, "--network", "host"));
  EXPECT_TRUE(Has(args, "--stop-signal", "SIGINT")) << "docker stop must be a fast shutdown";
  // As root, the uid of --pg-user (who owns the data directories); else localrds' own.
  const auto pg =
      geteuid() == 0 ? RunAs::Lookup("postgres") : Result<RunAs>(RunAs{geteuid(), getegid(), ""});
  ASSERT_TRUE(pg.ok());
  EXPECT_TRUE(Has(args, "--user", std::to_string(pg->uid) + ":" + std::to_string(pg->gid)));
  EXPECT_TRUE(Has(args, "-v", data + ":" + data)) << "the data directory, at the same path";
  EXPECT_TRUE(Has(args, "-v", spec_.socket_dir.string() + ":" + spec_.socket_dir.string()));
  EXPECT_TRUE(Has(args, "-v", (config_.runtime_dir / "passwd").string() + ":/etc/passwd:ro"));
  EXPECT_TRUE(Has(args, "--label", "org.localrds.data-dir=" + data));
  EXPECT_TRUE(Has(args, "--label", "org.localrds.role=server"));
  EXPECT_TRUE(Has(args, "--label", "org.localrds.pgdata=" + spec_.pgdata.string()));
  EXPECT_TRUE(Has(args, "--label", "org.localrds.resource-id=db-X1"));
  EXPECT_TRUE(Has(args, "--memory", "1024m"));
  EXPECT_TRUE(Has(args, "--memory-swap", "1024m"));
  EXPECT_TRUE(
      Has(args, "--cpus", std::to_string(std::min(2u, std::thread::hardware_concurrency()))));
  EXPECT_EQ(Argv(args.end() - 6, args.end()),
            (Argv{"localrds/postgres:15", "sh", "-c", "exec postgres -D \"$0\" >>\"$1\" 2>&1",
                  spec_.pgdata.string(), spec_.log_file.string()}));
}

TEST_F(DockerRuntimeTest, StartWaitsForTheServerAndStopEndsIt) {
  auto rt = Make();
  ASSERT_TRUE(rt);
  WriteReadyPidFile(spec_.pgdata, spec_.port, "ready");  // a stale file of a server that is gone
  pid_t pid = 0;
  docker_.On({"run", "-d"}, [&](const Argv&) {
    pid = FakePostmaster(spec_.pgdata);
    // The server writes its postmaster.pid a moment after the container starts.
    std::thread([this] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      WriteReadyPidFile(spec_.pgdata, spec_.port, "ready");
    }).detach();
    return CommandOutput{0, "f00d\n"};
  });
  docker_.On({"inspect", "-f", "{{.State.Pid}}", "localrds-db-x1-a"}, [&](const Argv&) {
    return CommandOutput{0, std::to_string(pid) + "\n"};
  });
  ASSERT_TRUE(rt->Start(spec_).ok());
  EXPECT_EQ(rt->PostmasterPid(spec_), pid);
  EXPECT_TRUE(rt->IsRunning(spec_));
  // A leftover container of the same name went first.
  const auto calls = docker_.Calls();
  auto run = std::find_if(calls.begin(), calls.end(), [](const Argv& c) { return c[0] == "run"; });
  ASSERT_NE(run, calls.end());
  ASSERT_NE(run, calls.begin());
  EXPECT_EQ(*(run - 1), (Argv{"rm", "-f", "localrds-db-x1-a"}));

  // Frozen and thawed by signals to the process the host sees.
  ASSERT_TRUE(rt->Pause(spec_).ok());
  EXPECT_TRUE(rt->IsPaused(spec_));
  ASSERT_TRUE(rt->Resume(spec_).ok());
  EXPECT_FALSE(rt->IsPaused(spec_));
  // A fast shutdown (SIGINT) ends it.
  ASSERT_TRUE(rt->Stop(spec_).ok());
  EXPECT_FALSE(ProcessAlive(pid));
  EXPECT_FALSE(rt->IsRunning(spec_));
}

TEST_F(DockerRuntimeTest, AServerThatExitsAtStartFailsWithItsLog) {
  auto rt = Make();
  ASSERT_TRUE(rt);
  std::ofstream(spec_.log_file) << "FATAL:  could not bind IPv4 address \"127.0.0.1\": Address "
                                   "already in use\n";
  docker_.On({"run", "-d"}, 0, "f00d\n");
  docker_.On({"inspect", "-f", "{{.State.Pid}}"}, 0, "999999999\n");  // exited at once
  Status st = rt->Start(spec_);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("Address already in use"), std::string::npos) << st.message();
  EXPECT_FALSE(rt->IsRunning(spec_));
}

TEST_F(DockerRuntimeTest, NeverStartsBesideAServerOutsideDocker) {
  auto rt = Make();
  ASSERT_TRUE(rt);
  // A local postmaster: its postmaster.pid names it, and it runs in the data directory.
  pid_t local = fork();
  ASSERT_GE(local, 0);
  if (local == 0) {
    if (chdir(spec_.pgdata.c_str()) != 0) _exit(1);
    pause();
    _exit(0);
  }
  children_.push_back(local);
  ASSERT_TRUE(localrds::Eventually(
      [&] {
        std::error_code ec;
        return fs::read_symlink("/proc/" + std::to_string(local) + "/cwd", ec) ==
               fs::weakly_canonical(spec_.pgdata);
      },
      std::chrono::seconds(5)));
  std::ofstream(spec_.pgdata / "postmaster.pid") << local << "\n" << spec_.pgdata.string() << "\n";
  Status st = rt->Start(spec_);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("a server outside Docker (pid " + std::to_string(local) + ")"),
            std::string::npos)
      << st.message();
  EXPECT_TRUE(docker_.CallsOf({"run"}).empty()) << "a container was started anyway";
  EXPECT_TRUE(fs::exists(spec_.pgdata / "postmaster.pid")) << "the live server's lock was removed";
}

TEST_F(DockerRuntimeTest, JobsRunWithoutNetworkAndAreRemovedWhenCutShort) {
  auto rt = Make();
  ASSERT_TRUE(rt);
  docker_.On({"run", "--rm"}, 137, "killed");
  Status st = rt->BaseBackup(spec_, dir_ / "data" / "snapshots" / "s1.tmp", "localrds_db_x1");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("pg_basebackup failed: killed"), std::string::npos) << st.message();
  auto runs = docker_.CallsOf({"run", "--rm"});
  ASSERT_EQ(runs.size(), 1u);
  const Argv& job = runs[0];
  EXPECT_TRUE(Has(job, "--network", "none"));
  EXPECT_TRUE(Has(job, "--label", "org.localrds.role=job"));
  EXPECT_TRUE(Has(job, "-v", spec_.socket_dir.string() + ":" + spec_.socket_dir.string()));
  EXPECT_EQ(Argv(job.end() - 3, job.end()), (Argv{"-Fp", "-S", "localrds_db_x1"}));
  const std::string name = job[3];
  EXPECT_EQ(name.rfind("localrds-job-", 0), 0u) << name;
  EXPECT_EQ(docker_.CallsOf({"rm", "-f", name}).size(), 1u);

  docker_.On({"run", "--rm"}, 0, "");
  EXPECT_TRUE(rt->InitCluster("15", dir_ / "data" / "pool" / "15" / "tmp-1").ok());
  const Argv initdb = docker_.CallsOf({"run", "--rm"}).back();
  EXPECT_TRUE(Has(initdb, "localrds/postgres:15", "initdb"));
  EXPECT_TRUE(Has(initdb, "-U", "rdsadmin"));
}

TEST_F(DockerRuntimeTest, StrayServersAreRemovedAndClassChangesApplied) {
  const std::string data = config_.data_dir.string();
  const fs::path gone = dir_ / "data" / "instances" / "db-GONE" / "pgdata";
  docker_.On({"ps", "-a", "--filter", "label=org.localrds.data-dir=" + data}, 0,
             "localrds-db-x1-a\t" + spec_.pgdata.string() + "\nlocalrds-db-gone-a\t" +
                 gone.string() + "\n");
  auto rt = Make();
  ASSERT_TRUE(rt);
  EXPECT_EQ(rt->StopStrayServers({spec_.pgdata, spec_.pgdata.parent_path() / "pgdata-b"}),
            "removed 1 stray server container(s) (localrds-db-gone-a)");
  EXPECT_EQ(docker_.CallsOf({"rm", "-f", "localrds-db-gone-a"}).size(), 1u);
  EXPECT_EQ(rt->StopStrayServers({spec_.pgdata, gone}), "");

  // A class change on a running server: `docker update` with the new class's limits.
  const pid_t pid = FakePostmaster(spec_.pgdata);
  docker_.On({"run", "-d"}, [&](const Argv&) {
    WriteReadyPidFile(spec_.pgdata, spec_.port, "ready");
    return CommandOutput{0, "f00d\n"};
  });
  docker_.On({"inspect", "-f", "{{.State.Pid}}"}, 0, std::to_string(pid) + "\n");
  ASSERT_TRUE(rt->Start(spec_).ok());
  spec_.instance_class = "db.t3.large";
  ASSERT_TRUE(rt->ApplyResourceLimits(spec_).ok());
  const int cpus = static_cast<int>(std::min(2u, std::thread::hardware_concurrency()));
  EXPECT_EQ(docker_.CallsOf({"update"}),
            (std::vector<Argv>{{"update", "--memory", "8192m", "--memory-swap", "8192m", "--cpus",
                                std::to_string(cpus), "localrds-db-x1-a"}}));
}

}  // namespace
}  // namespace localrds
