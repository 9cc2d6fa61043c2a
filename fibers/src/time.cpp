// SPDX-License-Identifier: MIT
// weft::time: clock, sleep, pause/advance, timeout scopes, interval.
#include "weft/fibers/time.hpp"

#include <stdexcept>

#include "runtime_core.hpp"
#include "thread_state.hpp"
#include "weft/fibers/detail/wait_label.hpp"
#include "weft/fibers/interval.hpp"
#include "weft/fibers/runtime.hpp"

namespace weft::detail {
std::int64_t runtime_now_ns() noexcept {
  worker* w = current_worker();
  return w ? w->core().clock.now() : steady_ns();
}
}  // namespace weft::detail

namespace weft::time {

namespace {
// later() is t + d, saturating at instant::max() (no deadline) instead of
// overflowing for a huge period.
instant later(instant t, duration d) noexcept {
  if (t == instant::max()) return t;
  const std::int64_t at = t.time_since_epoch().count();
  const std::int64_t dl = weft::detail::deadline_after_ns(at, d);
  return dl == weft::detail::no_deadline ? instant::max() : instant(duration(dl));
}
}  // namespace

clock::time_point clock::now() noexcept {
  return time_point(duration(weft::detail::runtime_now_ns()));
}

void pause() { handle::current().pause_clock(); }
void resume() { handle::current().resume_clock(); }
bool is_paused() { return handle::current().core().clock.paused(); }

namespace detail {
void sleep_until_ns(std::int64_t deadline_ns) {
  weft::detail::wait_label label("sleep", nullptr, deadline_ns);
  weft::detail::waiter w;
  (void)w.park(nullptr, deadline_ns);
}

void advance_ns(std::int64_t d) { handle::current().advance_clock(duration(d)); }

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
  // A period too long to represent never ticks again (a tick at max()
  // sleeps forever); keep arithmetic on it saturating.
  if (period_.count() > weft::detail::kFarAway) period_ = duration(weft::detail::kFarAway);
}

instant interval::tick() {
  const instant scheduled = next_;
  sleep_until(scheduled);
  const instant now = clock::now();
  // Late by more than 5 ms counts as missed ticks (Tokio's tolerance).
  if (now > later(scheduled, std::chrono::milliseconds(5))) {
    switch (behavior_) {
      case missed_tick_behavior::burst:
        next_ = later(scheduled, period_);
        break;
      case missed_tick_behavior::delay:
        next_ = later(now, period_);
        break;
      case missed_tick_behavior::skip:
        next_ = later(now, period_ - ((now - scheduled) % period_));
        break;
    }
  } else {
    next_ = later(scheduled, period_);
  }
  return scheduled;
}

void interval::reset() { next_ = later(clock::now(), period_); }

interval make_interval(duration period, missed_tick_behavior b) {
  return interval(clock::now(), period, b);
}

interval make_interval_at(instant start, duration period, missed_tick_behavior b) {
  return interval(start, period, b);
}

}  // namespace weft::time
