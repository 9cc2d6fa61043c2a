// SPDX-License-Identifier: MIT
// weft::sync::watch: a single-value channel whose receivers see the latest
// value and wait for changes by version (Tokio's tokio::sync::watch).
#pragma once

#include <atomic>
#include <cassert>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "weft/fibers/config.hpp"
#include "weft/fibers/detail/waiter.hpp"
#include "weft/fibers/result.hpp"
#include "weft/fibers/time.hpp"
#include "weft/sync/detail/deadline.hpp"
#include "weft/sync/detail/select_branch.hpp"
#include "weft/sync/detail/watch_state.hpp"
#include "weft/sync/error.hpp"

namespace weft::sync::watch {

// ref<T> is a snapshot of a watch value: an immutable, shared copy that a
// later send() does not change. Holding one never blocks the sender and is
// safe across suspension points and threads (it owns a
// std::shared_ptr<const T>).
template <class T>
class ref {
 public:
  // operator*() / operator->() / get() read the snapshot.
  const T& operator*() const noexcept { return *p_; }
  const T* operator->() const noexcept { return p_.get(); }
  const T& get() const noexcept { return *p_; }

  // has_changed() is true when the snapshot was a version the receiver had
  // not seen when it was borrowed (always false for sender::borrow()).
  bool has_changed() const noexcept { return changed_; }

  // share() returns the snapshot's owning pointer.
  const std::shared_ptr<const T>& share() const noexcept { return p_; }

  // Internal: made by sender/receiver.
  ref(std::shared_ptr<const T> p, bool changed) noexcept : p_(std::move(p)), changed_(changed) {}

 private:
  std::shared_ptr<const T> p_;
  bool changed_;
};

template <class T>
class receiver;

template <class T>
class sender;

template <class T>
std::pair<sender<T>, receiver<T>> channel(T initial);

// sender<T> publishes new values. There is one sender per channel (it moves,
// it does not copy): that makes send_modify()'s copy-modify-publish atomic
// with respect to other sends. Receivers see the channel closed once the
// sender is destroyed.
// Thread-safety: one sender object is used by one fiber or thread at a time;
//   it may run concurrently with any receiver.
template <class T>
class sender {
 public:
  sender(sender&&) noexcept = default;
  sender& operator=(sender&& o) noexcept {
    if (this != &o) {
      release();
      st_ = std::move(o.st_);
    }
    return *this;
  }
  sender(const sender&) = delete;
  sender& operator=(const sender&) = delete;
  ~sender() { release(); }

  // send() publishes `v` as the new value (a new version) and wakes every
  // receiver waiting in changed(). Receivers may skip intermediate values:
  // they always see the latest.
  // Blocks: never. Errors: send_error with errc::closed and the value back
  //   when there is no receiver (the value is then not stored).
  [[nodiscard]] send_result<T> send(T v) {
    auto fresh = std::make_shared<T>(std::move(v));
    std::shared_ptr<const T> p = fresh, old;
    if (!state().publish(p, /*need_receivers=*/true, old)) {
      return send_error<T>{weft::make_error_code(weft::errc::closed), std::move(*fresh)};
    }
    return {};
  }

  // send_replace() publishes `v` whether or not there are receivers and
  // returns the previous value (moved out if no snapshot of it is held,
  // copied otherwise).
  // Blocks: never.
  T send_replace(T v) {
    std::shared_ptr<const T> p = std::make_shared<T>(std::move(v)), old;
    (void)state().publish(p, /*need_receivers=*/false, old);
    return take_value(std::move(old));
  }

  // send_modify() publishes f(copy of the current value) whether or not
  // there are receivers. The value is copied (copy-on-write): snapshots
  // held by readers stay intact.
  // Blocks: never (f runs without any lock held).
  // Errors: what f throws (or T's copy). If f throws, the value as f left
  //   it becomes the current value without a new version: borrow() reads
  //   it, receivers are not woken and has_changed() does not report it
  //   (Tokio's send_modify after a panic). Snapshots taken before keep the
  //   old value; a throwing copy changes nothing.
  template <class F>
  void send_modify(F&& f) {
    auto next = std::make_shared<T>(*state().snapshot());
    invoke_keeping(next, std::forward<F>(f));
    std::shared_ptr<const T> p = std::move(next), old;
    (void)state().publish(p, /*need_receivers=*/false, old);
  }

