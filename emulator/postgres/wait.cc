#include "emulator/postgres/wait.h"

#include "common/poll.h"

namespace localrds {

Status WaitForAnswer(PgRuntime& runtime, const ServerSpec& spec, const std::string& sql,
                     const std::string& want, std::chrono::milliseconds timeout,
                     const std::string& what, const ServerSpec* primary) {
  std::string last;
  bool stopped = false, primary_stopped = false;
  const bool answered = PollUntil(
      [&] {
        auto v = runtime.QueryValue(spec, "postgres", sql);
        if (v.ok() && *v == want) return true;
        last = v.ok() ? *v : v.status().message();
        stopped = !runtime.IsRunning(spec);
        primary_stopped = primary && !runtime.IsRunning(*primary);
        return stopped || primary_stopped;
      },
      timeout, Backoff{std::chrono::milliseconds(2), std::chrono::milliseconds(20)});
  if (stopped) return Status::Internal("PostgreSQL stopped while waiting until " + what);
  if (primary_stopped) {
    return Status::Internal("the primary's PostgreSQL stopped while waiting until " + what);
  }
  if (!answered) {
    return Status::Internal("timed out waiting until " + what + " (last answer: " + last + ")");
  }
  return Status::Ok();
}

}  // namespace localrds
