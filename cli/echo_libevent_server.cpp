// SPDX-License-Identifier: MIT
// The raw-libevent echo server of the echo workload (docs/benchmarks.md's
// baseline). Each thread runs its own event_base with locking off
// (EVENT_BASE_FLAG_NOLOCK: no libevent call crosses threads; a pipe per loop
// carries handed-over sockets and the stop request). A connection is one
// persistent EV_READ event whose callback reads once into the loop's buffer
// and writes the bytes straight back; only a short write parks the rest in
// the connection and switches it to EV_WRITE until drained. This file is the
// one place in cli/ that includes <event2/...>: a baseline of raw libevent
// cannot avoid it, and nothing of it reaches weft's headers.
#include "echo_libevent_server.hpp"

#include <arpa/inet.h>
#include <event2/event.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>
#include <thread>
#include <unordered_set>
#include <vector>

namespace weft_bench {
namespace {

// kReadBuffer is the most one read takes (the weft server reads into a
// buffer of the same size).
constexpr std::size_t kReadBuffer = 16 * 1024;
constexpr int kStop = -1;  // sent through a loop's pipe instead of a socket

[[noreturn]] void throw_errno(int e, const std::string& what) {
  throw std::system_error(e, std::generic_category(), what);
}

struct event_loop;

// connection is one accepted socket, owned by the loop that serves it.
struct connection {
  int fd = -1;
  event* ev = nullptr;
  event_loop* loop = nullptr;
  std::vector<unsigned char> pending;  // unsent echo after a short write
  std::size_t pending_off = 0;
};

// event_loop is one thread with its event_base.
struct event_loop {
  event_base* base = nullptr;
  int ctl[2] = {-1, -1};  // pipe: accepted sockets (ints) or kStop
  event* ctl_ev = nullptr;
  std::unordered_set<connection*> conns;
  unsigned char buf[kReadBuffer];
  std::thread thread;
};

void close_connection(connection* c) noexcept {
  event_free(c->ev);
  ::close(c->fd);
  c->loop->conns.erase(c);
  delete c;
}

void on_connection(evutil_socket_t fd, short what, void* arg);

// watch() (re)arms c's event for `what` (EV_READ or EV_WRITE).
bool watch(connection* c, short what) noexcept {
  if (c->ev && event_del(c->ev) == 0 &&
      event_assign(c->ev, c->loop->base, c->fd, what | EV_PERSIST, on_connection, c) == 0 &&
      event_add(c->ev, nullptr) == 0) {
    return true;
  }
  close_connection(c);
  return false;
}

// flush() writes what a short write left; false when the connection is
// still blocked or was closed.
bool flush(connection* c) noexcept {
  while (c->pending_off < c->pending.size()) {
    const ssize_t n = ::send(c->fd, c->pending.data() + c->pending_off,
                             c->pending.size() - c->pending_off, MSG_NOSIGNAL);
    if (n > 0) {
      c->pending_off += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return false;
    } else {
      close_connection(c);
      return false;
    }
  }
  c->pending.clear();
  c->pending_off = 0;
  return true;
}

void on_connection(evutil_socket_t fd, short what, void* arg) {
  auto* c = static_cast<connection*>(arg);
  if (what & EV_WRITE) {
    if (flush(c)) watch(c, EV_READ);
    return;
  }
  unsigned char* buf = c->loop->buf;
  const ssize_t n = ::recv(fd, buf, kReadBuffer, 0);
  if (n > 0) {
    ssize_t w = ::send(fd, buf, static_cast<std::size_t>(n), MSG_NOSIGNAL);
    if (w == n) return;
    if (w < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        close_connection(c);
        return;
      }
      w = 0;
    }
    c->pending.assign(buf + w, buf + n);
    c->pending_off = 0;
    watch(c, EV_WRITE);
    return;
  }
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
  close_connection(c);  // EOF or error
}

void add_connection(event_loop* l, int fd) noexcept {
  auto* c = new (std::nothrow) connection;
  if (!c) {
    ::close(fd);
    return;
  }
  c->fd = fd;
  c->loop = l;
  c->ev = event_new(l->base, fd, EV_READ | EV_PERSIST, on_connection, c);
  if (!c->ev || event_add(c->ev, nullptr) != 0) {
    if (c->ev) event_free(c->ev);
    ::close(fd);
    delete c;
    return;
  }
  l->conns.insert(c);
}

void on_control(evutil_socket_t fd, short, void* arg) {
  auto* l = static_cast<event_loop*>(arg);
  int msgs[64];
  for (;;) {
    const ssize_t n = ::read(fd, msgs, sizeof msgs);
    if (n <= 0) return;  // drained (EAGAIN) or the pipe is gone
    for (std::size_t i = 0; i < static_cast<std::size_t>(n) / sizeof(int); ++i) {
      if (msgs[i] == kStop) {
        event_base_loopbreak(l->base);
      } else {
        add_connection(l, msgs[i]);
      }
    }
  }
}

}  // namespace

