// ServerLogs: the log files PostgreSQL's logging collector writes for one server, named as RDS
// for PostgreSQL names them ("error/postgresql.log.2026-12-06-11": UTC, one file an hour), and
// the portions DescribeDBLogFiles and DownloadDBLogFilePortion read from them.
//
// A server's log root (ServerSpec::log_dir) holds `error/`, the collector's log_directory. What
// a postmaster says before its collector starts (a port in use, a stale lock file) still goes to
// its stderr file (ServerSpec::log_file); ServerLogTail and ServerLogSince read both, so no
// message a caller looks for is lost to the collector.
//
// Free functions over files; thread-safe. They read files a running server appends to: a
// portion may end in a line the server has not finished writing yet.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "emulator/runtime/pg_runtime.h"

namespace localrds {

//! The collector's directory under a log root, and the prefix of RDS's names.
inline constexpr const char* kLogSubdir = "error";
//! log_filename: strftime of the hour the file was opened, in log_timezone (UTC).
inline constexpr const char* kLogFilenamePattern = "postgresql.log.%Y-%m-%d-%H";
//! DownloadDBLogFilePortion returns at most this many bytes ("up to 1 MB in size")…
inline constexpr int64_t kLogPortionMaxBytes = 1024 * 1024;
//! …and at most this many lines.
inline constexpr int kLogPortionMaxLines = 10000;

struct LogFileInfo {
  std::string name;         //!< RDS's LogFileName, "error/postgresql.log.2026-12-06-11"
  int64_t last_written_ms;  //!< the file's modification time, epoch milliseconds
  int64_t size;             //!< bytes
  std::filesystem::path path;
};

//! RDS for PostgreSQL's log_line_prefix:
//! "2026-12-06 11:02:03 UTC:127.0.0.1(51234):root@test:[4242]:ERROR:  …".
inline constexpr const char* kRdsLogLinePrefix = "%t:%r:%u@%d:[%p]:";
//! The logging settings localrds owns for a server whose log root is `log_root`: the
//! collector, RDS's file names and hourly rotation in UTC.
std::string LoggingSettings(const std::filesystem::path& log_root);

//! The collector's files under `log_root`, ordered by name (oldest hour first). Only regular
//! files named like log_filename count; nothing when the directory is not there.
std::vector<LogFileInfo> ListServerLogFiles(const std::filesystem::path& log_root);
//! The file `name` (an RDS LogFileName) names under `log_root`, when it is one of
//! ListServerLogFiles (so no name reaches outside the directory).
std::optional<LogFileInfo> FindServerLogFile(const std::filesystem::path& log_root,
                                             const std::string& name);

//! RDS's name of a server's stderr file: what the postmaster said before its collector started.
inline constexpr const char* kStartupLogName = "error/postgres.log";
//! Every log file of the server DescribeDBLogFiles lists: its stderr file as
//! error/postgres.log (when there), then ListServerLogFiles(spec.log_dir).
std::vector<LogFileInfo> DescribeServerLogs(const ServerSpec& spec);
//! The one of DescribeServerLogs named `name`.
std::optional<LogFileInfo> FindServerLog(const ServerSpec& spec, const std::string& name);

//! One DownloadDBLogFilePortion answer.
struct LogPortion {
  std::string data;
  int64_t marker = 0;  //!< the byte offset the next portion starts at
  bool pending = false;
};
//! RDS's paging over the file at `path`: with `from` (a byte offset; "0" is the start), the
//! lines that follow it (all of them up to the 1 MB limit when `lines` is unset), the offset
//! after them and whether more remain; without it, the file's last `lines` lines (10000 when
//! unset) and the end of the file as the marker, nothing pending. A portion never exceeds
//! kLogPortionMaxBytes: it ends at the last whole line that fits (a longer line is cut).
Result<LogPortion> ReadLogPortion(const std::filesystem::path& path, std::optional<int64_t> from,
                                  std::optional<int> lines);

//! Where a server's logs end now (its stderr file and each collector file), so that what it
//! says next can be read (ServerLogSince).
struct ServerLogMark {
  uintmax_t stderr_size = 0;
  std::map<std::string, uintmax_t> files;  //!< collector file name → size
};
ServerLogMark MarkServerLog(const ServerSpec& spec);
//! What the server wrote since `mark`: its stderr, then each collector file, in order.
std::string ServerLogSince(const ServerSpec& spec, const ServerLogMark& mark);
//! The last `n` bytes of its stderr file and of its newest collector file (why a server did not
//! start, wherever it said so).
std::string ServerLogTail(const ServerSpec& spec, uintmax_t n = 4096);

}  // namespace localrds
