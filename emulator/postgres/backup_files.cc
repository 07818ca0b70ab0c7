#include "emulator/postgres/backup_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <fstream>
#include <sstream>

#include "common/subprocess.h"

namespace localrds::backup_files {
namespace fs = std::filesystem;

Status CheckConfigSafePath(const fs::path& p) {
  for (char c : p.string()) {
    if (c == '\'' || c == '"' || c == '\\' || c == '$' || c == '`' || c == '\n' || c == '%') {
      return Status::Internal(
          "the data directory path " + p.string() +
          " has a character localrds cannot pass to PostgreSQL (' \" \\ $ ` % or a newline)");
    }
  }
  return Status::Ok();
}

std::string ArchiveCommand(const fs::path& archive) {
  // %p is relative to the data directory (PostgreSQL's working directory), %f a file name.
  const std::string a = archive.string();
  // The temporary file is the archiver's own ($$): a Multi-AZ primary and its standby archive
  // the same segments into one archive, often at the same moment.
  return "f=\"" + a +
         "/%f.gz\"; t=\"$f.$$.tmp\"; if [ -f \"$f\" ]; then "
         "gzip -dc \"$f\" | cmp -s - %p; else gzip -1 -c %p > \"$t\" && sync \"$t\" && "
         "mv \"$t\" \"$f\" && sync \"" +
         a + "\"; fi";
}

std::string RestoreCommand(const fs::path& wal_dir) {
  const std::string w = wal_dir.string();
  return "[ -f \"" + w + "/%f.gz\" ] && gzip -dc \"" + w + "/%f.gz\" > %p";
}

bool IsWalFileName(const std::string& name) {
  if (name.size() < 24) return false;
  for (size_t i = 0; i < 24; ++i) {
    if (!std::isxdigit(static_cast<unsigned char>(name[i])) ||
        std::islower(static_cast<unsigned char>(name[i]))) {
      return false;
    }
  }
  std::string rest = name.substr(24);
  if (rest.size() >= 3 && rest.compare(rest.size() - 3, 3, ".gz") == 0)
    rest.resize(rest.size() - 3);
  return rest.empty() || rest == ".partial" || rest == ".backup" ||
         (rest.size() > 8 && rest[0] == '.' && rest.compare(rest.size() - 7, 7, ".backup") == 0);
}

Result<std::string> StartWalFile(const fs::path& backup_dir) {
  std::ifstream in(backup_dir / "backup_label");
  std::string line;
  while (std::getline(in, line)) {
    // START WAL LOCATION: 0/2000028 (file 000000010000000000000002)
    auto pos = line.find("(file ");
    if (line.rfind("START WAL LOCATION:", 0) == 0 && pos != std::string::npos) {
      std::string f = line.substr(pos + 6, 24);
      if (IsWalFileName(f)) return f;
    }
  }
  return Status::Internal("no START WAL LOCATION in " + (backup_dir / "backup_label").string());
}

int RemoveWalBefore(const fs::path& archive, const std::string& first_kept) {
  if (!IsWalFileName(first_kept)) return 0;
  const std::string kept_pos = first_kept.substr(8, 16);  // log and segment, any timeline
  int removed = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(archive, ec)) {
    std::string name = e.path().filename().string();
    if (!IsWalFileName(name)) continue;  // history files and our own files stay
    if (name.substr(8, 16) < kept_pos) {
      if (fs::remove(e.path(), ec)) ++removed;
    }
  }
  return removed;
}

std::optional<int64_t> ReadRestorableUntil(const fs::path& archive) {
  std::ifstream in(archive / "restorable-until");
  int64_t ms = 0;
  if (in >> ms && ms > 0) return ms;
  return std::nullopt;
}

Status WriteRestorableUntil(const fs::path& archive, int64_t ms) {
  fs::path tmp = archive / "restorable-until.tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << ms << "\n";
    if (!out) return Status::Internal("cannot write " + tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, archive / "restorable-until", ec);
  if (ec) return Status::Internal("cannot rename " + tmp.string() + ": " + ec.message());
  return Status::Ok();
}

Status FreezeArchive(const fs::path& archive, const fs::path& dest) {
  std::error_code ec;
  fs::remove_all(dest, ec);
  fs::create_directories(dest, ec);
  if (ec) return Status::Internal("cannot create " + dest.string() + ": " + ec.message());
  for (const auto& e : fs::directory_iterator(archive, ec)) {
    std::string name = e.path().filename().string();
    if (name.size() < 3 || name.compare(name.size() - 3, 3, ".gz") != 0) continue;
    fs::create_hard_link(e.path(), dest / name, ec);
    if (ec && fs::exists(e.path())) {  // vanished meanwhile (expiry) is fine, anything else not
      return Status::Internal("cannot link " + e.path().string() + ": " + ec.message());
    }
  }
  return Status::Ok();
}