  // send_if_modified() is send_modify() where f returns whether it changed
  // the value: only then is a new version published and receivers woken
  // (when it returns false its changes to the copy are dropped). Returns
  // f's answer. Errors: as send_modify() (a throwing f keeps its changes,
  // unannounced).
  template <class F>
  bool send_if_modified(F&& f) {
    auto next = std::make_shared<T>(*state().snapshot());
    if (!invoke_keeping(next, std::forward<F>(f))) return false;
    std::shared_ptr<const T> p = std::move(next), old;
    (void)state().publish(p, /*need_receivers=*/false, old);
    return true;
  }

  // borrow() returns a snapshot of the current value.
  ref<T> borrow() const noexcept { return ref<T>(state().snapshot(), false); }

  // subscribe() returns a new receiver that has seen the current version.
  receiver<T> subscribe() const { return receiver<T>(st_, state().add_receiver()); }

  // receiver_count() is the number of live receivers.
  std::size_t receiver_count() const noexcept { return state().receiver_count(); }

  // is_closed() is true when no receiver is left.
  bool is_closed() const noexcept { return receiver_count() == 0; }

  // closed() waits until every receiver is gone (returns at once if none).
  // Blocks: until the last receiver is destroyed.
  // Errors: weft::cancelled is thrown.
  void closed() const { (void)state().closed_wait(weft::detail::no_deadline); }

  // closed_for() is closed() with a timeout.
  // Errors: errc::timeout when receivers remain after `d`.
  template <class Rep, class Period>
  [[nodiscard]] result<void> closed_for(std::chrono::duration<Rep, Period> d) const {
    if (state().closed_wait(detail::deadline_after(d))) return {};
    return weft::make_error_code(weft::errc::timeout);
  }

  // closed_until() is closed() with a deadline `t` of any clock
  // (time_point::max() means none).
  // Errors: errc::timeout when receivers remain at `t`.
  template <class Clock, class Duration>
  [[nodiscard]] result<void> closed_until(const std::chrono::time_point<Clock, Duration>& t) const {
    if (state().closed_wait(detail::deadline_at(t))) return {};
    return weft::make_error_code(weft::errc::timeout);
  }

  // Internal: linked waits on the channel (tests).
  std::size_t waiting_for_tests() const noexcept { return state().waiting(); }

 private:
  friend std::pair<sender<T>, receiver<T>> channel<T>(T);
  explicit sender(std::shared_ptr<detail::watch_state<T>> st) noexcept : st_(std::move(st)) {}

  detail::watch_state<T>& state() const noexcept {
    assert(st_ && "weft::sync::watch::sender used after move");
    return *st_;
  }
  void release() noexcept {
    if (st_) st_->drop_sender();
    st_.reset();
  }
  // invoke_keeping() runs f on `next`; if f throws, `next` replaces the
  // current value without a new version (no wake-up), then the exception
  // propagates.
  template <class F>
  decltype(auto) invoke_keeping(std::shared_ptr<T>& next, F&& f) {
    try {
      return std::forward<F>(f)(*next);
    } catch (...) {
      std::shared_ptr<const T> p = std::move(next), old;
      state().replace_unannounced(p, old);
      throw;
    }
  }

  // take_value() turns the previous snapshot into a T: moved out when this
  // is the last owner (the object was allocated non-const), copied otherwise.
  static T take_value(std::shared_ptr<const T> old) {
    if (old.use_count() == 1) {
      // Pairs with the release in the other owners' decrements.
      std::atomic_thread_fence(std::memory_order_acquire);
      return std::move(*const_cast<T*>(old.get()));
    }
    return *old;
  }

