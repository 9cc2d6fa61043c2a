// SPDX-License-Identifier: MIT
// The interposed data calls: read/write families, connect, accept.
// Each is one thread-local test and a call off a fiber (for descriptors the
// hooks never touched); docs/hooks.md has the semantics kept.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "call.hpp"
#include "real.hpp"

using weft::hook::detail::call_ctx;
using weft::hook::detail::call_mode;
using weft::hook::detail::fd_kind;
using weft::hook::detail::get_errno;
using weft::hook::detail::io_dir;
using weft::hook::detail::open_call;
using weft::hook::detail::real;
using weft::hook::detail::run_io;
using weft::hook::detail::set_errno;

namespace {

// direct() is true when a call can go straight to libc: off a fiber
// (`fiber` is on_fiber(), read once per call), on a descriptor the hooks
// never made non-blocking.
inline bool direct(bool fiber) noexcept { return !fiber && !weft::hook::detail::any_tracked(); }

std::size_t iov_total(const iovec* iov, int cnt) noexcept {
  std::size_t n = 0;
  for (int i = 0; i < cnt; ++i) n += iov[i].iov_len;
  return n;
}

// write_iov() writes iov[0, cnt) with `sendv`, continuing partial writes
// while the program expects a blocking stream write to complete (libc
// blocks until every byte is written, or returns the count written before
// an error or timeout).
template <class SendV>
ssize_t write_iov(call_ctx& c, const iovec* iov, int cnt, SendV sendv) noexcept {
  auto first = [&] { return sendv(iov, cnt); };
  const ssize_t r = run_io(c, io_dir::write, first);
  if (r < 0 || c.mode != call_mode::emulate || !c.ref || !c.ref->streamy()) return r;
  const std::size_t total = iov_total(iov, cnt);
  if (static_cast<std::size_t>(r) >= total) return r;
  std::vector<iovec> rest;
  try {
    rest.assign(iov, iov + cnt);
  } catch (...) {
    return r;  // out of memory: a short write, which callers handle
  }
  std::size_t done = static_cast<std::size_t>(r);
  std::size_t at = 0;
  auto advance = [&](std::size_t k) {
    while (k > 0 && at < rest.size()) {
      const std::size_t step = std::min(k, rest[at].iov_len);
      rest[at].iov_base = static_cast<char*>(rest[at].iov_base) + step;
      rest[at].iov_len -= step;
      k -= step;
      if (rest[at].iov_len == 0) ++at;
    }
    while (at < rest.size() && rest[at].iov_len == 0) ++at;
  };
  advance(done);
  while (done < total) {
    auto more = [&] { return sendv(rest.data() + at, static_cast<int>(rest.size() - at)); };
    const ssize_t k = run_io(c, io_dir::write, more);
    if (k <= 0) break;  // the error shows on the next call, as with libc
    done += static_cast<std::size_t>(k);
    advance(static_cast<std::size_t>(k));
  }
  return static_cast<ssize_t>(done);
}

// read_all() is recv() with MSG_WAITALL on a stream socket: the kernel
// returns short reads on a non-blocking socket, so the hooks continue them.
ssize_t read_all(call_ctx& c, char* buf, std::size_t n, int flags) noexcept {
  std::size_t done = 0;
  while (done < n) {
    auto once = [&] { return real().recv(c.fd, buf + done, n - done, flags & ~MSG_WAITALL); };
    const ssize_t k = run_io(c, io_dir::read, once, n - done);
    if (k < 0) return done > 0 ? static_cast<ssize_t>(done) : -1;
    if (k == 0) break;  // EOF
    done += static_cast<std::size_t>(k);
  }
  return static_cast<ssize_t>(done);
}

bool dontwait(int flags) noexcept { return (flags & MSG_DONTWAIT) != 0; }

// drain_want() is run_io's `want` for a recv of `n` bytes: 0 (a short
// result says nothing about the queue) for a peek, urgent data, the error
// queue and MSG_TRUNC, whose results are not bytes taken from the stream.
std::size_t drain_want(int flags, std::size_t n) noexcept {
  return (flags & (MSG_PEEK | MSG_OOB | MSG_ERRQUEUE | MSG_TRUNC)) ? 0 : n;
}

}  // namespace

