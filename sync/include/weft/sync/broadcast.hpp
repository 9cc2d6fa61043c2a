// SPDX-License-Identifier: MIT
// weft::sync::broadcast: a bounded multi-producer, multi-consumer channel in
// which every receiver sees every message (Tokio's tokio::sync::broadcast).
#pragma once

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>
#include <cassert>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <system_error>
#include <type_traits>
#include <utility>

#include "weft/fibers/config.hpp"
#include "weft/fibers/detail/waiter.hpp"
#include "weft/fibers/result.hpp"
#include "weft/fibers/time.hpp"
#include "weft/sync/detail/broadcast_state.hpp"
#include "weft/sync/detail/deadline.hpp"
#include "weft/sync/detail/select_branch.hpp"
#include "weft/sync/error.hpp"

namespace weft::sync::broadcast {

// recv_errc is the broadcast-only receive outcome. It lives in its own error
// category ("weft.broadcast") so that weft::errc stays the vocabulary shared
// by every primitive; closed, empty and timeout are weft::errc codes.
enum class recv_errc {
  lagged = 1,  // the receiver fell behind by more than the capacity
};

// error_category() returns the category of recv_errc codes.
const std::error_category& error_category() noexcept;

// make_error_code() wraps a recv_errc into a std::error_code.
std::error_code make_error_code(recv_errc e) noexcept;

}  // namespace weft::sync::broadcast

namespace std {
template <>
struct is_error_code_enum<weft::sync::broadcast::recv_errc> : true_type {};
}  // namespace std

namespace weft::sync::broadcast {

// recv_error is a receive that produced no message: `code` is
// recv_errc::lagged (then `skipped` is how many messages this receiver
// missed), errc::closed, errc::empty (try_recv) or errc::timeout.
struct recv_error {
  std::error_code code;
  std::uint64_t skipped = 0;

  // is_lagged() / is_closed() / is_empty() / is_timeout() name the reason.
  bool is_lagged() const noexcept { return code == recv_errc::lagged; }
  bool is_closed() const noexcept { return code == weft::errc::closed; }
  bool is_empty() const noexcept { return code == weft::errc::empty; }
  bool is_timeout() const noexcept { return code == weft::errc::timeout; }
};

// operator<<() prints a recv_error (its code, and the skipped count of a
// lag), so that recv_result<T> is printable too.
template <class Ch, class Tr>
std::basic_ostream<Ch, Tr>& operator<<(std::basic_ostream<Ch, Tr>& os, const recv_error& e) {
  os << e.code;
  if (e.is_lagged()) os << " (skipped " << e.skipped << ")";
  return os;
}

// recv_result<T> is what every receive returns: the message or recv_error.
// `.value()` throws std::system_error with the code (and, for a lag, the
// skipped count in what()).
template <class T>
using recv_result = boost::system::result<T, recv_error>;

// throw_exception_from_error() makes recv_result<T>::value() throw
// std::system_error (found by ADL; see boost::system::result).
[[noreturn]] void throw_exception_from_error(const recv_error& e,
                                             const boost::source_location& loc);

template <class T>
class receiver;

template <class T>
class sender;

template <class T>
std::pair<sender<T>, receiver<T>> channel(std::size_t capacity);

// sender<T> publishes messages to every receiver of its channel. Copying a
// sender adds a sender; the channel closes (for receivers) when the last
// sender is destroyed.
// Thread-safety: every member may be called concurrently, on the same or
// on different senders, from fibers and plain threads.
template <class T>
class sender {
 public:
  sender(const sender& o) noexcept : st_(o.st_) {
    if (st_) st_->add_sender();
  }
  sender(sender&& o) noexcept = default;
  sender& operator=(const sender& o) noexcept {
    if (this != &o) *this = sender(o);
    return *this;
  }
  sender& operator=(sender&& o) noexcept {
    if (this != &o) {
      release();
      st_ = std::move(o.st_);
    }
    return *this;
  }
  ~sender() { release(); }

  // send() appends a copy of `v` for every current receiver. When the
  // channel is full the oldest message is overwritten: receivers that had
  // not read it will see recv_errc::lagged. Receivers subscribed later do
  // not see it.
  // Blocks: never. Errors: send_error with errc::closed and the value back
  //   when there is no receiver.
  [[nodiscard]] send_result<T> send(const T& v) const {
    T copy(v);
    return send(std::move(copy));
  }

  // send() (rvalue) moves `v` into the channel; see send(const T&).
  [[nodiscard]] send_result<T> send(T&& v) const {
    assert(st_ && "weft::sync::broadcast::sender used after move");
    if (st_->push(v)) return {};
    return send_error<T>{weft::make_error_code(weft::errc::closed), std::move(v)};
  }

  // subscribe() returns a new receiver that sees only messages sent after
  // this call.
  receiver<T> subscribe() const { return receiver<T>(st_, std::nullopt); }

  // receiver_count() is the number of live receivers.
  std::size_t receiver_count() const noexcept { return st_->receiver_count(); }

