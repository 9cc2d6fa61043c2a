// SPDX-License-Identifier: MIT
// weft::sync::semaphore: a FIFO-fair counting semaphore for fibers and
// threads, with RAII permits (Tokio's Semaphore).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <utility>

#include "weft/fibers/config.hpp"
#include "weft/fibers/result.hpp"
#include "weft/fibers/time.hpp"
#include "weft/sync/detail/batch_semaphore.hpp"
#include "weft/sync/detail/deadline.hpp"

namespace weft::sync {

class semaphore;

// semaphore_permit holds permits of a semaphore and returns them when it is
// destroyed. Move-only; a moved-from or released permit holds nothing.
// Thread-safety: one permit object is used by one fiber/thread at a time;
// it may be moved to and released on any other.
class [[nodiscard]] semaphore_permit {
 public:
  // semaphore_permit() holds nothing.
  semaphore_permit() noexcept = default;
  semaphore_permit(semaphore_permit&& o) noexcept;
  semaphore_permit& operator=(semaphore_permit&& o) noexcept;
  semaphore_permit(const semaphore_permit&) = delete;
  semaphore_permit& operator=(const semaphore_permit&) = delete;
  // ~semaphore_permit() releases the permits it holds.
  ~semaphore_permit() { release(); }

  // count() is the number of permits held.
  std::size_t count() const noexcept { return n_; }

  // release() gives the permits back now (handing them to queued waiters).
  void release() noexcept;

  // forget() drops the permits without returning them: the semaphore
  // shrinks by count() (Tokio's forget).
  void forget() noexcept { n_ = 0; }

 private:
  friend class semaphore;
  semaphore_permit(semaphore* s, std::size_t n) noexcept : sem_(s), n_(n) {}
  semaphore* sem_ = nullptr;
  std::size_t n_ = 0;
};

// owned_semaphore_permit is a semaphore_permit that also keeps its
// semaphore alive (from acquire_owned() on a std::shared_ptr<semaphore>).
class [[nodiscard]] owned_semaphore_permit {
 public:
  owned_semaphore_permit() noexcept = default;
  owned_semaphore_permit(owned_semaphore_permit&&) noexcept = default;
  // operator=() releases the permits held before taking over `o`'s.
  owned_semaphore_permit& operator=(owned_semaphore_permit&& o) noexcept {
    permit_ = std::move(o.permit_);  // releases into our semaphore while it lives
    sem_ = std::move(o.sem_);
    return *this;
  }
  // count() is the number of permits held.
  std::size_t count() const noexcept { return permit_.count(); }
  // release() gives the permits back now.
  void release() noexcept { permit_.release(); }
  // forget() drops the permits without returning them.
  void forget() noexcept { permit_.forget(); }
  // owner() is the semaphore the permits belong to.
  const std::shared_ptr<weft::sync::semaphore>& owner() const noexcept { return sem_; }

 private:
  friend result<owned_semaphore_permit> acquire_owned(std::shared_ptr<weft::sync::semaphore>,
                                                      std::size_t);
  friend result<owned_semaphore_permit> try_acquire_owned(std::shared_ptr<weft::sync::semaphore>,
                                                          std::size_t);
  owned_semaphore_permit(std::shared_ptr<weft::sync::semaphore> s, semaphore_permit p) noexcept
      : sem_(std::move(s)), permit_(std::move(p)) {}
  // Declaration order matters: the permit is released before the pointer drops.
  std::shared_ptr<weft::sync::semaphore> sem_;
  semaphore_permit permit_;
};

// semaphore bounds concurrency: acquire() waits in FIFO order until a
// permit is free. A waiter asking for many permits is served in its turn
// and collects released permits while it waits, so later small requests
// cannot starve it. A waiter aborted after its permits were handed over but
// before it ran throws weft::cancelled and the permits go on to the next
// waiters (docs/sync/cancellation.md). Non-movable.
class semaphore {
 public:
  // max_permits is the largest number of permits a semaphore can hold.
  static constexpr std::size_t max_permits = detail::batch_semaphore::max_permits;

  // semaphore() starts with `permits` permits.
  // Errors: std::invalid_argument when permits > max_permits.
  explicit semaphore(std::size_t permits) : sem_(permits) {}
  semaphore(const semaphore&) = delete;
  semaphore& operator=(const semaphore&) = delete;

