// SPDX-License-Identifier: MIT
// waiter: parking and waking one fiber or plain thread (waiter.hpp has the
// protocol). A fiber parks with Boost's suspend(lock): the waiter's own lock
// is released only after the switch, so a claimer can never schedule a
// fiber that is still running.
#include "weft/fibers/detail/waiter.hpp"

#include <time.h>

#include <boost/fiber/context.hpp>
#include <thread>

#include "futex.hpp"
#include "held_lock.hpp"
#include "runtime_core.hpp"
#include "thread_state.hpp"
#include "weft/fibers/cancelled.hpp"

namespace weft::detail {

namespace {
// wait_for_aborters() spins (then yields the thread) while an abort() is
// still claiming this task's waiter: a few instructions, unless the aborting
// thread was preempted in between.
void wait_for_aborters(const task_base* t) noexcept {
  for (int spins = 0; t->aborters_.load(std::memory_order_acquire) != 0; ++spins) {
    if (spins < 64) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    } else {
      std::this_thread::yield();
    }
  }
}

constexpr std::uint32_t kWaiting = static_cast<std::uint32_t>(wake_reason::waiting);

timespec to_timespec(std::int64_t ns) noexcept {
  timespec ts;
  ts.tv_sec = static_cast<time_t>(ns / 1000000000LL);
  ts.tv_nsec = static_cast<long>(ns % 1000000000LL);
  return ts;
}

// cancel_registration publishes the waiter to the current task so that
// abort() can claim it, and withdraws it on every exit path. If an aborter
// took the pointer first, it may still be inside claim(): wait for it to
// finish before the waiter (on this stack) can die.
class cancel_registration {
 public:
  cancel_registration(task_base* t, waiter* w) noexcept : t_(t) {
    if (t_) t_->current_waiter_.store(w, std::memory_order_seq_cst);
  }
  ~cancel_registration() {
    if (!t_) return;
    if (t_->current_waiter_.exchange(nullptr, std::memory_order_seq_cst) == nullptr) {
      wait_for_aborters(t_);
    }
  }

 private:
  task_base* t_;
};

// pending_cancel() delivers a cancellation that is due before parking:
// an abort not yet delivered, or an expired scope.
[[noreturn]] void throw_scope(cancel_scope* s) {
  s->fired = true;
  throw cancelled(s);
}

cancel_scope* expired_scope(cancel_context& cc, std::int64_t now) noexcept {
  cancel_scope* best = nullptr;
  for (cancel_scope* s = cc.scopes; s; s = s->parent) {
    if (!s->fired && s->deadline_ns <= now && (!best || s->deadline_ns <= best->deadline_ns)) {
      best = s;
    }
  }
  return best;
}

std::int64_t clock_now(worker* w) noexcept { return w ? w->core().clock.now() : steady_ns(); }
}  // namespace

void wake_token::resume() noexcept {
  if (ctx_) {
    context* c = std::exchange(ctx_, nullptr);
    if (std::exchange(detached_, false)) {
      schedule_detached(c);
    } else {
      schedule_context(c);
    }
  } else if (futex_) {
    futex_wake(std::exchange(futex_, nullptr), 1);
  }
}

waiter::waiter() noexcept {
  worker* w = current_worker();
  ctx_ = w ? w->running() : nullptr;
}

wake_token waiter::claim(wake_reason why) noexcept {
  wake_token t;
  spin_guard lk(splk_);
  if (state_.load(std::memory_order_relaxed) != kWaiting) return t;
  state_.store(static_cast<std::uint32_t>(why), std::memory_order_release);
  t.won_ = true;
  if (ctx_) {
    if (parked_) {
      parked_ = false;
      t.ctx_ = ctx_;
      t.detached_ = std::exchange(detached_, false);
    }
  } else {
    t.futex_ = &state_;
  }
  return t;
}

