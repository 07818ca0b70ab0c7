#include "common/subprocess.h"

#include <gtest/gtest.h>

namespace localrds {

TEST(SubprocessTest, CapturesOutputAndExitCode) {
  auto r = RunCommand({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_NE(r->output.find("out"), std::string::npos);
  EXPECT_NE(r->output.find("err"), std::string::npos);
}

TEST(SubprocessTest, ATimeoutKillsTheChild) {
  CommandOptions o;
  o.timeout = std::chrono::milliseconds(200);
  auto r = RunCommand({"sleep", "30"}, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("timed out"), std::string::npos);
  // Also when the child closed its output and lingers.
  auto quiet = RunCommand({"sh", "-c", "exec >&- 2>&-; sleep 30"}, o);
  ASSERT_FALSE(quiet.ok());
  EXPECT_NE(quiet.status().message().find("timed out"), std::string::npos);
}

TEST(SubprocessTest, ChildrenInheritNoDescriptors) {
  // fd 3 and up are closed in the child: a postmaster never holds localrds' sockets.
  auto r = RunCommand({"sh", "-c", "ls /proc/self/fd | wc -l"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(std::stoi(r->output), 4);  // 0, 1, 2 and the fd ls opens to read the directory
}

TEST(SubprocessTest, ShellQuote) {
  EXPECT_EQ(ShellQuote("a b"), "'a b'");
  EXPECT_EQ(ShellQuote("it's"), "'it'\\''s'");
}

}  // namespace localrds
