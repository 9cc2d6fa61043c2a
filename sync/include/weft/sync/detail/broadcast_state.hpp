// SPDX-License-Identifier: MIT
// The shared state behind weft::sync::broadcast: a ring of `capacity` slots,
// one lock, one wait list of receivers. Internal; do not depend on it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "weft/fibers/config.hpp"
#include "weft/fibers/detail/wait_label.hpp"
#include "weft/sync/detail/select_branch.hpp"
#include "weft/sync/detail/wait_util.hpp"

namespace weft::sync::detail {

// take_status is what one receive attempt found for a receiver.
enum class take_status {
  value,   // the next message was copied (or moved) out
  lagged,  // the receiver fell behind: skipped messages, cursor moved up
  empty,   // nothing new for this receiver yet
  closed,  // nothing new and every sender is gone
};

// broadcast_state<T> is shared by every sender and receiver of a channel.
//
// Positions. Message k (k = 0, 1, ...) lives in slot k % capacity while it
// is retained: positions [oldest(), tail_) are retained. Each receiver owns
// a cursor `next` (the position it reads next); a cursor below oldest()
// means the receiver lagged.
//
// Invariant (under lock_): a retained slot at position p has
// rem == the number of live receivers whose cursor is <= p. When rem drops
// to 0 nobody can read the slot any more and its value is destroyed; the
// last reader moves the value out instead of copying it.
template <class T>
class broadcast_state {
 public:
  explicit broadcast_state(std::size_t capacity) : slots_(capacity) {}
  broadcast_state(const broadcast_state&) = delete;
  broadcast_state& operator=(const broadcast_state&) = delete;

  std::size_t capacity() const noexcept { return slots_.size(); }

  // push() appends `v` and wakes every waiting receiver. False (with `v`
  // untouched) when there is no receiver. The overwritten value is
  // destroyed after the lock is released.
  bool push(T& v) {
    std::optional<T> dead;
    wake_batch wakes;
    spin_guard lk(lock_);
    if (receivers_ == 0) return false;
    slot& s = slots_[tail_ % capacity()];
    dead.swap(s.value);
    try {
      s.value.emplace(std::move(v));
    } catch (...) {
      s.value.swap(dead);
      throw;
    }
    s.rem = receivers_;
    ++tail_;
    // Every linked receiver had cursor == old tail: each now has a message
    // (or a lag) to take, so the wake-up is a real hand-off (fired).
    claim_all(waiters_, wakes, /*fire=*/true);
    return true;
  }

  // take_locked() is one receive attempt for the cursor `next` (lock held).
  // On value, `out` holds the message; on lagged, `skipped` the count. If
  // copying the message throws, nothing changed.
  take_status take_locked(std::uint64_t& next, std::optional<T>& out, std::uint64_t& skipped) {
    if (next == tail_) return senders_ == 0 ? take_status::closed : take_status::empty;
    const std::uint64_t low = oldest();
    if (next < low) {
      skipped = low - next;
      next = low;
      return take_status::lagged;
    }
    slot& s = slots_[next % capacity()];
    if constexpr (std::is_nothrow_move_constructible_v<T>) {
      if (s.rem == 1) {
        out.emplace(std::move(*s.value));
        s.value.reset();
        s.rem = 0;
        ++next;
        return take_status::value;
      }
    }
    out.emplace(*s.value);
    if (--s.rem == 0) s.value.reset();
    ++next;
    return take_status::value;
  }

  // ready_locked() says what take_locked() would find, consuming nothing.
  take_status ready_locked(std::uint64_t next) const noexcept {
    if (next == tail_) return senders_ == 0 ? take_status::closed : take_status::empty;
    return next < oldest() ? take_status::lagged : take_status::value;
  }

  // take() is take_locked() under the lock.
  take_status take(std::uint64_t& next, std::optional<T>& out, std::uint64_t& skipped) {
    spin_guard lk(lock_);
    return take_locked(next, out, skipped);
  }

  // take_wait() waits until take_locked() finds something other than empty,
  // or `deadline_ns` passes (then empty). Errors: weft::cancelled, with the
  // cursor unchanged.
  take_status take_wait(std::uint64_t& next, std::optional<T>& out, std::uint64_t& skipped,
                        std::int64_t deadline_ns) {
    spin_guard lk(lock_);
    for (;;) {
      const take_status st = take_locked(next, out, skipped);
      if (st != take_status::empty) return st;
      weft::detail::wait_label label("broadcast receive", this, deadline_ns);
      if (park_on(waiters_, lk, deadline_ns) == wake_reason::timeout) {
        // A message that raced the deadline is delivered rather than dropped.
        return take_locked(next, out, skipped);
      }
    }
  }

