// SPDX-License-Identifier: MIT
// weft::compat::counting_semaphore and binary_semaphore: std's semaphore
// API over weft's FIFO batch semaphore. Part of weft/compat.hpp; include
// that, not this file.
#pragma once

#include <chrono>
#include <cstddef>
#include <stdexcept>

#include "weft/fibers/config.hpp"
#include "weft/sync/detail/batch_semaphore.hpp"
#include "weft/sync/detail/deadline.hpp"

namespace weft::compat {

namespace detail {
// semaphore_max is the largest count weft's batch semaphore holds.
inline constexpr std::ptrdiff_t semaphore_max =
    static_cast<std::ptrdiff_t>(weft::sync::detail::batch_semaphore::max_permits);
}  // namespace detail

// counting_semaphore<LeastMaxValue> is std::counting_semaphore over the
// batch semaphore behind weft::sync::semaphore: acquirers are served in
// FIFO order, so nobody starves, and try_acquire() never fails spuriously
// (it fails while others are queued, even if a release is in flight).
// Non-movable.
template <std::ptrdiff_t LeastMaxValue = detail::semaphore_max>
class counting_semaphore {
  static_assert(LeastMaxValue >= 0 && LeastMaxValue <= detail::semaphore_max,
                "weft::compat::counting_semaphore: LeastMaxValue out of range");

 public:
  // max() is the largest count the semaphore is guaranteed to hold.
  static constexpr std::ptrdiff_t max() noexcept { return LeastMaxValue; }

  // counting_semaphore() starts with `desired` permits (0 <= desired <= max()).
  // Errors: std::invalid_argument when desired is out of range (std: undefined).
  explicit counting_semaphore(std::ptrdiff_t desired) : sem_(checked(desired)) {}
  counting_semaphore(const counting_semaphore&) = delete;
  counting_semaphore& operator=(const counting_semaphore&) = delete;

  // release() adds `update` permits, waking the waiters they satisfy.
  // Blocks: never. Thread-safety: any fiber or thread.
  void release(std::ptrdiff_t update = 1) noexcept {
    if (update > 0) sem_.release(static_cast<std::size_t>(update));
  }

  // acquire() takes one permit.
  // Blocks: parks the fiber (or blocks the plain thread) until one is free.
  // Errors: weft::cancelled (the caller then holds nothing and its place
  //   goes to the next waiter). Thread-safety: any fiber or thread.
  void acquire() { (void)sem_.acquire(1); }

  // try_acquire() takes a permit if one is free and nobody is queued.
  // Blocks: never.
  bool try_acquire() noexcept {
    return sem_.try_acquire(1) == weft::sync::detail::acquire_status::acquired;
  }

  // try_acquire_for() is acquire() giving up after `d` (runtime clock):
  // false on timeout. Errors: weft::cancelled.
  template <class Rep, class Period>
  bool try_acquire_for(const std::chrono::duration<Rep, Period>& d) {
    return sem_.acquire(1, weft::sync::detail::deadline_after(d)) ==
           weft::sync::detail::acquire_status::acquired;
  }

  // try_acquire_until() is acquire() giving up at `t` (any clock).
  // Errors: weft::cancelled.
  template <class Clock, class Duration>
  bool try_acquire_until(const std::chrono::time_point<Clock, Duration>& t) {
    return sem_.acquire(1, weft::sync::detail::deadline_at(t)) ==
           weft::sync::detail::acquire_status::acquired;
  }

 private:
  static std::size_t checked(std::ptrdiff_t desired) {
    if (desired < 0 || desired > LeastMaxValue) {
      throw std::invalid_argument("weft::compat::counting_semaphore: count out of range");
    }
    return static_cast<std::size_t>(desired);
  }
  weft::sync::detail::batch_semaphore sem_;
};

// binary_semaphore is counting_semaphore<1>.
using binary_semaphore = counting_semaphore<1>;

}  // namespace weft::compat
