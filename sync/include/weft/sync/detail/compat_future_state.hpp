// SPDX-License-Identifier: MIT
// The shared state behind weft::compat's promise, future, shared_future,
// packaged_task and async. Internal: do not depend on it; include
// weft/compat.hpp.
//
// A state is satisfied once: claim() reserves the right (a second claim is
// promise_already_satisfied), the claimant stores the value or exception,
// and publish() marks it ready and wakes every waiter. Waiters park on the
// state's own wait list through weft's waiter, like every weft::sync
// primitive; a wait can be uncancellable, which the destructor of an
// async() future needs (std's ~future of async waits, and a destructor
// cannot throw weft::cancelled).
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <future>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "weft/fibers/cancelled.hpp"
#include "weft/fibers/config.hpp"
#include "weft/fibers/detail/waiter.hpp"

namespace weft::compat::detail {

// future_state_base is the untyped part of a state.
class future_state_base {
 public:
  future_state_base() noexcept = default;
  future_state_base(const future_state_base&) = delete;
  future_state_base& operator=(const future_state_base&) = delete;
  virtual ~future_state_base() = default;

  // ready() is true once the state holds a value or an exception.
  bool ready() const noexcept { return ready_.load(std::memory_order_acquire); }

  // is_deferred() is true for a state made by async(launch::deferred).
  bool is_deferred() const noexcept { return deferred_; }

  // retrieve() marks the state's future as handed out.
  // Errors: future_error(future_already_retrieved) the second time.
  void retrieve();

  // claim() reserves the right to satisfy the state.
  // Errors: future_error(promise_already_satisfied) when it was claimed.
  void claim();

  // unclaim() gives a claim back (the value's constructor threw).
  void unclaim() noexcept { claimed_.store(false, std::memory_order_release); }

  // is_claimed() is true once someone satisfied (or is satisfying) it.
  bool is_claimed() const noexcept { return claimed_.load(std::memory_order_acquire); }

  // publish() makes a claimed state ready and wakes every waiter.
  void publish() noexcept;

  // set_exception() claims, stores `e` and publishes.
  // Errors: future_error(promise_already_satisfied).
  void set_exception(std::exception_ptr e);

  // abandon() stores future_error(broken_promise) unless the state was
  // claimed (the promise, task or async fiber went away unsatisfied).
  void abandon() noexcept;

  // wait() returns once the state is ready; a deferred state runs its
  // function first, on the first caller (others wait for it).
  // Blocks: parks the fiber (or blocks the plain thread).
  // Errors: weft::cancelled.
  void wait();

  // wait_until_ns() waits until ready or `deadline_ns` (runtime clock).
  // Returns std::future_status::deferred, without running anything, for a
  // deferred state whose result is not ready. Errors: weft::cancelled.
  std::future_status wait_until_ns(std::int64_t deadline_ns);

  // wait_uncancellable() is wait() without a cancellation point, for a
  // state whose result some fiber is producing (async's destructor wait).
  void wait_uncancellable() noexcept;

  // arm_join() says a fiber now produces the result, so the last future
  // must wait for it (see joining()); joins() reads it.
  void arm_join() noexcept { joins_.store(true, std::memory_order_release); }
  bool joins() const noexcept { return joins_.load(std::memory_order_acquire); }

  // rethrow_if_error() rethrows the stored exception, if any (when ready).
  void rethrow_if_error() const {
    if (error_) std::rethrow_exception(error_);
  }

 protected:
  explicit future_state_base(bool deferred) noexcept : deferred_(deferred) {}
  // run_deferred() runs a deferred state's function and satisfies it.
  virtual void run_deferred() {}

 private:
  // park_until() parks until ready or the deadline; true when ready.
  bool park_until(std::int64_t deadline_ns, bool cancellable);

  weft::detail::spin_lock lock_;
  weft::detail::wait_list waiters_;  // guarded by lock_
  std::atomic<bool> ready_{false};
  std::atomic<bool> claimed_{false};
  std::atomic<bool> retrieved_{false};
  std::atomic<bool> deferred_started_{false};
  std::atomic<bool> joins_{false};
  const bool deferred_ = false;
  std::exception_ptr error_;  // written by the claimant before publish()
};

// future_state<T> adds the value slot: a T, a pointer for T&, nothing for
// void. take() moves the value out (future::get), peek() reads it
// (shared_future::get).
template <class T>
class future_state : public future_state_base {
 public:
  future_state() noexcept = default;

