// SPDX-License-Identifier: MIT
// weft::compat::promise, future and shared_future: std's API over a state
// whose waits park fibers (and block plain threads). Errors are std's own
// std::future_error / std::future_errc; waits return std::future_status.
// Part of weft/compat.hpp; include that, not this file.
#pragma once

#include <chrono>
#include <exception>
#include <future>
#include <memory>
#include <type_traits>
#include <utility>

#include "weft/fibers/config.hpp"
#include "weft/fibers/detail/deadline.hpp"
#include "weft/sync/detail/compat_future_state.hpp"

namespace weft::compat {

template <class R>
class future;
template <class R>
class shared_future;
template <class R>
class promise;
template <class Sig>
class packaged_task;

namespace detail {
// future_access builds futures from states (for promise, packaged_task
// and async).
struct future_access {
  template <class R>
  static future<R> make(state_ptr<R> s) {
    return future<R>(std::move(s));
  }
};

// throw_no_state() throws future_error(no_state). Out of the callers'
// line and [[noreturn]], so the compiler sees no path past a null state.
[[noreturn]] inline void throw_no_state() { throw std::future_error(std::future_errc::no_state); }

// require_state() throws future_error(no_state) for an empty handle.
template <class P>
void require_state(const P& p) {
  if (!p) throw_no_state();
}

// future_base holds the state and the waits future and shared_future share.
template <class R>
class future_base {
 public:
  // valid() is true while the object refers to a state.
  bool valid() const noexcept { return static_cast<bool>(s_); }

  // wait() waits for the result (running a deferred function first).
  // Blocks: parks the fiber (or blocks the plain thread).
  // Errors: future_error(no_state) when !valid() (std: undefined);
  //   weft::cancelled.
  void wait() const {
    require_state(s_);
    s_->wait();
  }

  // wait_for() waits at most `d` (runtime clock): ready, timeout, or
  // deferred (a deferred function is not run). Errors: as wait().
  template <class Rep, class Period>
  std::future_status wait_for(const std::chrono::duration<Rep, Period>& d) const {
    require_state(s_);
    return s_->wait_until_ns(weft::detail::deadline_after(d));
  }

  // wait_until() waits until `t` (any clock). Errors: as wait().
  template <class Clock, class Duration>
  std::future_status wait_until(const std::chrono::time_point<Clock, Duration>& t) const {
    require_state(s_);
    return s_->wait_until_ns(weft::detail::deadline_at(t));
  }

 protected:
  future_base() noexcept = default;
  explicit future_base(state_ptr<R> s) noexcept : s_(std::move(s)) {}
  state_ptr<R> s_;
};
}  // namespace detail

// future<R> is std::future: the one-time receiving end of a promise,
// packaged_task or async call. Move-only. Destroying the last future (or
// shared_future) of an async(launch::async) call waits for its fiber, as
// std does; that wait is not a cancellation point.
template <class R>
class future : public detail::future_base<R> {
 public:
  // future() refers to no state (valid() is false).
  future() noexcept = default;
  future(future&&) noexcept = default;
  future& operator=(future&&) noexcept = default;
  future(const future&) = delete;
  future& operator=(const future&) = delete;

  // share() moves the state into a shared_future; *this becomes invalid.
  shared_future<R> share() noexcept { return shared_future<R>(std::move(*this)); }

  // get() waits for the result and returns it (R, R& or nothing), or
  // rethrows the stored exception; the future is invalid afterwards.
  // Blocks: as wait(). Errors: the stored exception (future_error with
  //   broken_promise when the producer went away unsatisfied);
  //   future_error(no_state) when !valid(); weft::cancelled (the future
  //   stays valid then).
  R get() {
    detail::require_state(this->s_);
    this->s_->wait();
    auto s = std::move(this->s_);
    s->rethrow_if_error();
    return s->take();
  }

