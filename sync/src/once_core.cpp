// SPDX-License-Identifier: MIT
// once_core: callers that find an initializer running park on waiters_;
// finish() and abandon() wake them all and they re-read state_.
#include "weft/sync/detail/once_core.hpp"

#include "wake_batch.hpp"
#include "weft/fibers/detail/wait_label.hpp"
#include "weft/sync/detail/deadline.hpp"

namespace weft::sync::detail {

using weft::detail::no_deadline;
using weft::detail::spin_guard;
using weft::detail::wake_reason;

once_core::begin_status once_core::begin(std::int64_t deadline_ns) {
  if (ready()) return begin_status::ready;
  spin_guard lk(lock_);
  for (;;) {
    const std::uint8_t s = state_.load(std::memory_order_relaxed);
    if (s == kReady) return begin_status::ready;
    if (s == kEmpty) {
      state_.store(kRunning, std::memory_order_relaxed);
      return begin_status::initialize;
    }
    // Cancelled (thrown): we held nothing. If an abandon() woke everyone at
    // the same moment, the others re-check without us.
    weft::detail::wait_label label("once_cell initialization", this, deadline_ns);
    const wake_reason why = park_on(waiters_, lk, deadline_ns);
    if (why == wake_reason::timeout && state_.load(std::memory_order_relaxed) == kRunning) {
      return begin_status::timeout;
    }
  }
}

bool once_core::try_begin() noexcept {
  spin_guard lk(lock_);
  if (state_.load(std::memory_order_relaxed) != kEmpty) return false;
  state_.store(kRunning, std::memory_order_relaxed);
  return true;
}

void once_core::set_and_wake(std::uint8_t s) noexcept {
  wake_batch wakes;
  spin_guard lk(lock_);
  state_.store(s, std::memory_order_release);
  wake_all_into(waiters_, wakes);
  lk.unlock();
  wakes.resume_all();
}

void once_core::finish() noexcept { set_and_wake(kReady); }

void once_core::abandon() noexcept { set_and_wake(kEmpty); }

}  // namespace weft::sync::detail
