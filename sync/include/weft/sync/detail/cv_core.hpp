// SPDX-License-Identifier: MIT
// cv_core: the wait list behind condition_variable and
// condition_variable_any, and the generic wait that registers the waiter
// before releasing the caller's lock. Internal: do not depend on it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <type_traits>

#include "weft/fibers/detail/waiter.hpp"

namespace weft::sync {
class mutex;
}

namespace weft::sync::detail {

// relock_access re-locks a weft::sync::mutex without a cancellation point,
// for a wait that is unwinding from weft::cancelled.
struct relock_access {
  static void lock(weft::sync::mutex& m);
};

// cv_core keeps the waiters of one condition variable, in FIFO order.
class cv_core {
 public:
  cv_core() noexcept = default;
  cv_core(const cv_core&) = delete;
  cv_core& operator=(const cv_core&) = delete;

  // enqueue() links `n`; from then on a notify can claim its waiter.
  void enqueue(weft::detail::wait_list::node& n) noexcept;
  // dequeue() unlinks `n` if no notify did.
  void dequeue(weft::detail::wait_list::node& n) noexcept;
  // notify_one() wakes the longest waiter still waiting.
  void notify_one() noexcept;
  // notify_all() wakes every waiter.
  void notify_all() noexcept;

 private:
  weft::detail::spin_lock lock_;
  weft::detail::wait_list waiters_;  // guarded by lock_
};

// relock() takes `lk` back while a cancellation unwinds: through the
// uncancellable path for weft's mutex, plainly for any other lockable.
template <class Lock>
void relock(Lock& lk) {
  if constexpr (std::is_same_v<Lock, std::unique_lock<weft::sync::mutex>>) {
    weft::sync::mutex* m = lk.release();
    relock_access::lock(*m);
    lk = std::unique_lock<weft::sync::mutex>(*m, std::adopt_lock);
  } else if constexpr (std::is_same_v<Lock, weft::sync::mutex>) {
    relock_access::lock(lk);
  } else {
    lk.lock();
  }
}

// cv_wait() releases `lk`, waits for a notify or `deadline_ns`, re-locks
// `lk`. The waiter is linked before `lk` is released, so a notify made
// after the caller checked its condition under `lk` is never lost. `lk` is
// held again on every exit, exceptions included (as std requires).
// Errors: weft::cancelled.
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
    why = w.park(nullptr, deadline_ns);
  } catch (...) {
    cv.dequeue(node);
    relock(lk);
    throw;
  }
  cv.dequeue(node);
  lk.lock();
  return why == weft::detail::wake_reason::timeout ? std::cv_status::timeout
                                                   : std::cv_status::no_timeout;
}

}  // namespace weft::sync::detail
