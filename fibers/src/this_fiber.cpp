// SPDX-License-Identifier: MIT
// weft::this_fiber: yield, cancellation checks and readiness waits.
#include "weft/fibers/this_fiber.hpp"

#include <boost/fiber/operations.hpp>
#include <cerrno>
#include <system_error>
#include <thread>

#include "runtime_core.hpp"
#include "thread_state.hpp"
#include "weft/fibers/cancelled.hpp"
#include "weft/fibers/detail/io_source.hpp"

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

// wait_fd() waits once for readiness of `fd` through a temporary io_source:
// the same registration and wake-up path as weft::net's sockets. A fresh
// source has seen no edge, so its first wait registers the fd, and the
// registration reports readiness that is already there at once.
result<void> wait_fd(int fd, weft::detail::io_dir d, time::instant deadline) {
  if (fd < 0) return std::error_code(EBADF, std::generic_category());
  const std::int64_t dl = weft::detail::deadline_at(deadline);
  weft::detail::io_source src(fd);
  return src.wait(d, src.snapshot(d), dl);
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

result<void> wait_readable(int fd, time::instant deadline) {
  return wait_fd(fd, weft::detail::io_dir::read, deadline);
}

result<void> wait_writable(int fd, time::instant deadline) {
  return wait_fd(fd, weft::detail::io_dir::write, deadline);
}

}  // namespace weft::this_fiber
