// SPDX-License-Identifier: MIT
// weft::spawn and friends: start work on the runtime the caller runs on.
#pragma once

#include <source_location>
#include <utility>

#include "weft/fibers/config.hpp"
#include "weft/fibers/runtime.hpp"

namespace weft {

namespace detail {
template <class F, class... A>
auto spawn_here(spawn_options opts, spawn_kind kind, F&& f, A&&... a) {
  auto t = spawn_on(require_current_core(), std::move(opts), kind, std::forward<F>(f),
                    std::forward<A>(a)...);
  using R = typename std::remove_reference_t<decltype(*t.get())>::value_type;
  return join_handle<R>(std::move(t));
}
}  // namespace detail

// spawn() starts f(args...) on a new fiber of the current runtime.
// spawn(f) records the call's file and line (reports, dumps: see
// docs/diagnostics.md); with arguments it cannot (a defaulted
// std::source_location cannot follow a parameter pack): bind them into a
// lambda, or pass spawn_with's options.
// Errors: no_runtime_error when not called on a runtime's fiber or worker.
template <class F>
auto spawn(F&& f, std::source_location site = std::source_location::current()) {
  return detail::spawn_here({{}, site}, detail::spawn_kind::fiber, std::forward<F>(f));
}
template <class F, detail::not_site A0, class... A>
auto spawn(F&& f, A0&& a0, A&&... a) {
  return detail::spawn_here(detail::unknown_site(), detail::spawn_kind::fiber, std::forward<F>(f),
                            std::forward<A0>(a0), std::forward<A>(a)...);
}

// spawn_with() is spawn() with options (a name; the call's site by default).
template <class F, class... A>
auto spawn_with(spawn_options opts, F&& f, A&&... a) {
  return detail::spawn_here(std::move(opts), detail::spawn_kind::fiber, std::forward<F>(f),
                            std::forward<A>(a)...);
}

// spawn_pinned() starts a fiber that never migrates (see handle::spawn_pinned).
template <class F>
auto spawn_pinned(F&& f, std::source_location site = std::source_location::current()) {
  return detail::spawn_here({{}, site}, detail::spawn_kind::pinned_fiber, std::forward<F>(f));
}
template <class F, detail::not_site A0, class... A>
auto spawn_pinned(F&& f, A0&& a0, A&&... a) {
  return detail::spawn_here(detail::unknown_site(), detail::spawn_kind::pinned_fiber,
                            std::forward<F>(f), std::forward<A0>(a0), std::forward<A>(a)...);
}

// spawn_blocking() runs f(args...) on the blocking pool (see handle::spawn_blocking).
template <class F>
auto spawn_blocking(F&& f, std::source_location site = std::source_location::current()) {
  return detail::spawn_here({{}, site}, detail::spawn_kind::blocking, std::forward<F>(f));
}
template <class F, detail::not_site A0, class... A>
auto spawn_blocking(F&& f, A0&& a0, A&&... a) {
  return detail::spawn_here(detail::unknown_site(), detail::spawn_kind::blocking,
                            std::forward<F>(f), std::forward<A0>(a0), std::forward<A>(a)...);
}

}  // namespace weft
