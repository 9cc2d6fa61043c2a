// SPDX-License-Identifier: MIT
// weft::sync::barrier: a reusable rendezvous of n fibers or threads, one of
// which is told it is the leader of its generation (Tokio's Barrier).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "weft/fibers/config.hpp"
#include "weft/fibers/detail/waiter.hpp"
#include "weft/fibers/result.hpp"
#include "weft/fibers/time.hpp"
#include "weft/sync/detail/deadline.hpp"

namespace weft::sync {

// barrier_wait_result says how a barrier wait ended.
class barrier_wait_result {
 public:
  explicit barrier_wait_result(bool leader) noexcept : leader_(leader) {}
  // is_leader() is true for exactly one waiter of each generation: the one
  // whose arrival completed it.
  bool is_leader() const noexcept { return leader_; }

 private:
  bool leader_;
};

// barrier releases waiters in groups of n: the n-th wait() of a generation
// wakes the n-1 parked before it and starts the next generation. A waiter
// aborted after its generation completed but before it ran throws
// weft::cancelled; its arrival counted (docs/sync/cancellation.md).
// Non-movable.
class barrier {
 public:
  // barrier() makes a barrier for groups of `n`. `n` == 0 makes a barrier
  // of 1 (every wait() returns at once as leader), as Tokio's Barrier::new(0).
  explicit barrier(std::size_t n);
  barrier(const barrier&) = delete;
  barrier& operator=(const barrier&) = delete;

  // wait() arrives and waits for the rest of the generation.
  // Blocks: parks the fiber (or blocks the plain thread) until n arrived.
  // Errors: throws weft::cancelled when cancelled while waiting; the
  //   arrival is then withdrawn, unless the generation had already
  //   completed (it then counted, and the others were released).
  // Thread-safety: any fiber or thread.
  barrier_wait_result wait();

  // wait_for() is wait() giving up after `d`: errc::timeout, and the
  // arrival is withdrawn (if the generation completed at the same moment,
  // the wait succeeds instead). Any std::chrono duration; one too long to
  // represent (hours::max(), 300 years) means no deadline.
  // Errors: errc::timeout; weft::cancelled.
  template <class Rep, class Period>
  [[nodiscard]] result<barrier_wait_result> wait_for(std::chrono::duration<Rep, Period> d) {
    return wait_until_ns(detail::deadline_after(d));
  }

  // wait_until() is wait() giving up at `t`, a time point of any clock
  // (time_point::max() means no deadline). Errors: errc::timeout;
  // weft::cancelled.
  template <class Clock, class Duration>
  [[nodiscard]] result<barrier_wait_result> wait_until(
      const std::chrono::time_point<Clock, Duration>& t) {
    return wait_until_ns(detail::deadline_at(t));
  }

  // size() is n (1 for a barrier made with 0).
  std::size_t size() const noexcept { return n_; }

 private:
  result<barrier_wait_result> wait_until_ns(std::int64_t deadline_ns);

  weft::detail::spin_lock lock_;
  weft::detail::wait_list waiters_;  // guarded by lock_
  const std::size_t n_;
  std::size_t arrived_ = 0;       // guarded by lock_
  std::uint64_t generation_ = 0;  // guarded by lock_
};

}  // namespace weft::sync
