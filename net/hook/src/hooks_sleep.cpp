// SPDX-License-Identifier: MIT
// The interposed sleeps: sleep, usleep, nanosleep, clock_nanosleep. On a
// fiber they park it on the runtime clock (so a paused test clock makes
// them instant); a cancellation ends them early with ECANCELED (abort) or
// ETIMEDOUT (an enclosing weft::time::timeout), never with EINTR, so the
// common `while (nanosleep(&t, &t) == -1 && errno == EINTR)` loop ends.
#include <errno.h>
#include <time.h>
#include <unistd.h>

#include "call.hpp"
#include "real.hpp"
#include "weft/fibers/detail/deadline.hpp"

using weft::hook::detail::on_fiber;
using weft::hook::detail::real;

namespace {

constexpr std::int64_t kNs = 1000000000LL;

bool valid(const timespec* ts) noexcept {
  return ts && ts->tv_nsec >= 0 && ts->tv_nsec < kNs && ts->tv_sec >= 0;
}

// park_for() sleeps `ns` on the fiber. Returns 0, or the cancellation's
// errno with the time left in *left_ns.
int park_for(std::int64_t ns, std::int64_t* left_ns) noexcept {
  const std::int64_t deadline =
      weft::detail::deadline_after_ns(weft::hook::detail::now_ns(), std::chrono::nanoseconds(ns));
  const int e = weft::hook::detail::park_until(deadline);
  if (e && left_ns) {
    const std::int64_t left =
        deadline == weft::detail::no_deadline ? ns : deadline - weft::hook::detail::now_ns();
    *left_ns = left > 0 ? left : 0;
  }
  return e;
}

std::int64_t to_ns(const timespec& ts) noexcept {
  if (ts.tv_sec >= weft::detail::kFarAway / kNs) return weft::detail::kFarAway;
  return ts.tv_sec * kNs + ts.tv_nsec;
}

void to_timespec(std::int64_t ns, timespec* out) noexcept {
  out->tv_sec = static_cast<time_t>(ns / kNs);
  out->tv_nsec = static_cast<long>(ns % kNs);
}

}  // namespace

extern "C" {

int nanosleep(const struct timespec* req, struct timespec* rem) {
  if (!on_fiber()) return real().nanosleep(req, rem);
  if (!valid(req)) {
    weft::hook::detail::set_errno(req ? EINVAL : EFAULT);
    return -1;
  }
  std::int64_t left = 0;
  if (const int e = park_for(to_ns(*req), &left)) {
    if (rem) to_timespec(left, rem);
    weft::hook::detail::set_errno(e);
    return -1;
  }
  return 0;
}

int clock_nanosleep(clockid_t clk, int flags, const struct timespec* req, struct timespec* rem) {
  if (!on_fiber()) return real().clock_nanosleep(clk, flags, req, rem);
  if (clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC && clk != CLOCK_BOOTTIME &&
      clk != CLOCK_TAI) {
    // CPU-time clocks and unknown ids: libc's answer (EINVAL, ENOTSUP, or
    // a real sleep on a process CPU clock, which would block the worker
    // only as long as libc's would block the thread).
    return real().clock_nanosleep(clk, flags, req, rem);
  }
  if (!valid(req)) return req ? EINVAL : EFAULT;
  std::int64_t ns = to_ns(*req);
  if (flags & TIMER_ABSTIME) {
    timespec now{};
    clock_gettime(clk, &now);
    ns -= to_ns(now);
    if (ns <= 0) return 0;
  }
  std::int64_t left = 0;
  if (const int e = park_for(ns, &left)) {
    if (rem && !(flags & TIMER_ABSTIME)) to_timespec(left, rem);
    return e;  // clock_nanosleep returns the error, errno is untouched
  }
  return 0;
}

int usleep(useconds_t us) {
  if (!on_fiber()) return real().usleep(us);
  if (const int e = park_for(static_cast<std::int64_t>(us) * 1000, nullptr)) {
    weft::hook::detail::set_errno(e);
    return -1;
  }
  return 0;
}

unsigned sleep(unsigned s) {
  if (!on_fiber()) return real().sleep(s);
  std::int64_t left = 0;
  if (const int e = park_for(static_cast<std::int64_t>(s) * kNs, &left)) {
    weft::hook::detail::set_errno(e);
    // The seconds left, rounded up (never 0 for an interrupted sleep).
    const std::int64_t secs = (left + kNs - 1) / kNs;
    return static_cast<unsigned>(secs > 0 ? secs : 1);
  }
  return 0;
}

}  // extern "C"
