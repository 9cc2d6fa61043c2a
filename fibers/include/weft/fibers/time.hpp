// SPDX-License-Identifier: MIT
// weft::time: the runtime clock (pausable for tests), sleep and timeout.
#pragma once

#include <chrono>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "weft/fibers/cancelled.hpp"
#include "weft/fibers/detail/task.hpp"
#include "weft/fibers/result.hpp"

namespace weft::time {

// clock is the runtime clock: steady_clock, except on a runtime whose clock
// is paused (then it only moves by advance() and auto-advance).
struct clock {
  using rep = std::int64_t;
  using period = std::nano;
  using duration = std::chrono::nanoseconds;
  using time_point = std::chrono::time_point<clock>;
  static constexpr bool is_steady = true;
  // now() reads the clock of the caller's runtime (steady_clock elsewhere).
  static time_point now() noexcept;
};

// instant is a point on the runtime clock (Tokio's Instant).
using instant = clock::time_point;
using duration = clock::duration;

// sleep() suspends the calling fiber for `d` (a plain thread sleeps).
// Blocks: parks the fiber; costs no thread. Errors: weft::cancelled.
void sleep(duration d);

// sleep_for() is sleep(), in the std spelling.
inline void sleep_for(duration d) { sleep(d); }

// sleep_until() suspends until the runtime clock reaches `t`.
void sleep_until(instant t);

// pause() freezes the current runtime's clock; time then moves only through
// advance() and auto-advance: when every worker is idle (no runnable fiber,
// no blocking job in flight) the clock jumps to the next timer, so a test of
// a 5-second timeout runs instantly. Errors: no_runtime_error.
void pause();
// resume() lets a paused clock run again from where it stands.
void resume();
// advance() moves a paused clock forward by `d` and fires the timers due.
// Errors: std::logic_error when the clock is not paused.
void advance(duration d);
// is_paused() says whether the current runtime's clock is paused.
bool is_paused();

namespace detail {
// scope_guard pushes a cancel scope on the current fiber/thread.
class scope_guard {
 public:
  explicit scope_guard(std::int64_t deadline_ns) noexcept;
  ~scope_guard();
  scope_guard(const scope_guard&) = delete;
  scope_guard& operator=(const scope_guard&) = delete;
  const weft::detail::cancel_scope* scope() const noexcept { return &scope_; }

 private:
  weft::detail::cancel_scope scope_;
  weft::detail::cancel_context* ctx_;
};
}  // namespace detail

// timeout_at() runs f() on the calling fiber with a deadline: if `t` passes
// while f is suspended in a weft wait, that wait throws weft::cancelled
// (unwinding f) and timeout_at returns errc::timeout. f's value otherwise.
// A CPU-bound f is interrupted only at a suspension point or check_cancelled().
// Errors: exceptions thrown by f propagate; an abort of the fiber propagates
//   as weft::cancelled.
template <class F>
auto timeout_at(instant t, F&& f)
    -> result<std::remove_cvref_t<std::invoke_result_t<F&&>>> {
  using R = std::remove_cvref_t<std::invoke_result_t<F&&>>;
  detail::scope_guard guard(t.time_since_epoch().count());
  try {
    if constexpr (std::is_void_v<R>) {
      std::forward<F>(f)();
      return {};
    } else {
      return std::forward<F>(f)();
    }
  } catch (const cancelled& c) {
    if (c.scope() != guard.scope()) throw;
    // in_place_error: R may itself be constructible from an error_code.
    return result<R>(boost::system::in_place_error, make_error_code(errc::timeout));
  }
}

// timeout() is timeout_at(now + d, f).
template <class F>
auto timeout(duration d, F&& f) {
  return timeout_at(clock::now() + d, std::forward<F>(f));
}

}  // namespace weft::time
