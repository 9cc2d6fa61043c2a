// SPDX-License-Identifier: MIT
// handoff: how the monitor thread (monitor.cpp) takes the queued fibers of a
// worker that is stuck in one fiber, without making the owner pay a lock.
//
// The owner enters a sched_section around every use of its queues: a
// relaxed store of in_sched_, a compiler barrier, a load of steal_. The
// monitor stores steal_, then runs membarrier(2), which makes every thread
// of the process execute a full memory barrier before it returns, then
// loads in_sched_ (an asymmetric Dekker: the owner's fast path has no fence
// instruction, the rare side pays a system call). Either the monitor sees
// the section open and leaves, or the owner's next section sees steal_ and
// waits in wait_steal() until the monitor is done. While the monitor holds
// the queues the owner cannot enter a section, so it cannot switch fibers,
// queue one, or finish the running one (fiber_main clears the task pointer
// inside a section): the running task record stays valid to read.
#include <event2/event.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <boost/fiber/detail/cpu_relax.hpp>
#include <thread>

#include "runtime_core.hpp"
#include "thread_state.hpp"

namespace weft::detail {

namespace {
int membarrier(int cmd) noexcept { return static_cast<int>(::syscall(__NR_membarrier, cmd, 0, 0)); }

// fence_cmd() registers the process for the expedited private barrier once
// and returns the command to use, or 0 when the kernel has none (then the
// monitor does not hand off: monitor.cpp reports that once).
int fence_cmd() noexcept {
  static const int cmd = [] {
    const int have = membarrier(MEMBARRIER_CMD_QUERY);
    if (have < 0) return 0;
    if ((have & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
        membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0)
      return static_cast<int>(MEMBARRIER_CMD_PRIVATE_EXPEDITED);
    if (have & MEMBARRIER_CMD_GLOBAL) return static_cast<int>(MEMBARRIER_CMD_GLOBAL);
    return 0;
  }();
  return cmd;
}
}  // namespace

bool heavy_fence_available() noexcept { return fence_cmd() != 0; }

bool worker::try_lock_steal() noexcept {
  const int cmd = fence_cmd();
  if (cmd == 0) return false;
  steal_.store(true, std::memory_order_relaxed);
  if (membarrier(cmd) != 0) {
    steal_.store(false, std::memory_order_release);
    return false;
  }
  // The owner may be inside a section right now (a fiber spawning in a
  // loop opens one per spawn); it sees steal_ at its next one, so wait a
  // little for it to leave this one.
  for (int i = 0; i < 2000; ++i) {
    if (!in_sched_.load(std::memory_order_acquire)) return true;
    cpu_relax();
  }
  steal_.store(false, std::memory_order_release);
  return false;
}

void worker::unlock_steal() noexcept { steal_.store(false, std::memory_order_release); }

void worker::wait_steal() noexcept {
  // The monitor holds the queues for a hand-off and one poll: microseconds.
  for (int i = 0; steal_.load(std::memory_order_acquire); ++i) {
    if (i < 1000) {
      cpu_relax();
    } else {
      std::this_thread::yield();
    }
  }
}

std::size_t worker::hand_off() noexcept {
  std::size_t n = 0;
  if (runnext_) {
    core_.push_shared(take_runnext());
    ++n;
  }
  runnext_streak_ = 0;
  // Pinned contexts are attached to this worker's scheduler and stay; every
  // other one in local_ is detached (the queue invariant, worker.cpp).
  for (auto it = local_.begin(); it != local_.end();) {
    context* c = &*it;
    if (c->get_scheduler() != nullptr) {
      ++it;
      continue;
    }
    it = local_.erase(it);
    --local_size_;
    if (task_base* t = task_of(c)) t->queued_on_.store(nullptr, std::memory_order_relaxed);
    core_.push_shared(c);
    ++n;
  }
  if (n) core_.handoffs.fetch_add(n, std::memory_order_relaxed);
  return n;
}

void worker::poll_for_monitor() noexcept {
  if (io_waits.load(std::memory_order_relaxed) > 0 ||
      hosts_signals.load(std::memory_order_relaxed)) {
    // The owner is not in its loop (it is outside every section), so this
    // thread may run it; the callbacks wake fibers into the shared queue
    // (they run on no worker) or, for pinned ones, into this worker's
    // remote queue, where they wait for the owner.
    hooks_off off;
    event_base_loop(base_, EVLOOP_NONBLOCK);
  }
  timers_.fire_due(core_.clock.now());
}

task_base* worker::running_task() const noexcept {
  const context* c = running_;
  return c ? task_of(c) : nullptr;
}

}  // namespace weft::detail
