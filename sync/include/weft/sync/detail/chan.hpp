// SPDX-License-Identifier: MIT
// chan<T>: the shared state of an mpsc channel. Internal: do not depend on it.
//
// One spin_lock guards everything. A sender that finds a parked receiver
// hands the value straight into the receiver's slot (after winning the
// receiver's claim). A receiver that pops from a full bounded buffer
// reserves the freed slot for the first parked sender and wakes it
// (node.fired); the sender moves its value in when it runs. Parked senders
// therefore only exist while every slot is taken or reserved, and parked
// receivers only while the buffer is empty. Wake-ups that complete nothing
// (close, last sender gone) claim without setting node.fired, so a select
// re-polls and sees the branch disabled.
//
// The hand-off rule (docs/sync/cancellation.md): a receiver aborted after a
// sender handed it a value, before it ran, puts the value back at the head
// (to the next parked receiver, or the front of the buffer, which may then
// hold one more than capacity until a receive); a sender aborted after a
// slot was reserved for it, before it ran, sends nothing and passes the
// slot on to the next parked sender. That is why slots are reserved rather
// than filled by the receiver: a value already in the buffer could not be
// taken back.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>

#include "weft/fibers/config.hpp"
#include "weft/fibers/detail/wait_label.hpp"
#include "weft/sync/detail/ring.hpp"
#include "weft/sync/detail/select_branch.hpp"
#include "weft/sync/detail/wait_util.hpp"

namespace weft::sync::detail {

// recv_status is the outcome of one receive attempt.
enum class recv_status { value, empty, closed, timeout };
// send_status is the outcome of one send attempt.
enum class send_status { sent, full, closed, timeout };

template <class T>
class chan {
 public:
  explicit chan(std::size_t capacity) noexcept : cap_(capacity) {}
  chan(const chan&) = delete;
  chan& operator=(const chan&) = delete;

  // Reference counting: every sender handle and the receiver hold one.
  void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  std::size_t capacity() const noexcept { return cap_; }

  void add_sender() noexcept {
    spin_guard lk(lock_);
    ++senders_;
  }

  // drop_sender() wakes every parked receiver when the last sender goes.
  void drop_sender() noexcept {
    wake_batch wakes;
    spin_guard lk(lock_);
    if (--senders_ == 0) claim_all(recvq_, wakes, /*fire=*/false);
  }

  // close() stops sends (parked senders get their value back); buffered
  // messages stay receivable.
  void close() noexcept {
    wake_batch wakes;
    spin_guard lk(lock_);
    rx_closed_ = true;
    claim_all(sendq_, wakes, /*fire=*/false);
  }

  // drop_receiver() closes and destroys what is buffered (outside the lock).
  void drop_receiver() noexcept {
    ring<T> dead;  // destroyed last: the messages die outside the lock
    wake_batch wakes;
    spin_guard lk(lock_);
    rx_closed_ = true;
    claim_all(sendq_, wakes, /*fire=*/false);
    buf_.swap(dead);
  }

  bool is_closed() const noexcept {
    spin_guard lk(lock_);
    return rx_closed_;
  }

  std::size_t size() const noexcept {
    spin_guard lk(lock_);
    return buf_.size();
  }

  // send() delivers `v` (moved from only when sent). `try_only` never parks.
  send_status send(T& v, std::int64_t deadline_ns, bool try_only) {
    wake_batch wakes;
    wake_token tok;
    spin_guard lk(lock_);
    for (;;) {
      if (rx_closed_) return send_status::closed;
      if (deliver_locked(v, tok)) {
        lk.unlock();
        tok.resume();
        return send_status::sent;
      }
      if (try_only) return send_status::full;
      weft::detail::wait_label label("channel send", this, deadline_ns);
      waiter w;
      wait_list::node n(w);
      n.value = &v;
      const wake_reason why =
          park_node(sendq_, n, lk, deadline_ns, true, [&](wake_batch& b) { pass_slot_locked(b); });
      if (n.fired) {
        // A receive reserved a slot for us: fill it, unless the receiver
        // closed meanwhile (then the value comes back with closed).
        if (!fill_reserved_locked(v, wakes)) return send_status::closed;
        return send_status::sent;  // `wakes` resumes after the unlock
      }
      if (why == wake_reason::timeout && !rx_closed_) return send_status::timeout;
    }
  }

