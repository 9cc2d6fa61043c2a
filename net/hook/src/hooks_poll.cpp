// SPDX-License-Identifier: MIT
// The interposed multiplexing calls: poll, ppoll, select, pselect,
// epoll_wait, epoll_pwait. On a fiber each first asks the kernel without
// waiting; if nothing is ready, the fiber parks on the reactor for every
// descriptor of the set (one waiter in each descriptor's list) and asks
// again when one of them had an edge, so the ready sets and counts are the
// kernel's own.
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <time.h>

#include <array>
#include <climits>
#include <vector>

#include "call.hpp"
#include "real.hpp"
#include "weft/fibers/detail/deadline.hpp"
#include "weft/fibers/detail/hook_support.hpp"
#include "weft/fibers/detail/io_source.hpp"
#include "weft/fibers/detail/wait_label.hpp"

using weft::hook::detail::fd_ref;
using weft::hook::detail::get_errno;
using weft::hook::detail::io_dir;
using weft::hook::detail::on_fiber;
using weft::hook::detail::real;
using weft::hook::detail::set_errno;

namespace weft::hook::detail {

namespace {
constexpr std::int64_t kNoDeadline = weft::detail::no_deadline;

std::int64_t deadline_after_ms(int ms) noexcept {
  if (ms < 0) return kNoDeadline;
  return weft::detail::deadline_after_ns(now_ns(), std::chrono::milliseconds(ms));
}

std::int64_t deadline_after_ts(const timespec* ts) noexcept {
  if (!ts) return kNoDeadline;
  return weft::detail::deadline_after_ns(
      now_ns(), std::chrono::seconds(ts->tv_sec) + std::chrono::nanoseconds(ts->tv_nsec));
}

// small_buffer holds N elements inline and more on the heap: a poll over a
// few descriptors (libpq's, libcurl's) allocates nothing.
template <class T, std::size_t N>
class small_buffer {
 public:
  // resize() makes room for n elements; false when out of memory.
  bool resize(std::size_t n) noexcept {
    if (n <= N) return true;
    try {
      heap_.resize(n);
    } catch (...) {
      return false;
    }
    p_ = heap_.data();
    return true;
  }
  T& operator[](std::size_t i) noexcept { return p_[i]; }
  T* data() noexcept { return p_; }

