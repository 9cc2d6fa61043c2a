// SPDX-License-Identifier: MIT
// The non-template entry points of the runtime that weft's public templates
// call. Internal to weft; do not depend on it.
#pragma once

#include <memory>
#include <string>

#include "weft/fibers/config.hpp"
#include "weft/fibers/detail/task.hpp"

namespace weft::detail {

class runtime_core;

// spawn_kind says where a task runs.
enum class spawn_kind { fiber, pinned_fiber, blocking };

// submit() starts `t` (one reference is passed in) on `core`.
// Throws: std::system_error if no stack could be allocated.
void submit(runtime_core& core, task_base* t, spawn_kind kind);

// current_core() is the runtime of the calling worker thread (or nullptr).
runtime_core* current_core() noexcept;

// current_core_shared() returns a shared owner of current_core() (or null).
std::shared_ptr<runtime_core> current_core_shared() noexcept;

// current_task() is the weft task running on the calling fiber (or nullptr).
task_base* current_task() noexcept;

// on_worker_of() is true when the caller runs on a worker of `core`.
bool on_worker_of(const runtime_core& core) noexcept;

}  // namespace weft::detail
