// SPDX-License-Identifier: MIT
// weft::time: the runtime clock (pausable for tests), sleep and timeout.
#pragma once

#include <chrono>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "weft/fibers/cancelled.hpp"
#include "weft/fibers/config.hpp"
#include "weft/fibers/detail/deadline.hpp"
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

namespace detail {
// sleep_until_ns() parks until `deadline_ns` (runtime clock, already
// saturated by weft::detail::deadline_after/deadline_at).
void sleep_until_ns(std::int64_t deadline_ns);
}  // namespace detail

// sleep() suspends the calling fiber for `d` (a plain thread sleeps). Any
// std::chrono duration works; one too long to represent (hours::max(), 300
// years) sleeps forever, a negative or zero one returns at the next
// scheduling point.
// Blocks: parks the fiber; costs no thread. Errors: weft::cancelled.
template <class Rep, class Period>
void sleep(std::chrono::duration<Rep, Period> d) {
  detail::sleep_until_ns(weft::detail::deadline_after(d));
}

// sleep_for() is sleep(), in the std spelling.
template <class Rep, class Period>
void sleep_for(std::chrono::duration<Rep, Period> d) {
  detail::sleep_until_ns(weft::detail::deadline_after(d));
}

// sleep_until() suspends until the runtime clock reaches `t`. `t` may be a
// time point of any clock (converted through its distance from now);
// instant::max() and other points too far away to represent mean forever.
template <class Clock, class Duration>
void sleep_until(std::chrono::time_point<Clock, Duration> t) {
  detail::sleep_until_ns(weft::detail::deadline_at(t));
}

// pause() freezes the current runtime's clock; time then moves only through
// advance() and auto-advance: when every worker is idle (no runnable fiber,
// no blocking job in flight) the clock jumps to the next timer, so a test of
// a 5-second timeout runs instantly. Errors: no_runtime_error.
void pause();
// resume() lets a paused clock run again from where it stands.
void resume();
namespace detail {
void advance_ns(std::int64_t d);
}  // namespace detail
// advance() moves a paused clock forward by `d` (saturating: a duration too
// long to represent moves it as far as it goes) and fires the timers due.
// Errors: std::logic_error when the clock is not paused;
//   std::invalid_argument for a negative `d`.
template <class Rep, class Period>
void advance(std::chrono::duration<Rep, Period> d) {
  detail::advance_ns(weft::detail::to_ns_saturated(d));
}
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

namespace detail {
// timeout_ns() is timeout_at() with a saturated runtime-clock deadline.
template <class F>
auto timeout_ns(std::int64_t deadline_ns, F&& f)
    -> result<std::remove_cvref_t<std::invoke_result_t<F&&>>> {
  using R = std::remove_cvref_t<std::invoke_result_t<F&&>>;
  scope_guard guard(deadline_ns);
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
}  // namespace detail

// timeout_at() runs f() on the calling fiber with a deadline: if `t` passes
// while f is suspended in a weft wait, that wait throws weft::cancelled
// (unwinding f) and timeout_at returns errc::timeout. f's value otherwise.
// A CPU-bound f is interrupted only at a suspension point or check_cancelled().
// `t` may be a time point of any clock; one too far away is no deadline.
// A wait inside f that was already handed what it waited for (a value, a
// permit) when the deadline passed keeps it: the deadline takes effect at
// the next wait.
// Errors: exceptions thrown by f propagate; an abort of the fiber propagates
//   as weft::cancelled.
template <class Clock, class Duration, class F>
auto timeout_at(std::chrono::time_point<Clock, Duration> t, F&& f) {
  return detail::timeout_ns(weft::detail::deadline_at(t), std::forward<F>(f));
}

// timeout() is timeout_at(now + d, f), saturating: a `d` too long to
// represent (hours::max()) never times out.
template <class Rep, class Period, class F>
auto timeout(std::chrono::duration<Rep, Period> d, F&& f) {
  return detail::timeout_ns(weft::detail::deadline_after(d), std::forward<F>(f));
}

}  // namespace weft::time
