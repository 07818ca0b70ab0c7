#include "emulator/runtime/server_files.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "common/log.h"

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

Result<fs::path> ClaimSocketDirectory(const fs::path& record, const std::optional<RunAs>& owner,
                                      const fs::path& legacy) {
  auto usable = [&](const std::string& dir) {
    struct stat st {};
    return dir.rfind("/tmp/localrds-", 0) == 0 && lstat(dir.c_str(), &st) == 0 &&
           S_ISDIR(st.st_mode) && (st.st_mode & 077) == 0 &&
           (st.st_uid == geteuid() || (owner && st.st_uid == owner->uid));
  };
  std::string recorded;
  {
    std::ifstream in(record);
    std::getline(in, recorded);
  }
  if (usable(recorded)) return fs::path(recorded);
  // Gone (a reboot emptied /tmp) or taken by someone else: a new name nobody can know.
  std::string tmpl = "/tmp/localrds-XXXXXX";
  if (recorded.empty() && !legacy.empty() && usable(legacy.string())) {
    tmpl = legacy.string();
  } else if (mkdtemp(tmpl.data()) == nullptr) {
    return Status::Internal(std::string("cannot create a socket directory in /tmp: ") +
                            std::strerror(errno));
  }
  const fs::path tmp = record.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << tmpl << "\n";
    if (!out) return Status::Internal("cannot write " + tmp.string());
  }
  chmod(tmp.c_str(), 0600);
  std::error_code ec;
  fs::rename(tmp, record, ec);
  if (ec) return Status::Internal("cannot rename " + tmp.string() + ": " + ec.message());
  if (!recorded.empty() && recorded != tmpl) {
    LogLine() << "socket directory " << recorded << " is gone or not localrds'; now " << tmpl;
  }
  return fs::path(tmpl);
}

std::string GuardLibraryName(const std::string& major) { return "localrds_guard_" + major + ".so"; }

Status InstallGuardLibraries(const fs::path& from, const fs::path& to,
                             const std::vector<std::string>& majors) {
  std::error_code ec;
  fs::create_directories(to, ec);
  if (ec) return Status::Internal("cannot create " + to.string() + ": " + ec.message());
  chmod(to.c_str(), 0755);
  for (const auto& major : majors) {
    const fs::path src = from / GuardLibraryName(major);
    if (!fs::exists(src)) {
      return Status::Internal("no " + src.string() +
                              " (the PostgreSQL extension that keeps the master user inside "
                              "the database): install postgresql-server-dev-" +
                              major + " and build localrds again");
    }
    const fs::path tmp = to / (GuardLibraryName(major) + ".tmp");
    fs::copy_file(src, tmp, fs::copy_options::overwrite_existing, ec);
    if (!ec) fs::permissions(tmp, fs::perms(0644), ec);
    // A running server keeps the library it mapped; the rename only changes what the next
    // start loads.
    if (!ec) fs::rename(tmp, to / GuardLibraryName(major), ec);
    if (ec) return Status::Internal("cannot install " + src.string() + ": " + ec.message());
  }
  return Status::Ok();
}

Result<std::unique_ptr<PassFile>> PassFile::Create(const fs::path& dir,
                                                   const std::optional<RunAs>& owner,
                                                   const std::string& user,
                                                   const std::string& password) {
  std::string name = (dir / ".pgpass-XXXXXX").string();
  int fd = mkstemp(name.data());  // 0600, a name nobody can take first
  if (fd < 0) return Status::Internal("cannot create a password file in " + dir.string());
  std::unique_ptr<PassFile> file(new PassFile(name));
  const std::string line = "*:*:*:" + user + ":" + password + "\n";
  const bool ok = write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
                  (!owner || fchown(fd, owner->uid, owner->gid) == 0);
  close(fd);
  if (!ok) return Status::Internal("cannot write " + name);
  return file;
}

PassFile::~PassFile() { unlink(path_.c_str()); }

std::string CurrentOsUser() {
  struct passwd pw {};
  struct passwd* found = nullptr;
  char buf[4096];
  if (getpwuid_r(geteuid(), &pw, buf, sizeof buf, &found) == 0 && found) return pw.pw_name;
  return std::to_string(geteuid());
}

}  // namespace localrds
