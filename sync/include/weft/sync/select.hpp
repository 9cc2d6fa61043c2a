// SPDX-License-Identifier: MIT
// weft::sync::select: wait for the first of several operations (receive,
// send, notify, token, join, deadline) and run exactly that branch's handler.
//
//   std::size_t i = weft::sync::select(
//       weft::sync::on_recv(jobs, [&](job j) { run(j); }),
//       weft::sync::on_cancelled(stop, [&] { done = true; }),
//       weft::sync::on_sleep(1s, [&] { heartbeat(); }));
//
// Exactly one branch completes. The operations of the others have no effect:
// a receive not chosen takes nothing, a send not chosen sends nothing (its
// value stays in the caller's variable). select() chooses fairly among the
// branches ready at once (random start); select_biased() polls in order.
// A branch whose channel is closed is disabled; when every branch is
// disabled the on_else() branch runs (without one, select_error is thrown).
// A select aborted after a branch was handed its operation but before the
// fiber ran completes nothing and the branch gives the operation back
// (docs/sync/cancellation.md).
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>

#include "weft/fibers/config.hpp"
#include "weft/fibers/join_handle.hpp"
#include "weft/fibers/time.hpp"
#include "weft/sync/cancellation_token.hpp"
#include "weft/sync/detail/deadline.hpp"
#include "weft/sync/detail/select_branch.hpp"
#include "weft/sync/notify.hpp"

namespace weft::sync {

// select_error is thrown by select() when every branch is disabled and
// there is no on_else() branch.
class select_error : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

namespace detail {

// recv_branch: `rx` receives; the handler gets the value. With
// `DeliverClosed` the branch stays enabled at close and hands the handler an
// empty optional instead (on_recv_or_closed).
template <class Rx, class F, bool DeliverClosed = false>
class recv_branch final : public branch {
 public:
  using value_type = typename Rx::select_value_type;
  recv_branch(Rx& rx, F f) : rx_(rx), f_(std::move(f)) {}
  poll try_now() override {
    const poll p = rx_.select_try_recv(out_);
    return (DeliverClosed && p == poll::disabled) ? poll::ready : p;
  }
  poll arm(waiter& w) override {
    node_.emplace(w);
    const poll p = rx_.select_arm_recv(w, *node_, out_);
    if (DeliverClosed && p == poll::disabled) return claim_self(w) ? poll::ready : poll::pending;
    return p;
  }
  bool disarm(bool give_back) noexcept override {
    return rx_.select_disarm_recv(*node_, out_, give_back);
  }
  void run() override {
    if constexpr (DeliverClosed) {
      f_(std::move(out_));
    } else {
      f_(std::move(*out_));
    }
  }

 private:
  Rx& rx_;
  F f_;
  std::optional<value_type> out_;
  std::optional<wait_list::node> node_;
};

// send_branch: `tx` sends `v`, moving from it only when chosen.
template <class Tx, class T, class F>
class send_branch final : public branch {
 public:
  send_branch(Tx& tx, T& v, F f) : tx_(tx), v_(v), f_(std::move(f)) {}
  poll try_now() override { return tx_.select_try_send(v_); }
  poll arm(waiter& w) override {
    node_.emplace(w);
    return tx_.select_arm_send(w, *node_, v_);
  }
  bool disarm(bool give_back) noexcept override {
    return tx_.select_disarm_send(*node_, give_back);
  }
  void run() override { f_(); }

 private:
  Tx& tx_;
  T& v_;
  F f_;
  std::optional<wait_list::node> node_;
};

// signal_branch: a notify or a cancellation token (select_try/arm/disarm).
template <class S, class F>
class signal_branch final : public branch {
 public:
  signal_branch(S& s, F f) : s_(s), f_(std::move(f)) {}
  poll try_now() override { return s_.select_try(); }
  poll arm(waiter& w) override {
    node_.emplace(w);
    return s_.select_arm(w, *node_);
  }
  bool disarm(bool give_back) noexcept override { return s_.select_disarm(*node_, give_back); }
  void run() override { f_(); }

 private:
  S& s_;
  F f_;
  std::optional<wait_list::node> node_;
};

// join_branch: the task behind a join handle finishes; the handler gets the
// handle (join() then returns at once).
template <class T, class F>
class join_branch final : public branch {
 public:
  join_branch(join_handle<T>& h, F f) : h_(h), f_(std::move(f)) {}
  poll try_now() override {
    if (!h_.valid()) return poll::disabled;
    return h_.is_finished() ? poll::ready : poll::pending;
  }
  poll arm(waiter& w) override {
    node_.emplace(w);
    if (h_.task()->link_joiner(*node_)) return poll::pending;
    return claim_self(w) ? poll::ready : poll::pending;
  }
  // A completion wakes every joiner: there is nothing to give back.
  bool disarm(bool give_back) noexcept override {
    return h_.task()->unlink_joiner(*node_) && !give_back;
  }
  void run() override { f_(h_); }

 private:
  join_handle<T>& h_;
  F f_;
  std::optional<wait_list::node> node_;
};

// timer_branch: a deadline on the runtime clock.
template <class F>
class timer_branch final : public branch {
 public:
  timer_branch(std::int64_t deadline_ns, F f) : deadline_(deadline_ns), f_(std::move(f)) {}
  poll try_now() override { return now_ns() >= deadline_ ? poll::ready : poll::pending; }
  poll arm(waiter&) override { return poll::pending; }
  bool disarm(bool) noexcept override { return false; }
  std::int64_t deadline() const noexcept override { return deadline_; }
  void run() override { f_(); }