  // recv() fills `out` from the buffer or a sender's hand-off.
  recv_status recv(std::optional<T>& out, std::int64_t deadline_ns, bool try_only) {
    wake_token tok;
    spin_guard lk(lock_);
    for (;;) {
      if (take_locked(out, tok)) {
        lk.unlock();
        tok.resume();
        return recv_status::value;
      }
      if (senders_ == 0 || rx_closed_) return recv_status::closed;
      if (try_only) return recv_status::empty;
      weft::detail::wait_label label("channel receive", this, deadline_ns);
      waiter w;
      wait_list::node n(w);
      n.value = &out;
      const wake_reason why = park_node(recvq_, n, lk, deadline_ns, true, [&](wake_batch& b) {
        T v(std::move(*out));
        out.reset();
        return_value_locked(v, b);
      });
      if (n.fired) return recv_status::value;
      if (why == wake_reason::timeout) return recv_status::timeout;
    }
  }

  // ---- select (see select_branch.hpp) ----
  poll select_try_recv(std::optional<T>& out) {
    wake_token tok;
    spin_guard lk(lock_);
    if (take_locked(out, tok)) {
      lk.unlock();
      tok.resume();
      return poll::ready;
    }
    return (senders_ == 0 || rx_closed_) ? poll::disabled : poll::pending;
  }

  poll select_arm_recv(waiter& w, wait_list::node& n, std::optional<T>& out) {
    wake_token tok;
    spin_guard lk(lock_);
    if (!buf_.empty()) {
      if (!claim_self(w)) return poll::pending;
      (void)take_locked(out, tok);
      lk.unlock();
      tok.resume();
      return poll::ready;
    }
    if (senders_ == 0 || rx_closed_) return poll::disabled;
    n.value = &out;
    n.fired = false;
    recvq_.push_back(n);
    return poll::pending;
  }

  bool select_disarm_recv(wait_list::node& n, std::optional<T>& out, bool give_back) noexcept {
    wake_batch wakes;
    spin_guard lk(lock_);
    recvq_.remove(n);
    if (!give_back || !n.fired) return n.fired;
    try {
      T v(std::move(*out));
      out.reset();
      return_value_locked(v, wakes);
    } catch (...) {
      // Out of memory growing the buffer: the message is lost with it.
    }
    return false;
  }

  poll select_try_send(T& v) {
    wake_token tok;
    spin_guard lk(lock_);
    if (rx_closed_) return poll::disabled;
    if (!deliver_locked(v, tok)) return poll::pending;
    lk.unlock();
    tok.resume();
    return poll::ready;
  }

  poll select_arm_send(waiter& w, wait_list::node& n, T& v) {
    wake_token tok;
    spin_guard lk(lock_);
    if (rx_closed_) return poll::disabled;
    if (!recvq_.empty() || has_room()) {
      if (!claim_self(w)) return poll::pending;
      // Every parked receiver may have been claimed elsewhere and the buffer
      // may be full: then this select woke itself for nothing and re-polls.
      if (!deliver_locked(v, tok)) return poll::pending;
      lk.unlock();
      tok.resume();
      return poll::ready;
    }
    n.value = &v;
    n.fired = false;
    sendq_.push_back(n);
    return poll::pending;
  }

  // select_disarm_send(): a fired node holds a reserved slot: fill it (or,
  // with `give_back`, pass it on). If the value cannot be moved in (closed
  // meanwhile, or an exception), the slot passes on and the select re-polls.
  bool select_disarm_send(wait_list::node& n, bool give_back) noexcept {
    wake_batch wakes;
    spin_guard lk(lock_);
    sendq_.remove(n);
    if (!n.fired) return false;
    if (give_back) {
      pass_slot_locked(wakes);
      return false;
    }
    try {
      return fill_reserved_locked(*static_cast<T*>(n.value), wakes);
    } catch (...) {
      return false;  // the slot went on; the select re-polls
    }
  }

