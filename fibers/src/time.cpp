// SPDX-License-Identifier: MIT
// weft::time: clock, sleep, pause/advance, timeout scopes, interval.
#include "weft/fibers/time.hpp"

#include <stdexcept>

#include "runtime_core.hpp"
#include "thread_state.hpp"
#include "weft/fibers/interval.hpp"
#include "weft/fibers/runtime.hpp"

namespace weft::time {

clock::time_point clock::now() noexcept {
  weft::detail::worker* w = weft::detail::current_worker();
  return time_point(duration(w ? w->core().clock.now() : weft::detail::steady_ns()));
}

void sleep(duration d) { sleep_until(clock::now() + d); }

void sleep_until(instant t) {
  weft::detail::waiter w;
  (void)w.park(nullptr, t.time_since_epoch().count());
}

void pause() { handle::current().pause_clock(); }
void resume() { handle::current().resume_clock(); }
void advance(duration d) { handle::current().advance_clock(d); }
bool is_paused() { return handle::current().core().clock.paused(); }

namespace detail {
scope_guard::scope_guard(std::int64_t deadline_ns) noexcept
    : ctx_(&weft::detail::current_cancel_context()) {
  scope_.deadline_ns = deadline_ns;
  scope_.parent = ctx_->scopes;
  ctx_->scopes = &scope_;
}

scope_guard::~scope_guard() { ctx_->scopes = scope_.parent; }
}  // namespace detail

interval::interval(instant start, duration period, missed_tick_behavior b)
    : next_(start), period_(period), behavior_(b) {
  if (period.count() <= 0) {
    throw std::invalid_argument("weft::time::interval: period must be positive");
  }
}

instant interval::tick() {
  const instant scheduled = next_;
  sleep_until(scheduled);
  const instant now = clock::now();
  // Late by more than 5 ms counts as missed ticks (Tokio's tolerance).
  if (now > scheduled + std::chrono::milliseconds(5)) {
    switch (behavior_) {
      case missed_tick_behavior::burst:
        next_ = scheduled + period_;
        break;
      case missed_tick_behavior::delay:
        next_ = now + period_;
        break;
      case missed_tick_behavior::skip:
        next_ = now + period_ - ((now - scheduled) % period_);
        break;
    }
  } else {
    next_ = scheduled + period_;
  }
  return scheduled;
}

void interval::reset() { next_ = clock::now() + period_; }

interval make_interval(duration period, missed_tick_behavior b) {
  return interval(clock::now(), period, b);
}

interval make_interval_at(instant start, duration period, missed_tick_behavior b) {
  return interval(start, period, b);
}

}  // namespace weft::time
