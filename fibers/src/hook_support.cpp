// SPDX-License-Identifier: MIT
// The runtime side of the hook layer's needs (detail/hook_support.hpp).
#include "weft/fibers/detail/hook_support.hpp"

#include "runtime_core.hpp"
#include "thread_state.hpp"
#include "weft/fibers/detail/core.hpp"
#include "weft/fibers/detail/task.hpp"

namespace weft::detail {

namespace {
// hooked_task() is the weft task whose user code runs on this thread now,
// or nullptr (no worker, the runtime's own event loop, a scheduler context).
task_base* hooked_task() noexcept {
  thread_state& t = tls();
  if (!t.w || t.no_hooks != 0) return nullptr;
  const context* c = t.w->running();  // null while the worker starts up
  return c ? task_of(c) : nullptr;
}
}  // namespace

bool hooks_apply() noexcept { return hooked_task() != nullptr; }

void defer_cancelled(const weft::cancelled& c) noexcept {
  if (const cancel_scope* s = c.scope()) {
    // The scope is an enclosing timeout() of the caller, still on its
    // stack: un-firing it makes its expiry due again.
    const_cast<cancel_scope*>(s)->fired = false;
    return;
  }
  if (task_base* t = current_task()) t->redeliver_cancel();
}

thread_hold::thread_hold() noexcept : t_(current_task()) {
  if (t_) was_ = t_->set_pinned(true);
}

thread_hold::~thread_hold() {
  if (t_) t_->set_pinned(was_);
}

void lock_acquired() noexcept {
  if (task_base* t = hooked_task()) ++t->locks_held_;
}

void lock_released() noexcept {
  // An unlock on another fiber than the lock's (or of a lock taken before
  // the runtime started) finds nothing counted: never wrap below zero.
  if (task_base* t = hooked_task(); t && t->locks_held_ != 0) --t->locks_held_;
}

bool offload_file_io() noexcept {
  runtime_core* c = current_core();
  return c && c->offload_file_io;
}

}  // namespace weft::detail
