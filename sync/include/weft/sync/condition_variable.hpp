// SPDX-License-Identifier: MIT
// weft::sync::condition_variable and condition_variable_any: std-shaped
// condition variables that park fibers (and block plain threads), for
// porting code written against std::condition_variable.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <utility>

#include "weft/fibers/config.hpp"
#include "weft/sync/detail/cv_core.hpp"
#include "weft/sync/detail/deadline.hpp"
#include "weft/sync/mutex.hpp"
#include "weft/sync/rwlock.hpp"

namespace weft::sync {

// condition_variable waits with a std::unique_lock<weft::sync::mutex>,
// with std::condition_variable's interface and semantics: waiters are woken
// in FIFO order, wake-ups may be spurious (use the predicate forms), and the
// lock is held again whenever a wait returns or throws. A waiter aborted
// after a notify_one() chose it but before it ran throws weft::cancelled
// and that notify goes to the next waiter (docs/sync/cancellation.md).
// Non-movable.
class condition_variable {
 public:
  condition_variable() noexcept = default;
  condition_variable(const condition_variable&) = delete;
  condition_variable& operator=(const condition_variable&) = delete;

  // notify_one() wakes the longest-waiting waiter, if any.
  // Blocks: never. Thread-safety: any fiber or thread, lock held or not.
  void notify_one() noexcept { core_.notify_one(); }

  // notify_all() wakes every waiter. Blocks: never.
  void notify_all() noexcept { core_.notify_all(); }

  // wait() atomically releases `lk` and waits for a notify, then re-locks.
  // Blocks: parks the fiber (or blocks the plain thread). Errors: throws
  // weft::cancelled when cancelled while waiting (`lk` is locked again;
  // a notify aimed at a cancelled waiter goes to the next one).
  void wait(std::unique_lock<mutex>& lk) {
    (void)detail::cv_wait(core_, lk, weft::detail::no_deadline);
  }

  // wait() with a predicate loops until `pred()` holds (checked under `lk`).
  template <class Predicate>
  void wait(std::unique_lock<mutex>& lk, Predicate pred) {
    (void)detail::cv_wait_pred(core_, lk, weft::detail::no_deadline, pred);
  }

  // wait_until() is wait() giving up at `t` (any clock): cv_status::timeout.
  // Errors: weft::cancelled.
  template <class Clock, class Duration>
  std::cv_status wait_until(std::unique_lock<mutex>& lk,
                            const std::chrono::time_point<Clock, Duration>& t) {
    return detail::cv_wait(core_, lk, detail::deadline_at(t));
  }

  // wait_until() with a predicate: false when `t` passed and pred() is false.
  template <class Clock, class Duration, class Predicate>
  bool wait_until(std::unique_lock<mutex>& lk, const std::chrono::time_point<Clock, Duration>& t,
                  Predicate pred) {
    return detail::cv_wait_pred(core_, lk, detail::deadline_at(t), pred);
  }

  // wait_for() is wait_until(now + d).
  template <class Rep, class Period>
  std::cv_status wait_for(std::unique_lock<mutex>& lk,
                          const std::chrono::duration<Rep, Period>& d) {
    return detail::cv_wait(core_, lk, detail::deadline_after(d));
  }

  // wait_for() with a predicate is wait_until(now + d, pred).
  template <class Rep, class Period, class Predicate>
  bool wait_for(std::unique_lock<mutex>& lk, const std::chrono::duration<Rep, Period>& d,
                Predicate pred) {
    return detail::cv_wait_pred(core_, lk, detail::deadline_after(d), pred);
  }

 private:
  detail::cv_core core_;
};

// condition_variable_any is condition_variable for any BasicLockable:
// weft::sync::mutex, rwlock (through std::unique_lock/std::shared_lock),
// or std::mutex when the callers are plain threads (a fiber waiting with a
// std::mutex works but blocks its worker while it takes the std::mutex).
// Same semantics as condition_variable. Non-movable.
class condition_variable_any {
 public:
  condition_variable_any() noexcept = default;
  condition_variable_any(const condition_variable_any&) = delete;
  condition_variable_any& operator=(const condition_variable_any&) = delete;

  // notify_one() wakes the longest-waiting waiter, if any. Blocks: never.
  void notify_one() noexcept { core_.notify_one(); }

  // notify_all() wakes every waiter. Blocks: never.
  void notify_all() noexcept { core_.notify_all(); }

  // wait() releases `lk`, waits for a notify, re-locks. Blocks: parks the
  // fiber (or blocks the thread). Errors: weft::cancelled (`lk` re-locked).
  template <class Lock>
  void wait(Lock& lk) {
    (void)detail::cv_wait(core_, lk, weft::detail::no_deadline);
  }

  // wait() with a predicate loops until `pred()` holds.
  template <class Lock, class Predicate>
  void wait(Lock& lk, Predicate pred) {
    (void)detail::cv_wait_pred(core_, lk, weft::detail::no_deadline, pred);
  }

  // wait_until() is wait() giving up at `t`: cv_status::timeout.
  template <class Lock, class Clock, class Duration>
  std::cv_status wait_until(Lock& lk, const std::chrono::time_point<Clock, Duration>& t) {
    return detail::cv_wait(core_, lk, detail::deadline_at(t));
  }

  // wait_until() with a predicate: false when `t` passed and pred() is false.
  template <class Lock, class Clock, class Duration, class Predicate>
  bool wait_until(Lock& lk, const std::chrono::time_point<Clock, Duration>& t, Predicate pred) {
    return detail::cv_wait_pred(core_, lk, detail::deadline_at(t), pred);
  }

  // wait_for() is wait_until(now + d).
  template <class Lock, class Rep, class Period>
  std::cv_status wait_for(Lock& lk, const std::chrono::duration<Rep, Period>& d) {
    return detail::cv_wait(core_, lk, detail::deadline_after(d));
  }

  // wait_for() with a predicate is wait_until(now + d, pred).
  template <class Lock, class Rep, class Period, class Predicate>
  bool wait_for(Lock& lk, const std::chrono::duration<Rep, Period>& d, Predicate pred) {
    return detail::cv_wait_pred(core_, lk, detail::deadline_after(d), pred);
  }

 private:
  detail::cv_core core_;
};

}  // namespace weft::sync
