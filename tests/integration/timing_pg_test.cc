// A timing profile over real PostgreSQL: a forced failover of a Multi-AZ instance under a scaled
// aws profile does its work at once (the standby is promoted) but the endpoint's port refuses
// connections until the profile's failover duration has passed; then it serves the promoted
// standby with every acknowledged commit, and the failover's events are that far apart.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include "emulator/core/timing.h"
#include "tests/eventually.h"
#include "tests/integration/pg_fixture.h"

namespace localrds {
using nlohmann::json;

class TimingPgTest : public PgControlPlaneTest {
 protected:
  TimingPgTest() : PgControlPlaneTest("lrtm-", 30000) {}

  // True when a TCP connection to 127.0.0.1:`port` is accepted now.
  static bool Accepts(int port) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    return ok;
  }
  int64_t EventDate(const std::string& id, const std::string& event_id) {
    EventQuery q;
    q.source_identifier = id;
    q.limit = 1000;
    for (const auto& row : catalog_->QueryEvents(q).value()) {
      if (row.event_id == event_id) return row.date_ms;
    }
    return -1;
  }
};

TEST_F(TimingPgTest, AFailoverUnderAScaledAwsProfileRefusesTheEndpointForItsDuration) {
  json req = {{"DBInstanceIdentifier", "timed"},  {"Engine", "postgres"},
              {"DBInstanceClass", "db.t3.micro"}, {"MasterUsername", "root"},
              {"MasterUserPassword", "secret99"}, {"DBName", "test"},
              {"BackupRetentionPeriod", 1},       {"MultiAZ", true}};
  const int port = WaitAvailable(cp_->instances().CreateDBInstance(req), "timed");
  ASSERT_GT(port, 0);
  Query(port, "CREATE TABLE t(v text)");
  Query(port, "INSERT INTO t SELECT 'row ' || i FROM generate_series(1, 100) i");  // acknowledged
  const TimingProfile timing{true, 0.05};
  ASSERT_TRUE(cp_->SetInstanceTiming("timed", timing).ok());
  const int64_t duration_ms = timing.DurationMs(TimedWork::kFailover);  // 4.5 s
  ASSERT_EQ(duration_ms, 4500);

  const auto t0 = std::chrono::steady_clock::now();
  auto r = cp_->instances().RebootDBInstance(
      {{"DBInstanceIdentifier", "timed"}, {"ForceFailover", true}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // The old primary is fenced (its port closes), then the first moment the endpoint accepts a
  // connection again.
  ASSERT_TRUE(localrds::Eventually([&] { return !Accepts(port); }, std::chrono::seconds(30)));
  std::chrono::steady_clock::time_point served;
  ASSERT_TRUE(localrds::Eventually(
      [&] {
        if (!Accepts(port)) return false;
        served = std::chrono::steady_clock::now();
        return true;
      },
      std::chrono::seconds(60)));
  const auto refused_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(served - t0).count();
  EXPECT_GE(refused_ms, duration_ms - 100)
      << "the endpoint came back after " << refused_ms << " ms";
  EXPECT_EQ(WaitAvailable(r, "timed"), port);
  // Every acknowledged commit is on the promoted standby, which takes writes.
  EXPECT_EQ(Query(port, "SELECT count(*) FROM t"), "100\n");
  EXPECT_EQ(Query(port, "SELECT pg_is_in_recovery()"), "f\n");
  Query(port, "INSERT INTO t VALUES ('after the failover')");
  const int64_t started = EventDate("timed", "RDS-EVENT-0013");
  const int64_t completed = EventDate("timed", "RDS-EVENT-0049");
  ASSERT_GT(started, 0);
  EXPECT_GE(completed - started, duration_ms);
}

}  // namespace localrds