struct libevent_echo_server::impl {
  int lfd = -1;
  std::uint16_t port = 0;
  event* accept_ev = nullptr;
  std::vector<std::unique_ptr<event_loop>> loops;
  std::size_t next = 0;  // round-robin hand-out
  bool running = false;

  ~impl() {
    stop();
    for (auto& l : loops) {
      for (connection* c : std::vector<connection*>(l->conns.begin(), l->conns.end())) {
        close_connection(c);
      }
      if (l->ctl_ev) event_free(l->ctl_ev);
      for (int fd : l->ctl) {
        if (fd >= 0) ::close(fd);
      }
    }
    if (accept_ev) event_free(accept_ev);
    for (auto& l : loops) {
      if (l->base) event_base_free(l->base);
    }
    if (lfd >= 0) ::close(lfd);
  }

  void stop() noexcept {
    if (!running) return;
    running = false;
    for (auto& l : loops) {
      const int msg = kStop;
      while (::write(l->ctl[1], &msg, sizeof msg) < 0 && errno == EINTR) {
      }
    }
    for (auto& l : loops) {
      if (l->thread.joinable()) l->thread.join();
    }
  }

  // on_accept() runs on loop 0: accepts everything pending and hands the
  // sockets out round-robin (loop 0 keeps its share directly).
  static void on_accept(evutil_socket_t lfd, short, void* arg) {
    auto* self = static_cast<impl*>(arg);
    for (;;) {
      const int fd = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;  // EAGAIN, or an error that the next event retries
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      event_loop* l = self->loops[self->next++ % self->loops.size()].get();
      if (l == self->loops[0].get()) {
        add_connection(l, fd);
      } else if (::write(l->ctl[1], &fd, sizeof fd) != static_cast<ssize_t>(sizeof fd)) {
        ::close(fd);
      }
    }
  }
};

std::unique_ptr<libevent_echo_server> libevent_echo_server::start(int threads, std::uint16_t port) {
  auto p = std::make_unique<impl>();
  const std::size_t n = threads < 1 ? 1 : static_cast<std::size_t>(threads);

  p->lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (p->lfd < 0) throw_errno(errno, "libevent echo server: socket");
  const int one = 1;
  ::setsockopt(p->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(p->lfd, reinterpret_cast<const sockaddr*>(&a), sizeof a) < 0) {
    throw_errno(errno, fmt::format("libevent echo server: bind 127.0.0.1:{}", port));
  }
  if (::listen(p->lfd, 1024) < 0) throw_errno(errno, "libevent echo server: listen");
  socklen_t len = sizeof a;
  if (::getsockname(p->lfd, reinterpret_cast<sockaddr*>(&a), &len) < 0) {
    throw_errno(errno, "libevent echo server: getsockname");
  }
  p->port = ntohs(a.sin_port);

  for (std::size_t i = 0; i < n; ++i) {
    auto l = std::make_unique<event_loop>();
    event_config* cfg = event_config_new();
    if (!cfg) throw_errno(ENOMEM, "libevent echo server: event_config_new");
    event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK);
    l->base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    if (!l->base) throw_errno(ENOMEM, "libevent echo server: event_base_new_with_config");
    if (::pipe2(l->ctl, O_NONBLOCK | O_CLOEXEC) < 0) {
      throw_errno(errno, "libevent echo server: pipe2");
    }
    l->ctl_ev = event_new(l->base, l->ctl[0], EV_READ | EV_PERSIST, on_control, l.get());
    if (!l->ctl_ev || event_add(l->ctl_ev, nullptr) != 0) {
      throw_errno(ENOMEM, "libevent echo server: event_add");
    }
    p->loops.push_back(std::move(l));
  }
  p->accept_ev =
      event_new(p->loops[0]->base, p->lfd, EV_READ | EV_PERSIST, impl::on_accept, p.get());
  if (!p->accept_ev || event_add(p->accept_ev, nullptr) != 0) {
    throw_errno(ENOMEM, "libevent echo server: event_add");
  }
  p->running = true;
  for (auto& l : p->loops) {
    event_base* base = l->base;
    l->thread = std::thread([base] { event_base_dispatch(base); });
  }
  return std::unique_ptr<libevent_echo_server>(new libevent_echo_server(std::move(p)));
}

libevent_echo_server::libevent_echo_server(std::unique_ptr<impl> p) noexcept
    : impl_(std::move(p)) {}

libevent_echo_server::~libevent_echo_server() = default;

std::uint16_t libevent_echo_server::port() const noexcept { return impl_->port; }

void libevent_echo_server::stop() noexcept { impl_->stop(); }

}  // namespace weft_bench