  // capacity() is the number of messages the channel retains.
  std::size_t capacity() const noexcept { return st_->capacity(); }

 private:
  friend std::pair<sender<T>, receiver<T>> channel<T>(std::size_t);
  explicit sender(std::shared_ptr<detail::broadcast_state<T>> st) noexcept : st_(std::move(st)) {}
  void release() noexcept {
    if (st_) st_->drop_sender();
    st_.reset();
  }
  std::shared_ptr<detail::broadcast_state<T>> st_;
};

// receiver<T> reads every message of its channel in order, from its own
// cursor. Copying a receiver makes an independent receiver at the same
// position (it will read the same remaining messages); resubscribe() makes
// one that starts at the end, like sender::subscribe(). A receive aborted
// after a send woke it but before it ran takes nothing: the cursor stays
// (docs/sync/cancellation.md).
// Thread-safety: one receiver object is used by one fiber or thread at a
//   time (receives move its cursor); different receivers are independent.
template <class T>
class receiver {
  static_assert(std::is_copy_constructible_v<T>, "broadcast messages are copied to every receiver");

 public:
  // select_value_type is what a select branch on this receiver completes
  // with: a message or a lag (never closed: a closed receiver is disabled).
  using select_value_type = recv_result<T>;

  receiver(const receiver& o) : st_(o.st_) {
    if (st_) next_ = st_->add_receiver(o.next_);
  }
  receiver(receiver&& o) noexcept : st_(std::move(o.st_)), next_(o.next_) {}
  receiver& operator=(const receiver& o) {
    if (this != &o) *this = receiver(o);
    return *this;
  }
  receiver& operator=(receiver&& o) noexcept {
    if (this != &o) {
      release();
      st_ = std::move(o.st_);
      next_ = o.next_;
    }
    return *this;
  }
  ~receiver() { release(); }

  // resubscribe() returns a new receiver that sees only messages sent after
  // this call (Tokio's Receiver::resubscribe).
  receiver resubscribe() const { return receiver(st_, std::nullopt); }

  // recv() returns this receiver's next message. A receiver that fell
  // behind by more than capacity() first gets recv_errc::lagged with the
  // number of messages it missed; its next recv() returns the oldest
  // message still retained.
  // Blocks: until a message is sent or the channel closes.
  // Errors: lagged(skipped); errc::closed when every sender is gone and
  //   every retained message was read; weft::cancelled is thrown.
  // Select: consumes nothing when another branch wins (cursor unchanged).
  [[nodiscard]] recv_result<T> recv() { return recv_deadline(weft::detail::no_deadline); }

  // recv_for() is recv() with a timeout.
  // Errors: as recv(), and errc::timeout when `d` passes first.
  template <class Rep, class Period>
  [[nodiscard]] recv_result<T> recv_for(std::chrono::duration<Rep, Period> d) {
    return recv_deadline(detail::deadline_after(d));
  }

  // recv_until() is recv() with a deadline `t` of any clock (exact on the
  // runtime clock, weft::time::clock; time_point::max() means none).
  // Errors: as recv(), and errc::timeout when `t` passes first.
  template <class Clock, class Duration>
  [[nodiscard]] recv_result<T> recv_until(const std::chrono::time_point<Clock, Duration>& t) {
    return recv_deadline(detail::deadline_at(t));
  }

  // try_recv() is recv() without waiting.
  // Blocks: never. Errors: errc::empty when nothing new, lagged, closed.
  [[nodiscard]] recv_result<T> try_recv() {
    std::optional<T> out;
    std::uint64_t skipped = 0;
    const detail::take_status st = st_->take(next_, out, skipped);
    return finish(st, out, skipped, weft::errc::empty);
  }

  // len() is how many messages were sent that this receiver has not
  // received yet, counting the ones it lagged past (Tokio's len(): with
  // capacity 2, a receiver that read none of 4 sends has len() 4, not 2;
  // once its lag was reported it counts the retained ones).
  std::size_t len() const noexcept { return static_cast<std::size_t>(st_->available(next_)); }

  // is_empty() is len() == 0.
  bool is_empty() const noexcept { return len() == 0; }

  // is_closed() is true once every sender is gone (messages may remain).
  bool is_closed() const noexcept { return st_->is_closed(); }

  // iterator walks the messages of a receiver until the channel closes;
  // a lag is skipped (iteration continues at the oldest retained message).
  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using pointer = T*;
    using reference = T&;

    T& operator*() noexcept { return *cur_; }
    T* operator->() noexcept { return &*cur_; }
    iterator& operator++() {
      fetch();
      return *this;
    }
    void operator++(int) { fetch(); }
    bool operator==(std::default_sentinel_t) const noexcept { return !cur_; }

   private:
    friend class receiver;
    explicit iterator(receiver* rx) : rx_(rx) { fetch(); }
    void fetch() {
      for (;;) {
        recv_result<T> r = rx_->recv();
        if (r) {
          cur_.emplace(std::move(*r));
          return;
        }
        if (!r.error().is_lagged()) {
          cur_.reset();
          return;
        }
      }
    }
    receiver* rx_;
    std::optional<T> cur_;
  };

