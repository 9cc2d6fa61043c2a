// SPDX-License-Identifier: MIT
// The interposed descriptor calls: creation (socket, socketpair, pipe,
// pipe2, eventfd), close, dup, fcntl, ioctl(FIONBIO), setsockopt. They keep
// the program's view of each descriptor in the table (fd_table.hpp) while
// the kernel description of a descriptor a fiber uses stays non-blocking.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdarg>

#include "call.hpp"
#include "real.hpp"

using weft::hook::detail::any_tracked;
using weft::hook::detail::fd_kind;
using weft::hook::detail::fd_ref;
using weft::hook::detail::find;
using weft::hook::detail::on_fiber;
using weft::hook::detail::real;
using weft::hook::detail::retire;
using weft::hook::detail::track_new;

namespace {

fd_kind socket_kind(int type) noexcept {
  switch (type & 0xf) {
    case SOCK_DGRAM:
    case SOCK_RAW:
    case SOCK_RDM:
      return fd_kind::dgram_socket;
    default:
      return fd_kind::stream_socket;
  }
}

// forget_stale() drops an entry left for a number the kernel just handed
// out again (its old descriptor was closed behind the hooks' back, e.g. by
// glibc itself): the new descriptor is untracked until a fiber uses it.
inline void forget_stale(int fd) noexcept {
  if (fd >= 0 && any_tracked()) retire(fd);
}

// after_dup() records `to` as a copy of `from` (same file description).
void after_dup(int from, int to) noexcept {
  if (to < 0) return;
  if (fd_ref src = find(from)) {
    fd_ref keep = std::move(src);
    weft::hook::detail::track_dup(*keep, to);
  } else {
    forget_stale(to);
  }
}

// dup_onto() runs `dup` (dup2 or dup3 of `from` onto `to`). The kernel
// closes `to` first: its entry is retired before the number changes hands
// (unless `from` is invalid, when `to` stays untouched).
template <class Dup>
int dup_onto(int from, int to, Dup dup) noexcept {
  if (from != to && any_tracked()) {
    if (real().fcntl(from, F_GETFD) < 0) return -1;  // EBADF, as the kernel says
    retire(to);
  }
  const int r = dup();
  if (r >= 0 && from != to && any_tracked()) after_dup(from, r);
  return r;
}

// opened() is the tail of every descriptor-creating call the hooks pass
// straight to libc (open, openat, fopen, epoll_create1, ...): a number the
// kernel hands out again must not keep a stale entry.
inline int opened(int fd) noexcept {
  forget_stale(fd);
  return fd;
}

// MODE_ARG reads open()'s optional mode (present with O_CREAT/O_TMPFILE).
#define WEFT_HOOK_MODE_ARG(flags, mode)  \
  mode_t mode = 0;                       \
  if ((flags) & (O_CREAT | O_TMPFILE)) { \
    va_list ap;                          \
    va_start(ap, flags);                 \
    mode = va_arg(ap, mode_t);           \
    va_end(ap);                          \
  }

bool is_timeo(int level, int name, bool& rcv) noexcept {
  if (level != SOL_SOCKET) return false;
#ifdef SO_RCVTIMEO_NEW
  if (name == SO_RCVTIMEO_NEW || name == SO_RCVTIMEO_OLD) {
    rcv = true;
    return true;
  }
  if (name == SO_SNDTIMEO_NEW || name == SO_SNDTIMEO_OLD) {
    rcv = false;
    return true;
  }
  return false;
#else
  if (name == SO_RCVTIMEO || name == SO_SNDTIMEO) {
    rcv = name == SO_RCVTIMEO;
    return true;
  }
  return false;
#endif
}

int fcntl_impl(int (*realf)(int, int, ...), int fd, int cmd, unsigned long arg) {
  switch (cmd) {
    case F_GETFL: {
      const int r = realf(fd, cmd);
      if (r < 0 || !any_tracked()) return r;
      fd_ref ref = find(fd);
      if (!ref || !ref->managed) return r;
      return (r & ~O_NONBLOCK) | (ref->user_nonblock() ? O_NONBLOCK : 0);
    }
    case F_SETFL: {
      fd_ref ref = any_tracked() ? find(fd) : fd_ref();
      if (!ref || !ref->managed) return realf(fd, cmd, arg);
      const int r = realf(fd, cmd, arg | O_NONBLOCK);
      if (r == 0) ref->set_user_nonblock((arg & O_NONBLOCK) != 0);
      return r;
    }
    case F_DUPFD:
    case F_DUPFD_CLOEXEC: {
      const int r = realf(fd, cmd, arg);
      after_dup(fd, r);
      return r;
    }
    default:
      return realf(fd, cmd, arg);
  }
}

}  // namespace

