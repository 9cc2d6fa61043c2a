// SPDX-License-Identifier: MIT
// weft::compat::packaged_task and async: std's ways to run a function into
// a future, on weft fibers. Part of weft/compat.hpp; include that, not this
// file.
#pragma once

#include <functional>
#include <future>
#include <memory>
#include <type_traits>
#include <utility>

#include "weft/fibers/config.hpp"
#include "weft/fibers/runtime.hpp"
#include "weft/fibers/spawn.hpp"
#include "weft/sync/detail/compat_future.hpp"
#include "weft/sync/detail/compat_future_state.hpp"
#include "weft/sync/detail/compat_thread.hpp"

namespace weft::compat {

namespace detail {

// task_fn_base<R, Args...> is packaged_task's type-erased function.
template <class R, class... Args>
class task_fn_base {
 public:
  virtual ~task_fn_base() = default;
  virtual R call(Args&&... a) = 0;
};

template <class F, class R, class... Args>
class task_fn final : public task_fn_base<R, Args...> {
 public:
  template <class G>
  explicit task_fn(G&& g) : f_(std::forward<G>(g)) {}
  R call(Args&&... a) override {
    if constexpr (std::is_void_v<R>) {
      std::invoke(f_, std::forward<Args>(a)...);
    } else {
      return std::invoke(f_, std::forward<Args>(a)...);
    }
  }

 private:
  F f_;
};

// call_signature<M>::type is R(A...) for a pointer to member function M
// (packaged_task's deduction guide for function objects).
template <class M>
struct call_signature;
template <class R, class G, class... A>
struct call_signature<R (G::*)(A...)> {
  using type = R(A...);
};
template <class R, class G, class... A>
struct call_signature<R (G::*)(A...) const> {
  using type = R(A...);
};
template <class R, class G, class... A>
struct call_signature<R (G::*)(A...) noexcept> {
  using type = R(A...);
};
template <class R, class G, class... A>
struct call_signature<R (G::*)(A...) const noexcept> {
  using type = R(A...);
};

// async_result_t is what async(f, args...) returns in its future.
template <class F, class... Args>
using async_result_t = std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>;

}  // namespace detail

// packaged_task<R(Args...)> is std::packaged_task: a function whose call
// stores its result (or exception) in a future. Calling it runs the
// function on the caller's fiber or thread. Destroying or reset()ting it
// before it ran stores future_error(broken_promise). A weft::cancelled
// thrown by the function (the caller was cancelled) propagates to the
// caller and is not stored. No make_ready_at_thread_exit(). Move-only.
template <class R, class... Args>
class packaged_task<R(Args...)> {
 public:
  // packaged_task() has no state (valid() is false).
  packaged_task() noexcept = default;

  // packaged_task() stores a decay-copy of `f` with a new state.
  template <class F>
  requires(!std::is_same_v<std::remove_cvref_t<F>, packaged_task>) explicit packaged_task(F&& f)
      : fn_(std::make_unique<detail::task_fn<std::decay_t<F>, R, Args...>>(std::forward<F>(f))),
        p_(std::make_shared<detail::future_state<R>>()) {}

  packaged_task(packaged_task&&) noexcept = default;
  packaged_task& operator=(packaged_task&&) noexcept = default;
  packaged_task(const packaged_task&) = delete;
  packaged_task& operator=(const packaged_task&) = delete;
  ~packaged_task() = default;

  // valid() is true while the task has a state.
  bool valid() const noexcept { return static_cast<bool>(p_.state()); }

  // swap() exchanges two tasks.
  void swap(packaged_task& o) noexcept {
    fn_.swap(o.fn_);
    p_.swap(o.p_);
  }

  // get_future() returns the future of the state (once).
  // Errors: future_error(future_already_retrieved), future_error(no_state).
  future<R> get_future() {
    detail::require_state(p_.state());
    p_.state()->retrieve();
    return detail::future_access::make(p_.state());
  }

  // operator()() calls the function with `args` and stores its result or
  // exception. Blocks: as long as the function does.
  // Errors: future_error(promise_already_satisfied) when it ran already;
  //   future_error(no_state); weft::cancelled from the function.
  void operator()(Args... args) {
    detail::require_state(p_.state());
    if (p_.state()->is_claimed())
      throw std::future_error(std::future_errc::promise_already_satisfied);
    detail::fulfil(*p_.state(), [&]() -> R { return fn_->call(std::forward<Args>(args)...); });
  }

  // reset() gives the task a new state, to run again; the old state, if
  // unsatisfied, gets broken_promise. Errors: future_error(no_state).
  void reset() {
    detail::require_state(p_.state());
    p_ = detail::producer<R>(std::make_shared<detail::future_state<R>>());
  }

 private:
  std::unique_ptr<detail::task_fn_base<R, Args...>> fn_;
  detail::producer<R> p_;
};

template <class R, class... A>
packaged_task(R (*)(A...)) -> packaged_task<R(A...)>;
template <class F>
packaged_task(F) -> packaged_task<typename detail::call_signature<decltype(&F::operator())>::type>;

// swap() is a.swap(b).
template <class R, class... Args>
void swap(packaged_task<R(Args...)>& a, packaged_task<R(Args...)>& b) noexcept {
  a.swap(b);
}

// async() runs f(args...) (decay-copied) and returns its future:
//   - std::launch::async: on a new fiber of the caller's runtime. The last
//     future (or shared_future) of it, when destroyed, waits for the fiber
//     as std's does (not a cancellation point);
//   - std::launch::deferred (or neither bit): on the first get()/wait() of
//     the future, on the caller's fiber or thread;
//   - both bits: async on a runtime, deferred elsewhere (std lets the
//     implementation choose).
// A fiber cancelled by shutdown or an abort leaves broken_promise.
// Errors: weft::no_runtime_error for launch::async alone off a runtime;
//   std::system_error when no fiber stack can be allocated.
template <class F, class... Args>
[[nodiscard]] future<detail::async_result_t<F, Args...>> async(std::launch policy, F&& f,
                                                               Args&&... args) {
  using R = detail::async_result_t<F, Args...>;
  auto fn = weft::detail::bind_call(std::forward<F>(f), std::forward<Args>(args)...);
  const bool want_async = (policy & std::launch::async) == std::launch::async;
  const bool may_defer = (policy & std::launch::deferred) == std::launch::deferred;
  if (want_async && (!may_defer || weft::detail::current_core() != nullptr)) {
    (void)detail::require_core("weft::compat::async(std::launch::async, ...)");
    auto st = std::make_shared<detail::future_state<R>>();
    auto owner = detail::joining(st);
    weft::spawn([p = detail::producer<R>(st), fn = std::move(fn)]() mutable {
      detail::fulfil(*p.state(), [&]() -> R { return fn(); });
    }).detach();
    st->arm_join();
    return detail::future_access::make(std::move(owner));
  }
  using state = detail::deferred_state<R, decltype(fn)>;
  return detail::future_access::make(detail::state_ptr<R>(std::make_shared<state>(std::move(fn))));
}

// async() without a policy is async(launch::async | launch::deferred, ...).
template <class F, class... Args>
requires(!std::is_same_v<std::remove_cvref_t<F>, std::launch>)
    [[nodiscard]] future<detail::async_result_t<F, Args...>> async(F&& f, Args&&... args) {
  return compat::async(std::launch::async | std::launch::deferred, std::forward<F>(f),
                       std::forward<Args>(args)...);
}

}  // namespace weft::compat
