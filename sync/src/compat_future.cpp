// SPDX-License-Identifier: MIT
// The untyped part of weft::compat's future state: claiming, publishing
// and the waits (compat_future_state.hpp says how they fit together).
#include <future>

#include "weft/fibers/detail/wait_label.hpp"
#include "weft/fibers/detail/wait_util.hpp"
#include "weft/sync/detail/compat_future_state.hpp"

namespace weft::compat::detail {

using weft::detail::claim_all;
using weft::detail::no_deadline;
using weft::detail::park_on;
using weft::detail::spin_guard;
using weft::detail::wake_batch;
using weft::detail::wake_reason;

void future_state_base::retrieve() {
  if (retrieved_.exchange(true, std::memory_order_acq_rel)) {
    throw std::future_error(std::future_errc::future_already_retrieved);
  }
}

void future_state_base::claim() {
  if (claimed_.exchange(true, std::memory_order_acq_rel)) {
    throw std::future_error(std::future_errc::promise_already_satisfied);
  }
}

void future_state_base::publish() noexcept {
  wake_batch wakes;  // resumed after the guard released lock_
  spin_guard lk(lock_);
  ready_.store(true, std::memory_order_release);
  claim_all(waiters_, wakes, /*fire=*/true);
}

void future_state_base::set_exception(std::exception_ptr e) {
  claim();
  error_ = std::move(e);
  publish();
}

void future_state_base::abandon() noexcept {
  if (claimed_.exchange(true, std::memory_order_acq_rel)) return;
  error_ = std::make_exception_ptr(std::future_error(std::future_errc::broken_promise));
  publish();
}

bool future_state_base::park_until(std::int64_t deadline_ns, bool cancellable) {
  spin_guard lk(lock_);
  while (!ready_.load(std::memory_order_acquire)) {
    weft::detail::wait_label label("future wait", this, deadline_ns);
    if (park_on(waiters_, lk, deadline_ns, cancellable) == wake_reason::timeout) {
      return ready_.load(std::memory_order_acquire);
    }
  }
  return true;
}

void future_state_base::wait() {
  if (ready()) return;
  if (deferred_ && !deferred_started_.exchange(true, std::memory_order_acq_rel)) {
    run_deferred();
    return;
  }
  (void)park_until(no_deadline, true);
}

std::future_status future_state_base::wait_until_ns(std::int64_t deadline_ns) {
  if (ready()) return std::future_status::ready;
  if (deferred_) return std::future_status::deferred;
  return park_until(deadline_ns, true) ? std::future_status::ready : std::future_status::timeout;
}

void future_state_base::wait_uncancellable() noexcept {
  if (ready()) return;
  (void)park_until(no_deadline, false);
}

}  // namespace weft::compat::detail
