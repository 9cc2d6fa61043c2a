// SPDX-License-Identifier: MIT
// weft::block_in_place: run blocking code on the current worker while the
// worker's other fibers move to the rest of the runtime (Tokio's name).
#pragma once

#include <functional>
#include <utility>

#include "weft/fibers/config.hpp"

namespace weft {

namespace detail {
// in_place_scope hands off the calling worker's queued fibers and marks the
// worker blocked for the monitor (docs/diagnostics.md) until it is destroyed.
class in_place_scope {
 public:
  in_place_scope() noexcept;
  ~in_place_scope();
  in_place_scope(const in_place_scope&) = delete;
  in_place_scope& operator=(const in_place_scope&) = delete;

 private:
  void* core_ = nullptr;    // runtime_core
  void* worker_ = nullptr;  // the worker that blocks
};
}  // namespace detail

// block_in_place() runs f() right here, on the calling fiber and its worker
// thread, which f may block (a file read, a lock of a C library, a long
// computation). First the worker's queued fibers go to the other workers;
// while f runs, the runtime's monitor treats the worker as held: fibers that
// become ready on it and readiness of its descriptors are handed to the
// others, and a spare worker starts when every worker is held (see
// builder::handoff_after, max_spare_workers). Returns what f returns;
// f's exception propagates. Fibers pinned to this worker wait for f.
// On a current-thread runtime, or off a runtime, it just calls f (there is
// no other worker: the other fibers wait). Prefer spawn_blocking for work
// that need not run on this fiber.
template <class F>
decltype(auto) block_in_place(F&& f) {
  detail::in_place_scope scope;
  return std::invoke(std::forward<F>(f));
}

}  // namespace weft
