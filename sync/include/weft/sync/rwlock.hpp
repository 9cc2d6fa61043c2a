// SPDX-License-Identifier: MIT
// weft::sync::rwlock: a fair reader-writer lock for fibers and threads in
// which writers are not starved by a stream of readers.
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>

#include "weft/fibers/config.hpp"
#include "weft/sync/detail/batch_semaphore.hpp"
#include "weft/sync/detail/deadline.hpp"

namespace weft::sync {

namespace detail {
struct relock_access;
}

// rwlock is a batch_semaphore of max_readers permits (Tokio's RwLock): a
// reader takes one, a writer takes them all. Acquisitions are served FIFO,
// so once a writer queues, readers arriving after it queue behind it and
// it gets in as soon as the readers ahead of it leave. It provides
// lock/try_lock/unlock and lock_shared/try_lock_shared/unlock_shared with
// timed forms, so std::unique_lock and std::shared_lock work with it.
// Not recursive; no upgrade. A waiter (reader or writer) aborted after its
// access was handed over but before it ran throws weft::cancelled and the
// permits go on to the next waiters (docs/sync/cancellation.md).
// Non-movable.
class rwlock {
 public:
  // max_readers is the number of readers that can hold the lock at once.
  static constexpr std::size_t max_readers = std::numeric_limits<std::uint32_t>::max() >> 3;

  // rwlock() is unlocked.
  rwlock() : sem_(max_readers, "rwlock read lock", "rwlock write lock") {}
  rwlock(const rwlock&) = delete;
  rwlock& operator=(const rwlock&) = delete;

  // lock() acquires exclusive (write) access. Blocks: parks the fiber (or
  // blocks the plain thread) until every earlier holder left. Errors:
  // weft::cancelled; the caller then holds nothing and any read permits
  // already collected for it go to the waiters behind it.
  // Thread-safety: any fiber or thread.
  void lock() { (void)sem_.acquire(max_readers); }

  // try_lock() takes exclusive access if the lock is free now.
  // waiter_count() is how many lock calls are queued right now (a snapshot,
  // for metrics and tests).
  std::size_t waiter_count() const noexcept { return sem_.waiter_count(); }

  bool try_lock() noexcept {
    return sem_.try_acquire(max_readers) == detail::acquire_status::acquired;
  }

  // try_lock_for() is lock() giving up after `d`. Errors: weft::cancelled.
  template <class Rep, class Period>
  bool try_lock_for(const std::chrono::duration<Rep, Period>& d) {
    return sem_.acquire(max_readers, detail::deadline_after(d)) == detail::acquire_status::acquired;
  }

  // try_lock_until() is lock() giving up at `t`. Errors: weft::cancelled.
  template <class Clock, class Duration>
  bool try_lock_until(const std::chrono::time_point<Clock, Duration>& t) {
    return sem_.acquire(max_readers, detail::deadline_at(t)) == detail::acquire_status::acquired;
  }

  // unlock() releases exclusive access.
  void unlock() noexcept { sem_.release(max_readers); }

  // lock_shared() acquires shared (read) access. Blocks: behind any queued
  // writer. Errors: weft::cancelled. Thread-safety: any fiber or thread.
  void lock_shared() { (void)sem_.acquire(1); }

  // try_lock_shared() takes shared access if no writer holds or waits.
  bool try_lock_shared() noexcept {
    return sem_.try_acquire(1) == detail::acquire_status::acquired;
  }

  // try_lock_shared_for() is lock_shared() giving up after `d`.
  template <class Rep, class Period>
  bool try_lock_shared_for(const std::chrono::duration<Rep, Period>& d) {
    return sem_.acquire(1, detail::deadline_after(d)) == detail::acquire_status::acquired;
  }

  // try_lock_shared_until() is lock_shared() giving up at `t`.
  template <class Clock, class Duration>
  bool try_lock_shared_until(const std::chrono::time_point<Clock, Duration>& t) {
    return sem_.acquire(1, detail::deadline_at(t)) == detail::acquire_status::acquired;
  }

  // unlock_shared() releases shared access.
  void unlock_shared() noexcept { sem_.release(1); }

 private:
  friend struct detail::relock_access;
  // lock_uncancellable() and lock_shared_uncancellable() never throw
  // weft::cancelled: a condition variable re-locks with them.
  void lock_uncancellable() { (void)sem_.acquire(max_readers, weft::detail::no_deadline, false); }
  void lock_shared_uncancellable() { (void)sem_.acquire(1, weft::detail::no_deadline, false); }
  detail::batch_semaphore sem_;
};

}  // namespace weft::sync
