// SPDX-License-Identifier: MIT
// weft::time::interval: a periodic tick with a missed-tick policy.
#pragma once

#include "weft/fibers/config.hpp"
#include "weft/fibers/time.hpp"

namespace weft::time {

// missed_tick_behavior says what tick() does after ticks were missed (the
// caller was late by more than 5 ms, as in Tokio).
enum class missed_tick_behavior {
  burst,  // fire the missed ticks back to back, then keep the original schedule
  delay,  // next tick is one period after the late one fired (schedule shifts)
  skip,   // drop missed ticks; next tick is the next multiple of the schedule
};

// interval yields ticks `period` apart. The first tick completes at `start`
// (immediately for make_interval). Not thread-safe: one fiber ticks it.
class interval {
 public:
  // interval() starts ticking at `start`. Errors: std::invalid_argument for
  // a period <= 0.
  interval(instant start, duration period, missed_tick_behavior b = missed_tick_behavior::burst);
  // interval() with a period of any std::chrono duration; one too long to
  // represent (hours::max()) saturates: the interval never ticks again
  // after its first tick.
  template <class Rep, class Period>
  interval(instant start, std::chrono::duration<Rep, Period> period,
           missed_tick_behavior b = missed_tick_behavior::burst)
      : interval(start, duration(weft::detail::to_ns_saturated(period)), b) {}

  // tick() waits for the next tick and returns its scheduled instant.
  // Blocks: parks the fiber. Errors: weft::cancelled.
  // Select: if abandoned by a timeout, the tick was not consumed.
  instant tick();

  // reset() makes the next tick one period from now.
  void reset();

  duration period() const noexcept { return period_; }
  missed_tick_behavior behavior() const noexcept { return behavior_; }
  void set_missed_tick_behavior(missed_tick_behavior b) noexcept { behavior_ = b; }
  // next_tick() is the instant of the next tick.
  instant next_tick() const noexcept { return next_; }

 private:
  instant next_;
  duration period_;
  missed_tick_behavior behavior_;
};

// make_interval() is an interval whose first tick completes immediately.
interval make_interval(duration period, missed_tick_behavior b = missed_tick_behavior::burst);
template <class Rep, class Period>
interval make_interval(std::chrono::duration<Rep, Period> period,
                       missed_tick_behavior b = missed_tick_behavior::burst) {
  return make_interval(duration(weft::detail::to_ns_saturated(period)), b);
}

// make_interval_at() is an interval whose first tick is at `start`.
interval make_interval_at(instant start, duration period,
                          missed_tick_behavior b = missed_tick_behavior::burst);
template <class Rep, class Period>
interval make_interval_at(instant start, std::chrono::duration<Rep, Period> period,
                          missed_tick_behavior b = missed_tick_behavior::burst) {
  return make_interval_at(start, duration(weft::detail::to_ns_saturated(period)), b);
}

}  // namespace weft::time
