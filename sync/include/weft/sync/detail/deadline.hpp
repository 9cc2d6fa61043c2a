// SPDX-License-Identifier: MIT
// Conversions from std::chrono durations and time points of any clock to a
// waiter deadline in runtime-clock nanoseconds. Internal: do not depend on it.
#pragma once

#include <chrono>
#include <cstdint>
#include <type_traits>

#include "weft/fibers/detail/waiter.hpp"
#include "weft/fibers/time.hpp"

namespace weft::sync::detail {

// now_ns() is the caller's runtime clock (steady_clock off a runtime), in ns.
inline std::int64_t now_ns() noexcept {
  return weft::time::clock::now().time_since_epoch().count();
}

// deadline_after() is now + d in runtime-clock ns, saturating: a negative
// `d` is "now" and a huge one (over ~100 years) is no deadline.
template <class Rep, class Period>
std::int64_t deadline_after(const std::chrono::duration<Rep, Period>& d) noexcept {
  using far_type = std::chrono::duration<Rep, Period>;
  const std::int64_t now = now_ns();
  if (d <= d.zero()) return now;
  if (d >= std::chrono::duration_cast<far_type>(std::chrono::hours(24 * 365 * 100))) {
    return weft::detail::no_deadline;
  }
  const auto ns = std::chrono::ceil<std::chrono::nanoseconds>(d).count();
  return ns >= weft::detail::no_deadline - now ? weft::detail::no_deadline : now + ns;
}

// deadline_at() converts a time point of any clock. Points on the runtime
// clock convert exactly (so a paused clock gives exact deadlines); other
// clocks are converted through their distance from Clock::now().
template <class Clock, class Duration>
std::int64_t deadline_at(const std::chrono::time_point<Clock, Duration>& t) noexcept {
  if constexpr (std::is_same_v<Clock, weft::time::clock>) {
    if (t.time_since_epoch() >= std::chrono::duration_cast<Duration>(std::chrono::hours(24 * 365 * 200))) {
      return weft::detail::no_deadline;
    }
    return std::chrono::ceil<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  } else {
    return deadline_after(t - Clock::now());
  }
}

}  // namespace weft::sync::detail
