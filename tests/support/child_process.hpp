// SPDX-License-Identifier: MIT
// Death tests without a death-test framework: Catch2 has none, so a test
// forks and re-executes its own binary with a mode in the environment; the
// child runs one hidden test case that acts on the mode and dies (or
// exits). The parent reads how it ended and what it wrote on stderr.
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace weft_test {

// child_end is how a child process ended.
struct child_end {
  bool signalled = false;
  int signal = 0;
  int exit_code = -1;
  std::string stderr_text;
};

// run_child() re-executes this test binary running only the test case
// `child_case`, with `env_key`=`mode` in its environment; returns how it
// ended and its stderr.
inline child_end run_child(const char* child_case, const char* env_key, const std::string& mode) {
  child_end d;
  int fds[2];
  if (::pipe(fds) != 0) return d;
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    ::dup2(fds[1], 2);
    ::close(fds[1]);
    const int devnull = ::open("/dev/null", O_WRONLY);
    if (devnull >= 0) ::dup2(devnull, 1);
    ::setenv(env_key, mode.c_str(), 1);
    ::execl("/proc/self/exe", "weft_test_child", child_case, static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[1]);
  char buf[512];
  for (;;) {
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    d.stderr_text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  if (pid > 0 && ::waitpid(pid, &status, 0) == pid) {
    d.signalled = WIFSIGNALED(status);
    if (d.signalled) d.signal = WTERMSIG(status);
    if (WIFEXITED(status)) d.exit_code = WEXITSTATUS(status);
  }
  return d;
}

}  // namespace weft_test
