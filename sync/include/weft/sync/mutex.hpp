// SPDX-License-Identifier: MIT
// weft::sync::mutex: a fair mutual-exclusion lock that parks fibers instead
// of blocking worker threads; may be held across suspension points.
#pragma once

#include <chrono>

#include "weft/fibers/config.hpp"
#include "weft/sync/detail/batch_semaphore.hpp"
#include "weft/sync/detail/deadline.hpp"

namespace weft::sync {

class condition_variable;

namespace detail {
struct relock_access;
}

// mutex is a FIFO-fair lock on one permit of a batch_semaphore: unlock()
// hands the lock directly to the longest waiter, so no waiter starves and
// an unlocking fiber cannot barge back in ahead of it. It provides
// lock/try_lock/unlock and the timed forms, so std::unique_lock,
// std::lock_guard, std::scoped_lock and condition_variable_any work with
// it. It is not recursive and has no owner: unlock() may run on another
// fiber or thread than lock() (useful when a guard is moved), but unlocking
// a mutex that is not locked is undefined. A waiter aborted after the lock
// was handed to it but before it ran throws weft::cancelled and the lock
// goes to the next waiter (docs/sync/cancellation.md). Non-movable.
class mutex {
 public:
  // mutex() is unlocked.
  mutex() : sem_(1, "mutex lock", "mutex lock") {}
  mutex(const mutex&) = delete;
  mutex& operator=(const mutex&) = delete;

  // lock() acquires the mutex. Blocks: parks the fiber (or blocks the plain
  // thread) behind earlier waiters. Errors: throws weft::cancelled if the
  // caller is cancelled while waiting; it then does not hold the mutex and
  // the next waiter is not held up. Thread-safety: any fiber or thread.
  void lock() { (void)sem_.acquire(1); }

  // try_lock() acquires the mutex if it is free and nobody waits for it.
  // Blocks: never.
  // waiter_count() is how many lock calls are queued right now (a snapshot,
  // for metrics and tests).
  std::size_t waiter_count() const noexcept { return sem_.waiter_count(); }

  bool try_lock() noexcept { return sem_.try_acquire(1) == detail::acquire_status::acquired; }

  // try_lock_for() is lock() giving up after `d`; false on timeout.
  // Errors: weft::cancelled.
  template <class Rep, class Period>
  bool try_lock_for(const std::chrono::duration<Rep, Period>& d) {
    return sem_.acquire(1, detail::deadline_after(d)) == detail::acquire_status::acquired;
  }

  // try_lock_until() is lock() giving up at `t` (any clock; the runtime
  // clock, weft::time::clock, is exact under a paused test clock).
  // Errors: weft::cancelled.
  template <class Clock, class Duration>
  bool try_lock_until(const std::chrono::time_point<Clock, Duration>& t) {
    return sem_.acquire(1, detail::deadline_at(t)) == detail::acquire_status::acquired;
  }

  // unlock() releases the mutex, handing it to the first waiter if any.
  // Blocks: never.
  void unlock() noexcept { sem_.release(1); }

 private:
  friend struct detail::relock_access;
  // lock_uncancellable() is lock() that never throws weft::cancelled: a
  // condition variable re-locks with it while a cancellation unwinds.
  void lock_uncancellable() { (void)sem_.acquire(1, weft::detail::no_deadline, false); }
  detail::batch_semaphore sem_;
};

}  // namespace weft::sync