  std::shared_ptr<detail::watch_state<T>> st_;
};

// receiver<T> reads the latest value and waits for new versions. Copying a
// receiver makes another receiver that has seen the same version. A
// changed() aborted after a send woke it but before it ran marks nothing
// seen (docs/sync/cancellation.md).
// Thread-safety: one receiver object is used by one fiber or thread at a
//   time; different receivers are independent.
template <class T>
class receiver {
 public:
  // select_value_type is what a select branch on this receiver completes
  // with: the new value, taken with borrow_and_update() semantics.
  using select_value_type = ref<T>;

  receiver(const receiver& o) noexcept : st_(o.st_), seen_(o.seen_) {
    if (st_) st_->add_receiver_at();
  }
  receiver(receiver&& o) noexcept : st_(std::move(o.st_)), seen_(o.seen_) {}
  receiver& operator=(const receiver& o) noexcept {
    if (this != &o) *this = receiver(o);
    return *this;
  }
  receiver& operator=(receiver&& o) noexcept {
    if (this != &o) {
      release();
      st_ = std::move(o.st_);
      seen_ = o.seen_;
    }
    return *this;
  }
  ~receiver() { release(); }

  // changed() waits until the channel's version differs from the one this
  // receiver has seen, then marks it seen. Returns at once if a change is
  // already unseen, even after the sender is gone.
  // Blocks: until a send or the sender's destruction.
  // Errors: errc::closed when the sender is gone and nothing is unseen;
  //   weft::cancelled is thrown (the seen version is then unchanged).
  // Select: a changed() branch that loses marks nothing seen.
  [[nodiscard]] result<void> changed() { return changed_deadline(weft::detail::no_deadline); }

  // changed_for() is changed() with a timeout.
  // Errors: as changed(), and errc::timeout when `d` passes first.
  template <class Rep, class Period>
  [[nodiscard]] result<void> changed_for(std::chrono::duration<Rep, Period> d) {
    return changed_deadline(detail::deadline_after(d));
  }

  // changed_until() is changed() with a deadline `t` of any clock
  // (time_point::max() means none).
  // Errors: as changed(), and errc::timeout when `t` passes first.
  template <class Clock, class Duration>
  [[nodiscard]] result<void> changed_until(const std::chrono::time_point<Clock, Duration>& t) {
    return changed_deadline(detail::deadline_at(t));
  }

  // has_changed() says, without waiting or marking anything, whether a
  // version this receiver has not seen is there: true or false.
  // Errors: errc::closed once the sender is gone, even with an unseen
  //   version (Tokio's has_changed; changed() still returns that version
  //   first, and borrow() reads it).
  [[nodiscard]] result<bool> has_changed() const noexcept {
    const std::optional<bool> changed = state().has_changed(seen_);
    if (changed) return *changed;
    return result<bool>(boost::system::in_place_error, weft::make_error_code(weft::errc::closed));
  }

  // borrow() returns a snapshot of the latest value without marking it
  // seen; ref::has_changed() says whether it was unseen.
  ref<T> borrow() const noexcept {
    std::uint64_t seen = seen_;
    bool changed = false;
    auto p = state().borrow(seen, /*mark=*/false, changed);
    return ref<T>(std::move(p), changed);
  }

  // borrow_and_update() returns a snapshot of the latest value and marks
  // its version seen.
  ref<T> borrow_and_update() noexcept {
    bool changed = false;
    auto p = state().borrow(seen_, /*mark=*/true, changed);
    return ref<T>(std::move(p), changed);
  }

  // mark_unchanged() marks the current version seen without reading it.
  void mark_unchanged() noexcept { state().mark_seen(seen_); }

  // is_closed() is true once the sender is gone.
  bool is_closed() const noexcept { return !state().sender_alive(); }

  // iterator yields the current value first (borrow_and_update), then the
  // value after each changed(), until the channel is closed (Tokio's
  // WatchStream::new). Intermediate values may be skipped.
  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = ref<T>;
    using difference_type = std::ptrdiff_t;
    using pointer = const ref<T>*;
    using reference = const ref<T>&;

