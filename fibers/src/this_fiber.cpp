// SPDX-License-Identifier: MIT
// weft::this_fiber: yield, cancellation checks and readiness waits.
#include "weft/fibers/this_fiber.hpp"

#include <event2/event.h>
#include <poll.h>

#include <boost/fiber/operations.hpp>
#include <cerrno>
#include <system_error>
#include <thread>

#include "runtime_core.hpp"
#include "thread_state.hpp"
#include "weft/fibers/cancelled.hpp"

namespace weft::this_fiber {

namespace {
using weft::detail::current_task;
using weft::detail::current_worker;

// deliver() throws what is pending for `cc` (an abort of `t` not delivered
// yet, or an expired timeout() scope).
void deliver(weft::detail::cancel_context& cc, weft::detail::task_base* t) {
  if (t && t->cancel_requested() && t->take_cancel()) throw cancelled();
  if (cc.scopes) {
    const std::int64_t now = time::clock::now().time_since_epoch().count();
    for (weft::detail::cancel_scope* s = cc.scopes; s; s = s->parent) {
      if (!s->fired && s->deadline_ns <= now) {
        s->fired = true;
        throw cancelled(s);
      }
    }
  }
}

void deliver_pending() {
  weft::detail::task_base* t = current_task();
  deliver(t ? t->cancel_ctx_ : weft::detail::current_cancel_context(), t);
}

void on_ready(evutil_socket_t, short, void* arg) {
  static_cast<weft::detail::waiter*>(arg)->notify(weft::detail::wake_reason::notified);
}

result<void> wait_fd(int fd, short what, time::instant deadline) {
  if (fd < 0) return std::error_code(EBADF, std::generic_category());
  weft::detail::worker* w = current_worker();
  const std::int64_t dl = deadline == time::instant::max() ? weft::detail::no_deadline
                                                           : deadline.time_since_epoch().count();
  if (!w) {
    // A plain thread: poll(2) on the fd.
    pollfd p{fd, static_cast<short>(what == EV_READ ? POLLIN : POLLOUT), 0};
    for (;;) {
      int ms = -1;
      if (dl != weft::detail::no_deadline) {
        const std::int64_t left = dl - weft::detail::steady_ns();
        if (left <= 0) return make_error_code(errc::timeout);
        ms = static_cast<int>((left + 999999) / 1000000);
      }
      const int n = ::poll(&p, 1, ms);
      if (n > 0) return {};
      if (n < 0 && errno != EINTR) return std::error_code(errno, std::generic_category());
    }
  }
  // Pin the fiber while its event is registered: libevent's event must be
  // deleted on the worker whose loop owns it.
  weft::detail::task_base* t = current_task();
  const bool was_pinned = t ? t->pinned_ : true;
  if (t) t->pinned_ = true;
  weft::detail::waiter wt;
  event* ev = event_new(w->base(), fd, what, on_ready, &wt);
  if (!ev || event_add(ev, nullptr) != 0) {
    if (ev) event_free(ev);
    if (t) t->pinned_ = was_pinned;
    return std::error_code(ENOMEM, std::generic_category());
  }
  w->io_waits.fetch_add(1, std::memory_order_relaxed);  // pinned: this worker stays its worker
  struct cleanup {
    event* ev;
    weft::detail::worker* w;
    weft::detail::task_base* t;
    bool was;
    ~cleanup() {
      event_free(ev);
      w->io_waits.fetch_sub(1, std::memory_order_relaxed);
      if (t) t->pinned_ = was;
    }
  } c{ev, w, t, was_pinned};
  const auto r = wt.park(nullptr, dl);
  if (r == weft::detail::wake_reason::timeout) return make_error_code(errc::timeout);
  return {};
}
}  // namespace

void yield() {
  weft::detail::worker* w = current_worker();
  if (!w) {
    deliver_pending();
    std::this_thread::yield();
    return;
  }
  boost::fibers::context* ctx = w->running();
  weft::detail::task_base* t = weft::detail::task_of(ctx);
  deliver(t ? t->cancel_ctx_ : weft::detail::current_cancel_context(), t);
  w->mark_yield(ctx);
  ctx->yield();
  current_worker()->settle();
}

void check_cancelled() { deliver_pending(); }

bool on_fiber() noexcept { return current_task() != nullptr; }

std::uint64_t id() noexcept {
  weft::detail::task_base* t = current_task();
  return t ? t->id() : 0;
}

std::string_view name() noexcept {
  weft::detail::task_base* t = current_task();
  return t ? std::string_view(t->name()) : std::string_view();
}

result<void> wait_readable(int fd, time::instant deadline) { return wait_fd(fd, EV_READ, deadline); }

result<void> wait_writable(int fd, time::instant deadline) {
  return wait_fd(fd, EV_WRITE, deadline);
}

}  // namespace weft::this_fiber