 private:
  ~chan() = default;

  // has_room(): a slot neither filled nor reserved for a woken sender.
  bool has_room() const noexcept { return cap_ == 0 || buf_.size() + reserved_ < cap_; }

  // hand_to_receiver_locked() moves `v` into the first parked receiver that
  // can still be claimed; false (v untouched) when there is none.
  bool hand_to_receiver_locked(T& v, wake_token& tok) {
    while (wait_list::node* n = recvq_.front()) {
      recvq_.remove(*n);
      if (wake_token t = n->w->claim(wake_reason::notified)) {
        static_cast<std::optional<T>*>(n->value)->emplace(std::move(v));
        n->fired = true;
        tok = std::move(t);
        return true;
      }
    }
    return false;
  }

  // deliver_locked() hands `v` to a parked receiver or buffers it; false
  // (v untouched) when the buffer has no free slot and nobody could take it.
  bool deliver_locked(T& v, wake_token& tok) {
    if (hand_to_receiver_locked(v, tok)) return true;
    if (!has_room()) return false;
    buf_.push_back(std::move(v));
    return true;
  }

  // fill_reserved_locked() spends the slot reserved for a woken sender on
  // `v`; false (slot released, v untouched) when the receiver closed. A
  // receiver parked meanwhile takes `v` directly, and the slot, not needed
  // then, goes on to the next parked sender.
  bool fill_reserved_locked(T& v, wake_batch& wakes) {
    --reserved_;
    if (rx_closed_) return false;
    wake_token t;
    if (hand_to_receiver_locked(v, t)) {
      wakes.add(std::move(t));
      grant_locked(wakes);
      return true;
    }
    try {
      buf_.push_back(std::move(v));
    } catch (...) {
      grant_locked(wakes);
      throw;
    }
    return true;
  }

  // reserve_slot_locked() reserves a free slot for the first parked sender
  // that can still be claimed; returns its token (empty: no room or nobody).
  wake_token reserve_slot_locked() noexcept {
    if (!has_room()) return {};
    while (wait_list::node* n = sendq_.front()) {
      sendq_.remove(*n);
      if (wake_token t = n->w->claim(wake_reason::notified)) {
        n->fired = true;
        ++reserved_;
        return t;
      }
    }
    return {};
  }

  // grant_locked() is reserve_slot_locked() whose wake-up joins `wakes`.
  void grant_locked(wake_batch& wakes) noexcept { wakes.add(reserve_slot_locked()); }

  // pass_slot_locked() gives up a slot reserved for a sender that was
  // cancelled before it ran: the next parked sender gets it.
  void pass_slot_locked(wake_batch& wakes) noexcept {
    --reserved_;
    grant_locked(wakes);
  }

  // return_value_locked() puts back a value handed to a receiver that was
  // cancelled before it ran: to the next parked receiver, else the front of
  // the buffer. Errors: std::bad_alloc growing the buffer.
  void return_value_locked(T& v, wake_batch& wakes) {
    wake_token t;
    if (hand_to_receiver_locked(v, t)) {
      wakes.add(std::move(t));
      return;
    }
    buf_.push_front(std::move(v));
  }

  // take_locked() pops the oldest message into `out` and reserves the freed
  // slot for the first parked sender that can still be claimed.
  bool take_locked(std::optional<T>& out, wake_token& tok) {
    if (buf_.empty()) return false;
    out.emplace(buf_.pop_front());
    tok = reserve_slot_locked();
    return true;
  }

  mutable spin_lock lock_;
  ring<T> buf_;
  const std::size_t cap_;     // 0: unbounded
  wait_list recvq_;           // node.value: std::optional<T>* to fill
  wait_list sendq_;           // node.value: T* to move from
  std::size_t reserved_ = 0;  // slots promised to woken senders not yet run
  std::size_t senders_ = 0;
  bool rx_closed_ = false;
  std::atomic<std::uint32_t> refs_{0};
};

}  // namespace weft::sync::detail
