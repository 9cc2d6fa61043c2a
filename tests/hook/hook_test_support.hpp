// SPDX-License-Identifier: MIT
// Helpers of the weft::hook tests: plain POSIX sockets on loopback, and a
// way to run the same call on a fiber and on a plain thread.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "net/net_test_support.hpp"
#include "weft/hook.hpp"

namespace hook_test {

// outcome is what a libc call returned, and errno when it failed.
struct outcome {
  long ret = 0;
  int err = 0;
  bool operator==(const outcome& o) const { return ret == o.ret && (ret >= 0 || err == o.err); }
};

inline std::string describe(const outcome& o) {
  return "ret=" + std::to_string(o.ret) +
         (o.ret < 0 ? " errno=" + std::string(strerrorname_np(o.err) ? strerrorname_np(o.err) : "?")
                    : "");
}

// result_of() captures `r` and errno right after a call.
inline outcome result_of(long r) { return outcome{r, r < 0 ? errno : 0}; }

// on_plain_thread() runs `f` on a new std::thread (no runtime).
inline outcome on_plain_thread(const std::function<outcome()>& f) {
  outcome o;
  std::thread t([&] { o = f(); });
  t.join();
  return o;
}

// on_fiber() runs `f` on a fiber of a fresh runtime with `workers`.
inline outcome on_fiber(const std::function<outcome()>& f, int workers = 2) {
  auto rt = weft_test::make_runtime(workers);
  return rt.block_on([&] { return weft::spawn(f).join(); });
}

// kernel_flags() reads F_GETFL past the hooks (the raw syscall).
inline int kernel_flags(int fd) { return static_cast<int>(::syscall(SYS_fcntl, fd, F_GETFL)); }

// stream_pair() is a connected AF_UNIX stream socket pair.
inline std::pair<int, int> stream_pair() {
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  return {sv[0], sv[1]};
}

// close_pairs() closes both ends of every pair.
inline void close_pairs(const std::vector<std::pair<int, int>>& pairs) {
  for (const auto& p : pairs) {
    ::close(p.first);
    ::close(p.second);
  }
}

// listen_loopback() is a listening TCP socket on 127.0.0.1 and its port.
inline std::pair<int, int> listen_loopback() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(fd, 4096) == 0);
  socklen_t len = sizeof a;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  return {fd, ntohs(a.sin_port)};
}

inline sockaddr_in loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  return a;
}

// free_port() is a loopback TCP port nobody listens on.
inline int free_port() {
  auto [fd, port] = listen_loopback();
  ::close(fd);
  return port;
}

// raise_fd_limit() lifts the soft RLIMIT_NOFILE to `want` (or the hard
// limit); returns the limit in force.
inline rlim_t raise_fd_limit(rlim_t want) {
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < want) {
    rl.rlim_cur = std::min(want, rl.rlim_max);
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  return rl.rlim_cur;
}

}  // namespace hook_test
