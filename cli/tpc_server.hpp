// SPDX-License-Identifier: MIT
// The thread-per-connection echo server of `echo --hooked` and `conns`:
// plain POSIX socket/bind/listen/accept/recv/send, written the way blocking
// code is written for one OS thread per connection. serve_tpc() takes how
// each connection's handler is started: std::thread (conns' impl=threads)
// or weft::spawn, whose fibers make the very same calls through weft::hook
// (impl=weft-hook), which parks them on weft's reactor.
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <mutex>
#include <string>
#include <type_traits>
#include <vector>

namespace weft_bench {

// tpc_stats is what a serve_tpc() loop reports.
struct tpc_stats {
  // sample_at: once this many handlers have echoed their first message,
  // the handler that completes the count reads VmRSS into rss_open_kb and
  // /proc/meminfo's KernelStack into kstack_open_kb (conns: the client
  // keeps every connection open until all are done, so every handler is
  // alive then). 0: never.
  std::size_t sample_at = 0;
  std::atomic<std::size_t> echoed{0};
  std::atomic<std::int64_t> rss_open_kb{-1};
  std::atomic<std::int64_t> kstack_open_kb{-1};
  std::atomic<std::size_t> accepted{0};
  std::mutex m;
  std::string error;  // the first accept or launch failure (guarded by m)

  void note_first_echo() noexcept;
  void note_error(std::string what) noexcept;
};

// tpc_listen() opens a listening TCP socket on 127.0.0.1:port (0: any free
// port) with the given backlog. Throws std::system_error (e.g. port in use).
int tpc_listen(std::uint16_t port, int backlog);
// tpc_port() is the port a listening socket got.
std::uint16_t tpc_port(int fd);
// tpc_stop() ends a serve_tpc() loop from any thread: shutdown(2) of the
// listening socket makes a blocked accept() fail with EINVAL (the usual way
// to stop a blocking accept loop; on a fiber the hang-up also wakes the
// parked accept).
void tpc_stop(int fd) noexcept;
// tpc_echo() echoes whatever arrives on connection `fd` until EOF or an
// error (16 KiB reads, as echo's other servers), then closes it.
void tpc_echo(int fd, tpc_stats& st) noexcept;

// serve_tpc() accepts connections on `lfd` until tpc_stop(), starts
// tpc_echo(fd, st) for each with launch(fd) (which returns a handle with
// join(): a std::thread, a weft::join_handle<void>), then joins them all.
// A failed launch (no more threads) closes that connection and is kept in
// st.error; the client then fails the run.
template <class Launch>
void serve_tpc(int lfd, tpc_stats& st, Launch&& launch) {
  std::vector<std::invoke_result_t<Launch&, int>> conns;
  for (;;) {
    const int fd = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      const int e = errno;
      if (e == EINTR || e == ECONNABORTED) continue;
      if (e != EINVAL) st.note_error("accept: " + std::string(std::strerror(e)));
      break;  // EINVAL: tpc_stop()
    }
    st.accepted.fetch_add(1, std::memory_order_relaxed);
    try {
      conns.push_back(launch(fd));
    } catch (const std::exception& ex) {
      ::close(fd);
      st.note_error(std::string("cannot start a connection handler: ") + ex.what());
    }
  }
  for (auto& c : conns) c.join();
}

}  // namespace weft_bench