wake_reason waiter::park(spin_guard* outer, std::int64_t deadline_ns, bool cancellable) {
  worker* w = current_worker();
  cancel_context& cc = current_cancel_context();
  task_base* task = (cancellable && ctx_) ? task_of(ctx_) : nullptr;
  // Deliver what is already due, before parking. The waiter may already be
  // reachable (a select links it into several lists before parking), so the
  // cancellation must win the claim first: if another source claimed it, that
  // wake stands and the cancellation waits for the next suspension point.
  if (cancellable) {
    if (task && task->cancel_requested() && !task->cancel_delivered()) {
      if (wake_token self = claim(wake_reason::cancelled); self && task->take_cancel()) {
        if (outer) outer->unlock();
        throw cancelled();
      }
    }
    if (cc.scopes) {
      if (cancel_scope* s = expired_scope(cc, clock_now(ctx_ ? w : nullptr))) {
        if (wake_token self = claim(wake_reason::cancelled); self) {
          if (outer) outer->unlock();
          throw_scope(s);
        }
      }
    }
  }
  const std::int64_t scope_deadline = cancellable ? cc.earliest_deadline() : no_deadline;
  const std::int64_t effective = std::min(deadline_ns, scope_deadline);

  wake_reason r;
  {
    // Register for abort only while the cancellation is still deliverable.
    cancel_registration reg(task && !task->cancel_delivered() ? task : nullptr, this);
    if (task && task->cancel_requested() && !task->cancel_delivered()) {
      // abort() raced with us before registration: claim ourselves.
      wake_token self = claim(wake_reason::cancelled);
      (void)self;
    }
    r = ctx_ ? park_fiber(outer, effective) : park_thread(outer, effective);
  }
  // A report queued under a weft lock (held_lock.cpp) is logged here, with
  // none held.
  // (`w` may be another worker of the same runtime by now: same core.)
  if (ctx_ && w->core().reports_pending()) w->core().flush_reports();
  if (r == wake_reason::cancelled) {
    if (task && task->take_cancel()) throw cancelled();
    // Delivered before: treat like a spurious timeout-free wake.
    r = wake_reason::notified;
  }
  if (r == wake_reason::timeout && effective == scope_deadline && scope_deadline < deadline_ns) {
    if (cancel_scope* s = expired_scope(cc, clock_now(ctx_ ? w : nullptr))) throw_scope(s);
  }
  return r;
}

bool waiter::take_late_cancel() noexcept {
  if (!ctx_) return false;
  task_base* task = task_of(ctx_);
  return task && task->take_cancel();
}

wake_reason waiter::park_fiber(spin_guard* outer, std::int64_t deadline_ns) {
  worker* w = current_worker();
  if (task_base* t = task_of(ctx_); t && t->locks_held_ != 0) note_held_lock_wait(*t, w->core());
  timer_shard* shard = nullptr;
  if (deadline_ns != no_deadline) {
    shard = &w->timers();
    shard->insert(*this, deadline_ns);
  }
  {
    spin_guard lk(splk_);
    if (outer) outer->unlock();
    if (state_.load(std::memory_order_relaxed) == kWaiting) {
      parked_ = true;
      // A migratable fiber is detached from this worker once it has
      // switched out (worker::settle), so whichever worker wakes it can run
      // it at once instead of bouncing the wake-up through this worker.
      // With a single worker there is nowhere else to run it: skip the
      // detach (and its extra lock round trip).
      if (task_base* t = task_of(ctx_); t && !t->pinned_ && w->core().workers.size() > 1) {
        w->defer_detach(this);
      }
      ctx_->suspend(lk);  // lk is released after the switch
    }
  }
  current_worker()->settle();
  if (shard) {
    // The fiber may have migrated: remove through the entry's own shard.
    if (timer_shard* s = timer.shard) s->remove(*this);
  }
  return static_cast<wake_reason>(state_.load(std::memory_order_acquire));
}

wake_reason waiter::park_thread(spin_guard* outer, std::int64_t deadline_ns) {
  if (outer) outer->unlock();
  timespec abs;
  if (deadline_ns != no_deadline) abs = to_timespec(deadline_ns);
  for (;;) {
    const std::uint32_t s = state_.load(std::memory_order_acquire);
    if (s != kWaiting) return static_cast<wake_reason>(s);
    if (deadline_ns != no_deadline && steady_ns() >= deadline_ns) {
      wake_token t = claim(wake_reason::timeout);
      t.resume();  // a no-op for ourselves, but keeps the token contract
      continue;
    }
    futex_wait(&state_, kWaiting, deadline_ns == no_deadline ? nullptr : &abs);
  }
}

}  // namespace weft::detail