 private:
  friend struct detail::future_access;
  friend class shared_future<R>;
  explicit future(detail::state_ptr<R> s) noexcept : detail::future_base<R>(std::move(s)) {}
};

// shared_future<R> is std::shared_future: copyable, and every copy may
// get() the result (const R&, R& or nothing) any number of times.
// Thread-safety: distinct copies may be used concurrently from any fibers
// and threads.
template <class R>
class shared_future : public detail::future_base<R> {
 public:
  // shared_future() refers to no state.
  shared_future() noexcept = default;
  shared_future(const shared_future&) = default;
  shared_future(shared_future&&) noexcept = default;
  shared_future& operator=(const shared_future&) = default;
  shared_future& operator=(shared_future&&) noexcept = default;
  // shared_future() takes over `f`'s state.
  shared_future(future<R>&& f) noexcept : detail::future_base<R>(std::move(f.s_)) {}

  // get() waits for the result and returns it, or rethrows the stored
  // exception. The object stays valid. Blocks, Errors: as future::get().
  decltype(auto) get() const {
    detail::require_state(this->s_);
    this->s_->wait();
    this->s_->rethrow_if_error();
    return this->s_->peek();
  }
};

// promise<R> is std::promise: the sending end of a state. Destroying it
// unsatisfied stores future_error(broken_promise). Move-only. There are no
// set_value_at_thread_exit()/set_exception_at_thread_exit().
template <class R>
class promise {
 public:
  // promise() makes a new state.
  promise() : p_(std::make_shared<detail::future_state<R>>()) {}
  // promise() allocates the state with `alloc`.
  template <class Alloc>
  promise(std::allocator_arg_t, const Alloc& alloc)
      : p_(std::allocate_shared<detail::future_state<R>>(alloc)) {}
  promise(promise&&) noexcept = default;
  promise& operator=(promise&&) noexcept = default;
  promise(const promise&) = delete;
  promise& operator=(const promise&) = delete;
  // ~promise() stores broken_promise if the state is unsatisfied.
  ~promise() = default;

  // swap() exchanges the states.
  void swap(promise& o) noexcept { p_.swap(o.p_); }

  // get_future() returns the future of the state (once).
  // Errors: future_error(future_already_retrieved) the second time;
  //   future_error(no_state) for a moved-from promise.
  future<R> get_future() {
    detail::require_state(p_.state());
    p_.state()->retrieve();
    return detail::future_access::make(p_.state());
  }

  // set_value() stores the value and wakes every waiter.
  // Blocks: never. Errors: future_error(promise_already_satisfied),
  //   future_error(no_state); what copying/moving the value throws (the
  //   state then stays unsatisfied). Thread-safety: any fiber or thread.
  template <class U = R>
  requires(!std::is_void_v<R> && !std::is_reference_v<R> &&
           std::is_constructible_v<R, U&&>) void set_value(U&& v) {
    detail::require_state(p_.state());
    p_.state()->set_value(std::forward<U>(v));
  }
  template <class U = R>
  requires(std::is_reference_v<U>&& std::is_same_v<U, R>) void set_value(
      std::type_identity_t<U> v) {
    detail::require_state(p_.state());
    p_.state()->set_value(v);
  }
  template <class U = R>
  requires(std::is_void_v<U>&& std::is_same_v<U, R>) void set_value() {
    detail::require_state(p_.state());
    p_.state()->set_value();
  }

  // set_exception() stores `e` (rethrown by get()) and wakes every waiter.
  // Errors: as set_value().
  void set_exception(std::exception_ptr e) {
    detail::require_state(p_.state());
    p_.state()->set_exception(std::move(e));
  }

 private:
  detail::producer<R> p_;
};

// swap() is a.swap(b).
template <class R>
void swap(promise<R>& a, promise<R>& b) noexcept {
  a.swap(b);
}

}  // namespace weft::compat

template <class R, class Alloc>
struct std::uses_allocator<weft::compat::promise<R>, Alloc> : std::true_type {};