  // select_arm() is the select protocol's arm step (select_branch.hpp) for
  // the cursor `next`.
  poll select_arm(std::uint64_t& next, waiter& w, wait_list::node& n, std::optional<T>& out,
                  std::uint64_t& skipped, take_status& st) {
    spin_guard lk(lock_);
    st = ready_locked(next);
    if (st == take_status::closed) return poll::disabled;
    if (st == take_status::empty) {
      n.fired = false;
      n.value = this;
      waiters_.push_back(n);
      return poll::pending;
    }
    if (!claim_self(w)) return poll::pending;
    try {
      st = take_locked(next, out, skipped);
    } catch (...) {
      // The waiter is claimed, so the select re-polls; the copy is retried
      // (and its exception surfaces) from select_try_recv, where nothing is armed.
      return poll::pending;
    }
    return poll::ready;
  }

  // select_disarm() unlinks `n`; if a send fired it, takes the cursor's
  // next outcome (a message or a lag). False when nothing was taken; with
  // `give_back` nothing is (the message stays for this cursor's next receive).
  bool select_disarm(std::uint64_t& next, wait_list::node& n, std::optional<T>& out,
                     std::uint64_t& skipped, take_status& st, bool give_back) noexcept {
    spin_guard lk(lock_);
    waiters_.remove(n);
    if (!n.fired || give_back) return false;
    try {
      st = take_locked(next, out, skipped);
    } catch (...) {
      return false;  // the select re-polls: see select_arm()
    }
    return st == take_status::value || st == take_status::lagged;
  }

  // add_receiver() registers a receiver whose cursor is `next` (a clone) or
  // the tail (a new subscriber, when `next` is empty); returns its cursor.
  std::uint64_t add_receiver(std::optional<std::uint64_t> next) noexcept {
    spin_guard lk(lock_);
    ++receivers_;
    if (!next) return tail_;
    for (std::uint64_t p = std::max(*next, oldest()); p < tail_; ++p) ++slots_[p % capacity()].rem;
    return *next;
  }

  // drop_receiver() unregisters the receiver at cursor `next`; values that
  // nobody else can read are destroyed.
  void drop_receiver(std::uint64_t next) noexcept {
    spin_guard lk(lock_);
    --receivers_;
    for (std::uint64_t p = std::max(next, oldest()); p < tail_; ++p) {
      slot& s = slots_[p % capacity()];
      if (--s.rem == 0) s.value.reset();
    }
  }

  // add_sender() / drop_sender() count senders; the last drop closes the
  // channel and wakes the waiting receivers to see it (not fired).
  void add_sender() noexcept {
    spin_guard lk(lock_);
    ++senders_;
  }
  void drop_sender() noexcept {
    wake_batch wakes;
    spin_guard lk(lock_);
    if (--senders_ == 0) claim_all(waiters_, wakes, /*fire=*/false);
  }

  // receiver_count() / is_closed() / available() read the counters.
  std::size_t receiver_count() const noexcept {
    spin_guard lk(lock_);
    return receivers_;
  }
  bool is_closed() const noexcept {
    spin_guard lk(lock_);
    return senders_ == 0;
  }
  // available() counts from the cursor, lagged positions included (Tokio's
  // Receiver::len): the messages sent that this receiver has not received.
  std::uint64_t available(std::uint64_t next) const noexcept {
    spin_guard lk(lock_);
    return tail_ - next;
  }
  // waiting() is the number of linked receive waits (tests, diagnostics).
  std::size_t waiting() const noexcept {
    spin_guard lk(lock_);
    return waiters_.size();
  }

 private:
  struct slot {
    std::size_t rem = 0;
    std::optional<T> value;
  };

  std::uint64_t oldest() const noexcept { return tail_ > capacity() ? tail_ - capacity() : 0; }

  mutable spin_lock lock_;
  std::vector<slot> slots_;    // guarded by lock_
  std::uint64_t tail_ = 0;     // guarded by lock_: position of the next message
  std::size_t senders_ = 1;    // guarded by lock_
  std::size_t receivers_ = 1;  // guarded by lock_
  wait_list waiters_;          // guarded by lock_: receivers with cursor == tail_
};

}  // namespace weft::sync::detail
