// SPDX-License-Identifier: MIT
// cv_core: notify claims waiters under the list's spin_lock; a waiter whose
// claim is lost (timed out, cancelled) is skipped, so a notify_one() always
// reaches a waiter that is still waiting, if there is one. A node woken by
// notify_one() is `chosen`, so that a waiter aborted before it ran can pass
// exactly that wake-up on (docs/sync/cancellation.md).
#include "weft/sync/condition_variable.hpp"

#include <utility>

#include "wake_batch.hpp"

namespace weft::sync::detail {

using weft::detail::spin_guard;
using weft::detail::wait_list;
using weft::detail::wake_reason;

void relock_access::lock(weft::sync::mutex& m) { m.lock_uncancellable(); }

void relock_access::lock(weft::sync::rwlock& l) { l.lock_uncancellable(); }

void relock_access::lock_shared(weft::sync::rwlock& l) { l.lock_shared_uncancellable(); }

void cv_core::enqueue(wait_list::node& n) noexcept {
  spin_guard lk(lock_);
  waiters_.push_back(n);
}

void cv_core::dequeue(wait_list::node& n, bool give_back) noexcept {
  weft::detail::wake_token t;
  spin_guard lk(lock_);
  waiters_.remove(n);
  if (give_back && n.chosen) t = waiters_.wake_one();
  lk.unlock();
}

void cv_core::notify_one() noexcept {
  weft::detail::wake_token t;
  {
    spin_guard lk(lock_);
    t = waiters_.wake_one();
  }
  t.resume();
}

void cv_core::notify_all() noexcept {
  wake_batch wakes;
  spin_guard lk(lock_);
  wake_all_into(waiters_, wakes);
  lk.unlock();
  wakes.resume_all();
}

}  // namespace weft::sync::detail
