// SPDX-License-Identifier: MIT
// cv_core: the wait list behind condition_variable and
// condition_variable_any, and the generic wait that registers the waiter
// before releasing the caller's lock. Internal: do not depend on it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <shared_mutex>
#include <type_traits>

#include "weft/fibers/cancelled.hpp"
#include "weft/fibers/config.hpp"
#include "weft/fibers/detail/wait_label.hpp"
#include "weft/fibers/detail/waiter.hpp"

namespace weft::sync {
class mutex;
class rwlock;
}  // namespace weft::sync

namespace weft::sync::detail {

// relock_access re-locks weft's lock types without a cancellation point,
// for a wait that is returning or unwinding: a cancellation that is due is
// then delivered at the caller's next suspension point, and the caller's
// guard never unlocks a lock it does not hold.
struct relock_access {
  static void lock(weft::sync::mutex& m);
  static void lock(weft::sync::rwlock& l);
  static void lock_shared(weft::sync::rwlock& l);
  // The templates take weft's other lock types (weft::compat's recursive
  // mutexes): a type that befriends relock_access and has a private
  // lock_uncancellable() / lock_shared_uncancellable().
  template <class M>
  static auto lock(M& m) -> decltype(m.lock_uncancellable()) {
    m.lock_uncancellable();
  }
  template <class M>
  static auto lock_shared(M& m) -> decltype(m.lock_shared_uncancellable()) {
    m.lock_shared_uncancellable();
  }
};

// weft_lockable is a lock type relock_access can re-lock without a
// cancellation point: weft::sync::mutex, rwlock, a class derived from them,
// or a type with the hooks above.
template <class M>
concept weft_lockable = requires(M& m) {
  relock_access::lock(m);
};
template <class M>
concept weft_shared_lockable = requires(M& m) {
  relock_access::lock_shared(m);
};

template <class Lock>
inline constexpr bool is_unique_lock_v = false;
template <class M>
inline constexpr bool is_unique_lock_v<std::unique_lock<M>> = true;
template <class Lock>
inline constexpr bool is_shared_lock_v = false;
template <class M>
inline constexpr bool is_shared_lock_v<std::shared_lock<M>> = true;

// cv_core keeps the waiters of one condition variable, in FIFO order.
class cv_core {
 public:
  cv_core() noexcept = default;
  cv_core(const cv_core&) = delete;
  cv_core& operator=(const cv_core&) = delete;

  // enqueue() links `n`; from then on a notify can claim its waiter.
  void enqueue(weft::detail::wait_list::node& n) noexcept;
  // dequeue() unlinks `n` if no notify did. With `give_back` (the waiter's
  // fiber was aborted after a notify_one() chose it, before it ran: the
  // hand-off rule, docs/sync/cancellation.md) that notify_one() goes on to
  // the next waiter; a notify_all() wake-up is not passed on.
  void dequeue(weft::detail::wait_list::node& n, bool give_back = false) noexcept;
  // notify_one() wakes the longest waiter still waiting.
  void notify_one() noexcept;
  // notify_all() wakes every waiter.
  void notify_all() noexcept;

 private:
  weft::detail::spin_lock lock_;
  weft::detail::wait_list waiters_;  // guarded by lock_
};

// relock() takes `lk` back after a wait: through the uncancellable path
// for weft's own lock types (bare or in std::unique_lock/std::shared_lock),
// with lk.lock() for any other lockable.
template <class Lock>
void relock(Lock& lk) {
  if constexpr (weft_lockable<Lock>) {
    relock_access::lock(lk);
  } else if constexpr (is_unique_lock_v<Lock>) {
    if constexpr (weft_lockable<typename Lock::mutex_type>) {
      auto* m = lk.release();
      relock_access::lock(*m);
      lk = Lock(*m, std::adopt_lock);
    } else {
      lk.lock();
    }
  } else if constexpr (is_shared_lock_v<Lock>) {
    if constexpr (weft_shared_lockable<typename Lock::mutex_type>) {
      auto* m = lk.release();
      relock_access::lock_shared(*m);
      lk = Lock(*m, std::adopt_lock);
    } else {
      lk.lock();
    }
  } else {
    lk.lock();
  }
}

// cv_wait() releases `lk`, waits for a notify or `deadline_ns`, re-locks
// `lk`. The waiter is linked before `lk` is released, so a notify made
// after the caller checked its condition under `lk` is never lost. `lk` is
// held again on every exit, exceptions included (as std requires), and
// re-locking weft's lock types is not a cancellation point: a cancellation
// that arrives once the fiber runs again is delivered at the next suspension
// point. Errors: weft::cancelled, while waiting for the notify or when the
// notify came but the fiber was aborted before it ran (its notify_one()
// then wakes the next waiter: docs/sync/cancellation.md).
template <class Lock>
std::cv_status cv_wait(cv_core& cv, Lock& lk, std::int64_t deadline_ns) {
  weft::detail::waiter w;
  weft::detail::wait_list::node node(w);
  cv.enqueue(node);
  try {
    lk.unlock();
  } catch (...) {
    cv.dequeue(node);
    throw;
  }
  weft::detail::wake_reason why;
  try {
    weft::detail::wait_label label("condition variable wait", &cv, deadline_ns);
    why = w.park(nullptr, deadline_ns);
  } catch (...) {
    cv.dequeue(node);
    relock(lk);
    throw;
  }
  if (w.take_late_cancel()) {
    cv.dequeue(node, /*give_back=*/true);
    relock(lk);
    throw weft::cancelled();
  }
  cv.dequeue(node);
  relock(lk);
  return why == weft::detail::wake_reason::timeout ? std::cv_status::timeout
                                                   : std::cv_status::no_timeout;
}

// cv_wait_pred() is cv_wait() looped until `pred()` holds (checked under
// `lk`); false when `deadline_ns` passed with `pred()` still false.
template <class Lock, class Predicate>
bool cv_wait_pred(cv_core& cv, Lock& lk, std::int64_t deadline_ns, Predicate& pred) {
  while (!pred()) {
    if (cv_wait(cv, lk, deadline_ns) == std::cv_status::timeout) return pred();
  }
  return true;
}

}  // namespace weft::sync::detail
