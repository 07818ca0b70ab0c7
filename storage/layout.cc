#include "storage/layout.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <functional>
#include <system_error>

namespace localrds {

Layout::Layout(std::filesystem::path data_dir)
    : data_dir_(std::filesystem::absolute(std::move(data_dir)).lexically_normal()) {
  size_t h = std::hash<std::string>()(data_dir_.string());
  char buf[32];
  std::snprintf(buf, sizeof buf, "%08zx", h & 0xffffffffu);
  socket_dir_ = std::filesystem::path("/tmp") / (std::string("localrds-") + buf);
  std::ifstream record(SocketDirRecord());
  std::string recorded;
  if (std::getline(record, recorded) && recorded.rfind("/tmp/localrds-", 0) == 0) {
    socket_dir_ = recorded;
  }
}

void Layout::CreateDirectories() const {
  std::filesystem::create_directories(InstancesDir());
  std::filesystem::create_directories(TrashDir());
  std::filesystem::create_directories(data_dir_ / "pool");
  std::filesystem::create_directories(data_dir_ / "archive");
  std::filesystem::create_directories(SnapshotsDir());
}

void Layout::RemoveTree(const std::filesystem::path& dir, const std::filesystem::path& trash) {
  static std::atomic<uint64_t> counter{0};
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return;
  std::filesystem::create_directories(trash, ec);
  auto target = trash / (dir.filename().string() + "." + std::to_string(getpid()) + "." +
                         std::to_string(counter.fetch_add(1)));
  std::filesystem::rename(dir, target, ec);
  std::filesystem::remove_all(ec ? dir : target, ec);
}

}  // namespace localrds
