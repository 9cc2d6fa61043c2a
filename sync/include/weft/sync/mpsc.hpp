// SPDX-License-Identifier: MIT
// weft::sync::mpsc: multi-producer, single-consumer channels, bounded (send
// parks while full: backpressure) or unbounded. Usable from fibers and plain
// threads alike; every wait has a deadline form and is cancellable.
#pragma once

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <utility>

#include "weft/fibers/config.hpp"
#include "weft/fibers/result.hpp"
#include "weft/fibers/time.hpp"
#include "weft/sync/detail/chan.hpp"
#include "weft/sync/detail/deadline.hpp"
#include "weft/sync/detail/recv_iterator.hpp"
#include "weft/sync/error.hpp"

namespace weft::sync::mpsc {

template <class T>
class sender;
template <class T>
class receiver;
template <class T>
std::pair<sender<T>, receiver<T>> make_channel(std::size_t capacity);

// channel() creates a bounded channel holding at most `capacity` messages.
// Errors: std::invalid_argument when capacity is 0.
template <class T>
std::pair<sender<T>, receiver<T>> channel(std::size_t capacity);

// unbounded_channel() creates a channel whose send never waits.
template <class T>
std::pair<sender<T>, receiver<T>> unbounded_channel();

// sender<T> sends into a channel. Copying a sender adds a producer; the
// receiver sees the end of the stream once every copy is destroyed.
// Cancellation: a send parked on a full channel that is aborted after a
// slot was reserved for it but before it ran sends nothing and the slot goes
// to the next parked sender (docs/sync/cancellation.md).
// Thread-safety: distinct senders may be used concurrently; one sender
// object may be used by several fibers at once.
template <class T>
class sender {
 public:
  using value_type = T;

  // sender() is an empty sender (assign one to drop a producer: `tx = {}`).
  sender() noexcept = default;
  sender(const sender& o) noexcept : c_(o.c_) {
    if (c_) {
      c_->add_ref();
      c_->add_sender();
    }
  }
  sender(sender&& o) noexcept : c_(std::exchange(o.c_, nullptr)) {}
  sender& operator=(sender o) noexcept {
    std::swap(c_, o.c_);
    return *this;
  }
  ~sender() { reset(); }

  // send() delivers `v`, waiting while a bounded channel is full.
  // Blocks: parks the fiber (or blocks the plain thread) while full.
  // Errors: errc::closed when the receiver was closed or destroyed; the
  //   value comes back in the send_error. Throws weft::cancelled.
  // Select: see on_send(); a send not chosen sends nothing.
  [[nodiscard]] send_result<T> send(T v) {
    return finish(chan().send(v, detail::no_deadline, false), v);
  }

  // send_for() is send() giving up after `d`: errc::timeout, value returned.
  template <class Rep, class Period>
  [[nodiscard]] send_result<T> send_for(T v, std::chrono::duration<Rep, Period> d) {
    return finish(chan().send(v, detail::deadline_after(d), false), v);
  }

  // send_until() is send() giving up at `t` (any clock): errc::timeout,
  // value returned.
  template <class Clock, class Duration>
  [[nodiscard]] send_result<T> send_until(T v, const std::chrono::time_point<Clock, Duration>& t) {
    return finish(chan().send(v, detail::deadline_at(t), false), v);
  }

  // try_send() sends without waiting. `v` is moved from only on success.
  // Errors: errc::full (bounded channel at capacity), errc::closed.
  [[nodiscard]] result<void> try_send(T&& v) { return try_finish(chan().send(v, 0, true)); }
  [[nodiscard]] result<void> try_send(const T& v) {
    T copy(v);
    return try_finish(chan().send(copy, 0, true));
  }

  // blocking_send() is send(), named for plain-thread callers.
  [[nodiscard]] send_result<T> blocking_send(T v) { return send(std::move(v)); }

  // is_closed() is true once the receiver closed or was destroyed.
  bool is_closed() const noexcept { return chan().is_closed(); }

  // capacity() is the bound (0 for an unbounded channel).
  std::size_t capacity() const noexcept { return chan().capacity(); }

  // same_channel() is true when both senders feed the same channel.
  bool same_channel(const sender& o) const noexcept { return c_ == o.c_; }

  // Select (internal): used by on_send().
  detail::poll select_try_send(T& v) { return chan().select_try_send(v); }
  detail::poll select_arm_send(detail::waiter& w, detail::wait_list::node& n, T& v) {
    return chan().select_arm_send(w, n, v);
  }
  bool select_disarm_send(detail::wait_list::node& n, bool give_back = false) noexcept {
    return chan().select_disarm_send(n, give_back);
  }

 private:
  template <class U>
  friend std::pair<sender<U>, receiver<U>> make_channel(std::size_t);
  explicit sender(detail::chan<T>* c) noexcept : c_(c) {
    c_->add_ref();
    c_->add_sender();
  }
  detail::chan<T>& chan() const {
    if (!c_)
      throw std::logic_error("weft::sync::mpsc::sender: empty (default-constructed or moved-from)");
    return *c_;
  }
  static send_result<T> finish(detail::send_status s, T& v) {
    switch (s) {
      case detail::send_status::sent:
        return {};
      case detail::send_status::timeout:
        return send_error<T>{make_error_code(errc::timeout), std::move(v)};
      case detail::send_status::full:
        return send_error<T>{make_error_code(errc::full), std::move(v)};
      case detail::send_status::closed:
        break;
    }
    return send_error<T>{make_error_code(errc::closed), std::move(v)};
  }
  static result<void> try_finish(detail::send_status s) {
    if (s == detail::send_status::sent) return {};
    return make_error_code(s == detail::send_status::full ? errc::full : errc::closed);
  }
  void reset() noexcept {
    if (auto* c = std::exchange(c_, nullptr)) {
      c->drop_sender();
      c->release();
    }
  }

