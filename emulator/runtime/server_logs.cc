#include "emulator/runtime/server_logs.h"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>

#include "emulator/runtime/process_tree.h"

namespace localrds {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kFilePrefix = "postgresql.log.";

// "postgresql.log.2026-12-06-11": the prefix, then YYYY-MM-DD-HH.
bool IsLogFileName(std::string_view name) {
  if (!name.starts_with(kFilePrefix)) return false;
  const std::string_view hour = name.substr(kFilePrefix.size());
  static constexpr std::string_view kShape = "dddd-dd-dd-dd";
  if (hour.size() != kShape.size()) return false;
  for (size_t i = 0; i < hour.size(); ++i) {
    const bool digit = hour[i] >= '0' && hour[i] <= '9';
    if (kShape[i] == 'd' ? !digit : hour[i] != '-') return false;
  }
  return true;
}

std::optional<LogFileInfo> Describe(const fs::path& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  LogFileInfo info;
  info.name = std::string(kLogSubdir) + "/" + path.filename().string();
  info.last_written_ms =
      static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
  info.size = static_cast<int64_t>(st.st_size);
  info.path = path;
  return info;
}

// At most `n` bytes of the file from `offset`.
std::string ReadRange(const fs::path& path, int64_t offset, int64_t n) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  in.seekg(offset);
  std::string out(static_cast<size_t>(std::max<int64_t>(n, 0)), '\0');
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  out.resize(static_cast<size_t>(std::max<std::streamsize>(in.gcount(), 0)));
  return out;
}

}  // namespace

std::string LoggingSettings(const fs::path& log_root) {
  // As RDS for PostgreSQL logs: error/postgresql.log.YYYY-MM-DD-HH, a new file every hour in
  // UTC (appended to when a server restarts within the hour).
  return "logging_collector = on\n"
         "log_directory = '" +
         (log_root / kLogSubdir).string() +
         "'\n"
         "log_filename = '" +
         std::string(kLogFilenamePattern) +
         "'\n"
         "log_rotation_age = 60\n"
         "log_rotation_size = 0\n"
         "log_truncate_on_rotation = off\n"
         "log_timezone = 'UTC'\n";
}

std::vector<LogFileInfo> ListServerLogFiles(const fs::path& log_root) {
  std::vector<LogFileInfo> out;
  if (log_root.empty()) return out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(log_root / kLogSubdir, ec)) {
    if (!IsLogFileName(entry.path().filename().string())) continue;
    if (auto info = Describe(entry.path())) out.push_back(std::move(*info));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

std::optional<LogFileInfo> FindServerLogFile(const fs::path& log_root, const std::string& name) {
  const std::string prefix = std::string(kLogSubdir) + "/";
  if (log_root.empty() || !name.starts_with(prefix) || !IsLogFileName(name.substr(prefix.size()))) {
    return std::nullopt;
  }
  return Describe(log_root / kLogSubdir / name.substr(prefix.size()));
}

std::vector<LogFileInfo> DescribeServerLogs(const ServerSpec& spec) {
  std::vector<LogFileInfo> out;
  if (auto startup = FindServerLog(spec, kStartupLogName)) out.push_back(std::move(*startup));
  for (auto& f : ListServerLogFiles(spec.log_dir)) out.push_back(std::move(f));
  return out;
}

std::optional<LogFileInfo> FindServerLog(const ServerSpec& spec, const std::string& name) {
  if (name != kStartupLogName) return FindServerLogFile(spec.log_dir, name);
  auto info = Describe(spec.log_file);
  if (info) info->name = kStartupLogName;
  return info;
}

Result<LogPortion> ReadLogPortion(const fs::path& path, std::optional<int64_t> from,
                                  std::optional<int> lines) {
  std::error_code ec;
  const int64_t size = static_cast<int64_t>(fs::file_size(path, ec));
  if (ec) return Status::Internal("cannot read " + path.string() + ": " + ec.message());
  LogPortion portion;
  if (!from) {
    // The most recent lines: the last ones of the file's final megabyte.
    const int want = lines.value_or(kLogPortionMaxLines);
    const int64_t start = std::max<int64_t>(0, size - kLogPortionMaxBytes);
    std::string window = ReadRange(path, start, size - start);
    size_t begin = window.size();
    // A final line still being written (no newline yet) counts as a line.
    size_t scan = window.size();
    if (scan > 0 && window[scan - 1] == '\n') --scan;
    for (int taken = 0; taken < want && begin > 0; ++taken) {
      const size_t nl = scan == 0 ? std::string::npos : window.rfind('\n', scan - 1);
      begin = nl == std::string::npos ? 0 : nl + 1;
      scan = nl == std::string::npos ? 0 : nl;
    }
    // The window may open mid-line: that partial line is not one of the last lines.
    if (begin == 0 && start > 0 && window.size() > 0) {
      const size_t nl = window.find('\n');
      if (nl != std::string::npos && nl + 1 < window.size()) begin = nl + 1;
    }
    portion.data = window.substr(begin);
    portion.marker = size;
    portion.pending = false;
    return portion;
  }
  const int64_t offset = std::min(*from, size);
  std::string window = ReadRange(path, offset, std::min(size - offset, kLogPortionMaxBytes));
  size_t end = window.size();
  if (lines) {
    size_t pos = 0;
    int taken = 0;
    while (taken < *lines && pos < window.size()) {
      const size_t nl = window.find('\n', pos);
      pos = nl == std::string::npos ? window.size() : nl + 1;
      ++taken;
    }
    end = pos;
  }
  // Cut at the 1 MB limit: after the last whole line that fits, unless the window is one line.
  if (end == window.size() && offset + static_cast<int64_t>(end) < size) {
    const size_t nl = window.rfind('\n');
    if (nl != std::string::npos) end = nl + 1;
  }
  portion.data = window.substr(0, end);
  portion.marker = offset + static_cast<int64_t>(end);
  portion.pending = portion.marker < size;
  return portion;
}

ServerLogMark MarkServerLog(const ServerSpec& spec) {
  ServerLogMark mark;
  std::error_code ec;
  const uintmax_t size = fs::file_size(spec.log_file, ec);
  mark.stderr_size = ec ? 0 : size;
  if (!spec.log_dir.empty()) {
    for (const auto& f : ListServerLogFiles(spec.log_dir)) {
      mark.files[f.name] = static_cast<uintmax_t>(f.size);
    }
  }
  return mark;
}

std::string ServerLogSince(const ServerSpec& spec, const ServerLogMark& mark) {
  std::string out = ReadFileFrom(spec.log_file, mark.stderr_size);
  if (spec.log_dir.empty()) return out;
  for (const auto& f : ListServerLogFiles(spec.log_dir)) {
    auto it = mark.files.find(f.name);
    out += ReadFileFrom(f.path, it == mark.files.end() ? 0 : it->second);
  }
  return out;
}

std::string ServerLogTail(const ServerSpec& spec, uintmax_t n) {
  std::string out = FileTail(spec.log_file, n);
  if (spec.log_dir.empty()) return out;
  auto files = ListServerLogFiles(spec.log_dir);
  if (!files.empty()) out += FileTail(files.back().path, n);
  return out;
}

}  // namespace localrds
