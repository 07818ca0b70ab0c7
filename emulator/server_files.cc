#include "emulator/server_files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace localrds {
namespace fs = std::filesystem;

Status PrepareOwnedDirectory(const fs::path& dir, const std::optional<RunAs>& owner) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::Internal("cannot create " + dir.string() + ": " + ec.message());
  if (owner && chown(dir.c_str(), owner->uid, owner->gid) != 0) {
    return Status::Internal("cannot chown " + dir.string());
  }
  chmod(dir.c_str(), 0700);
  return Status::Ok();
}

Status PrepareSocketDirectory(const fs::path& dir, const std::optional<RunAs>& owner) {
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status::Internal("cannot create " + dir.string() + ": " + std::strerror(errno));
  }
  struct stat st {};
  const uid_t uid = owner ? owner->uid : geteuid();
  if (lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) ||
      (st.st_uid != uid && st.st_uid != geteuid())) {
    return Status::Internal("unsafe socket directory " + dir.string() +
                            ": not a directory owned by localrds or its PostgreSQL user");
  }
  if (owner && st.st_uid != owner->uid && lchown(dir.c_str(), owner->uid, owner->gid) != 0) {
    return Status::Internal("cannot chown " + dir.string());
  }
  return Status::Ok();
}

}  // namespace localrds
