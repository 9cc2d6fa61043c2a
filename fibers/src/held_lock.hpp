// SPDX-License-Identifier: MIT
// The held-lock report: a fiber that suspends while it holds a pthread lock
// (docs/diagnostics.md "Common mistakes"; the locks are counted by
// weft::hook's lock hooks through detail/hook_support.hpp).
#pragma once

namespace weft::detail {

class task_base;
class runtime_core;

// note_held_lock_wait() is called by a fiber about to park with
// t.locks_held_ != 0: it counts the wait (runtime_metrics::held_lock_waits)
// and, in diagnostic mode, reports it once per fiber (queued with
// runtime_core::post_report: the caller holds a weft lock).
void note_held_lock_wait(task_base& t, runtime_core& core) noexcept;

}  // namespace weft::detail
