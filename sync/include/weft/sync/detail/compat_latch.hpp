// SPDX-License-Identifier: MIT
// weft::compat::latch and barrier: std's one-shot and reusable rendezvous
// over weft::sync::mutex and condition_variable. Part of weft/compat.hpp;
// include that, not this file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "weft/fibers/config.hpp"
#include "weft/sync/condition_variable.hpp"
#include "weft/sync/detail/cv_core.hpp"
#include "weft/sync/mutex.hpp"

namespace weft::compat {

namespace detail {
// lock_for_update() takes `m` without a cancellation point: count_down()
// and arrive() must count even on a fiber being cancelled, or the others
// would wait for good.
inline std::unique_lock<weft::sync::mutex> lock_for_update(weft::sync::mutex& m) {
  weft::sync::detail::relock_access::lock(m);
  return std::unique_lock<weft::sync::mutex>(m, std::adopt_lock);
}

// check_expected() is `expected`, or std::invalid_argument when negative.
inline std::ptrdiff_t check_expected(std::ptrdiff_t expected, const char* what) {
  if (expected < 0) throw std::invalid_argument(what);
  return expected;
}

// barrier_noop is barrier's default completion: nothing.
struct barrier_noop {
  void operator()() const noexcept {}
};
}  // namespace detail

// latch is std::latch: a counter the participants count down once it
// reaches 0 every wait() returns. Every operation takes an internal
// weft::sync::mutex, also try_wait() (with try_lock, so it may fail
// spuriously, as std allows): a waiter that saw 0 may destroy the latch at
// once, and the last count_down() has left it by then. Non-movable.
class latch {
 public:
  // max() is the largest expected count.
  static constexpr std::ptrdiff_t max() noexcept {
    return std::numeric_limits<std::ptrdiff_t>::max();
  }

  // latch() starts at `expected`. Errors: std::invalid_argument when
  // expected < 0 (std: undefined).
  explicit latch(std::ptrdiff_t expected)
      : count_(detail::check_expected(expected, "weft::compat::latch: negative count")) {}
  latch(const latch&) = delete;
  latch& operator=(const latch&) = delete;

  // count_down() subtracts `n` (at most the current count, as std
  // requires); reaching 0 releases every waiter. Blocks: only for the
  // internal lock; not a cancellation point. Thread-safety: any fiber or thread.
  void count_down(std::ptrdiff_t n = 1) {
    auto lk = detail::lock_for_update(m_);
    count_ -= n;
    if (count_ == 0) cv_.notify_all();
  }

  // try_wait() is true when the count is 0. Blocks: never; false when
  // the internal lock is busy (a spurious failure).
  bool try_wait() const noexcept {
    std::unique_lock<weft::sync::mutex> lk(m_, std::try_to_lock);
    return lk.owns_lock() && count_ == 0;
  }

  // wait() returns once the count is 0.
  // Blocks: parks the fiber (or blocks the plain thread).
  // Errors: weft::cancelled. Thread-safety: any fiber or thread.
  void wait() const {
    std::unique_lock<weft::sync::mutex> lk(m_);
    cv_.wait(lk, [&] { return count_ == 0; });
  }

  // arrive_and_wait() is count_down(n) then wait().
  void arrive_and_wait(std::ptrdiff_t n = 1) {
    count_down(n);
    wait();
  }

 private:
  mutable weft::sync::mutex m_;
  mutable weft::sync::condition_variable cv_;
  std::ptrdiff_t count_;  // guarded by m_
};

// barrier<CompletionFunction> is std::barrier: `expected` participants
// arrive in each phase; the last arrival runs the completion function (on
// its own fiber or thread, before anyone is released), then the phase
// ends, every waiter of it returns and the next phase starts with the
// expected count (less those who arrive_and_drop()ped). The completion must
// be nothrow-invocable (std's rule); it may suspend, and it runs with the
// barrier's internal lock held. Non-movable.
template <class CompletionFunction = detail::barrier_noop>
class barrier {
  static_assert(std::is_nothrow_invocable_v<CompletionFunction&>,
                "weft::compat::barrier: the completion function must be nothrow-invocable");

 public:
  // arrival_token says which phase an arrive() belongs to. Move-only.
  class arrival_token {
   public:
    arrival_token(arrival_token&&) noexcept = default;
    arrival_token& operator=(arrival_token&&) noexcept = default;

   private:
    friend class barrier;
    explicit arrival_token(std::uint64_t phase) noexcept : phase_(phase) {}
    std::uint64_t phase_;
  };

  // max() is the largest expected count.
  static constexpr std::ptrdiff_t max() noexcept {
    return std::numeric_limits<std::ptrdiff_t>::max();
  }

  // barrier() expects `expected` arrivals per phase.
  // Errors: std::invalid_argument when expected < 0 (std: undefined).
  explicit barrier(std::ptrdiff_t expected, CompletionFunction f = CompletionFunction())
      : expected_(detail::check_expected(expected, "weft::compat::barrier: negative count")),
        remaining_(expected),
        f_(std::move(f)) {}
  barrier(const barrier&) = delete;
  barrier& operator=(const barrier&) = delete;

  // arrive() counts `n` arrivals in the current phase (the last one runs
  // the completion and starts the next phase) and returns its token.
  // Blocks: only for the internal lock (and the completion, on the last
  // arrival); not a cancellation point. Thread-safety: any fiber or thread.
  [[nodiscard]] arrival_token arrive(std::ptrdiff_t n = 1) {
    auto lk = detail::lock_for_update(m_);
    return arrive_locked(n);
  }

  // wait() returns once the phase of `t` has completed.
  // Blocks: parks the fiber (or blocks the plain thread).
  // Errors: weft::cancelled. Thread-safety: any fiber or thread.
  void wait(arrival_token&& t) const {
    std::unique_lock<weft::sync::mutex> lk(m_);
    cv_.wait(lk, [&] { return phase_ != t.phase_; });
  }

  // arrive_and_wait() is wait(arrive()).
  void arrive_and_wait() { wait(arrive()); }

  // arrive_and_drop() arrives in this phase and leaves the barrier: later
  // phases expect one participant fewer. Blocks, Errors: as arrive().
  void arrive_and_drop() {
    auto lk = detail::lock_for_update(m_);
    --expected_;
    (void)arrive_locked(1);
  }

 private:
  arrival_token arrive_locked(std::ptrdiff_t n) {
    arrival_token t(phase_);
    remaining_ -= n;
    if (remaining_ <= 0) {
      f_();
      ++phase_;
      remaining_ = expected_;
      cv_.notify_all();
    }
    return t;
  }

  mutable weft::sync::mutex m_;
  mutable weft::sync::condition_variable cv_;
  std::ptrdiff_t expected_;   // guarded by m_
  std::ptrdiff_t remaining_;  // guarded by m_
  std::uint64_t phase_ = 0;   // guarded by m_
  CompletionFunction f_;
};

}  // namespace weft::compat