extern "C" {

int socket(int domain, int type, int protocol) noexcept {
  if (!on_fiber()) {
    return opened(real().socket(domain, type, protocol));
  }
  const int fd = real().socket(domain, type | SOCK_NONBLOCK, protocol);
  if (fd >= 0) track_new(fd, socket_kind(type), (type & SOCK_NONBLOCK) != 0);
  return fd;
}

int socketpair(int domain, int type, int protocol, int sv[2]) noexcept {
  if (!on_fiber()) {
    const int r = real().socketpair(domain, type, protocol, sv);
    if (r == 0) {
      forget_stale(sv[0]);
      forget_stale(sv[1]);
    }
    return r;
  }
  const int r = real().socketpair(domain, type | SOCK_NONBLOCK, protocol, sv);
  if (r == 0) {
    track_new(sv[0], socket_kind(type), (type & SOCK_NONBLOCK) != 0);
    track_new(sv[1], socket_kind(type), (type & SOCK_NONBLOCK) != 0);
  }
  return r;
}

int pipe2(int fds[2], int flags) noexcept {
  if (!on_fiber()) {
    const int r = real().pipe2(fds, flags);
    if (r == 0) {
      forget_stale(fds[0]);
      forget_stale(fds[1]);
    }
    return r;
  }
  const int r = real().pipe2(fds, flags | O_NONBLOCK);
  if (r == 0) {
    track_new(fds[0], fd_kind::pipe, (flags & O_NONBLOCK) != 0);
    track_new(fds[1], fd_kind::pipe, (flags & O_NONBLOCK) != 0);
  }
  return r;
}

int pipe(int fds[2]) noexcept { return pipe2(fds, 0); }

int eventfd(unsigned initval, int flags) noexcept {
  if (!on_fiber()) {
    return opened(real().eventfd(initval, flags));
  }
  const int fd = real().eventfd(initval, flags | EFD_NONBLOCK);
  if (fd >= 0) track_new(fd, fd_kind::pollable, (flags & EFD_NONBLOCK) != 0);
  return fd;
}

int close(int fd) {
  // Retire first: fibers parked on fd wake with EBADF, and the number is
  // not reused before no hooked operation is inside it.
  if (any_tracked()) retire(fd);
  return real().close(fd);
}

int close_range(unsigned first, unsigned last, int flags) noexcept {
  if (any_tracked() && !(flags & CLOSE_RANGE_CLOEXEC)) {
    weft::hook::detail::retire_range(first, last);
  }
  return real().close_range(first, last, flags);
}

int fclose(FILE* f) {
  if (f && any_tracked()) {
    const int fd = fileno(f);
    if (fd >= 0) retire(fd);
  }
  return real().fclose(f);
}

// Descriptors made by calls the hooks do not otherwise touch: a number the
// kernel hands out again must not keep a stale entry (its old descriptor
// was closed behind the hooks' back, e.g. by glibc or a sanitizer's raw
// close). They stay untracked until a fiber uses them.
int open(const char* path, int flags, ...) {
  WEFT_HOOK_MODE_ARG(flags, mode)
  return opened(real().open(path, flags, mode));
}

int open64(const char* path, int flags, ...) {
  WEFT_HOOK_MODE_ARG(flags, mode)
  return opened(real().open64(path, flags, mode));
}

int openat(int dir, const char* path, int flags, ...) {
  WEFT_HOOK_MODE_ARG(flags, mode)
  return opened(real().openat(dir, path, flags, mode));
}

int openat64(int dir, const char* path, int flags, ...) {
  WEFT_HOOK_MODE_ARG(flags, mode)
  return opened(real().openat64(dir, path, flags, mode));
}

FILE* fopen(const char* path, const char* mode) {
  FILE* f = real().fopen(path, mode);
  if (f) opened(fileno(f));
  return f;
}

FILE* fopen64(const char* path, const char* mode) {
  FILE* f = real().fopen64(path, mode);
  if (f) opened(fileno(f));
  return f;
}

int epoll_create1(int flags) noexcept { return opened(real().epoll_create1(flags)); }

int shutdown(int fd, int how) noexcept { return real().shutdown(fd, how); }

int dup(int fd) noexcept {
  const int r = real().dup(fd);
  if (r >= 0 && any_tracked()) after_dup(fd, r);
  return r;
}

int dup2(int from, int to) noexcept {
  return dup_onto(from, to, [&] { return real().dup2(from, to); });
}

int dup3(int from, int to, int flags) noexcept {
  return dup_onto(from, to, [&] { return real().dup3(from, to, flags); });
}

int fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  const unsigned long arg = va_arg(ap, unsigned long);
  va_end(ap);
  return fcntl_impl(real().fcntl, fd, cmd, arg);
}

int fcntl64(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  const unsigned long arg = va_arg(ap, unsigned long);
  va_end(ap);
  return fcntl_impl(real().fcntl64, fd, cmd, arg);
}

int ioctl(int fd, unsigned long req, ...) noexcept {
  va_list ap;
  va_start(ap, req);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  if (req == FIONBIO && arg && any_tracked()) {
    if (fd_ref ref = find(fd); ref && ref->managed) {
      int on = 1;  // the kernel description stays non-blocking
      const int r = real().ioctl(fd, FIONBIO, &on);
      if (r == 0) ref->set_user_nonblock(*static_cast<int*>(arg) != 0);
      return r;
    }
  }
  return real().ioctl(fd, req, arg);
}

int setsockopt(int fd, int level, int name, const void* val, socklen_t len) noexcept {
  const int r = real().setsockopt(fd, level, name, val, len);
  bool rcv = false;
  if (r != 0 || !is_timeo(level, name, rcv) || !val || len < sizeof(timeval)) return r;
  fd_ref ref =
      on_fiber() ? weft::hook::detail::find_or_track(fd) : (any_tracked() ? find(fd) : fd_ref());
  if (!ref) return r;
  const auto* tv = static_cast<const timeval*>(val);
  const std::int64_t ns = tv->tv_sec * 1000000000LL + tv->tv_usec * 1000LL;
  (rcv ? ref->rcv_timeout_ns : ref->snd_timeout_ns).store(ns > 0 ? ns : 0);
  return r;
}

int getsockopt(int fd, int level, int name, void* val, socklen_t* len) noexcept {
  return real().getsockopt(fd, level, name, val, len);
}

}  // extern "C"

#undef WEFT_HOOK_MODE_ARG
