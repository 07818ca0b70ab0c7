// ControlPlaneTest: a ControlPlane over the FakeRuntime in a fresh data directory per test, with
// the waits and request helpers the control-plane unit suites share. Restart() reopens the catalog
// and a new ControlPlane on the same directory, like a restart of localrds. Its clock is a
// FakeClock (clock_) that only moves when a test advances it: nothing waits on real time for a
// window, an expiry or a health verdict.
#pragma once

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <thread>

#include "common/clock.h"
#include "common/log.h"
#include "emulator/engine/operation_engine.h"
#include "emulator/service/control_plane.h"
#include "tests/eventually.h"
#include "tests/unit/fake_runtime.h"

namespace localrds {

class ControlPlaneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LogLine::SetQuiet(true);
    dir_ = std::filesystem::temp_directory_path() /
           ("cp-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    layout_ = std::make_unique<Layout>(dir_);
    layout_->CreateDirectories();
    Open();
  }
  void TearDown() override {
    OperationEngine::SetCrashHook(nullptr);
    cp_.reset();
    catalog_.reset();
    std::filesystem::remove_all(dir_);
  }
  // (Re)opens the catalog and a control plane on the same data directory, like a restart.
  void Open(std::chrono::milliseconds reconcile_interval = std::chrono::seconds(1)) {
    cp_.reset();
    catalog_.reset();
    auto c = Catalog::Open(layout_->CatalogPath().string());
    ASSERT_TRUE(c.ok());
    catalog_ = std::move(*c);
    EmulatorConfig config;
    config.reconcile_interval = reconcile_interval;
    config.reset_wait = std::chrono::milliseconds(100);
    config.pool_size = 0;
    config.port_range_lo = 40000;
    config.port_range_hi = 40999;
    config.default_port = 40000;
    config.clock = &clock_;
    config.server_tls = false;  // no RSA key per instance (tls_test.cc covers the certificates)
    Tune(config);
    cp_ = std::make_unique<ControlPlane>(config, *catalog_, runtime_, *layout_);
  }
  //! A suite's own settings on top of the ones above (Open and Restart use them).
  virtual void Tune(EmulatorConfig& config) {}
  void Restart() {
    OperationEngine::SetCrashHook(nullptr);
    Open();
    ASSERT_TRUE(cp_->Recover().ok());
  }
  void Wait(int64_t op) {
    if (op == 0) return;
    std::promise<void> done;
    cp_->WhenOperationDone(op, [&] { done.set_value(); });
    ASSERT_EQ(done.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  }
  //! What a fake read replica's WAL receiver reports: it streams, 40 ms behind (what the
  //! create step waits for and the replication poll reads).
  void ReplicasStream() {
    runtime_.AnswerQuery("SELECT coalesce((SELECT status FROM pg_stat_wal_receiver)", "streaming");
    runtime_.AnswerQuery("concat_ws('|', coalesce((SELECT status", "streaming|t|0.04|0");
  }
  nlohmann::json CreateReq(const std::string& id) {
    return {{"DBInstanceIdentifier", id},       {"Engine", "postgres"},
            {"DBInstanceClass", "db.t3.micro"}, {"MasterUsername", "root"},
            {"MasterUserPassword", "secret99"}, {"DBName", "test"},
            {"BackupRetentionPeriod", 7}};
  }
  Accepted Create(const std::string& id) {
    auto r = cp_->instances().CreateDBInstance(CreateReq(id));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    Wait(r->operation_id);
    return *r;
  }
  nlohmann::json Describe(const std::string& id) {
    auto r = cp_->instances().DescribeDBInstances({{"DBInstanceIdentifier", id}});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? (*r)["DBInstances"][0] : nlohmann::json();
  }
  std::string StatusOf(const std::string& id) { return Describe(id)["DBInstanceStatus"]; }
  // The AWS error a client would see: its code, HTTP status and message (a string for the exact
  // text, or a matcher where the text carries a timestamp).
  void ExpectError(const Status& s, const char* code, int http,
                   const testing::Matcher<std::string>& message) {
    ASSERT_FALSE(s.ok());
    EXPECT_STREQ(s.info().code, code);
    EXPECT_EQ(s.info().http_status, http);
    EXPECT_THAT(s.message(), message);
  }
  // A port from `from` on that nothing on this machine holds now (client sockets of other tests
  // take ephemeral ports in the same range).
  static int FreePort(int from) {
    for (int p = from; p < from + 400; ++p) {
      int fd = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(static_cast<uint16_t>(p));
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      const bool free = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
      close(fd);
      if (free) return p;
    }
    return from;
  }
  // Polls `done` until it holds or 10 s pass.
  static bool Eventually(const std::function<bool()>& done) {
    return localrds::Eventually(done, std::chrono::seconds(10));
  }
  std::vector<std::string> EventMessages(const std::string& id) {
    auto r =
        cp_->metadata().DescribeEvents({{"SourceType", "db-instance"}, {"SourceIdentifier", id}});
    std::vector<std::string> out;
    for (auto& e : (*r)["Events"]) out.push_back(e["Message"]);
    return out;
  }

  std::filesystem::path dir_;
  FakeRuntime runtime_;
  FakeClock clock_;
  std::unique_ptr<Layout> layout_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<ControlPlane> cp_;
};

}  // namespace localrds