    const ref<T>& operator*() const noexcept { return *cur_; }
    const ref<T>* operator->() const noexcept { return &*cur_; }
    iterator& operator++() {
      if (rx_->changed()) {
        cur_.emplace(rx_->borrow_and_update());
      } else {
        cur_.reset();
      }
      return *this;
    }
    void operator++(int) { ++*this; }
    bool operator==(std::default_sentinel_t) const noexcept { return !cur_; }

   private:
    friend class receiver;
    explicit iterator(receiver* rx) : rx_(rx), cur_(rx->borrow_and_update()) {}
    receiver* rx_;
    std::optional<ref<T>> cur_;
  };

  // begin() yields the current value at once (marking it seen).
  // Errors: incrementing throws weft::cancelled.
  iterator begin() { return iterator(this); }

  // end() is the sentinel reached once the channel is closed.
  std::default_sentinel_t end() const noexcept { return {}; }

  // select_try_recv() is the select poll step of a changed() branch: ready
  // with the new snapshot (marked seen), pending, or disabled (the sender
  // is gone and nothing is unseen).
  sync::detail::poll select_try_recv(std::optional<select_value_type>& out) noexcept {
    std::shared_ptr<const T> p;
    switch (state().take(seen_, p)) {
      case detail::watch_status::changed:
        out.emplace(std::move(p), true);
        return sync::detail::poll::ready;
      case detail::watch_status::unchanged:
        return sync::detail::poll::pending;
      case detail::watch_status::closed:
        break;
    }
    return sync::detail::poll::disabled;
  }

  // select_arm_recv() is the select arm step (detail/select_branch.hpp).
  sync::detail::poll select_arm_recv(sync::detail::waiter& w, sync::detail::wait_list::node& n,
                                     std::optional<select_value_type>& out) noexcept {
    std::shared_ptr<const T> p;
    const sync::detail::poll r = state().select_arm(seen_, w, n, p);
    if (r == sync::detail::poll::ready) out.emplace(std::move(p), true);
    return r;
  }

  // select_disarm_recv() is the select disarm step: true when a send fired
  // this branch and the change was taken into `out`.
  bool select_disarm_recv(sync::detail::wait_list::node& n, std::optional<select_value_type>& out,
                          bool give_back = false) noexcept {
    std::shared_ptr<const T> p;
    if (!state().select_disarm(seen_, n, p, give_back)) return false;
    out.emplace(std::move(p), true);
    return true;
  }

  // Internal: linked waits on the channel (tests).
  std::size_t waiting_for_tests() const noexcept { return state().waiting(); }

 private:
  friend class sender<T>;
  friend std::pair<sender<T>, receiver<T>> channel<T>(T);
  receiver(std::shared_ptr<detail::watch_state<T>> st, std::uint64_t seen) noexcept
      : st_(std::move(st)), seen_(seen) {}

  detail::watch_state<T>& state() const noexcept {
    assert(st_ && "weft::sync::watch::receiver used after move");
    return *st_;
  }
  void release() noexcept {
    if (st_) st_->drop_receiver();
    st_.reset();
  }
  result<void> changed_deadline(std::int64_t deadline_ns) {
    std::shared_ptr<const T> p;
    switch (state().changed_wait(seen_, p, deadline_ns)) {
      case detail::watch_status::changed:
        return {};
      case detail::watch_status::closed:
        return weft::make_error_code(weft::errc::closed);
      case detail::watch_status::unchanged:
        break;
    }
    return weft::make_error_code(weft::errc::timeout);
  }

  std::shared_ptr<detail::watch_state<T>> st_;
  std::uint64_t seen_ = 0;
};

// channel() creates a watch channel holding `initial` (version 0, already
// seen by the returned receiver) and returns its sender and first receiver.
template <class T>
std::pair<sender<T>, receiver<T>> channel(T initial) {
  std::shared_ptr<const T> p = std::make_shared<T>(std::move(initial));
  auto st = std::make_shared<detail::watch_state<T>>(std::move(p));
  return {sender<T>(st), receiver<T>(st, 0)};
}

}  // namespace weft::sync::watch
