// SPDX-License-Identifier: MIT
// Saturating conversions from std::chrono durations and time points of any
// clock to a waiter deadline in runtime-clock nanoseconds: the one place
// where weft turns user time into a deadline, so "sleep forever" never
// overflows into "wake at once". Internal: do not depend on it.
#pragma once

#include <chrono>
#include <cstdint>
#include <type_traits>

#include "weft/fibers/config.hpp"
#include "weft/fibers/detail/waiter.hpp"

namespace weft::time {
struct clock;
}  // namespace weft::time

namespace weft::detail {

// runtime_now_ns() is the caller's runtime clock (steady time off a
// runtime), in ns (fibers/src/time.cpp).
std::int64_t runtime_now_ns() noexcept;

// kFarAway: a wait longer than this (about 146 years) has no deadline. It
// leaves room below INT64_MAX so that `now + d` never overflows.
inline constexpr std::int64_t kFarAway = no_deadline / 2;

// clamp_deadline() maps a deadline in runtime-clock ns into the range the
// timers can do arithmetic on: a point in the past (before the clock's
// epoch, e.g. instant::min()) is 0, "expired"; a point past kFarAway from
// `now` is no_deadline.
inline std::int64_t clamp_deadline(std::int64_t ns) noexcept {
  if (ns <= 0) return 0;
  if (ns >= kFarAway) return no_deadline;
  return ns;
}

// to_ns_saturated() converts `d` to whole nanoseconds (rounding up, so a
// wait is never shorter than asked), saturating at +/-kFarAway instead of
// overflowing (hours::max(), a double duration of 1e300 s, ...).
template <class Rep, class Period>
constexpr std::int64_t to_ns_saturated(const std::chrono::duration<Rep, Period>& d) noexcept {
  using far = std::chrono::duration<long double, std::nano>;
  const far x = std::chrono::duration_cast<far>(d);
  if constexpr (std::is_floating_point_v<Rep>) {
    if (x.count() != x.count()) return 0;  // NaN: treat as no wait
  }
  if (x.count() >= static_cast<long double>(kFarAway)) return kFarAway;
  if (x.count() <= -static_cast<long double>(kFarAway)) return -kFarAway;
  if constexpr (std::is_floating_point_v<Rep>) {
    const auto n = static_cast<std::int64_t>(x.count());
    return static_cast<long double>(n) < x.count() ? n + 1 : n;
  } else {
    // Exact integer arithmetic below the saturation bound.
    return std::chrono::ceil<std::chrono::nanoseconds>(d).count();
  }
}

// deadline_after_ns() is now_ns + d, saturating: d <= 0 is `now_ns`, and a
// sum at or beyond kFarAway is no_deadline.
template <class Rep, class Period>
std::int64_t deadline_after_ns(std::int64_t now_ns,
                               const std::chrono::duration<Rep, Period>& d) noexcept {
  const std::int64_t ns = to_ns_saturated(d);
  if (ns <= 0) return clamp_deadline(now_ns);
  if (ns >= kFarAway - now_ns) return no_deadline;
  return clamp_deadline(now_ns + ns);
}

// deadline_after() is deadline_after_ns() from the caller's runtime clock.
template <class Rep, class Period>
std::int64_t deadline_after(const std::chrono::duration<Rep, Period>& d) noexcept {
  return deadline_after_ns(runtime_now_ns(), d);
}

// deadline_at() converts a time point of any clock. Points on the runtime
// clock convert exactly (so a paused clock gives exact deadlines, and
// instant::max() is no deadline); other clocks are converted through their
// distance from Clock::now().
template <class Clock, class Duration>
std::int64_t deadline_at(const std::chrono::time_point<Clock, Duration>& t) noexcept {
  if constexpr (std::is_same_v<Clock, weft::time::clock>) {
    return clamp_deadline(to_ns_saturated(t.time_since_epoch()));
  } else {
    // t - now may itself overflow for far points (time_point::max()):
    // subtract in long double nanoseconds, then saturate.
    using far = std::chrono::duration<long double, std::nano>;
    const far left = std::chrono::duration_cast<far>(t.time_since_epoch()) -
                     std::chrono::duration_cast<far>(Clock::now().time_since_epoch());
    return deadline_after(left);
  }
}

}  // namespace weft::detail
