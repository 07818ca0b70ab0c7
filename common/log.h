// A tiny line logger: `LogLine() << "created " << id;` writes one timestamped line to stderr when
// the temporary dies. Thread-safe (one mutex around the write); never throws.
#pragma once

#include <sstream>
#include <string>
#include <string_view>

#include "common/status.h"

namespace localrds {

class LogLine {
 public:
  explicit LogLine(const char* component = "localrds");
  ~LogLine();
  LogLine(const LogLine&) = delete;
  LogLine& operator=(const LogLine&) = delete;

  template <class T>
  LogLine& operator<<(const T& v) {
    out_ << v;
    return *this;
  }

  //! Silences all log output (unit tests).
  static void SetQuiet(bool quiet);

 private:
  std::ostringstream out_;
};

//! For what is done on a best effort (a reload, a stop during clean-up): a failure is logged under
//! `component` as "<what>: <error>", never dropped silently.
void LogIfFailed(const Status& st, const char* component, const std::string& what);

//! A client-supplied value made safe for one log line: in double quotes, with quotes,
//! backslashes, control characters (newline, ESC, ...) and bytes >= 0x7f escaped (\n, \x1b),
//! cut at `max` bytes ("..." after the quote). A client can then neither end the line nor send
//! escape sequences to the operator's terminal.
std::string Quoted(std::string_view value, size_t max = 200);

}  // namespace localrds
