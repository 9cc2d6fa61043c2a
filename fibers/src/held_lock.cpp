// SPDX-License-Identifier: MIT
// The held-lock report (held_lock.hpp).
#include "held_lock.hpp"

#include <string>

#include "runtime_core.hpp"
#include "weft/fibers/detail/task.hpp"

namespace weft::detail {

void note_held_lock_wait(task_base& t, runtime_core& core) noexcept {
  core.held_lock_waits.fetch_add(1, std::memory_order_relaxed);
  if (t.held_lock_reported_ || !core.diagnosing()) return;
  t.held_lock_reported_ = true;
  try {
    const char* what = t.wait_what_.load(std::memory_order_relaxed);
    std::string m = "task " + std::to_string(t.id());
    if (!t.name().empty()) m += " '" + t.name() + "'";
    m += " (" + spawn_site_text(t.site()) + ") suspended in " +
         (what ? std::string(what) : std::string("a wait")) + " while it holds " +
         std::to_string(t.locks_held_) + (t.locks_held_ == 1 ? " pthread lock" : " pthread locks") +
         " (a std::mutex, std::shared_mutex or pthread mutex/rwlock locked on this fiber): "
         "another fiber on the same thread that takes the lock blocks the whole worker or "
         "deadlocks, and the unlock may run on another thread once the fiber has moved. "
         "Release the lock before the wait, or use weft::sync::mutex, which a fiber may hold "
         "across a suspension. Reported once per fiber";
    // The caller holds the lock of the structure it parks on: no log call
    // here (the sink may do anything). Flushed after the park, or by the
    // monitor if the fiber never wakes.
    core.post_report("held-lock", std::move(m));
  } catch (...) {
    core.post_report("held-lock", {});
  }
}

}  // namespace weft::detail
