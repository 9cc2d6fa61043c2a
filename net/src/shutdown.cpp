// SPDX-License-Identifier: MIT
// graceful_shutdown: the drain loop. The task set is taken out under the
// lock, then drained without it, so spawns racing with shutdown() either
// land in the set before it is taken or get errc::closed.
#include "weft/net/shutdown.hpp"

#include <mutex>
#include <optional>

#include "weft/fibers/join_handle.hpp"

namespace weft::net {

void graceful_shutdown::reap() noexcept {
  for (;;) {
    try {
      if (!tasks_->try_join_next()) return;
    } catch (const join_error&) {
      // An ended task that failed or was aborted: nothing to report yet.
    }
  }
}

shutdown_report graceful_shutdown::shutdown_until_ns(std::int64_t deadline_ns) {
  const time::instant deadline = deadline_ns == weft::detail::no_deadline
                                     ? time::instant::max()
                                     : time::instant(time::duration(deadline_ns));
  std::optional<join_set<void>> taken;
  {
    std::lock_guard<sync::mutex> lk(lock_);
    if (!tasks_) return {};
    taken.emplace(std::move(*tasks_));
    tasks_.reset();
  }
  join_set<void>& set = *taken;
  token_.cancel();

  shutdown_report rep;
  // Drain: completion order, each wait bounded by the one deadline.
  // timeout_at() cancels the wait itself at the deadline, never the tasks.
  while (!set.empty()) {
    bool panicked = false;
    auto r = time::timeout_at(deadline, [&] {
      try {
        (void)set.join_next();
      } catch (const join_error& e) {
        panicked = e.is_panic();
      }
    });
    if (!r) break;  // the deadline passed
    ++rep.drained;
    if (panicked) ++rep.panicked;
  }
  // Force: abort what is left and wait for it to unwind. A task that ended
  // by itself between the deadline and the abort still counts as drained.
  set.abort_all();
  while (!set.empty()) {
    try {
      (void)set.join_next();
      ++rep.drained;
    } catch (const join_error& e) {
      if (e.is_cancelled()) {
        ++rep.forced;
      } else {
        ++rep.drained;
        ++rep.panicked;
      }
    }
  }
  rep.clean = rep.forced == 0;
  return rep;
}

}  // namespace weft::net
