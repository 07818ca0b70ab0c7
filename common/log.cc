#include "common/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>

#include "common/time_util.h"

namespace localrds {
namespace {
std::mutex g_log_mutex;
std::atomic<bool> g_quiet{false};
}  // namespace

LogLine::LogLine(const char* component) {
  out_ << FormatIso8601(NowMs(), true) << " [" << component << "] ";
}

LogLine::~LogLine() {
  if (g_quiet.load()) return;
  try {
    out_ << '\n';
    std::string s = out_.str();
    std::lock_guard<std::mutex> lock(g_log_mutex);
    std::fwrite(s.data(), 1, s.size(), stderr);
    std::fflush(stderr);
  } catch (...) {
  }
}

void LogLine::SetQuiet(bool quiet) { g_quiet.store(quiet); }

}  // namespace localrds
