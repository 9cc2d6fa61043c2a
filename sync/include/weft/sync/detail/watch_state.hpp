// SPDX-License-Identifier: MIT
// The shared state behind weft::sync::watch: the current value as an
// immutable snapshot, a version, and wait lists for receivers and the
// sender. Internal; do not depend on it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>

#include "weft/fibers/config.hpp"
#include "weft/fibers/detail/wait_label.hpp"
#include "weft/sync/detail/select_branch.hpp"
#include "weft/sync/detail/wait_util.hpp"

namespace weft::sync::detail {

// watch_status is what a changed() attempt found for a receiver.
enum class watch_status {
  changed,    // an unseen version: the receiver now has seen it
  unchanged,  // nothing unseen, the sender is alive
  closed,     // nothing unseen and the sender is gone
};

// watch_state<T> is shared by the sender and every receiver. Every value is
// allocated as a non-const T (so send_replace() may move out of a snapshot
// nobody else holds) and published as shared_ptr<const T>. A publish swaps
// the pointer under lock_ and bumps version_: readers holding an older
// snapshot keep it alive and never block the writer.
template <class T>
class watch_state {
 public:
  explicit watch_state(std::shared_ptr<const T> initial) noexcept : value_(std::move(initial)) {}
  watch_state(const watch_state&) = delete;
  watch_state& operator=(const watch_state&) = delete;

  // publish() installs `v` as the new value, bumps the version and wakes
  // every receiver waiting in changed(). With `need_receivers`, nothing
  // happens (false) when there is no receiver. The previous snapshot is
  // returned in `old` so that it dies outside the lock.
  bool publish(std::shared_ptr<const T>& v, bool need_receivers, std::shared_ptr<const T>& old) {
    wake_batch wakes;
    spin_guard lk(lock_);
    if (need_receivers && receivers_ == 0) return false;
    old = std::exchange(value_, std::move(v));
    ++version_;
    // Every linked receiver had seen == the old version: each now has an
    // unseen change, so this is a real hand-off (fired).
    claim_all(rx_waiters_, wakes, /*fire=*/true);
    return true;
  }

  // replace_unannounced() installs `v` as the current value without a new
  // version and without waking anyone (a send_modify() whose f threw).
  void replace_unannounced(std::shared_ptr<const T>& v, std::shared_ptr<const T>& old) noexcept {
    spin_guard lk(lock_);
    old = std::exchange(value_, std::move(v));
  }

  // snapshot() returns the current value and version.
  std::shared_ptr<const T> snapshot(std::uint64_t* version = nullptr) const noexcept {
    spin_guard lk(lock_);
    if (version) *version = version_;
    return value_;
  }

  // borrow() returns the current value; `changed` says whether `seen` was
  // behind. With `mark`, `seen` catches up.
  std::shared_ptr<const T> borrow(std::uint64_t& seen, bool mark, bool& changed) const noexcept {
    spin_guard lk(lock_);
    changed = seen != version_;
    if (mark) seen = version_;
    return value_;
  }

  // mark_seen() makes `seen` the current version.
  void mark_seen(std::uint64_t& seen) const noexcept {
    spin_guard lk(lock_);
    seen = version_;
  }

  // status_locked() says what changed() would find for `seen`.
  watch_status status_locked(std::uint64_t seen) const noexcept {
    if (seen != version_) return watch_status::changed;
    return sender_alive_ ? watch_status::unchanged : watch_status::closed;
  }

  // has_changed() is std::nullopt once the sender is gone, else whether
  // `seen` is behind the current version.
  std::optional<bool> has_changed(std::uint64_t seen) const noexcept {
    spin_guard lk(lock_);
    if (!sender_alive_) return std::nullopt;
    return seen != version_;
  }

  // status() is status_locked() under the lock.
  watch_status status(std::uint64_t seen) const noexcept {
    spin_guard lk(lock_);
    return status_locked(seen);
  }

  // take_locked() is one changed() attempt: on changed, marks the version
  // seen and returns the snapshot in `out`.
  watch_status take_locked(std::uint64_t& seen, std::shared_ptr<const T>& out) const noexcept {
    const watch_status st = status_locked(seen);
    if (st == watch_status::changed) {
      seen = version_;
      out = value_;
    }
    return st;
  }

