// SPDX-License-Identifier: MIT
// cv_core: notify claims waiters under the list's spin_lock; a waiter whose
// claim is lost (timed out, cancelled) is skipped, so a notify_one() always
// reaches a waiter that is still waiting, if there is one.
#include <utility>

#include "wake_batch.hpp"
#include "weft/sync/condition_variable.hpp"

namespace weft::sync::detail {

using weft::detail::spin_guard;
using weft::detail::wait_list;
using weft::detail::wake_reason;

void relock_access::lock(weft::sync::mutex& m) { m.lock_uncancellable(); }

void cv_core::enqueue(wait_list::node& n) noexcept {
  spin_guard lk(lock_);
  waiters_.push_back(n);
}

void cv_core::dequeue(wait_list::node& n) noexcept {
  spin_guard lk(lock_);
  waiters_.remove(n);
}

void cv_core::notify_one() noexcept {
  weft::detail::wake_token t;
  {
    spin_guard lk(lock_);
    t = waiters_.wake_one(wake_reason::notified);
  }
  t.resume();
}

void cv_core::notify_all() noexcept {
  wake_batch wakes;
  spin_guard lk(lock_);
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

}  // namespace weft::sync::detail