  detail::chan<T>* c_ = nullptr;
};

// receiver<T> receives from a channel. Move-only; destroying it closes the
// channel and destroys the messages still buffered (parked senders get
// their values back with errc::closed).
// Cancellation: a receive aborted after a message was handed to it but
// before it ran takes nothing: the message goes to the next parked receive
// or back to the front of the channel (docs/sync/cancellation.md).
// Thread-safety: one receiver may be shared by several fibers (each message
// goes to one of them), though mpsc means one consumer.
template <class T>
class receiver {
 public:
  using value_type = T;
  using select_value_type = T;

  receiver(receiver&& o) noexcept : c_(std::exchange(o.c_, nullptr)) {}
  receiver& operator=(receiver&& o) noexcept {
    if (this != &o) {
      reset();
      c_ = std::exchange(o.c_, nullptr);
    }
    return *this;
  }
  receiver(const receiver&) = delete;
  receiver& operator=(const receiver&) = delete;
  ~receiver() { reset(); }

  // recv() returns the next message, or an empty optional once every sender
  // is gone (or close() was called) and the buffer is drained.
  // Blocks: parks the fiber (or blocks the plain thread) while empty.
  // Errors: throws weft::cancelled (no message is taken then).
  // Select: see on_recv(); a receive not chosen takes nothing.
  std::optional<T> recv() {
    std::optional<T> out;
    (void)chan().recv(out, detail::no_deadline, false);
    return out;
  }

  // recv_for() is recv() giving up after `d`.
  // Errors: errc::timeout, errc::closed (drained and no sender left).
  template <class Rep, class Period>
  [[nodiscard]] result<T> recv_for(std::chrono::duration<Rep, Period> d) {
    return recv_deadline(detail::deadline_after(d));
  }

  // recv_until() is recv() giving up at `t`, any clock (errc::timeout,
  // errc::closed).
  template <class Clock, class Duration>
  [[nodiscard]] result<T> recv_until(const std::chrono::time_point<Clock, Duration>& t) {
    return recv_deadline(detail::deadline_at(t));
  }

  // try_recv() receives without waiting.
  // Errors: errc::empty (senders remain), errc::closed (drained, none left).
  [[nodiscard]] result<T> try_recv() {
    std::optional<T> out;
    switch (chan().recv(out, 0, true)) {
      case detail::recv_status::value:
        return std::move(*out);
      case detail::recv_status::empty:
        return make_error_code(errc::empty);
      default:
        return make_error_code(errc::closed);
    }
  }

  // blocking_recv() is recv(), named for plain-thread callers.
  std::optional<T> blocking_recv() { return recv(); }

  // close() stops every further send (errc::closed) and wakes parked
  // senders with their values; messages already buffered stay receivable.
  void close() noexcept {
    if (c_) c_->close();
  }

  // size() is the number of buffered messages (a snapshot).
  std::size_t size() const noexcept { return c_ ? c_->size() : 0; }

  // begin()/end(): `for (T msg : rx)` receives until the channel closes.
  detail::recv_iterator<receiver> begin() { return detail::recv_iterator<receiver>(*this); }
  detail::recv_sentinel end() noexcept { return {}; }
  std::optional<T> next_for_iteration() { return recv(); }

  // Select (internal): used by on_recv().
  detail::poll select_try_recv(std::optional<T>& out) { return chan().select_try_recv(out); }
  detail::poll select_arm_recv(detail::waiter& w, detail::wait_list::node& n,
                               std::optional<T>& out) {
    return chan().select_arm_recv(w, n, out);
  }
  bool select_disarm_recv(detail::wait_list::node& n, std::optional<T>& out,
                          bool give_back = false) noexcept {
    return chan().select_disarm_recv(n, out, give_back);
  }

 private:
  template <class U>
  friend std::pair<sender<U>, receiver<U>> make_channel(std::size_t);
  explicit receiver(detail::chan<T>* c) noexcept : c_(c) { c_->add_ref(); }
  detail::chan<T>& chan() const {
    if (!c_) throw std::logic_error("weft::sync::mpsc::receiver: moved-from receiver");
    return *c_;
  }
  result<T> recv_deadline(std::int64_t deadline_ns) {
    std::optional<T> out;
    switch (chan().recv(out, deadline_ns, false)) {
      case detail::recv_status::value:
        return std::move(*out);
      case detail::recv_status::timeout:
        return make_error_code(errc::timeout);
      default:
        return make_error_code(errc::closed);
    }
  }
  void reset() noexcept {
    if (auto* c = std::exchange(c_, nullptr)) {
      c->drop_receiver();
      c->release();
    }
  }

  detail::chan<T>* c_ = nullptr;
};

// make_channel() is the common constructor (capacity 0: unbounded). Internal.
template <class T>
std::pair<sender<T>, receiver<T>> make_channel(std::size_t capacity) {
  auto* c = new detail::chan<T>(capacity);
  return {sender<T>(c), receiver<T>(c)};
}

template <class T>
std::pair<sender<T>, receiver<T>> channel(std::size_t capacity) {
  if (capacity == 0) {
    throw std::invalid_argument("weft::sync::mpsc::channel: capacity must be at least 1");
  }
  return make_channel<T>(capacity);
}

template <class T>
std::pair<sender<T>, receiver<T>> unbounded_channel() {
  return make_channel<T>(0);
}

}  // namespace weft::sync::mpsc