 private:
  std::int64_t deadline_;
  F f_;
};

// else_branch runs when every other branch is disabled.
template <class F>
struct else_branch {
  F f;
};

template <class B>
struct is_else : std::false_type {};
template <class F>
struct is_else<else_branch<F>> : std::true_type {};

template <class... B>
std::size_t run_select(bool biased, B&... b) {
  constexpr std::size_t total = sizeof...(B);
  constexpr std::size_t elses = (std::size_t{is_else<B>::value} + ... + 0);
  static_assert(elses <= 1, "select: at most one on_else() branch");
  std::array<branch*, total - elses + 1> ptrs{};
  std::array<std::size_t, total - elses + 1> arg_index{};
  std::size_t n = 0;
  std::size_t else_at = npos;
  std::size_t pos = 0;
  auto add = [&](auto& x) {
    if constexpr (is_else<std::remove_cvref_t<decltype(x)>>::value) {
      else_at = pos;
    } else {
      ptrs[n] = &x;
      arg_index[n] = pos;
      ++n;
    }
    ++pos;
  };
  (add(b), ...);
  const std::size_t chosen = select_core(ptrs.data(), n, biased);
  if (chosen == npos) {
    if (else_at == npos) {
      throw select_error("weft::sync::select: every branch is disabled and there is no on_else()");
    }
    auto run_else = [](auto& x) {
      if constexpr (is_else<std::remove_cvref_t<decltype(x)>>::value) x.f();
    };
    (run_else(b), ...);
    return else_at;
  }
  ptrs[chosen]->run();
  return arg_index[chosen];
}

}  // namespace detail

// on_recv() is a branch receiving from `rx` (an mpsc, oneshot, broadcast or
// watch receiver); `f(value)` runs when chosen. Disabled once the channel is
// closed and drained.
template <class Rx, class F>
auto on_recv(Rx& rx, F f) {
  return detail::recv_branch<Rx, F>(rx, std::move(f));
}

// on_recv_or_closed() is on_recv() that stays enabled when the channel is
// closed and drained: `f(std::optional<value>)` then gets an empty optional
// (Tokio's `msg = rx.recv()` without a pattern). Use it to leave a loop
// when the producers are gone while other branches (a token) stay enabled.
template <class Rx, class F>
auto on_recv_or_closed(Rx& rx, F f) {
  return detail::recv_branch<Rx, F, true>(rx, std::move(f));
}

// on_send() is a branch sending `value` on `tx`; `f()` runs when chosen.
// `value` is moved from only when this branch is chosen. Disabled once the
// receiver is closed.
template <class Tx, class T, class F>
auto on_send(Tx& tx, T& value, F f) {
  return detail::send_branch<Tx, T, F>(tx, value, std::move(f));
}

// on_notified() is a branch consuming a notify_one() permit or a
// notify_waiters() wake-up.
template <class F>
auto on_notified(notify& n, F f) {
  return detail::signal_branch<notify, F>(n, std::move(f));
}

// on_cancelled() is a branch completing once `token` is cancelled.
template <class F>
auto on_cancelled(const cancellation_token& token, F f) {
  return detail::signal_branch<const cancellation_token, F>(token, std::move(f));
}

// on_join() is a branch completing when the task behind `h` finishes;
// `f(h)` runs and may call h.join() (which no longer waits). Disabled for an
// empty handle.
template <class T, class F>
auto on_join(join_handle<T>& h, F f) {
  return detail::join_branch<T, F>(h, std::move(f));
}

// on_sleep() is a branch completing `d` after select() starts (any
// std::chrono duration; one too long to represent never completes).
template <class Rep, class Period, class F>
auto on_sleep(std::chrono::duration<Rep, Period> d, F f) {
  return detail::timer_branch<F>(detail::deadline_after(d), std::move(f));
}

// on_deadline() is a branch completing when the runtime clock reaches `t`
// (a time point of any clock; time_point::max() never completes).
template <class Clock, class Duration, class F>
auto on_deadline(const std::chrono::time_point<Clock, Duration>& t, F f) {
  return detail::timer_branch<F>(detail::deadline_at(t), std::move(f));
}

// on_else() runs when every other branch is disabled (closed channels).
template <class F>
auto on_else(F f) {
  return detail::else_branch<F>{std::move(f)};
}

// select() waits until one branch completes, runs its handler and returns
// that branch's position among the arguments. Among branches ready at the
// same time the choice is random (fair).
// Blocks: parks the fiber (or blocks the plain thread) until a branch completes.
// Errors: throws weft::cancelled (no branch completed then); select_error
//   when every branch is disabled and there is no on_else(); whatever the
//   chosen handler throws.
template <class... B>
std::size_t select(B&&... branches) {
  return detail::run_select(false, branches...);
}

// select_biased() is select() checking the branches in argument order:
// the first ready one wins (priority, e.g. shutdown before work).
template <class... B>
std::size_t select_biased(B&&... branches) {
  return detail::run_select(true, branches...);
}

}  // namespace weft::sync
