// SPDX-License-Identifier: MIT
// notify: a wait list plus one stored permit, all under one spin_lock.
// A waiter woken by notify_one() (node.chosen) passes that wake-up on when
// it was cancelled before it ran (hand-off rule, docs/sync/cancellation.md);
// a notify_waiters() wake-up is not passed on.
#include "weft/fibers/detail/wait_label.hpp"
#include "weft/sync/notify.hpp"

#include "weft/sync/detail/wait_util.hpp"

namespace weft::sync {

using detail::poll;
using detail::spin_guard;
using detail::wait_list;
using detail::wake_reason;
using detail::wake_token;

wake_token notify::hand_one_locked() noexcept {
  wake_token t = waiters_.wake_one();
  if (!t) permit_ = true;
  return t;
}

void notify::notify_one() noexcept {
  wake_token t;
  {
    spin_guard lk(lock_);
    t = hand_one_locked();
  }
  t.resume();
}

void notify::notify_waiters() noexcept {
  spin_guard lk(lock_);
  (void)waiters_.wake_all();
}

void notify::notified() { (void)wait(detail::no_deadline); }

result<void> notify::wait(std::int64_t deadline_ns) {
  spin_guard lk(lock_);
  for (;;) {
    if (permit_) {
      permit_ = false;
      return {};
    }
    weft::detail::wait_label label("notify wait", this, deadline_ns);
    detail::waiter w;
    wait_list::node n(w);
    const wake_reason why =
        detail::park_node(waiters_, n, lk, deadline_ns, true, [&](detail::wake_batch& b) {
          if (n.chosen) b.add(hand_one_locked());
        });
    if (n.fired) return {};
    if (why == wake_reason::timeout) return make_error_code(errc::timeout);
  }
}

poll notify::select_try() noexcept {
  spin_guard lk(lock_);
  if (!permit_) return poll::pending;
  permit_ = false;
  return poll::ready;
}

poll notify::select_arm(detail::waiter& w, wait_list::node& n) noexcept {
  spin_guard lk(lock_);
  if (permit_) {
    if (!detail::claim_self(w)) return poll::pending;
    permit_ = false;
    return poll::ready;
  }
  n.fired = false;
  waiters_.push_back(n);
  return poll::pending;
}

bool notify::select_disarm(wait_list::node& n, bool give_back) noexcept {
  wake_token t;
  spin_guard lk(lock_);
  waiters_.remove(n);
  if (!give_back) return n.fired;
  if (n.chosen) t = hand_one_locked();
  lk.unlock();
  return false;
}

}  // namespace weft::sync
