// SPDX-License-Identifier: MIT
// The echo load generator: one thread, one level-triggered epoll set,
// non-blocking sockets, and nothing from weft, so that it costs the weft and
// the libevent servers the same.
#include "echo_client.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <system_error>

namespace weft_bench {
namespace {

using steady = std::chrono::steady_clock;

std::string errno_text(int e) { return std::generic_category().message(e); }

sockaddr_in loopback(std::uint16_t port) noexcept {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// connect_loopback() returns a connected socket with TCP_NODELAY, or -1 with
// errno set. The connect itself blocks (it completes into the server's
// backlog on loopback); the socket is made non-blocking afterwards.
int connect_loopback(std::uint16_t port, bool nonblocking) noexcept {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const sockaddr_in a = loopback(port);
  int rc;
  do {
    rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0 || (nonblocking && ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)) {
    const int e = errno;
    ::close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

// conn is one client connection. Its message is a fixed per-connection
// pattern whose first (up to) 8 bytes are overwritten with the round number,
// so that every round's message differs and a stale or misplaced echo fails
// the comparison.
struct conn {
  int fd = -1;
  std::uint64_t done = 0;  // completed round trips
  std::size_t sent = 0;    // bytes of the current message sent
  std::size_t got = 0;     // bytes of its echo received
  bool want_out = false;   // EPOLLOUT registered (a send would have blocked)
  steady::time_point t0;   // when the current message was first sent
  std::unique_ptr<unsigned char[]> tx, rx;
};

class load_generator {
 public:
  explicit load_generator(const echo_load_config& cfg) : cfg_(cfg), conns_(cfg.connections) {}
  ~load_generator() {
    for (conn& c : conns_) close_conn(c);
    if (ep_ >= 0) ::close(ep_);
  }
  load_generator(const load_generator&) = delete;
  load_generator& operator=(const load_generator&) = delete;

  echo_load_result run() {
    if (setup()) {
      loop();
    }
    out_.round_trips = out_.latency_ns.size();
    for (conn& c : conns_) close_conn(c);
    return std::move(out_);
  }

 private:
  bool setup() {
    ep_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) return fail("epoll_create1: " + errno_text(errno));
    out_.latency_ns.reserve(cfg_.connections * cfg_.round_trips);
    for (std::size_t i = 0; i < conns_.size(); ++i) {
      conn& c = conns_[i];
      c.tx = std::make_unique<unsigned char[]>(cfg_.size);
      c.rx = std::make_unique<unsigned char[]>(cfg_.size);
      for (std::size_t b = 0; b < cfg_.size; ++b) {
        c.tx[b] = static_cast<unsigned char>(b * 7 + i * 13 + 1);
      }
      c.fd = connect_loopback(cfg_.port, true);
      if (c.fd < 0) {
        return fail(fmt::format("connection {} to 127.0.0.1:{}: connect: {}", i, cfg_.port,
                                errno_text(errno)));
      }
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = i;
      if (::epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev) < 0) {
        return fail("epoll_ctl: " + errno_text(errno));
      }
    }
    return true;
  }

  void loop() {
    active_ = conns_.size();
    const auto start = steady::now();
    last_progress_ = start;
    end_ = start;
    for (std::size_t i = 0; i < conns_.size() && !failed_; ++i) {
      start_round(i, steady::now());
    }
    constexpr int kMaxEvents = 256;
    epoll_event evs[kMaxEvents];
    while (active_ > 0 && !failed_) {
      const int k = ::epoll_wait(ep_, evs, kMaxEvents, 100);
      if (k < 0) {
        if (errno == EINTR) continue;
        fail("epoll_wait: " + errno_text(errno));
        break;
      }
      if (k == 0) {
        const double idle = std::chrono::duration<double>(steady::now() - last_progress_).count();
        if (idle >= cfg_.idle_timeout_s) {
          fail(fmt::format("no echo for {:.0f} s; {} connections still waiting", idle, active_));
        }
        continue;
      }
      for (int j = 0; j < k && !failed_; ++j) {
        const std::size_t i = evs[j].data.u64;
        if (conns_[i].fd < 0) continue;
        if (evs[j].events & EPOLLOUT) send_some(i);
        if (conns_[i].fd >= 0 && (evs[j].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
          receive(i);
        }
      }
    }
    out_.seconds = std::chrono::duration<double>(end_ - start).count();
  }

  // start_round() stamps connection i's next message and sends it.
  void start_round(std::size_t i, steady::time_point now) {
    conn& c = conns_[i];
    std::uint64_t stamp = c.done;
    for (std::size_t b = 0; b < 8 && b < cfg_.size; ++b) {
      c.tx[b] = static_cast<unsigned char>(stamp);
      stamp >>= 8;
    }
    c.sent = 0;
    c.got = 0;
    c.t0 = now;
    send_some(i);
  }

  void send_some(std::size_t i) {
    conn& c = conns_[i];
    while (c.sent < cfg_.size) {
      const ssize_t n = ::send(c.fd, c.tx.get() + c.sent, cfg_.size - c.sent, MSG_NOSIGNAL);
      if (n > 0) {
        c.sent += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (!c.want_out) set_interest(i, EPOLLIN | EPOLLOUT);
        return;
      }
      fail(fmt::format("connection {}: send: {}", i, errno_text(errno)));
      return;
    }
    if (c.want_out) set_interest(i, EPOLLIN);
  }

  void set_interest(std::size_t i, std::uint32_t events) {
    conn& c = conns_[i];
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = i;
    if (::epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev) < 0) {
      fail("epoll_ctl: " + errno_text(errno));
      return;
    }
    c.want_out = (events & EPOLLOUT) != 0;
  }

  // receive() reads once (epoll is level-triggered: more data means another
  // event) and completes the round when the whole echo is in.
  void receive(std::size_t i) {
    conn& c = conns_[i];
    const ssize_t n = ::recv(c.fd, c.rx.get() + c.got, cfg_.size - c.got, 0);
    if (n > 0) {
      c.got += static_cast<std::size_t>(n);
      if (c.got == cfg_.size) complete(i);
      return;
    }
    if (n == 0) {
      fail(fmt::format("connection {}: the server closed it after {} round trips", i, c.done));
      return;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    fail(fmt::format("connection {}: recv: {}", i, errno_text(errno)));
  }

  void complete(std::size_t i) {
    conn& c = conns_[i];
    const auto now = steady::now();
    out_.latency_ns.push_back(
        std::chrono::duration_cast<std::chrono::nanoseconds>(now - c.t0).count());
    if (std::memcmp(c.tx.get(), c.rx.get(), cfg_.size) != 0) ++out_.mismatches;
    last_progress_ = now;
    if (++c.done == cfg_.round_trips) {
      // The server sees EOF and ends that connection (close_at_end: once
      // all are done; until then it leaves the epoll set).
      if (!cfg_.close_at_end) {
        close_conn(c);
      } else if (::epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr) < 0) {
        fail("epoll_ctl: " + errno_text(errno));
      }
      --active_;
      end_ = now;
      return;
    }
    start_round(i, now);
  }

  static void close_conn(conn& c) noexcept {
    if (c.fd >= 0) ::close(c.fd);
    c.fd = -1;
  }

  bool fail(std::string why) {
    if (!failed_) out_.error = std::move(why);
    failed_ = true;
    return false;
  }

  echo_load_config cfg_;
  std::vector<conn> conns_;
  int ep_ = -1;
  std::size_t active_ = 0;
  bool failed_ = false;
  steady::time_point last_progress_, end_;
  echo_load_result out_;
};

}  // namespace

echo_load_result run_echo_load(const echo_load_config& cfg) { return load_generator(cfg).run(); }

}  // namespace weft_bench