  template <class U>
  void set_value(U&& v) {
    claim();
    try {
      value_.emplace(std::forward<U>(v));
    } catch (...) {
      unclaim();
      throw;
    }
    publish();
  }
  T take() { return std::move(*value_); }
  const T& peek() const noexcept { return *value_; }

 protected:
  explicit future_state(bool deferred) noexcept : future_state_base(deferred) {}

 private:
  std::optional<T> value_;
};

template <class T>
class future_state<T&> : public future_state_base {
 public:
  future_state() noexcept = default;

  void set_value(T& v) {
    claim();
    value_ = &v;
    publish();
  }
  T& take() const noexcept { return *value_; }
  T& peek() const noexcept { return *value_; }

 protected:
  explicit future_state(bool deferred) noexcept : future_state_base(deferred) {}

 private:
  T* value_ = nullptr;
};

template <>
class future_state<void> : public future_state_base {
 public:
  future_state() noexcept = default;

  void set_value() {
    claim();
    publish();
  }
  void take() const noexcept {}
  void peek() const noexcept {}

 protected:
  explicit future_state(bool deferred) noexcept : future_state_base(deferred) {}
};

// fulfil() runs `fn` and stores what it returns or throws into `s`.
// weft::cancelled is not stored: it propagates, so the fiber unwinds as
// cancelled and whoever owns the state abandons it (broken_promise).
template <class R, class Fn>
void fulfil(future_state<R>& s, Fn&& fn) {
  try {
    if constexpr (std::is_void_v<R>) {
      std::forward<Fn>(fn)();
      s.set_value();
    } else {
      s.set_value(std::forward<Fn>(fn)());
    }
  } catch (const weft::cancelled&) {
    throw;
  } catch (...) {
    s.set_exception(std::current_exception());
  }
}

// deferred_state<R, Fn> is the state of async(launch::deferred): `fn` runs
// on the first get()/wait().
template <class R, class Fn>
class deferred_state final : public future_state<R> {
 public:
  explicit deferred_state(Fn&& fn) : future_state<R>(true), fn_(std::move(fn)) {}

 private:
  void run_deferred() override {
    try {
      fulfil(*this, std::move(*fn_));
    } catch (const weft::cancelled&) {
      fn_.reset();
      this->abandon();
      throw;
    }
    fn_.reset();
  }
  std::optional<Fn> fn_;
};

// state_ptr is how futures hold a state.
template <class R>
using state_ptr = std::shared_ptr<future_state<R>>;

// joining() returns an owner of `s` whose last copy, when destroyed, waits
// (uncancellably) for the state to become ready once arm_join() was
// called: std's rule that the last future of an async(launch::async) call
// waits for the function. The real owner is moved into the deleter and
// released after the wait. Unarmed (the fiber could not be started, or
// this allocation failed) it waits for nothing.
template <class R>
state_ptr<R> joining(state_ptr<R> s) {
  future_state<R>* raw = s.get();
  return state_ptr<R>(raw, [keep = std::move(s)](future_state<R>*) mutable noexcept {
    if (keep->joins()) keep->wait_uncancellable();
    keep.reset();
  });
}

// producer<R> is the promise side: it satisfies the state and abandons it
// (broken_promise) when destroyed unsatisfied. Move-only.
template <class R>
class producer {
 public:
  producer() noexcept = default;
  explicit producer(state_ptr<R> s) noexcept : s_(std::move(s)) {}
  producer(producer&&) noexcept = default;
  producer& operator=(producer&& o) noexcept {
    if (this != &o) {
      reset();
      s_ = std::move(o.s_);
    }
    return *this;
  }
  ~producer() { reset(); }

  const state_ptr<R>& state() const noexcept { return s_; }
  // reset() abandons the state and lets it go.
  void reset() noexcept {
    if (s_) {
      s_->abandon();
      s_.reset();
    }
  }
  void swap(producer& o) noexcept { s_.swap(o.s_); }

 private:
  state_ptr<R> s_;
};

}  // namespace weft::compat::detail
