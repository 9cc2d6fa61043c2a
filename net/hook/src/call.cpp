// SPDX-License-Identifier: MIT
// How a hooked call waits (call.hpp).
#include "call.hpp"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>

#include <memory>
#include <mutex>
#include <utility>

#include "real.hpp"
#include "weft/fibers/cancelled.hpp"
#include "weft/fibers/detail/core.hpp"
#include "weft/fibers/detail/deadline.hpp"
#include "weft/fibers/detail/hook_support.hpp"
#include "weft/fibers/detail/waiter.hpp"
#include "weft/fibers/result.hpp"
#include "weft/fibers/spawn.hpp"
#include "weft/fibers/this_fiber.hpp"

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

namespace {
// refresh() replaces an entry registered with another (finished) runtime,
// whose reactor would never wake this caller, by a fresh one with the same
// view of the descriptor.
void refresh(call_ctx& c) noexcept {
  if (!c.ref->src.foreign_registration()) return;
  fd_state& old = *c.ref;
  const fd_kind k = old.kind;
  const bool nb = old.user_nonblock.load();
  const auto rcv = old.rcv_timeout_ns.load();
  const auto snd = old.snd_timeout_ns.load();
  const bool managed = old.managed;
  c.ref.reset();
  if (managed) {
    track_new(c.fd, k, nb);
  } else {
    retire(c.fd);
  }
  c.ref = find_or_track(c.fd);
  if (c.ref) {
    c.ref->rcv_timeout_ns.store(rcv);
    c.ref->snd_timeout_ns.store(snd);
  }
}
}  // namespace

call_ctx open_call(int fd) noexcept {
  call_ctx c{fd, on_fiber(), {}, call_mode::direct};
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
  if (c.ref->user_nonblock.load(std::memory_order_relaxed)) return c;
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

int wait_ready(call_ctx& c, io_dir d, std::uint32_t snap, std::int64_t deadline) noexcept {
  weft::detail::thread_hold hold;  // resume on this thread: C code caches &errno
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

std::size_t stream_want(const call_ctx& c, std::size_t n, int flags) noexcept {
  // A peek leaves the bytes there; out-of-band, error-queue and truncating
  // reads do not read the stream's buffer the same way.
  constexpr int kNotConsuming = MSG_PEEK | MSG_OOB | MSG_ERRQUEUE | MSG_TRUNC;
  if (!c.fiber || c.mode != call_mode::emulate || (flags & kNotConsuming) != 0) return 0;
  return c.ref->kind == fd_kind::stream_socket ? n : 0;
}

ssize_t run_io(call_ctx& c, io_dir d, op_ref op, std::size_t stream_want) noexcept {
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
      if (c.fiber && c.ref->src.foreign_registration()) refresh(c);
      if (!c.ref) return op();
      const std::int64_t deadline = deadline_for(c, d);
      for (;;) {
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
  if (c.fiber) refresh(c);
  if (!c.ref) return op();
  std::int64_t deadline = weft::detail::no_deadline;
  bool deadline_set = false;
  for (;;) {
    const std::uint32_t snap = c.ref->src.snapshot(d);
    // The last read drained the buffer and no edge came since: the call
    // would say EAGAIN.
    const bool drained = stream_want != 0 && c.ref->src.known_drained(d, snap);
    if (!drained) {
      const ssize_t r = op();
      if (r > 0 && static_cast<std::size_t>(r) < stream_want) c.ref->src.note_drained(d, snap);
      if (r >= 0) return r;
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
