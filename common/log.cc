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

std::string Quoted(std::string_view value, size_t max) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (size_t i = 0; i < value.size() && i < max; ++i) {
    const unsigned char c = static_cast<unsigned char>(value[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c >= 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  if (value.size() > max) out += "...";
  return out;
}

void LogIfFailed(const Status& st, const char* component, const std::string& what) {
  if (!st.ok()) LogLine(component) << what << ": " << st.ToString();
}

void LogLine::SetQuiet(bool quiet) { g_quiet.store(quiet); }

}  // namespace localrds