extern "C" {

ssize_t read(int fd, void* buf, size_t n) {
  const bool fiber = weft::hook::detail::on_fiber();
  if (direct(fiber)) return real().read(fd, buf, n);
  call_ctx c = open_call(fd, fiber);
  auto op = [&] { return real().read(fd, buf, n); };
  return run_io(c, io_dir::read, op, n);
}

ssize_t readv(int fd, const struct iovec* iov, int cnt) {
  const bool fiber = weft::hook::detail::on_fiber();
  if (direct(fiber)) return real().readv(fd, iov, cnt);
  call_ctx c = open_call(fd, fiber);
  auto op = [&] { return real().readv(fd, iov, cnt); };
  return run_io(c, io_dir::read, op, iov_total(iov, cnt));
}

ssize_t recv(int fd, void* buf, size_t n, int flags) {
  const bool fiber = weft::hook::detail::on_fiber();
  if (direct(fiber) || dontwait(flags)) return real().recv(fd, buf, n, flags);
  call_ctx c = open_call(fd, fiber);
  if ((flags & MSG_WAITALL) && c.mode == call_mode::emulate &&
      c.ref->kind == fd_kind::stream_socket) {
    return read_all(c, static_cast<char*>(buf), n, flags);
  }
  auto op = [&] { return real().recv(fd, buf, n, flags); };
  return run_io(c, io_dir::read, op, drain_want(flags, n));
}

ssize_t recvfrom(int fd, void* buf, size_t n, int flags, struct sockaddr* addr, socklen_t* len) {
  const bool fiber = weft::hook::detail::on_fiber();
  if (direct(fiber) || dontwait(flags)) return real().recvfrom(fd, buf, n, flags, addr, len);
  call_ctx c = open_call(fd, fiber);
  if ((flags & MSG_WAITALL) && !addr && c.mode == call_mode::emulate &&
      c.ref->kind == fd_kind::stream_socket) {
    return read_all(c, static_cast<char*>(buf), n, flags);
  }
  auto op = [&] { return real().recvfrom(fd, buf, n, flags, addr, len); };
  return run_io(c, io_dir::read, op, drain_want(flags, n));
}

ssize_t recvmsg(int fd, struct msghdr* msg, int flags) {
  const bool fiber = weft::hook::detail::on_fiber();
  if (direct(fiber) || dontwait(flags)) return real().recvmsg(fd, msg, flags);
  call_ctx c = open_call(fd, fiber);
  auto op = [&] { return real().recvmsg(fd, msg, flags); };
  return run_io(c, io_dir::read, op);
}

ssize_t write(int fd, const void* buf, size_t n) {
  const bool fiber = weft::hook::detail::on_fiber();
  if (direct(fiber)) return real().write(fd, buf, n);
  call_ctx c = open_call(fd, fiber);
  iovec one{const_cast<void*>(buf), n};
  return write_iov(c, &one, 1,
                   [&](const iovec* v, int) { return real().write(fd, v->iov_base, v->iov_len); });
}

ssize_t writev(int fd, const struct iovec* iov, int cnt) {
  const bool fiber = weft::hook::detail::on_fiber();
  if (direct(fiber)) return real().writev(fd, iov, cnt);
  call_ctx c = open_call(fd, fiber);
  return write_iov(c, iov, cnt, [&](const iovec* v, int k) { return real().writev(fd, v, k); });
}

ssize_t send(int fd, const void* buf, size_t n, int flags) {
  const bool fiber = weft::hook::detail::on_fiber();
  if (direct(fiber) || dontwait(flags)) return real().send(fd, buf, n, flags);
  call_ctx c = open_call(fd, fiber);
  iovec one{const_cast<void*>(buf), n};
  return write_iov(c, &one, 1, [&](const iovec* v, int) {
    return real().send(fd, v->iov_base, v->iov_len, flags);
  });
}

ssize_t sendto(int fd, const void* buf, size_t n, int flags, const struct sockaddr* addr,
               socklen_t len) {
  const bool fiber = weft::hook::detail::on_fiber();
  if (direct(fiber) || dontwait(flags)) return real().sendto(fd, buf, n, flags, addr, len);
  call_ctx c = open_call(fd, fiber);
  iovec one{const_cast<void*>(buf), n};
  return write_iov(c, &one, 1, [&](const iovec* v, int) {
    return real().sendto(fd, v->iov_base, v->iov_len, flags, addr, len);
  });
}

ssize_t sendmsg(int fd, const struct msghdr* msg, int flags) {
  const bool fiber = weft::hook::detail::on_fiber();
  if (direct(fiber) || dontwait(flags)) return real().sendmsg(fd, msg, flags);
  call_ctx c = open_call(fd, fiber);
  return write_iov(c, msg->msg_iov, static_cast<int>(msg->msg_iovlen), [&](const iovec* v, int k) {
    msghdr m = *msg;
    if (v != msg->msg_iov) {
      // A continuation: ancillary data went with the first part.
      m.msg_control = nullptr;
      m.msg_controllen = 0;
    }
    m.msg_iov = const_cast<iovec*>(v);
    m.msg_iovlen = static_cast<std::size_t>(k);
    return real().sendmsg(fd, &m, flags);
  });
}

int connect(int fd, const struct sockaddr* addr, socklen_t len) {
  const bool fiber = weft::hook::detail::on_fiber();
  if (direct(fiber)) return real().connect(fd, addr, len);
  call_ctx c = open_call(fd, fiber);
  if (c.mode != call_mode::emulate) {
    if (c.mode == call_mode::wait_then) c.ref.reset();
    return real().connect(fd, addr, len);
  }
  std::uint32_t snap = c.ref->src.snapshot(io_dir::write);
  if (real().connect(fd, addr, len) == 0) return 0;
  const int e = get_errno();
  if (e != EINPROGRESS) return -1;  // errno is e
  const std::int64_t deadline = weft::hook::detail::deadline_for(c, io_dir::write);
  for (;;) {
    pollfd p{fd, POLLOUT, 0};
    if (real().poll(&p, 1, 0) > 0) break;
    if (const int w = weft::hook::detail::wait_ready(c, io_dir::write, snap, deadline)) {
      // SO_SNDTIMEO passing: Linux's blocking connect fails with EINPROGRESS.
      set_errno(w == EAGAIN ? EINPROGRESS : w);
      return -1;
    }
    if (!c.ref) return -1;  // out of memory renewing the entry (errno ENOMEM next time)
    snap = c.ref->src.snapshot(io_dir::write);
  }
  int err = 0;
  socklen_t el = sizeof err;
  if (real().getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0) return -1;
  if (err != 0) {
    set_errno(err);
    return -1;
  }
  return 0;
}

int accept4(int fd, struct sockaddr* addr, socklen_t* len, int flags) {
  const bool fiber = weft::hook::detail::on_fiber();
  if (direct(fiber)) return real().accept4(fd, addr, len, flags);
  call_ctx c = open_call(fd, fiber);
  // On a fiber the new socket is born non-blocking in the kernel, and the
  // program's view (SOCK_NONBLOCK or not) is recorded.
  const int kflags = c.fiber ? (flags | SOCK_NONBLOCK) : flags;
  auto op = [&] { return static_cast<ssize_t>(real().accept4(fd, addr, len, kflags)); };
  const int nfd = static_cast<int>(run_io(c, io_dir::read, op));
  if (nfd >= 0 && c.fiber) {
    weft::hook::detail::track_new(nfd, fd_kind::stream_socket, (flags & SOCK_NONBLOCK) != 0);
  }
  return nfd;
}

int accept(int fd, struct sockaddr* addr, socklen_t* len) { return accept4(fd, addr, len, 0); }

// _FORTIFY_SOURCE's checked variants: the check, then the hook.
[[noreturn]] void __chk_fail(void);

ssize_t __read_chk(int fd, void* buf, size_t n, size_t buflen) {
  if (n > buflen) __chk_fail();
  return read(fd, buf, n);
}

ssize_t __recv_chk(int fd, void* buf, size_t n, size_t buflen, int flags) {
  if (n > buflen) __chk_fail();
  return recv(fd, buf, n, flags);
}

ssize_t __recvfrom_chk(int fd, void* buf, size_t n, size_t buflen, int flags, struct sockaddr* addr,
                       socklen_t* len) {
  if (n > buflen) __chk_fail();
  return recvfrom(fd, buf, n, flags, addr, len);
}

}  // extern "C"