Result<int> CopyNewArchiveFiles(const fs::path& archive, const fs::path& dest) {
  struct stat dir_st {};
  if (stat(archive.c_str(), &dir_st) != 0) {
    return Status::Internal("archive " + archive.string() + " is missing");
  }
  std::error_code ec;
  if (!fs::exists(dest, ec)) {
    fs::path tmp = dest;
    tmp += ".tmp";
    fs::remove_all(tmp, ec);
    fs::create_directories(tmp, ec);
    if (ec) return Status::Internal("cannot create " + tmp.string() + ": " + ec.message());
    if (chown(tmp.c_str(), dir_st.st_uid, dir_st.st_gid) != 0 ||
        chmod(tmp.c_str(), dir_st.st_mode & 07777) != 0) {
      return Status::Internal("cannot give " + tmp.string() + " the archive's owner");
    }
    fs::rename(tmp, dest, ec);
    if (ec) return Status::Internal("cannot rename " + tmp.string() + ": " + ec.message());
  }
  // A copy a crash interrupted (only this function writes here, one call at a time).
  for (const auto& e : fs::directory_iterator(dest, ec)) {
    if (e.path().extension() == ".tmp") fs::remove(e.path(), ec);
  }
  int copied = 0;
  for (const auto& e : fs::directory_iterator(archive, ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() < 3 || name.compare(name.size() - 3, 3, ".gz") != 0) continue;
    if (fs::exists(dest / name)) continue;
    struct stat st {};
    if (stat(e.path().c_str(), &st) != 0) continue;  // expired meanwhile
    const fs::path tmp = dest / (name + ".tmp");
    std::error_code copy_ec;
    fs::copy_file(e.path(), tmp, fs::copy_options::overwrite_existing, copy_ec);
    if (copy_ec) {
      fs::remove(tmp, ec);
      if (!fs::exists(e.path())) continue;
      return Status::Internal("cannot copy " + e.path().string() + ": " + copy_ec.message());
    }
    const int fd = open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
    const bool durable = fd >= 0 && fsync(fd) == 0;
    if (fd >= 0) close(fd);
    if (!durable || chown(tmp.c_str(), st.st_uid, st.st_gid) != 0 ||
        chmod(tmp.c_str(), st.st_mode & 07777) != 0) {
      fs::remove(tmp, ec);
      return Status::Internal("cannot finish the copy of " + e.path().string());
    }
    fs::rename(tmp, dest / name, ec);
    if (ec) return Status::Internal("cannot rename " + tmp.string() + ": " + ec.message());
    ++copied;
  }
  return copied;
}

Status SyncFileSystem(const fs::path& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::Internal("cannot open " + dir.string());
  int rc = syncfs(fd);
  close(fd);
  if (rc != 0) return Status::Internal("syncfs failed for " + dir.string());
  return Status::Ok();
}

Status CopyTree(const fs::path& src, const fs::path& dst, bool link) {
  std::error_code ec;
  if (fs::exists(dst, ec)) return Status::Ok();
  if (!fs::is_directory(src, ec)) return Status::Internal("backup " + src.string() + " is missing");
  fs::path tmp = dst;
  tmp += ".tmp";
  fs::remove_all(tmp, ec);
  // cp -l and --reflink do not mix: links for immutable backups, reflinks (where the file
  // system has them) for data a server will write to.
  std::vector<std::string> argv = {"cp", link ? "-al" : "-a"};
  if (!link) argv.push_back("--reflink=auto");
  argv.push_back(src.string());
  argv.push_back(tmp.string());
  CommandOptions options;
  options.timeout = std::chrono::hours(2);
  auto out = RunCommand(argv, options);
  if (!out.ok()) return out.status();
  if (out->exit_code != 0) {
    fs::remove_all(tmp, ec);
    return Status::Internal("copy of " + src.string() + " failed: " + out->output);
  }
  LOCALRDS_RETURN_IF_ERROR(SyncFileSystem(tmp));
  fs::rename(tmp, dst, ec);
  if (ec) return Status::Internal("cannot rename " + tmp.string() + ": " + ec.message());
  return Status::Ok();
}

}  // namespace localrds::backup_files
