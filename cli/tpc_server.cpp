// SPDX-License-Identifier: MIT
// The thread-per-connection echo server (tpc_server.hpp): nothing from weft,
// only the libc calls a blocking server makes.
#include "tpc_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <system_error>
#include <utility>

#include "bench_common.hpp"

namespace weft_bench {

namespace {
constexpr std::size_t kReadBuffer = 16 * 1024;

// send_all() sends n bytes (a blocking send may send less on a signal).
bool send_all(int fd, const unsigned char* p, std::size_t n) noexcept {
  while (n > 0) {
    const ssize_t k = ::send(fd, p, n, MSG_NOSIGNAL);
    if (k < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += k;
    n -= static_cast<std::size_t>(k);
  }
  return true;
}
}  // namespace

void tpc_stats::note_first_echo() noexcept {
  const std::size_t n = echoed.fetch_add(1, std::memory_order_acq_rel) + 1;
  if (sample_at != 0 && n == sample_at) {
    rss_open_kb.store(rss_kb());
    kstack_open_kb.store(kernel_stack_kb());
  }
}

void tpc_stats::note_error(std::string what) noexcept {
  try {
    std::lock_guard<std::mutex> lk(m);
    if (error.empty()) error = std::move(what);
  } catch (...) {
  }
}

int tpc_listen(std::uint16_t port, int backlog) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(fd, backlog) != 0) {
    const int e = errno;
    ::close(fd);
    throw std::system_error(e, std::generic_category(),
                            "cannot listen on 127.0.0.1:" + std::to_string(port));
  }
  return fd;
}

std::uint16_t tpc_port(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    throw std::system_error(errno, std::generic_category(), "getsockname");
  }
  return ntohs(a.sin_port);
}

void tpc_stop(int fd) noexcept { ::shutdown(fd, SHUT_RDWR); }

void tpc_echo(int fd, tpc_stats& st) noexcept {
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  unsigned char buf[kReadBuffer];
  bool first = true;
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF, or the connection failed
    if (!send_all(fd, buf, static_cast<std::size_t>(n))) break;
    if (first) {
      first = false;
      st.note_first_echo();
    }
  }
  ::close(fd);
}

}  // namespace weft_bench