  // acquire() waits for one permit. Blocks: parks the fiber (or blocks the
  // plain thread). Errors: errc::closed; throws weft::cancelled if the
  // caller is cancelled while queued (it then holds nothing and its place
  // goes to the next waiter). Thread-safety: any fiber or thread.
  [[nodiscard]] result<semaphore_permit> acquire() {
    return acquire_many_until_ns(1, no_deadline_);
  }

  // acquire_many() waits for `n` permits at once (FIFO: not overtaken by
  // later requests). Blocks, Errors: as acquire(); std::invalid_argument
  // when n > max_permits.
  [[nodiscard]] result<semaphore_permit> acquire_many(std::size_t n) {
    return acquire_many_until_ns(n, no_deadline_);
  }

  // acquire_for() is acquire() giving up after `d` (any std::chrono
  // duration; one too long to represent means no deadline).
  // Errors: errc::timeout, errc::closed; weft::cancelled.
  template <class Rep, class Period>
  [[nodiscard]] result<semaphore_permit> acquire_for(std::chrono::duration<Rep, Period> d) {
    return acquire_many_until_ns(1, detail::deadline_after(d));
  }

  // acquire_until() is acquire() giving up at `t`, a time point of any
  // clock (exact on the runtime clock; time_point::max() means none).
  // Errors: errc::timeout, errc::closed; weft::cancelled.
  template <class Clock, class Duration>
  [[nodiscard]] result<semaphore_permit> acquire_until(
      const std::chrono::time_point<Clock, Duration>& t) {
    return acquire_many_until_ns(1, detail::deadline_at(t));
  }

  // acquire_many_for() is acquire_many() giving up after `d`.
  template <class Rep, class Period>
  [[nodiscard]] result<semaphore_permit> acquire_many_for(std::size_t n,
                                                          std::chrono::duration<Rep, Period> d) {
    return acquire_many_until_ns(n, detail::deadline_after(d));
  }

  // acquire_many_until() is acquire_many() giving up at `t`.
  template <class Clock, class Duration>
  [[nodiscard]] result<semaphore_permit> acquire_many_until(
      std::size_t n, const std::chrono::time_point<Clock, Duration>& t) {
    return acquire_many_until_ns(n, detail::deadline_at(t));
  }

  // try_acquire() takes one permit if one is free and nobody is queued.
  // Blocks: never. Errors: errc::empty, errc::closed.
  [[nodiscard]] result<semaphore_permit> try_acquire() { return try_acquire_many(1); }

  // try_acquire_many() takes `n` permits if they are free now.
  // Blocks: never. Errors: errc::empty, errc::closed; std::invalid_argument
  // when n > max_permits.
  [[nodiscard]] result<semaphore_permit> try_acquire_many(std::size_t n);

  // add_permits() adds `n` new permits (handed to queued waiters first).
  // Errors: std::invalid_argument when the total would exceed max_permits.
  void add_permits(std::size_t n) { sem_.add_permits(n); }

  // available_permits() is the number of permits free right now.
  std::size_t available_permits() const noexcept { return sem_.available_permits(); }

  // waiter_count() is how many acquires are queued right now (a snapshot,
  // for metrics and tests).
  std::size_t waiter_count() const noexcept { return sem_.waiter_count(); }

  // close() fails every queued and future acquire with errc::closed.
  // Permits already held stay valid and are returned as usual.
  void close() noexcept { sem_.close(); }

  // is_closed() says whether close() was called.
  bool is_closed() const noexcept { return sem_.is_closed(); }

 private:
  friend class semaphore_permit;
  static constexpr std::int64_t no_deadline_ = weft::detail::no_deadline;
  result<semaphore_permit> acquire_many_until_ns(std::size_t n, std::int64_t deadline_ns);
  detail::batch_semaphore sem_;
};

// acquire_owned() is semaphore::acquire_many(n) returning a permit that
// keeps `s` alive. Blocks, Errors: as acquire_many().
[[nodiscard]] result<owned_semaphore_permit> acquire_owned(std::shared_ptr<semaphore> s,
                                                           std::size_t n = 1);

// try_acquire_owned() is semaphore::try_acquire_many(n) returning a permit
// that keeps `s` alive. Blocks: never. Errors: errc::empty, errc::closed.
[[nodiscard]] result<owned_semaphore_permit> try_acquire_owned(std::shared_ptr<semaphore> s,
                                                               std::size_t n = 1);

}  // namespace weft::sync
