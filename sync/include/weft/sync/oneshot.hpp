// SPDX-License-Identifier: MIT
// weft::sync::oneshot: a channel for exactly one value (a reply slot). The
// receiver learns when the sender was dropped without sending.
#pragma once

#include <atomic>
#include <optional>
#include <stdexcept>
#include <utility>

#include "weft/fibers/config.hpp"
#include "weft/fibers/detail/wait_label.hpp"
#include "weft/fibers/result.hpp"
#include "weft/fibers/time.hpp"
#include "weft/sync/detail/deadline.hpp"
#include "weft/sync/detail/select_branch.hpp"
#include "weft/sync/detail/wait_util.hpp"
#include "weft/sync/error.hpp"

namespace weft::sync::detail {

// oneshot_state is the shared slot. The value is stored in the slot; a parked
// receiver is woken (fired) and takes it under the lock, so a select branch
// that loses takes nothing, and a receive cancelled after the wake-up (the
// hand-off rule, docs/sync/cancellation.md) leaves it there and passes the
// wake-up on to the next fiber waiting on the same receiver.
template <class T>
class oneshot_state {
 public:
  void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  // send(): false (v untouched) when the receiver closed or is gone.
  bool send(T& v) {
    wake_token tok;
    spin_guard lk(lock_);
    if (rx_closed_) return false;
    value_.emplace(std::move(v));
    tok = waiters_.wake_one();
    lk.unlock();
    tok.resume();
    return true;
  }

  void drop_sender() noexcept {
    wake_batch wakes;
    spin_guard lk(lock_);
    tx_gone_ = true;
    // Nothing to hand over: wake without firing; receivers re-check.
    claim_all(waiters_, wakes, /*fire=*/false);
  }

  // close() refuses further sends (Tokio's Receiver::close): a value sent
  // before stays receivable; parked receives wake to see closed.
  void close() noexcept {
    wake_batch wakes;
    spin_guard lk(lock_);
    rx_closed_ = true;
    claim_all(waiters_, wakes, /*fire=*/false);
  }

  void drop_receiver() noexcept {
    std::optional<T> dead;
    spin_guard lk(lock_);
    rx_closed_ = true;
    dead.swap(value_);
    lk.unlock();
  }

  bool rx_closed() const noexcept {
    spin_guard lk(lock_);
    return rx_closed_;
  }

  // recv(): the value, or errc::closed / empty / timeout.
  result<T> recv(std::int64_t deadline_ns, bool try_only) {
    spin_guard lk(lock_);
    for (;;) {
      if (value_) return take_locked();
      if (no_value_coming()) return make_error_code(errc::closed);
      if (try_only) return make_error_code(errc::empty);
      weft::detail::wait_label label("oneshot receive", this, deadline_ns);
      waiter w;
      wait_list::node n(w);
      const wake_reason why = park_node(waiters_, n, lk, deadline_ns, true,
                                        [&](wake_batch& b) { b.add(waiters_.wake_one()); });
      if (why == wake_reason::timeout && !value_) return make_error_code(errc::timeout);
    }
  }

  poll select_try(std::optional<T>& out) {
    spin_guard lk(lock_);
    if (value_) {
      out.emplace(take_locked());
      return poll::ready;
    }
    return no_value_coming() ? poll::disabled : poll::pending;
  }
  poll select_arm(waiter& w, wait_list::node& n, std::optional<T>& out) {
    spin_guard lk(lock_);
    if (value_) {
      if (!claim_self(w)) return poll::pending;
      out.emplace(take_locked());
      return poll::ready;
    }
    if (no_value_coming()) return poll::disabled;
    n.fired = false;
    waiters_.push_back(n);
    return poll::pending;
  }
  bool select_disarm(wait_list::node& n, std::optional<T>& out, bool give_back) noexcept {
    wake_token tok;
    spin_guard lk(lock_);
    waiters_.remove(n);
    if (!n.fired || !value_) return false;
    if (give_back) {
      tok = waiters_.wake_one();  // the value stays for the next receive
      lk.unlock();
      return false;
    }
    out.emplace(take_locked());
    return true;
  }

 private:
  // no_value_coming(): the sender is gone (or sent, and the value was
  // taken) or the receiver closed, and the slot is empty.
  bool no_value_coming() const noexcept { return tx_gone_ || rx_closed_; }

  T take_locked() {
    T v(std::move(*value_));
    value_.reset();
    tx_gone_ = true;  // one value only: later receives report closed
    return v;
  }

  mutable spin_lock lock_;
  std::optional<T> value_;
  wait_list waiters_;
  bool tx_gone_ = false;
  bool rx_closed_ = false;  // close() or the receiver destroyed: sends fail
  std::atomic<std::uint32_t> refs_{2};
};

}  // namespace weft::sync::detail