 private:
  std::array<T, N> inline_{};
  std::vector<T> heap_;
  T* p_ = inline_.data();
};
}  // namespace

// poll_on_fiber() is poll(2) for a fiber, with a deadline on the runtime
// clock. `sigmask` (ppoll) applies to the non-blocking checks only.
int poll_on_fiber(pollfd* fds, nfds_t n, std::int64_t deadline, const sigset_t* sigmask) noexcept {
  static const timespec zero{0, 0};
  auto check = [&] { return real().ppoll(fds, n, &zero, sigmask); };
  int r = check();
  if (r != 0) return r;
  if (deadline != kNoDeadline && deadline <= now_ns()) return 0;
  if (n == 0) {
    if (const int e = park_until(deadline)) {
      set_errno(e);
      return -1;
    }
    return 0;
  }
  small_buffer<fd_ref, 8> refs;
  small_buffer<weft::detail::io_interest, 16> items;
  if (!refs.resize(n) || !items.resize(2 * n)) {
    set_errno(ENOMEM);
    return -1;
  }
  std::size_t nrefs = 0;
  for (nfds_t i = 0; i < n; ++i) {
    if (fds[i].fd < 0) continue;
    fd_ref ref = find_or_track(fds[i].fd);
    if (ref) refresh_if_foreign(fds[i].fd, ref);  // registered with an ended runtime
    if (!ref || !ref->pollable()) {
      // Not trackable (a number past the table, a character device the
      // reactor cannot watch but poll(2) called not ready): wait in the
      // kernel, as libc does. The worker blocks here, up to the caller's
      // timeout (rare: a terminal, a serial port).
      for (std::size_t k = 0; k < nrefs; ++k) refs[k].reset();
      if (deadline == kNoDeadline) return real().ppoll(fds, n, nullptr, sigmask);
      std::int64_t left = deadline - now_ns();
      if (left < 0) left = 0;
      const timespec ts{static_cast<time_t>(left / 1000000000LL),
                        static_cast<long>(left % 1000000000LL)};
      return real().ppoll(fds, n, &ts, sigmask);
    }
    refs[nrefs++] = std::move(ref);
  }
  for (;;) {
    std::size_t nitems = 0;
    std::size_t k = 0;
    for (nfds_t i = 0; i < n; ++i) {
      if (fds[i].fd < 0) continue;
      weft::detail::io_source* src = &refs[k++]->src;
      const short ev = fds[i].events;
      const bool wants_write = (ev & (POLLOUT | POLLWRNORM | POLLWRBAND)) != 0;
      const bool wants_read = (ev & ~(POLLOUT | POLLWRNORM | POLLWRBAND)) != 0 || !wants_write;
      // Errors and hang-ups arrive as read edges as well.
      if (wants_read) items[nitems++] = {src, io_dir::read, src->snapshot(io_dir::read)};
      if (wants_write) items[nitems++] = {src, io_dir::write, src->snapshot(io_dir::write)};
    }
    r = check();
    if (r != 0) return r;
    if (deadline != kNoDeadline && deadline <= now_ns()) return 0;
    try {
      weft::detail::thread_hold hold;
      weft::detail::wait_label label("hooked poll", fds, deadline, weft::detail::wait_detail::fds,
                                     static_cast<std::int64_t>(n));
      auto w = weft::detail::wait_any(items.data(), nitems, deadline);
      if (!w) {
        if (w.error() == weft::make_error_code(weft::errc::timeout)) return check();
        set_errno(w.error().category() == std::generic_category() ? w.error().value() : ENOMEM);
        return -1;
      }
    } catch (...) {
      set_errno(cancel_errno());
      return -1;
    }
  }
}

// select_on_fiber() is pselect(2) through poll_on_fiber().
int select_on_fiber(int nfds, fd_set* rd, fd_set* wr, fd_set* ex, std::int64_t deadline,
                    const sigset_t* sigmask) noexcept {
  if (nfds < 0 || nfds > FD_SETSIZE) {
    set_errno(EINVAL);
    return -1;
  }
  std::vector<pollfd> p;
  try {
    for (int fd = 0; fd < nfds; ++fd) {
      short ev = 0;
      if (rd && FD_ISSET(fd, rd)) ev |= POLLIN;
      if (wr && FD_ISSET(fd, wr)) ev |= POLLOUT;
      if (ex && FD_ISSET(fd, ex)) ev |= POLLPRI;
      if (ev) p.push_back({fd, ev, 0});
    }
  } catch (...) {
    set_errno(ENOMEM);
    return -1;
  }
  const int r = poll_on_fiber(p.data(), p.size(), deadline, sigmask);
  if (r < 0) return -1;
  for (const pollfd& q : p) {
    if (q.revents & POLLNVAL) {
      set_errno(EBADF);
      return -1;
    }
  }
  if (rd) FD_ZERO(rd);
  if (wr) FD_ZERO(wr);
  if (ex) FD_ZERO(ex);
  int count = 0;
  for (const pollfd& q : p) {
    // select's sets, as the kernel derives them from poll's bits.
    if ((q.events & POLLIN) && (q.revents & (POLLIN | POLLHUP | POLLERR))) {
      FD_SET(q.fd, rd);
      ++count;
    }
    if ((q.events & POLLOUT) && (q.revents & (POLLOUT | POLLERR))) {
      FD_SET(q.fd, wr);
      ++count;
    }
    if ((q.events & POLLPRI) && (q.revents & POLLPRI)) {
      FD_SET(q.fd, ex);
      ++count;
    }
  }
  return count;
}

}  // namespace weft::hook::detail

using weft::hook::detail::poll_on_fiber;
using weft::hook::detail::select_on_fiber;

