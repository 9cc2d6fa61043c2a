// SPDX-License-Identifier: MIT
// weft::block_in_place's non-template part (block_in_place.hpp).
#include "weft/fibers/block_in_place.hpp"

#include "runtime_core.hpp"
#include "thread_state.hpp"

namespace weft::detail {

in_place_scope::in_place_scope() noexcept {
  worker* w = current_worker();
  if (!w || !w->running() || !task_of(w->running())) return;  // not on a weft fiber
  runtime_core& core = w->core();
  worker_ = core.block_in_place_begin();
  if (worker_) core_ = &core;
}

in_place_scope::~in_place_scope() {
  if (core_) static_cast<runtime_core*>(core_)->block_in_place_end(static_cast<worker*>(worker_));
}

}  // namespace weft::detail
