#include "common/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>

#include "common/time_util.h"
#include "common/utf8.h"

namespace localrds {
namespace {
std::mutex g_log_mutex;
std::atomic<bool> g_quiet{false};
}  // namespace

LogLine::LogLine(const char* component) {
  out_ << FormatIso8601(NowMs(), true) << " [" << component << "] ";
}

namespace {
// The line as written: every control character (C0, DEL, C1) and every byte that is not
// well-formed UTF-8 escaped as \n, \r, \t or \xNN (\u0085 for C1), the rest as it is.
std::string OneLine(std::string_view text) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size() + 1);
  for (size_t i = 0; i < text.size();) {
    char32_t cp;
    size_t n = DecodeUtf8(text, i, &cp);
    if (n == 0) {
      cp = static_cast<unsigned char>(text[i]);
      n = 1;
    } else if (cp >= 0x20 && cp != 0x7f && (cp < 0x80 || cp > 0x9f)) {
      out.append(text, i, n);
      i += n;
      continue;
    }
    if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp == '\t') {
      out += "\\t";
    } else {
      out += n == 2 ? "\\u00" : "\\x";  // a C1 control (two bytes) or a single byte
      out += kHex[(cp >> 4) & 15];
      out += kHex[cp & 15];
    }
    i += n;
  }
  out += '\n';
  return out;
}
}  // namespace

LogLine::~LogLine() {
  if (g_quiet.load()) return;
  try {
    const std::string s = OneLine(out_.str());
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

std::string LogValue(std::string_view value) {
  static constexpr std::string_view kPlain =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:/@+=,-";
  if (!value.empty() && value.size() <= 200 &&
      value.find_first_not_of(kPlain) == std::string_view::npos) {
    return std::string(value);
  }
  return Quoted(value);
}

void LogIfFailed(const Status& st, const char* component, const std::string& what) {
  if (!st.ok()) LogLine(component) << what << ": " << st.ToString();
}

void LogLine::SetQuiet(bool quiet) { g_quiet.store(quiet); }

}  // namespace localrds
