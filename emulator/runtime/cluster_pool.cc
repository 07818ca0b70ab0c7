#include "emulator/runtime/cluster_pool.h"

#include <unistd.h>

#include <atomic>
#include <fstream>

#include "common/log.h"

namespace localrds {
namespace fs = std::filesystem;
namespace {
std::atomic<uint64_t> g_counter{0};

std::string UniqueName(const char* prefix) {
  return std::string(prefix) + std::to_string(getpid()) + "-" + std::to_string(g_counter++);
}
}  // namespace

ClusterPool::ClusterPool(PgRuntime& runtime, const Layout& layout, std::vector<std::string> majors,
                         int size)
    : runtime_(runtime), layout_(layout), majors_(std::move(majors)), size_(size) {}

ClusterPool::~ClusterPool() { Stop(); }

void ClusterPool::Start() {
  std::error_code ec;
  for (const auto& major : majors_) {
    fs::path dir = layout_.PoolDir(major);
    LogIfFailed(runtime_.PrepareDirectory(dir), "pool", "cannot prepare " + dir.string());
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      if (e.path().filename().string().rfind("tmp-", 0) == 0) {
        Layout::RemoveTree(e.path(), layout_.TrashDir());
      }
    }
  }
  if (size_ > 0) {
    thread_ = std::thread([this] {
      try {
        Loop();
      } catch (const std::exception& e) {
        LogLine("pool") << "stopped refilling: " << e.what();
      }
    });
  }
}

void ClusterPool::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int ClusterPool::ReadyCount(const std::string& major) {
  int n = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(layout_.PoolDir(major), ec)) {
    if (e.path().filename().string().rfind("ready-", 0) == 0) ++n;
  }
  return n;
}

bool ClusterPool::Take(const std::string& major, const fs::path& pgdata) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(layout_.PoolDir(major), ec)) {
    if (e.path().filename().string().rfind("ready-", 0) != 0) continue;
    fs::rename(e.path(), pgdata, ec);
    if (!ec) {
      cv_.notify_all();  // refill
      return true;
    }
  }
  return false;
}

Status ClusterPool::MakeCluster(const std::string& major, const fs::path& pgdata) {
  fs::path tmp = pgdata.parent_path() / ("tmp-" + pgdata.filename().string());
  Layout::RemoveTree(tmp, layout_.TrashDir());
  LOCALRDS_RETURN_IF_ERROR(runtime_.InitCluster(major, tmp));
  {
    // Every setting localrds owns goes to localrds.conf, written per start (WriteServerConfig).
    std::ofstream conf(tmp / "postgresql.conf", std::ios::app);
    conf << "\n# localrds: settings of this instance\ninclude_if_exists = 'localrds.conf'\n";
    if (!conf) return Status::Internal("cannot append to postgresql.conf in " + tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, pgdata, ec);
  if (ec) return Status::Internal("cannot rename " + tmp.string() + ": " + ec.message());
  return Status::Ok();
}

void ClusterPool::Loop() {
  for (;;) {
    bool made = false;
    for (const auto& major : majors_) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stopping_) return;
      }
      if (ReadyCount(major) >= size_) continue;
      fs::path target = layout_.PoolDir(major) / UniqueName("ready-");
      // MakeCluster builds in tmp-ready-…, renamed to ready-… only when complete.
      fs::path tmp_named = layout_.PoolDir(major) / UniqueName("tmp-c-");
      Status st = MakeCluster(major, tmp_named);
      if (st.ok()) {
        std::error_code ec;
        fs::rename(tmp_named, target, ec);
        made = !ec;
      } else {
        LogLine("pool") << "could not prepare a PostgreSQL " << major
                        << " cluster: " << st.ToString();
      }
    }
    std::unique_lock<std::mutex> lock(mutex_);
    if (stopping_) return;
    if (!made) cv_.wait_for(lock, std::chrono::seconds(5));
  }
}

}  // namespace localrds