namespace weft::sync::oneshot {

template <class T>
class sender;
template <class T>
class receiver;

// channel() creates a oneshot pair.
template <class T>
std::pair<sender<T>, receiver<T>> channel();

// sender<T> sends the one value. Move-only; destroying it unsent makes the
// receiver's recv() report errc::closed.
template <class T>
class sender {
 public:
  sender(sender&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  sender& operator=(sender&& o) noexcept {
    if (this != &o) {
      reset();
      s_ = std::exchange(o.s_, nullptr);
    }
    return *this;
  }
  ~sender() { reset(); }

  // send() stores the value and wakes the receiver. Never blocks.
  // Errors: errc::closed when the receiver closed or is gone (the value is
  //   handed back); std::logic_error when this sender already sent
  //   (moved-from).
  [[nodiscard]] send_result<T> send(T v) {
    if (!s_) throw std::logic_error("weft::sync::oneshot::sender: already sent or moved-from");
    if (!s_->send(v)) return send_error<T>{make_error_code(errc::closed), std::move(v)};
    reset();
    return {};
  }

  // is_closed() is true when the receiver closed or is gone (a send would
  // fail).
  bool is_closed() const noexcept { return !s_ || s_->rx_closed(); }

 private:
  friend std::pair<sender<T>, receiver<T>> channel<T>();
  explicit sender(detail::oneshot_state<T>* s) noexcept : s_(s) {}
  void reset() noexcept {
    if (auto* s = std::exchange(s_, nullptr)) {
      s->drop_sender();
      s->release();
    }
  }
  detail::oneshot_state<T>* s_ = nullptr;
};

// receiver<T> receives the one value. Move-only. A receive aborted after the
// value arrived but before it ran takes nothing; the value stays
// (docs/sync/cancellation.md).
template <class T>
class receiver {
 public:
  using value_type = T;
  using select_value_type = T;

  receiver(receiver&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  receiver& operator=(receiver&& o) noexcept {
    if (this != &o) {
      reset();
      s_ = std::exchange(o.s_, nullptr);
    }
    return *this;
  }
  ~receiver() { reset(); }

  // recv() waits for the value.
  // Blocks: parks the fiber (or blocks the plain thread).
  // Errors: errc::closed when no value can come: the sender was dropped
  //   without sending, close() was called before a send, or the value was
  //   already received. Throws weft::cancelled, taking nothing (also when
  //   the value arrived but the fiber was aborted before it ran; the value
  //   stays: docs/sync/cancellation.md).
  // Select: see on_recv(); a receive not chosen takes nothing.
  [[nodiscard]] result<T> recv() { return state().recv(detail::no_deadline, false); }

  // recv_for()/recv_until() add errc::timeout. Any std::chrono duration or
  // time point; one too far to represent means no deadline.
  template <class Rep, class Period>
  [[nodiscard]] result<T> recv_for(std::chrono::duration<Rep, Period> d) {
    return state().recv(detail::deadline_after(d), false);
  }
  template <class Clock, class Duration>
  [[nodiscard]] result<T> recv_until(const std::chrono::time_point<Clock, Duration>& t) {
    return state().recv(detail::deadline_at(t), false);
  }

  // try_recv() never waits: errc::empty (not sent yet) or errc::closed
  // (no value can come, as for recv()).
  [[nodiscard]] result<T> try_recv() { return state().recv(0, true); }

  // blocking_recv() is recv(), named for plain-thread callers.
  [[nodiscard]] result<T> blocking_recv() { return recv(); }

  // close() stops further sends (Tokio's Receiver::close): a later send()
  // fails with errc::closed and the sender's is_closed() is true. A value
  // sent before close() is still received by recv() and try_recv(); without
  // one they report errc::closed, and a receive parked on another fiber
  // wakes with errc::closed. The receiver stays usable. Blocks: never.
  void close() noexcept {
    if (s_) s_->close();
  }

  // Select (internal): used by on_recv(). Disabled once no value can come.
  detail::poll select_try_recv(std::optional<T>& out) { return state().select_try(out); }
  detail::poll select_arm_recv(detail::waiter& w, detail::wait_list::node& n,
                               std::optional<T>& out) {
    return state().select_arm(w, n, out);
  }
  bool select_disarm_recv(detail::wait_list::node& n, std::optional<T>& out,
                          bool give_back = false) noexcept {
    return s_->select_disarm(n, out, give_back);
  }

 private:
  friend std::pair<sender<T>, receiver<T>> channel<T>();
  explicit receiver(detail::oneshot_state<T>* s) noexcept : s_(s) {}
  detail::oneshot_state<T>& state() const {
    if (!s_) throw std::logic_error("weft::sync::oneshot::receiver: moved-from");
    return *s_;
  }
  void reset() noexcept {
    if (auto* s = std::exchange(s_, nullptr)) {
      s->drop_receiver();
      s->release();
    }
  }
  detail::oneshot_state<T>* s_ = nullptr;
};

template <class T>
std::pair<sender<T>, receiver<T>> channel() {
  auto* s = new detail::oneshot_state<T>();
  return {sender<T>(s), receiver<T>(s)};
}

}  // namespace weft::sync::oneshot
