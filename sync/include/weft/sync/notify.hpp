// SPDX-License-Identifier: MIT
// weft::sync::notify: wake one or all waiting fibers/threads, with Tokio's
// stored permit (a notify_one() with nobody waiting is not lost).
#pragma once

#include <chrono>

#include "weft/fibers/config.hpp"
#include "weft/fibers/result.hpp"
#include "weft/fibers/time.hpp"
#include "weft/sync/detail/deadline.hpp"
#include "weft/sync/detail/select_branch.hpp"

namespace weft::sync {

// notify lets one party wake others without passing data.
// Cancellation: a waiter aborted after a notify_one() chose it but before it
// ran throws weft::cancelled and the wake-up goes to the next waiter (or is
// stored): the hand-off rule of docs/sync/cancellation.md.
// Thread-safety: every member may be called from any fiber or thread.
class notify {
 public:
  notify() = default;
  notify(const notify&) = delete;
  notify& operator=(const notify&) = delete;

  // notify_one() wakes the longest-waiting waiter; with nobody waiting it
  // stores one permit (at most one), which the next notified() consumes.
  void notify_one() noexcept;

  // notify_waiters() wakes every current waiter and stores no permit.
  void notify_waiters() noexcept;

  // notified() waits for a notify_one()/notify_waiters() (or takes a
  // stored permit at once).
  // Blocks: parks the fiber (or blocks the plain thread).
  // Errors: throws weft::cancelled (no permit is consumed then).
  // Select: see on_notified(); a branch not chosen consumes no permit, but
  //   a notify_waiters() wake-up that lost to another branch is not replayed.
  void notified();

  // notified_for()/notified_until() add errc::timeout. Any std::chrono
  // duration or time point; one too far to represent means no deadline.
  template <class Rep, class Period>
  [[nodiscard]] result<void> notified_for(std::chrono::duration<Rep, Period> d) {
    return wait(detail::deadline_after(d));
  }
  template <class Clock, class Duration>
  [[nodiscard]] result<void> notified_until(const std::chrono::time_point<Clock, Duration>& t) {
    return wait(detail::deadline_at(t));
  }

  // Select (internal): used by on_notified().
  detail::poll select_try() noexcept;
  detail::poll select_arm(detail::waiter& w, detail::wait_list::node& n) noexcept;
  bool select_disarm(detail::wait_list::node& n, bool give_back = false) noexcept;

 private:
  result<void> wait(std::int64_t deadline_ns);
  // hand_one_locked() claims the longest waiter for a notify_one() or,
  // with nobody waiting, stores the permit (lock_ held).
  detail::wake_token hand_one_locked() noexcept;

  detail::spin_lock lock_;
  detail::wait_list waiters_;
  bool permit_ = false;
};

}  // namespace weft::sync
