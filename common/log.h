// A tiny line logger: `LogLine() << "created " << id;` writes one timestamped line to stderr when
// the temporary dies. Thread-safe (one mutex around the write); never throws.
#pragma once

#include <sstream>
#include <string>

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

}  // namespace localrds
