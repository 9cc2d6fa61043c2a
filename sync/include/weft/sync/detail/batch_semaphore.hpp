// SPDX-License-Identifier: MIT
// batch_semaphore: the one FIFO-fair counting semaphore that weft::sync's
// semaphore, mutex and rwlock stand on (Tokio's batch_semaphore). Internal:
// do not depend on it outside weft.
//
// Fairness. Waiters queue in FIFO order and released permits go to the head
// of the queue first, even when the head asks for more than is released:
// the head then keeps the permits it was assigned and waits for the rest, so
// a large request is never starved by later small ones. Invariant: while a
// waiter is queued, no permit is available (available_permits() == 0).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>

#include "weft/fibers/config.hpp"
#include "weft/fibers/detail/waiter.hpp"

namespace weft::detail {
class wake_batch;
}  // namespace weft::detail

namespace weft::sync::detail {

using weft::detail::wake_batch;

// acquire_status is the outcome of an acquire.
enum class acquire_status {
  acquired,  // the permits are the caller's
  closed,    // the semaphore was closed (before or while waiting)
  timeout,   // the deadline passed first
  empty,     // try_acquire(): not enough permits right now
};

// batch_semaphore hands out permits, several at a time, in FIFO order.
class batch_semaphore {
 public:
  // max_permits is the largest number of permits the semaphore can hold.
  static constexpr std::size_t max_permits = std::numeric_limits<std::size_t>::max() >> 3;

  // batch_semaphore() starts with `permits` available. `one` and `many`
  // name a waiting acquire of one permit and of more (string literals, for
  // the fiber dump: a mutex says "mutex lock", an rwlock tells a read lock
  // from a write lock).
  // Errors: std::invalid_argument when permits > max_permits.
  explicit batch_semaphore(std::size_t permits, const char* one = "semaphore acquire",
                           const char* many = "semaphore acquire");
  batch_semaphore(const batch_semaphore&) = delete;
  batch_semaphore& operator=(const batch_semaphore&) = delete;
  ~batch_semaphore() = default;

  // try_acquire() takes `n` permits if they are available now.
  // Blocks: never. Errors: closed, empty; std::invalid_argument when
  //   n > max_permits. Thread-safety: any thread or fiber.
  acquire_status try_acquire(std::size_t n);

  // acquire() takes `n` permits, queueing (FIFO) until they are assigned.
  // Blocks: parks the fiber (or blocks the plain thread) until the permits
  //   are handed over, the semaphore closes or `deadline_ns` (runtime clock)
  //   passes. Errors: closed, timeout; throws weft::cancelled when the
  //   caller is cancelled (when `cancellable`); std::invalid_argument when
  //   n > max_permits. On every failure the caller holds no permit and any
  //   permit partly assigned to it went on to the next waiters.
  // Thread-safety: any thread or fiber.
  acquire_status acquire(std::size_t n, std::int64_t deadline_ns = weft::detail::no_deadline,
                         bool cancellable = true);

  // release() returns `n` permits, handing them to queued waiters first.
  // Blocks: never. Thread-safety: any thread or fiber.
  void release(std::size_t n) noexcept;

  // add_permits() is release() of permits nobody acquired (growing the pool).
  // Errors: std::invalid_argument when the pool would exceed max_permits.
  void add_permits(std::size_t n);

  // close() makes every queued and future acquire fail with closed.
  // Permits held stay valid and may still be released.
  void close() noexcept;

  // is_closed() says whether close() was called.
  bool is_closed() const noexcept;

  // available_permits() is the number of permits nobody holds or waits for.
  std::size_t available_permits() const noexcept;

  // waiter_count() is the number of queued acquires (for tests and metrics).
  std::size_t waiter_count() const noexcept;

 private:
  void release_locked(std::size_t n, wake_batch& wakes) noexcept;

  mutable weft::detail::spin_lock lock_;
  weft::detail::wait_list waiters_;  // guarded by lock_; node.count = permits still needed
  std::size_t permits_;              // guarded by lock_
  bool closed_ = false;              // guarded by lock_
  const char* const label_one_;
  const char* const label_many_;
  const bool show_permits_;
};

}  // namespace weft::sync::detail
