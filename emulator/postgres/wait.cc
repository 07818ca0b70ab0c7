#include "emulator/postgres/wait.h"

#include "common/poll.h"

namespace localrds {

Status WaitForAnswer(PgRuntime& runtime, const ServerSpec& spec, const std::string& sql,
                     const std::string& want, std::chrono::milliseconds timeout,
                     const std::string& what) {
  std::string last;
  bool stopped = false;
  const bool answered = PollUntil(
      [&] {
        auto v = runtime.QueryValue(spec, "postgres", sql);
        if (v.ok() && *v == want) return true;
        last = v.ok() ? *v : v.status().message();
        stopped = !runtime.IsRunning(spec);
        return stopped;
      },
      timeout, Backoff{std::chrono::milliseconds(2), std::chrono::milliseconds(20)});
  if (stopped) return Status::Internal("PostgreSQL stopped while waiting until " + what);
  if (!answered) {
    return Status::Internal("timed out waiting until " + what + " (last answer: " + last + ")");
  }
  return Status::Ok();
}

}  // namespace localrds
