// PgControlPlaneTest: a ControlPlane over real PostgreSQL (LocalRuntime, servers run as the
// `postgres` OS user) in a fresh data directory per test, with the waits and psql helpers the
// real-PostgreSQL suites share. Each suite passes its own directory prefix and port block so
// suites can run side by side. Not thread-safe (gtest runs one test at a time).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <future>
#include <memory>
#include <string>

#include "common/log.h"
#include "common/subprocess.h"
#include "emulator/engine/operation_engine.h"
#include "emulator/runtime/local_runtime.h"
#include "emulator/runtime/server_files.h"
#include "emulator/service/control_plane.h"

namespace localrds {

class PgControlPlaneTest : public ::testing::Test {
 protected:
  //! `prefix` names the test directories under /tmp; ports come from `port_base` + 10 × (pid mod
  //! 400), 10 of them.
  PgControlPlaneTest(std::string prefix, int port_base)
      : prefix_(std::move(prefix)), port_base_(port_base) {}

  void SetUp() override {
    LogLine::SetQuiet(true);
    auto r = LocalRuntime::Create("postgres", "/usr/lib/postgresql");
    ASSERT_TRUE(r.ok());
    runtime_ = std::move(*r);
    dir_ = std::filesystem::path("/tmp") /
           (prefix_ + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    layout_ = std::make_unique<Layout>(dir_);
    Open();
  }
  void TearDown() override {
    OperationEngine::SetCrashHook(nullptr);
    if (cp_) cp_->Shutdown(true);
    cp_.reset();
    catalog_.reset();
    std::filesystem::remove_all(dir_);
    std::filesystem::remove_all(layout_->SocketDir());
  }
  //! Suites adjust the configuration here (called by every Open).
  virtual void Configure(EmulatorConfig& config) { (void)config; }
  //! The Multi-AZ health checks of the failover suites: a probe every 200 ms that gives up after
  //! 500 ms, a primary hung after 2 s of failed probes.
  static void QuickHealthChecks(EmulatorConfig& config) {
    config.probe_interval = std::chrono::milliseconds(200);
    config.probe_timeout = std::chrono::milliseconds(500);
    config.hung_after = std::chrono::seconds(2);
  }
  //! A new ControlPlane over the same data directory and catalog file (a restart of localrds).
  void Open() {
    if (cp_) cp_->Shutdown(false);
    cp_.reset();
    catalog_.reset();
    layout_->CreateDirectories();
    auto c = Catalog::Open(layout_->CatalogPath().string());
    ASSERT_TRUE(c.ok());
    catalog_ = std::move(*c);
    EmulatorConfig config;
    config.pool_size = 0;
    const int base = port_base_ + (getpid() % 400) * 10;
    config.port_range_lo = base;
    config.port_range_hi = base + 9;
    config.default_port = base;
    // Every server loads the guard extension, as under localrds serve.
    std::vector<std::string> majors;
    for (const auto& v : runtime_->InstalledVersions()) majors.push_back(v.major);
    Status guard = InstallGuardLibraries(LOCALRDS_GUARD_DIR, layout_->LibDir(), majors);
    ASSERT_TRUE(guard.ok()) << guard.ToString();
    config.guard_library_dir = layout_->LibDir();
    Configure(config);
    cp_ = std::make_unique<ControlPlane>(config, *catalog_, *runtime_, *layout_);
    ASSERT_TRUE(cp_->Recover().ok());
  }
  void Wait(int64_t op) {
    if (op == 0) return;
    std::promise<void> done;
    cp_->WhenOperationDone(op, [&] { done.set_value(); });
    ASSERT_EQ(done.get_future().wait_for(std::chrono::seconds(60)), std::future_status::ready);
  }
  nlohmann::json Describe(const std::string& id) {
    return (
        *cp_->instances().DescribeDBInstances({{"DBInstanceIdentifier", id}}))["DBInstances"][0];
  }
  //! Creates an instance and waits until it is available; returns its DbiResourceId.
  std::string Create(const std::string& id, int retention) {
    nlohmann::json req = {{"DBInstanceIdentifier", id},        {"Engine", "postgres"},
                          {"DBInstanceClass", "db.t3.micro"},  {"MasterUsername", "root"},
                          {"MasterUserPassword", "secret99"},  {"DBName", "test"},
                          {"BackupRetentionPeriod", retention}};
    auto r = cp_->instances().CreateDBInstance(req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return "";
    Wait(r->operation_id);
    nlohmann::json d = Describe(id);
    EXPECT_EQ(d["DBInstanceStatus"], "available");
    return d["DbiResourceId"];
  }
  //! Waits for an accepted operation and returns the instance's port.
  int WaitAvailable(const Result<Accepted>& r, const std::string& id) {
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return 0;
    Wait(r->operation_id);
    nlohmann::json d = Describe(id);
    EXPECT_EQ(d["DBInstanceStatus"], "available") << d.dump();
    return d.contains("Endpoint") ? d["Endpoint"].value("Port", 0) : 0;
  }
  int Port(const std::string& id) { return Describe(id)["Endpoint"]["Port"]; }
  //! psql over TCP as the master user, as a client of the instance would connect.
  int Psql(int port, const std::string& sql, std::string* out) {
    CommandOptions o;
    o.extra_env = {"PGPASSWORD=secret99", "PGCONNECT_TIMEOUT=5"};
    auto r = RunCommand({"psql", "-h", "127.0.0.1", "-p", std::to_string(port), "-U", "root", "-d",
                         "test", "-v", "ON_ERROR_STOP=1", "-Atc", sql},
                        o);
    *out = r.ok() ? r->output : r.status().ToString();
    return r.ok() ? r->exit_code : -1;
  }
  std::string Query(int port, const std::string& sql) {
    std::string out;
    EXPECT_EQ(Psql(port, sql, &out), 0) << out;
    return out;
  }

  const std::string prefix_;
  const int port_base_;
  std::unique_ptr<LocalRuntime> runtime_;
  std::filesystem::path dir_;
  std::unique_ptr<Layout> layout_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<ControlPlane> cp_;
};

}  // namespace localrds
