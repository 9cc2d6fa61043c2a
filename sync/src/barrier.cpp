// SPDX-License-Identifier: MIT
// barrier: arrivals counted under a spin_lock; the last arrival bumps the
// generation and wakes the parked ones. A waiter learns its generation
// completed from generation_, not from how it was woken, so a waiter whose
// timeout raced with the completion still reports success.
#include "weft/sync/barrier.hpp"

#include "wake_batch.hpp"
#include "weft/fibers/detail/wait_label.hpp"

namespace weft::sync {

using weft::detail::spin_guard;
using weft::detail::wake_reason;

// A barrier of 0 is a barrier of 1, as Tokio's Barrier::new(0).
barrier::barrier(std::size_t n) : n_(n == 0 ? 1 : n) {}

barrier_wait_result barrier::wait() {
  // Without a deadline the only failure is weft::cancelled (thrown).
  return *wait_until_ns(weft::detail::no_deadline);
}

result<barrier_wait_result> barrier::wait_until_ns(std::int64_t deadline_ns) {
  spin_guard lk(lock_);
  if (++arrived_ == n_) {
    arrived_ = 0;
    ++generation_;
    detail::wake_batch wakes;
    detail::wake_all_into(waiters_, wakes);
    lk.unlock();
    return barrier_wait_result(true);
  }
  const std::uint64_t gen = generation_;
  for (;;) {
    wake_reason why;
    try {
      weft::detail::wait_label label("barrier wait", this, deadline_ns);
      why = detail::park_on(waiters_, lk, deadline_ns);
    } catch (...) {
      if (generation_ == gen) --arrived_;  // park_on re-locked lk
      throw;
    }
    if (generation_ != gen) return barrier_wait_result(false);
    if (why == wake_reason::timeout) {
      --arrived_;
      return make_error_code(errc::timeout);
    }
    // Woken without completion (a cancellation delivered earlier): wait on.
  }
}

}  // namespace weft::sync
