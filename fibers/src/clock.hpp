// SPDX-License-Identifier: MIT
// The runtime clock: steady time, or a paused time moved by advance().
#pragma once

#include <time.h>

#include <atomic>
#include <cstdint>

namespace weft::detail {

// steady_ns() reads CLOCK_MONOTONIC in nanoseconds.
inline std::int64_t steady_ns() noexcept {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

// runtime_clock is one runtime's clock. now() = steady + offset, or the
// frozen value while paused.
class runtime_clock {
 public:
  std::int64_t now() const noexcept {
    if (paused_.load(std::memory_order_acquire)) return frozen_.load(std::memory_order_acquire);
    return steady_ns() + offset_.load(std::memory_order_relaxed);
  }
  bool paused() const noexcept { return paused_.load(std::memory_order_acquire); }
  void pause() noexcept {
    if (paused()) return;
    frozen_.store(now(), std::memory_order_release);
    paused_.store(true, std::memory_order_release);
  }
  void resume() noexcept {
    if (!paused()) return;
    offset_.store(frozen_.load() - steady_ns(), std::memory_order_relaxed);
    paused_.store(false, std::memory_order_release);
  }
  // advance_to() moves a paused clock forward to `t` (never backwards).
  void advance_to(std::int64_t t) noexcept {
    std::int64_t cur = frozen_.load(std::memory_order_acquire);
    while (cur < t && !frozen_.compare_exchange_weak(cur, t, std::memory_order_acq_rel)) {
    }
  }

 private:
  std::atomic<bool> paused_{false};
  std::atomic<std::int64_t> frozen_{0};
  std::atomic<std::int64_t> offset_{0};
};

}  // namespace weft::detail