  // take() is take_locked() under the lock.
  watch_status take(std::uint64_t& seen, std::shared_ptr<const T>& out) const noexcept {
    spin_guard lk(lock_);
    return take_locked(seen, out);
  }

  // changed_wait() waits until take_locked() finds something other than
  // unchanged, or `deadline_ns` passes (unchanged). Errors: weft::cancelled,
  // with `seen` unchanged.
  watch_status changed_wait(std::uint64_t& seen, std::shared_ptr<const T>& out,
                            std::int64_t deadline_ns) {
    spin_guard lk(lock_);
    for (;;) {
      const watch_status st = take_locked(seen, out);
      if (st != watch_status::unchanged) return st;
      weft::detail::wait_label label("watch changed", this, deadline_ns);
      if (park_on(rx_waiters_, lk, deadline_ns) == wake_reason::timeout) {
        return take_locked(seen, out);
      }
    }
  }

  // closed_wait() waits until no receiver is left; false on timeout.
  // Errors: weft::cancelled.
  bool closed_wait(std::int64_t deadline_ns) {
    spin_guard lk(lock_);
    while (receivers_ != 0) {
      weft::detail::wait_label label("watch sender closed", this, deadline_ns);
      if (park_on(tx_waiters_, lk, deadline_ns) == wake_reason::timeout) return receivers_ == 0;
    }
    return true;
  }

  // select_arm() is the select protocol's arm step for `seen`.
  poll select_arm(std::uint64_t& seen, waiter& w, wait_list::node& n,
                  std::shared_ptr<const T>& out) noexcept {
    spin_guard lk(lock_);
    const watch_status st = status_locked(seen);
    if (st == watch_status::closed) return poll::disabled;
    if (st == watch_status::unchanged) {
      n.fired = false;
      n.value = this;
      rx_waiters_.push_back(n);
      return poll::pending;
    }
    if (!claim_self(w)) return poll::pending;
    (void)take_locked(seen, out);
    return poll::ready;
  }

  // select_disarm() unlinks `n`; if a publish fired it, takes the change
  // (with `give_back` it takes nothing: the change stays unseen).
  bool select_disarm(std::uint64_t& seen, wait_list::node& n, std::shared_ptr<const T>& out,
                     bool give_back) noexcept {
    spin_guard lk(lock_);
    rx_waiters_.remove(n);
    if (!n.fired || give_back) return false;
    return take_locked(seen, out) == watch_status::changed;
  }

  // add_receiver() registers a receiver; returns the current version.
  std::uint64_t add_receiver() noexcept {
    spin_guard lk(lock_);
    ++receivers_;
    return version_;
  }

  // add_receiver_at() registers a clone that keeps `seen`.
  void add_receiver_at() noexcept {
    spin_guard lk(lock_);
    ++receivers_;
  }

  // drop_receiver() unregisters a receiver; the last one wakes closed().
  void drop_receiver() noexcept {
    wake_batch wakes;
    spin_guard lk(lock_);
    if (--receivers_ == 0) claim_all(tx_waiters_, wakes, /*fire=*/true);
  }

  // drop_sender() closes the channel and wakes the receivers to see it.
  void drop_sender() noexcept {
    wake_batch wakes;
    spin_guard lk(lock_);
    sender_alive_ = false;
    claim_all(rx_waiters_, wakes, /*fire=*/false);
  }

  std::size_t receiver_count() const noexcept {
    spin_guard lk(lock_);
    return receivers_;
  }
  bool sender_alive() const noexcept {
    spin_guard lk(lock_);
    return sender_alive_;
  }
  // waiting() counts linked waits: receivers in changed(), senders in closed().
  std::size_t waiting() const noexcept {
    spin_guard lk(lock_);
    return rx_waiters_.size() + tx_waiters_.size();
  }

 private:
  mutable spin_lock lock_;
  std::shared_ptr<const T> value_;  // guarded by lock_
  std::uint64_t version_ = 0;       // guarded by lock_: bumped by every publish
  bool sender_alive_ = true;        // guarded by lock_
  std::size_t receivers_ = 1;       // guarded by lock_
  wait_list rx_waiters_;            // guarded by lock_: receivers in changed()
  wait_list tx_waiters_;            // guarded by lock_: the sender in closed()
};

}  // namespace weft::sync::detail
