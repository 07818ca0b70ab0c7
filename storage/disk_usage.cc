#include "storage/disk_usage.h"

#include <sys/stat.h>

#include <system_error>

namespace localrds {

DiskUsage MeasureDiskUsage(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  DiskUsage usage;
  struct stat top {};
  if (lstat(path.c_str(), &top) != 0) return usage;
  usage.bytes = static_cast<int64_t>(top.st_blocks) * 512;
  usage.files = 1;
  if (!S_ISDIR(top.st_mode)) return usage;
  std::error_code ec;
  fs::recursive_directory_iterator it(path, fs::directory_options::skip_permission_denied, ec);
  if (ec) return usage;
  for (const fs::recursive_directory_iterator end; it != end; it.increment(ec)) {
    if (ec) {  // an entry that vanished under the walk: go on with the next one
      ec.clear();
      continue;
    }
    struct stat st {};
    if (lstat(it->path().c_str(), &st) != 0) continue;
    usage.bytes += static_cast<int64_t>(st.st_blocks) * 512;
    ++usage.files;
  }
  return usage;
}

}  // namespace localrds