  // begin() receives the first message (blocking like recv()); a range-for
  // over a receiver runs until the channel closes, skipping lags.
  // Errors: weft::cancelled is thrown.
  iterator begin() { return iterator(this); }

  // end() is the sentinel of a closed channel.
  std::default_sentinel_t end() const noexcept { return {}; }

  // select_try_recv() is the select poll step: ready with the message or
  // lag in `out`, pending, or disabled (closed and nothing left).
  sync::detail::poll select_try_recv(std::optional<select_value_type>& out) {
    std::optional<T> v;
    std::uint64_t skipped = 0;
    const detail::take_status st = st_->take(next_, v, skipped);
    if (st == detail::take_status::empty) return sync::detail::poll::pending;
    if (st == detail::take_status::closed) return sync::detail::poll::disabled;
    out.emplace(finish(st, v, skipped, weft::errc::empty));
    return sync::detail::poll::ready;
  }

  // select_arm_recv() is the select arm step (detail/select_branch.hpp).
  sync::detail::poll select_arm_recv(sync::detail::waiter& w, sync::detail::wait_list::node& n,
                                     std::optional<select_value_type>& out) {
    std::optional<T> v;
    std::uint64_t skipped = 0;
    detail::take_status st = detail::take_status::empty;
    const sync::detail::poll p = st_->select_arm(next_, w, n, v, skipped, st);
    if (p == sync::detail::poll::ready) out.emplace(finish(st, v, skipped, weft::errc::empty));
    return p;
  }

  // select_disarm_recv() is the select disarm step: true when a send fired
  // this branch and the message (or lag) was taken into `out`.
  bool select_disarm_recv(sync::detail::wait_list::node& n, std::optional<select_value_type>& out,
                          bool give_back = false) noexcept {
    std::optional<T> v;
    std::uint64_t skipped = 0;
    detail::take_status st = detail::take_status::empty;
    if (!st_->select_disarm(next_, n, v, skipped, st, give_back)) return false;
    if (st == detail::take_status::value) {
      out.emplace(boost::system::in_place_value, std::move(*v));
    } else {
      out.emplace(boost::system::in_place_error,
                  recv_error{make_error_code(recv_errc::lagged), skipped});
    }
    return true;
  }

  // Internal: the number of receives parked on this channel (tests).
  std::size_t waiting_for_tests() const noexcept { return st_->waiting(); }

 private:
  friend class sender<T>;
  friend std::pair<sender<T>, receiver<T>> channel<T>(std::size_t);

  // New receiver at `next` (a clone) or at the tail (std::nullopt).
  receiver(std::shared_ptr<detail::broadcast_state<T>> st, std::optional<std::uint64_t> next)
      : st_(std::move(st)) {
    next_ = st_->add_receiver(next);
  }
  // The channel's first receiver (already counted by the state).
  explicit receiver(std::shared_ptr<detail::broadcast_state<T>> st) noexcept : st_(std::move(st)) {}

  void release() noexcept {
    if (st_) st_->drop_receiver(next_);
    st_.reset();
  }

  recv_result<T> recv_deadline(std::int64_t deadline_ns) {
    assert(st_ && "weft::sync::broadcast::receiver used after move");
    std::optional<T> out;
    std::uint64_t skipped = 0;
    const detail::take_status st = st_->take_wait(next_, out, skipped, deadline_ns);
    return finish(st, out, skipped, weft::errc::timeout);
  }

  static recv_result<T> finish(detail::take_status st, std::optional<T>& out, std::uint64_t skipped,
                               weft::errc if_empty) {
    using boost::system::in_place_error;
    switch (st) {
      case detail::take_status::value:
        return recv_result<T>(boost::system::in_place_value, std::move(*out));
      case detail::take_status::lagged:
        return recv_result<T>(in_place_error,
                              recv_error{make_error_code(recv_errc::lagged), skipped});
      case detail::take_status::closed:
        return recv_result<T>(in_place_error,
                              recv_error{weft::make_error_code(weft::errc::closed), 0});
      case detail::take_status::empty:
        break;
    }
    return recv_result<T>(in_place_error, recv_error{weft::make_error_code(if_empty), 0});
  }

  std::shared_ptr<detail::broadcast_state<T>> st_;
  std::uint64_t next_ = 0;
};

// channel() creates a broadcast channel retaining `capacity` messages and
// returns its first sender and receiver.
// Errors: std::invalid_argument when capacity is 0.
template <class T>
std::pair<sender<T>, receiver<T>> channel(std::size_t capacity) {
  if (capacity == 0)
    throw std::invalid_argument("weft::sync::broadcast::channel: capacity must be > 0");
  auto st = std::make_shared<detail::broadcast_state<T>>(capacity);
  return {sender<T>(st), receiver<T>(st)};
}

}  // namespace weft::sync::broadcast
