// A tiny line logger: `LogLine() << "created " << id;` writes one timestamped line to stderr when
// the temporary dies. One line always: control characters in what was streamed (a newline, ESC)
// are written escaped (\n, \x1b), as are bytes that are not UTF-8, so nothing streamed into a
// line can start another or reach the operator's terminal as an escape sequence. Thread-safe
// (one mutex around the write); never throws.
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

//! A client-supplied token (an action, an identifier) for a `key=value` log field: as it is when
//! it is a plain token (letters, digits, `._:/@+=,-`, up to 200 bytes), else Quoted, so a value
//! can never pose as another field.
std::string LogValue(std::string_view value);

}  // namespace localrds
