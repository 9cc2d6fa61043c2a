// SPDX-License-Identifier: MIT
// once_core: callers that find an initializer running park on waiters_;
// finish() and abandon() wake them all and they re-read state_.
#include "weft/sync/detail/once_core.hpp"

#include "wake_batch.hpp"
#include "weft/sync/detail/deadline.hpp"

namespace weft::sync::detail {

using weft::detail::no_deadline;
using weft::detail::spin_guard;
using weft::detail::wait_list;
using weft::detail::waiter;
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
    waiter w;
    wait_list::node node(w);
    waiters_.push_back(node);
    wake_reason why;
    try {
      why = w.park(&lk, deadline_ns);
    } catch (...) {
      // Cancelled: we held nothing. If an abandon() woke everyone at the
      // same moment, the others re-check without us.
      lk.lock();
      waiters_.remove(node);
      throw;
    }
    lk.lock();
    waiters_.remove(node);
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
  while (wait_list::node* n = waiters_.front()) {
    waiters_.remove(*n);
    if (weft::detail::wake_token t = n->w->claim(wake_reason::notified)) {
      n->fired = true;
      wakes.push(std::move(t));
    }
  }
  lk.unlock();
  wakes.resume_all();
}

void once_core::finish() noexcept { set_and_wake(kReady); }

void once_core::abandon() noexcept { set_and_wake(kEmpty); }

}  // namespace weft::sync::detail
