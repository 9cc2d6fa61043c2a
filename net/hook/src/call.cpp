// SPDX-License-Identifier: MIT
// How a hooked call waits (call.hpp).
#include "call.hpp"

#include <errno.h>
#include <poll.h>

#include <memory>
#include <mutex>
#include <utility>

#include "real.hpp"
#include "weft/fibers/cancelled.hpp"
#include "weft/fibers/detail/core.hpp"
#include "weft/fibers/detail/deadline.hpp"
#include "weft/fibers/detail/hook_support.hpp"
#include "weft/fibers/detail/wait_label.hpp"
#include "weft/fibers/detail/waiter.hpp"
#include "weft/fibers/result.hpp"
#include "weft/fibers/spawn.hpp"
#include "weft/fibers/this_fiber.hpp"
#include "weft/fibers/time.hpp"

namespace weft::hook::detail {

__attribute__((noinline)) int get_errno() noexcept {
  asm volatile("" ::: "memory");
  return errno;
}

__attribute__((noinline)) void set_errno(int e) noexcept {
  asm volatile("" ::: "memory");
  errno = e;
}

bool on_fiber() noexcept { return weft::detail::hooks_apply(); }

std::int64_t now_ns() noexcept { return weft::detail::runtime_now_ns(); }

int cancel_errno() noexcept {
  try {
    throw;
  } catch (const weft::cancelled& c) {
    weft::detail::defer_cancelled(c);
    return c.from_timeout() ? ETIMEDOUT : ECANCELED;
  } catch (...) {
    return ENOMEM;
  }
}

call_ctx open_call(int fd, bool fiber) noexcept {
  call_ctx c{fd, fiber, {}, call_mode::direct};
  if (c.fiber) {
    c.ref = find_or_track(fd);
  } else if (any_tracked()) {
    c.ref = find(fd);
  }
  if (!c.ref) return c;
  if (!c.ref->pollable()) {
    if (c.fiber && weft::detail::offload_file_io()) c.mode = call_mode::offload;
    return c;
  }
  if (!c.ref->managed) {
    if (c.fiber) c.mode = call_mode::wait_then;
    return c;
  }
  if (c.ref->user_nonblock()) return c;
  c.mode = call_mode::emulate;
  return c;
}

std::int64_t deadline_for(const call_ctx& c, io_dir d) noexcept {
  if (!c.ref) return weft::detail::no_deadline;
  const std::int64_t t = (d == io_dir::read ? c.ref->rcv_timeout_ns : c.ref->snd_timeout_ns)
                             .load(std::memory_order_relaxed);
  if (t <= 0) return weft::detail::no_deadline;
  return weft::detail::deadline_after_ns(now_ns(), std::chrono::nanoseconds(t));
}

bool refresh_if_foreign(int fd, fd_ref& ref) noexcept {
  if (!ref->src.foreign_registration()) return false;
  fd_state* fresh = clone_state(*ref, fd);
  ref.reset();
  install_state(fd, fresh);
  ref = find_or_track(fd);
  return true;
}

int wait_ready(call_ctx& c, io_dir d, std::uint32_t snap, std::int64_t deadline) noexcept {
  if (!c.ref) return ENOMEM;  // an entry that could not be renewed
  if (c.fiber && refresh_if_foreign(c.fd, c.ref)) {
    // The caller retries with the fresh entry's snapshot (or straight to
    // libc if it could not be made).
    if (!c.ref) c.mode = call_mode::direct;
    return 0;
  }
  weft::detail::thread_hold hold;  // resume on this thread: C code caches &errno
  weft::detail::wait_label label(
      "hooked call", &c.ref->src, deadline,
      d == io_dir::read ? weft::detail::wait_detail::fd_read : weft::detail::wait_detail::fd_write,
      c.fd);
  try {
    auto r = c.ref->src.wait(d, snap, deadline);
    if (r) return 0;
    if (r.error() == weft::make_error_code(weft::errc::timeout)) return EAGAIN;
    if (r.error() == weft::make_error_code(weft::errc::closed)) return EBADF;
    return r.error().category() == std::generic_category() ? r.error().value() : ENOMEM;
  } catch (...) {
    return cancel_errno();
  }
}

int park_until(std::int64_t deadline) noexcept {
  weft::detail::thread_hold hold;  // resume on this thread (docs/hooks.md)
  weft::detail::wait_label label("hooked sleep", nullptr, deadline);
  try {
    weft::time::detail::sleep_until_ns(deadline);
    return 0;
  } catch (...) {
    return cancel_errno();
  }
}

ssize_t run_io(call_ctx& c, io_dir d, op_ref op, std::size_t want) noexcept {
  switch (c.mode) {
    case call_mode::direct:
      return op();
    case call_mode::offload: {
      c.ref.reset();
      ssize_t r = -1;
      int e = 0;
      const int w = run_on_pool(
          [&] {
            r = op();
            e = errno;
          },
          /*cancellable=*/false);
      if (w) {
        set_errno(w);
        return -1;
      }
      if (r < 0) set_errno(e);
      return r;
    }
    case call_mode::wait_then: {
      // The kernel description stays blocking (it is shared with other
      // processes): wait until poll(2) says ready, then make the call.
      const std::int64_t deadline = deadline_for(c, d);
      while (c.ref) {
        const std::uint32_t snap = c.ref->src.snapshot(d);
        pollfd p{c.fd, static_cast<short>(d == io_dir::read ? POLLIN : POLLOUT), 0};
        if (real().poll(&p, 1, 0) != 0) break;
        if (const int w = wait_ready(c, d, snap, deadline)) {
          set_errno(w);
          return -1;
        }
      }
      c.ref.reset();
      return op();
    }
    case call_mode::emulate:
      break;
  }
  std::int64_t deadline = weft::detail::no_deadline;
  bool deadline_set = false;
  // Fibers only: a plain thread waits in poll(2), which sees data without an
  // edge, so the readiness sequence would never tell it that data came.
  const bool track_drain = want != 0 && c.fiber && d == io_dir::read && c.ref->streamy();
  for (;;) {
    if (!c.ref) return op();  // the entry could not be renewed (wait_ready)
    const std::uint32_t snap = c.ref->src.snapshot(d);
    if (!(track_drain && c.ref->src.known_drained(d, snap))) {
      const ssize_t r = op();
      if (r >= 0) {
        if (track_drain && r > 0 && static_cast<std::size_t>(r) < want) {
          c.ref->src.note_drained(d, snap);
        }
        return r;
      }
      const int e = get_errno();
      if (e != EAGAIN && e != EWOULDBLOCK) return -1;  // errno is still e
    }
    if (!deadline_set) {
      deadline = deadline_for(c, d);
      deadline_set = true;
    }
    if (const int w = wait_ready(c, d, snap, deadline)) {
      set_errno(w);
      return -1;
    }
  }
}

namespace {
// pool_state is shared by a waiting fiber and its job on the pool.
struct pool_state {
  weft::detail::spin_lock lock;
  weft::detail::waiter* w = nullptr;  // the parked caller; nullptr once it left
  bool done = false;
  std::function<void()> f;
};
}  // namespace

int run_on_pool(std::function<void()> f, bool cancellable) noexcept {
  using weft::detail::spin_guard;
  std::shared_ptr<pool_state> st;
  try {
    st = std::make_shared<pool_state>();
    st->f = std::move(f);
    weft::spawn_blocking([st] {
      st->f();
      weft::detail::wake_token t;
      {
        spin_guard lk(st->lock);
        st->done = true;
        if (st->w) t = st->w->claim(weft::detail::wake_reason::notified);
      }
      t.resume();
    }).detach();
  } catch (...) {
    // No pool (shutting down, out of memory): run it here.
    if (st && st->f) {
      st->f();
    } else if (f) {
      f();
    }
    return 0;
  }
  weft::detail::thread_hold hold;
  weft::detail::waiter me;
  spin_guard lk(st->lock);
  if (!st->done) {
    st->w = &me;
    try {
      (void)me.park(&lk, weft::detail::no_deadline, cancellable);
    } catch (...) {
      if (!lk.owns_lock()) lk.lock();
      st->w = nullptr;
      lk.unlock();
      return cancel_errno();
    }
    lk.lock();
    st->w = nullptr;
  }
  return 0;
}

}  // namespace weft::hook::detail
