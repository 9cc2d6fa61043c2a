// SPDX-License-Identifier: MIT
// Per-thread state of weft. Read it only through the out-of-line accessors
// below and never keep a reference across a suspension point: a fiber may
// resume on another thread (docs/design.md section 10).
#pragma once

#include "weft/fibers/detail/task.hpp"

namespace weft::detail {

class worker;
class runtime_core;

// thread_state must stay trivially destructible: Boost's own thread_local
// scheduler may call into weft while thread_local objects are torn down.
struct thread_state {
  worker* w = nullptr;               // the weft worker this thread runs (or null)
  runtime_core* blocking = nullptr;  // a blocking-pool thread: its runtime
  cancel_context plain_ctx{};        // cancel scopes of a plain thread / main context
  int no_hooks = 0;                  // > 0 inside the runtime's own event loop (hooks_off)
};

// tls() returns the calling thread's state. Out of line on purpose.
thread_state& tls() noexcept;

// current_worker() is tls().w.
worker* current_worker() noexcept;

// hooks_off marks a section where the runtime itself calls libc (its event
// loop: libevent's epoll_wait and reads of its own descriptors) while a
// fiber's context may be the running one: the hook layer passes those
// calls straight to libc (detail/hook_support.hpp, hooks_apply()).
class hooks_off {
 public:
  hooks_off() noexcept { ++tls().no_hooks; }
  ~hooks_off() { --tls().no_hooks; }
  hooks_off(const hooks_off&) = delete;
  hooks_off& operator=(const hooks_off&) = delete;
};

}  // namespace weft::detail