extern "C" {

int poll(struct pollfd* fds, nfds_t n, int timeout_ms) {
  if (timeout_ms == 0 || !on_fiber()) return real().poll(fds, n, timeout_ms);
  return poll_on_fiber(fds, n, weft::hook::detail::deadline_after_ms(timeout_ms), nullptr);
}

int ppoll(struct pollfd* fds, nfds_t n, const struct timespec* ts, const sigset_t* sigmask) {
  if ((ts && ts->tv_sec == 0 && ts->tv_nsec == 0) || !on_fiber()) {
    return real().ppoll(fds, n, ts, sigmask);
  }
  if (ts && (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000L)) {
    set_errno(EINVAL);
    return -1;
  }
  return poll_on_fiber(fds, n, weft::hook::detail::deadline_after_ts(ts), sigmask);
}

int select(int nfds, fd_set* rd, fd_set* wr, fd_set* ex, struct timeval* tv) {
  if ((tv && tv->tv_sec == 0 && tv->tv_usec == 0) || !on_fiber()) {
    return real().select(nfds, rd, wr, ex, tv);
  }
  if (tv && (tv->tv_sec < 0 || tv->tv_usec < 0)) {
    set_errno(EINVAL);
    return -1;
  }
  // Linux writes the time left back into *tv: so does the hook.
  std::int64_t deadline = weft::detail::no_deadline;
  if (tv) {
    deadline = weft::detail::deadline_after_ns(
        weft::hook::detail::now_ns(),
        std::chrono::seconds(tv->tv_sec) + std::chrono::microseconds(tv->tv_usec));
  }
  const int r = select_on_fiber(nfds, rd, wr, ex, deadline, nullptr);
  if (tv) {
    const int e = get_errno();
    std::int64_t left = deadline - weft::hook::detail::now_ns();
    if (left < 0) left = 0;
    tv->tv_sec = static_cast<time_t>(left / 1000000000LL);
    tv->tv_usec = static_cast<suseconds_t>((left % 1000000000LL) / 1000);
    set_errno(e);
  }
  return r;
}

int pselect(int nfds, fd_set* rd, fd_set* wr, fd_set* ex, const struct timespec* ts,
            const sigset_t* sigmask) {
  if ((ts && ts->tv_sec == 0 && ts->tv_nsec == 0) || !on_fiber()) {
    return real().pselect(nfds, rd, wr, ex, ts, sigmask);
  }
  if (ts && (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000L)) {
    set_errno(EINVAL);
    return -1;
  }
  return select_on_fiber(nfds, rd, wr, ex, weft::hook::detail::deadline_after_ts(ts), sigmask);
}

int epoll_pwait(int epfd, struct epoll_event* ev, int max, int timeout_ms,
                const sigset_t* sigmask) {
  if (timeout_ms == 0 || !on_fiber()) return real().epoll_pwait(epfd, ev, max, timeout_ms, sigmask);
  const std::int64_t deadline = weft::hook::detail::deadline_after_ms(timeout_ms);
  for (;;) {
    const int k = real().epoll_pwait(epfd, ev, max, 0, sigmask);
    if (k != 0) return k;  // events, or an error (EBADF, EINVAL, ...)
    // Wait for the epoll descriptor itself to become readable.
    pollfd p{epfd, POLLIN, 0};
    const int r = poll_on_fiber(&p, 1, deadline, sigmask);
    if (r <= 0) return r;
  }
}

int epoll_wait(int epfd, struct epoll_event* ev, int max, int timeout_ms) {
  return epoll_pwait(epfd, ev, max, timeout_ms, nullptr);
}

int __poll_chk(struct pollfd* fds, nfds_t n, int timeout_ms, size_t fdslen) {
  if (fdslen / sizeof(*fds) < n) {
    extern void __chk_fail(void) __attribute__((noreturn));
    __chk_fail();
  }
  return poll(fds, n, timeout_ms);
}

}  // extern "C"
