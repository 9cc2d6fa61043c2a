// SPDX-License-Identifier: MIT
// weft::spawn and friends: start work on the runtime the caller runs on.
#pragma once

#include <utility>

#include "weft/fibers/runtime.hpp"

namespace weft {

// spawn() starts f(args...) on a new fiber of the current runtime.
// Errors: no_runtime_error when not called on a runtime's fiber or worker.
template <class F, class... A>
auto spawn(F&& f, A&&... a) {
  return handle::current().spawn(std::forward<F>(f), std::forward<A>(a)...);
}

// spawn_with() is spawn() with options (a name).
template <class F, class... A>
auto spawn_with(spawn_options opts, F&& f, A&&... a) {
  return handle::current().spawn_with(std::move(opts), std::forward<F>(f), std::forward<A>(a)...);
}

// spawn_pinned() starts a fiber that never migrates (see handle::spawn_pinned).
template <class F, class... A>
auto spawn_pinned(F&& f, A&&... a) {
  return handle::current().spawn_pinned(std::forward<F>(f), std::forward<A>(a)...);
}

// spawn_blocking() runs f(args...) on the blocking pool (see handle::spawn_blocking).
template <class F, class... A>
auto spawn_blocking(F&& f, A&&... a) {
  return handle::current().spawn_blocking(std::forward<F>(f), std::forward<A>(a)...);
}

}  // namespace weft
