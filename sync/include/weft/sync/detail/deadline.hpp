// SPDX-License-Identifier: MIT
// Deadline arithmetic for the _for/_until forms: runtime-clock nanoseconds,
// saturating instead of overflowing for huge durations. Internal.
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>

#include "weft/fibers/time.hpp"

namespace weft::sync::detail {

// deadline_at() converts an instant to the waiter's deadline (ns).
inline std::int64_t deadline_at(time::instant t) noexcept { return t.time_since_epoch().count(); }

// deadline_after() is now + d, saturated; a negative d means "already due".
template <class Rep, class Period>
std::int64_t deadline_after(std::chrono::duration<Rep, Period> d) noexcept {
  const std::int64_t now = time::clock::now().time_since_epoch().count();
  if (d <= d.zero()) return now;
  // Beyond ~100 years a wait is "forever": saturate rather than overflow.
  if (d >= std::chrono::hours(24 * 365 * 100)) return std::numeric_limits<std::int64_t>::max() - 1;
  return now + std::chrono::ceil<std::chrono::nanoseconds>(d).count();
}

}  // namespace weft::sync::detail
