// SPDX-License-Identifier: MIT
// weft::net::graceful_shutdown: the "stop accepting, cancel workers through a
// token, drain in-flight work with a deadline, report clean or forced"
// sequence of a server (Tokio's CancellationToken + TaskTracker pattern).
// The sequence with a code sample: docs/net/signals.md.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <tuple>
#include <utility>

#include "weft/fibers/config.hpp"
#include "weft/fibers/join_set.hpp"
#include "weft/fibers/result.hpp"
#include "weft/fibers/runtime.hpp"
#include "weft/fibers/time.hpp"
#include "weft/sync/cancellation_token.hpp"
#include "weft/sync/mutex.hpp"

namespace weft::net {

// shutdown_report says how graceful_shutdown::shutdown() went.
struct shutdown_report {
  bool clean = true;         // every tracked task ended before the deadline
  std::size_t drained = 0;   // tasks that ended on their own during shutdown
  std::size_t forced = 0;    // tasks aborted at the deadline (then joined)
  std::size_t panicked = 0;  // of `drained`: tasks that ended with an exception
};

// graceful_shutdown owns a cancellation token and the set of in-flight
// tasks spawned through it (an accept loop, its connection handlers, ...).
// shutdown() cancels the token, waits up to a drain deadline for the tasks
// to end, aborts the rest and joins them.
// Thread-safety: token(), spawn() and shutdown() may be called from any
// fiber or thread, concurrently.
class graceful_shutdown {
 public:
  // graceful_shutdown() spawns on the current runtime; the second form on
  // the runtime of `h` (usable from a plain thread).
  graceful_shutdown() : tasks_(std::in_place) {}
  explicit graceful_shutdown(handle h) : tasks_(std::in_place, std::move(h)) {}
  graceful_shutdown(const graceful_shutdown&) = delete;
  graceful_shutdown& operator=(const graceful_shutdown&) = delete;
  // ~graceful_shutdown() aborts the tasks still tracked (like a join_set)
  // without waiting for them; call shutdown() for the orderly sequence.
  ~graceful_shutdown() = default;

  // token() is the token workers observe: select on
  // sync::on_cancelled(token(), ...) or poll is_cancelled() to stop taking
  // new work. Cancelled by shutdown(), or by you (e.g. on a signal).
  const sync::cancellation_token& token() const noexcept { return token_; }

  // spawn() starts f(args...) on a fiber tracked by this shutdown. Tasks
  // that already ended are reaped here, so a long-lived server does not
  // accumulate them.
  // Errors: errc::closed once shutdown() has begun (f is not started);
  //   throws no_runtime_error without a runtime, std::system_error when no
  //   stack can be allocated, weft::cancelled if the caller is cancelled
  //   while waiting for the lock.
  template <class F, class... A>
  [[nodiscard]] result<void> spawn(F&& f, A&&... a) {
    std::lock_guard<sync::mutex> lk(lock_);
    if (!tasks_) return make_error_code(weft::errc::closed);
    reap();
    tasks_->spawn(
        [fn = std::forward<F>(f), args = std::make_tuple(std::forward<A>(a)...)]() mutable -> void {
          (void)std::apply(std::move(fn), std::move(args));
        });
    return {};
  }

  // in_flight() is the number of tracked tasks not yet reaped (some may
  // have ended since the last spawn()).
  // Blocks: briefly, on the lock spawn() and shutdown() take.
  std::size_t in_flight() const {
    std::lock_guard<sync::mutex> lk(lock_);
    return tasks_ ? tasks_->size() : 0;
  }

  // shutdown() runs the sequence: (1) refuse new spawns; (2) cancel the
  // token, so accept loops and workers stop on their own; (3) wait until
  // every tracked task ended or `drain` elapsed (runtime clock: a paused
  // clock applies); (4) abort the remaining tasks (weft::cancelled at their
  // next weft wait) and join them. Returns the counts. A second call
  // returns an empty, clean report.
  // Blocks: parks the fiber (or the plain thread) for up to `drain`, then
  //   until the aborted tasks unwound: a task spinning outside weft waits
  //   without this_fiber::check_cancelled() keeps it waiting.
  // Errors: throws weft::cancelled if the caller itself is cancelled (the
  //   remaining tasks are then aborted when this object is destroyed).
  // `drain` may be any std::chrono duration; one too long to represent
  //   (hours::max()) waits for every task to end by itself.
  template <class Rep, class Period>
  shutdown_report shutdown(std::chrono::duration<Rep, Period> drain) {
    return shutdown_until_ns(weft::detail::deadline_after(drain));
  }

 private:
  shutdown_report shutdown_until_ns(std::int64_t deadline_ns);
  void reap() noexcept;

  sync::cancellation_token token_;
  // lock_ guards tasks_, which shutdown() takes out (empty: closed). A weft
  // mutex, not a spin lock: a reap may run a finished task's destructors.
  mutable sync::mutex lock_;
  std::optional<join_set<void>> tasks_;
};

}  // namespace weft::net
