// SPDX-License-Identifier: MIT
// worker: the work-sharing Boost.Fiber algorithm and the libevent loop a
// worker parks in. See docs/scheduler.md for the design and measurements.
//
// Queues (owner thread only unless noted):
//   runnext_    LIFO slot: the fiber spawned or woken last runs next (Go's
//               runnext); at most kRunnextStreak times in a row, so two fibers
//               handing off to each other cannot starve the FIFO.
//   local_      FIFO of ready contexts: detached (migratable) ones and
//               attached (pinned: user-pinned fibers and the main context).
//   dispatcher_ Boost's dispatcher context. It releases terminated fibers and
//               moves remote-ready fibers in; we run it when Boost notified
//               us, every kDispatchEvery picks, and when nothing else is ready.
//   shared      runtime_core's injection queue (locked): work this worker
//               shares with idle workers, and spawns from outside threads.
// Invariant: every context in local_/runnext_/shared that is not pinned is
// detached (no scheduler), so whichever worker picks it may attach it.
//
// Sharing: when some worker is idle (searching) and local_ has a detached
// context at its head, that context moves to the shared queue and one idle
// worker is woken. Idle workers take from the shared queue.
//
// Parking (suspend_until): poll the loop once without blocking, spin a
// little watching the shared queue, then publish `sleeping_` (seq_cst),
// re-check, and block in event_base_loop(EVLOOP_ONCE) with a timer at the
// next deadline. Wakers set their condition first, then test `sleeping_`
// (seq_cst) and write the eventfd: no wake-up is lost.
#include <event2/event.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <boost/fiber/algo/algorithm.hpp>
#include <boost/fiber/detail/cpu_relax.hpp>
#include <boost/fiber/operations.hpp>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "runtime_core.hpp"
#include "stack_overflow.hpp"
#include "thread_state.hpp"

namespace weft::detail {

namespace {
constexpr std::uint32_t kRunnextStreak = 8;
constexpr std::uint32_t kDispatchEvery = 32;
// A busy worker takes from the shared queue at least every kSharedEvery picks.
constexpr std::uint32_t kSharedEvery = 61;
constexpr int kSpinRounds = 200;
// A busy worker fires another worker's timers once they are this late: the
// owner fires its own at its next dispatcher turn (every kDispatchEvery
// picks) unless one fiber holds it, and then this worker takes over.
constexpr std::int64_t kForeignTimerGrace = 1000000;  // 1 ms

// algorithm adapts a worker to Boost.Fiber's algorithm interface.
class algorithm final : public boost::fibers::algo::algorithm {
 public:
  algorithm(worker& w, std::shared_ptr<runtime_core> keep) noexcept
      : w_(w), keep_(std::move(keep)) {}
  void awakened(context* ctx) noexcept override { w_.awakened(ctx); }
  context* pick_next() noexcept override { return w_.pick_next(); }
  bool has_ready_fibers() const noexcept override { return w_.has_ready_fibers(); }
  void suspend_until(std::chrono::steady_clock::time_point const& tp) noexcept override {
    w_.suspend_until(tp);
  }
  void notify() noexcept override { w_.notify(); }

 private:
  worker& w_;
  std::shared_ptr<runtime_core> keep_;  // current-thread flavour keeps the core alive
};

void on_wake(evutil_socket_t fd, short, void*) {
  std::uint64_t v;
  while (::read(fd, &v, sizeof v) == sizeof v) {
  }
}

bool is_pinned(const context* ctx) noexcept {
  if (ctx->is_context(boost::fibers::type::pinned_context)) return true;
  const task_base* t = task_of(ctx);
  return t && t->pinned_;
}
}  // namespace

worker::worker(runtime_core& core, std::uint32_t index) : core_(core), index_(index) {
  timers_.set_owner(this);
  cached_now_.store(core_.clock.now(), std::memory_order_relaxed);
  // No EVENT_BASE_FLAG_PRECISE_TIMER: with it libevent's epoll backend
  // calls timerfd_settime on every dispatch, one syscall per loop pass even
  // with no timer pending (a quarter of a syscall per echo round trip).
  // Without it libevent's own timers run on the 4 ms coarse clock, so weft
  // does not use them: a park's deadline arms the worker's own timerfd
  // (CLOCK_MONOTONIC, ns resolution), and only when the deadline changed.
  base_ = event_base_new();
  if (!base_)
    throw std::system_error(errno ? errno : EMFILE, std::generic_category(),
                            "weft: event_base_new");
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  timer_fd_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (wake_fd_ < 0 || timer_fd_ < 0) {
    int e = errno;
    if (wake_fd_ >= 0) ::close(wake_fd_);
    if (timer_fd_ >= 0) ::close(timer_fd_);
    event_base_free(base_);
    throw std::system_error(e, std::generic_category(), "weft: eventfd/timerfd");
  }
  wake_ev_ = event_new(base_, wake_fd_, EV_READ | EV_PERSIST, on_wake, nullptr);
  park_timer_ = event_new(base_, timer_fd_, EV_READ | EV_PERSIST, on_wake, nullptr);
  if (!wake_ev_ || !park_timer_ || event_add(wake_ev_, nullptr) != 0 ||
      event_add(park_timer_, nullptr) != 0) {
    if (wake_ev_) event_free(wake_ev_);
    if (park_timer_) event_free(park_timer_);
    ::close(wake_fd_);
    ::close(timer_fd_);
    event_base_free(base_);
    throw std::system_error(ENOMEM, std::generic_category(), "weft: event_new");
  }
}

worker::~worker() {
  core_.stacks.drain(stacks_);
  event_free(park_timer_);
  event_free(wake_ev_);
  ::close(wake_fd_);
  ::close(timer_fd_);
  event_base_free(base_);
}

void worker::install(std::shared_ptr<runtime_core> keep) {
  boost::fibers::context::active()->get_scheduler()->set_algo(
      boost::fibers::algo::algorithm::ptr_t(new algorithm(*this, std::move(keep))));
  running_ = boost::fibers::context::active();
  sched_ = running_->get_scheduler();
}

context* worker::attach(context* ctx) noexcept {
  if (ctx->get_scheduler() == nullptr) sched_->attach_worker_context(ctx);
  return ctx;
}

namespace {
void mark_queued(context* ctx, worker* w) noexcept {
  if (task_base* t = task_of(ctx)) t->queued_on_.store(w, std::memory_order_relaxed);
}
}  // namespace

void worker::push_local(context* ctx) noexcept {
  ctx->ready_link(local_);
  ++local_size_;
  mark_queued(ctx, this);
}

context* worker::pop_local() noexcept {
  context* c = &local_.front();
  local_.pop_front();
  --local_size_;
  mark_queued(c, nullptr);
  return c;
}

void worker::set_runnext(context* ctx) noexcept {
  if (runnext_) push_local(runnext_);
  runnext_ = ctx;
  mark_queued(ctx, this);
}

context* worker::take_runnext() noexcept {
  context* c = std::exchange(runnext_, nullptr);
  mark_queued(c, nullptr);
  return c;
}

void worker::promote(context* ctx) noexcept {
  sched_section in(*this);
  if (ctx == runnext_) return;
  if (!ctx->ready_is_linked()) return;
  ctx->ready_unlink();
  --local_size_;
  set_runnext(ctx);
  runnext_streak_ = 0;
}

void worker::settle_slow() noexcept {
  waiter* w = std::exchange(pending_detach_, nullptr);
  spin_guard lk(w->splk_);
  if (w->parked_) {
    w->ctx_->detach();
    w->detached_ = true;
  }
}

void worker::flush_timer_note() noexcept {
  const std::int64_t d = std::exchange(timer_note_, no_deadline);
  timer_note_ctx_ = nullptr;
  core_.earlier_timer(d, *this);
}

void worker::run_detached(context* ctx) noexcept {
  sched_section in(*this);
  settle();
  set_runnext(ctx);
  maybe_share();
}

void worker::awakened(context* ctx) noexcept {
  sched_section in(*this);
  settle();
  if (ctx->is_context(boost::fibers::type::dispatcher_context)) {
    dispatcher_ = dispatcher_self_ = ctx;
    return;
  }
  if (is_pinned(ctx)) {
    if (ctx == yielding_) yielding_ = nullptr;
    attach(ctx);
    push_local(ctx);
    return;
  }
  if (ctx->get_scheduler() != nullptr) ctx->detach();
  if (ctx == yielding_) {
    yielding_ = nullptr;
    push_local(ctx);
  } else {
    set_runnext(ctx);
  }
  maybe_share();
}

void worker::push_new(context* ctx, bool pinned) noexcept {
  sched_section in(*this);
  if (pinned) {
    attach(ctx);
    push_local(ctx);
    return;
  }
  set_runnext(ctx);
  maybe_share();
}

void worker::maybe_share() noexcept {
  // Share only as much as idle workers can take right now: one context per
  // searching worker in the shared queue at most.
  const std::uint32_t idle = core_.searching.load(std::memory_order_relaxed);
  if (idle == 0 || local_.empty() || core_.shared_depth() >= idle) return;
  if (local_.front().get_scheduler() != nullptr) return;  // pinned: stays here
  core_.push_shared(pop_local());
}

bool worker::has_outside_work() const noexcept {
  return !core_.shared_empty() || notified_.load(std::memory_order_seq_cst);
}

std::uint64_t worker::next_id() noexcept {
  if (id_next_ == id_limit_) {
    constexpr std::uint64_t kIdBatch = 4096;
    id_next_ = core_.next_id.fetch_add(kIdBatch, std::memory_order_relaxed);
    id_limit_ = id_next_ + kIdBatch;
  }
  return id_next_++;
}

context* worker::pick_next() noexcept {
  sched_section in(*this);
  settle();
  context* next = pick();
  if (next) {
    if (next != running_) {
      // For runtime::dump. A finishing fiber's task pointer is already
      // cleared (fiber_main), so task_of() never sees a freed task.
      task_base* prev = running_ ? task_of(running_) : nullptr;
      if (prev) prev->running_on_.store(0, std::memory_order_relaxed);
      task_base* t = task_of(next);
      if (t) {
        t->running_on_.store(index_ + 1, std::memory_order_relaxed);
        bump(fibers_run_);
      }
      // (Whether the run ending was a task's is remembered from its start:
      // a finishing fiber's task pointer is gone by now.)
      if (core_.poll_histogram) note_run(t != nullptr);
    }
    running_ = next;
    switches_.store(switches_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  return next;
}

context* worker::pick() noexcept {
  ++ticks_;
  // Timers and the event loop are serviced only when the dispatcher picks:
  // a fiber calls pick_next() while it parks, holding its waiter's lock
  // until the switch, and a timer or fd event firing here could claim that
  // very waiter (a self-deadlock seen under load). The dispatcher runs at
  // least every kDispatchEvery picks, so timers are checked that often.
  if (running_ == dispatcher_self_) {
    fire_timers(/*idle=*/false);
    if (core_.stacks.trim_due(stacks_)) (void)core_.stacks.trim_cache(stacks_);
    if ((io_waits.load(std::memory_order_relaxed) > 0 ||
         hosts_signals.load(std::memory_order_relaxed)) &&
        ticks_ - last_poll_ >= core_.event_interval) {
      last_poll_ = ticks_;
      poll(/*idle=*/false);
    }
  }
  if (shared_countdown_ > 0) --shared_countdown_;
  if (dispatcher_ &&
      (notified_.load(std::memory_order_relaxed) || ticks_ - last_dispatch_ >= kDispatchEvery)) {
    notified_.store(false, std::memory_order_relaxed);
    last_dispatch_ = ticks_;
    return std::exchange(dispatcher_, nullptr);
  }
  if (shared_countdown_ == 0 && !core_.shared_empty()) {
    if (context* c = take_shared()) return c;
  }
  if (runnext_ && runnext_streak_ < kRunnextStreak) {
    ++runnext_streak_;
    return attach(take_runnext());
  }
  runnext_streak_ = 0;
  if (!local_.empty()) return attach(pop_local());
  if (runnext_) return attach(take_runnext());
  if (!core_.shared_empty()) {
    if (context* c = take_shared()) return c;
  }
  if (dispatcher_) {
    last_dispatch_ = ticks_;
    return std::exchange(dispatcher_, nullptr);
  }
  return nullptr;
}

context* worker::take_shared() noexcept {
  context* c = core_.pop_shared();
  if (!c) return nullptr;
  shared_countdown_ = kSharedEvery;
  bump(shared_taken_);
  // More shared work than this worker: pass the wake-up on (a woken worker
  // counts as searching until it gets here, so the sharer may not have).
  if (!core_.shared_empty()) core_.wake_idle();
  return attach(c);
}

bool worker::has_ready_fibers() const noexcept {
  sched_section in(const_cast<worker&>(*this));
  return runnext_ != nullptr || !local_.empty() || dispatcher_ != nullptr;
}

void worker::poll(bool idle) noexcept {
  bump(polls_);
  {
    hooks_off off;
    event_base_loop(base_, EVLOOP_NONBLOCK);
  }
  fire_timers(idle);
}

void worker::fire_timers(bool idle) noexcept {
  const std::int64_t now = core_.clock.now();
  cached_now_.store(now, std::memory_order_relaxed);
  timers_.fire_due(now);
  if (core_.workers.size() == 1) return;
  const std::int64_t foreign_now = idle ? now : now - kForeignTimerGrace;
  for (auto& w : core_.workers) {
    if (w.get() != this) w->timers_.fire_due(foreign_now);
  }
}

void worker::notify() noexcept {
  notified_.store(true, std::memory_order_seq_cst);
  wake_if_parked();
}

void worker::unpark() noexcept {
  if (sleeping_.exchange(false, std::memory_order_acq_rel)) {
    core_.parked.fetch_sub(1, std::memory_order_acq_rel);
  }
}

bool worker::wake_if_parked() noexcept {
  if (!sleeping_.load(std::memory_order_seq_cst)) return false;
  if (!sleeping_.exchange(false, std::memory_order_acq_rel)) return false;
  core_.parked.fetch_sub(1, std::memory_order_acq_rel);
  std::uint64_t one = 1;
  // The raw syscall: a waker may be a fiber, and this must never become a
  // hooked (parking) write (docs/hooks.md).
  [[maybe_unused]] auto n = ::syscall(SYS_write, wake_fd_, &one, sizeof one);
  return true;
}

void worker::suspend_until(std::chrono::steady_clock::time_point const& tp) noexcept {
  sched_section in(*this);
  settle();
  if (core_.stopping.load(std::memory_order_acquire)) {
    // Shutting down: Boost's dispatcher loops until its worker queue is
    // empty; let it, without parking.
    if (!has_ready_fibers()) std::this_thread::yield();
    return;
  }
  if (core_.stacks.trim_due(stacks_)) (void)core_.stacks.trim_cache(stacks_);
  // Work that arrived through the loop or a timer (of any worker: this
  // one is free) comes first.
  poll(/*idle=*/true);
  if (has_ready_fibers() || has_outside_work()) return;
  core_.searching.fetch_add(1, std::memory_order_seq_cst);
  // The spin watches for work handed over by other threads, not for I/O:
  // with fibers waiting on this loop, readiness arrives only through the
  // loop, so park in it at once. (200 pauses take 5.2 us on this VM; an
  // echo server worker goes idle about every 15 round trips, so the spin
  // cost ~0.35 us of a ~7.5 us round trip and delayed the next reads.)
  const int spins = io_waits.load(std::memory_order_relaxed) > 0 ? 0 : kSpinRounds;
  for (int i = 0; i < spins; ++i) {
    if (has_outside_work()) {
      core_.searching.fetch_sub(1, std::memory_order_relaxed);
      return;
    }
    cpu_relax();
  }
  park(tp);
  core_.searching.fetch_sub(1, std::memory_order_relaxed);
}

void worker::park(std::chrono::steady_clock::time_point const& tp) noexcept {
  sleeping_.store(true, std::memory_order_seq_cst);
  core_.parked.fetch_add(1, std::memory_order_seq_cst);
  if (has_outside_work() || core_.stopping.load(std::memory_order_acquire)) {
    unpark();
    return;
  }
  if (core_.clock.paused() && core_.try_auto_advance(*this)) {
    unpark();
    return;
  }
  // Deadline: the next timer of every shard (a busy worker's timers fire
  // here), and Boost's own sleep queue (tp). Publishing parked_until_ and
  // then reading the shards again pairs with earlier_timer(), which
  // publishes a shard's new minimum and then reads parked_until_: either
  // this park sees the earlier deadline or the inserter wakes it.
  if (!core_.clock.paused()) {
    std::int64_t next = core_.next_timer();
    parked_until_.store(next, std::memory_order_seq_cst);
    next = std::min(next, core_.next_timer());
    std::int64_t wait_ns = -1;
    if (next != no_deadline) wait_ns = std::max<std::int64_t>(0, next - core_.clock.now());
    if (tp != std::chrono::steady_clock::time_point::max()) {
      auto d = std::chrono::duration_cast<std::chrono::nanoseconds>(
                   tp - std::chrono::steady_clock::now())
                   .count();
      d = std::max<std::int64_t>(0, d);
      wait_ns = wait_ns < 0 ? d : std::min(wait_ns, d);
    }
    if (wait_ns >= 0) arm_park_timer(steady_ns() + wait_ns);
  }
  bump(parks_);
  busy_end(steady_ns());
  {
    hooks_off off;
    event_base_loop(base_, EVLOOP_ONCE);
  }
  busy_begin(steady_ns());
  core_.loop_wakes.fetch_add(1, std::memory_order_seq_cst);
  unpark();
  parked_until_.store(no_deadline, std::memory_order_relaxed);
  fire_timers(/*idle=*/true);
}

void worker::arm_park_timer(std::int64_t at_ns) noexcept {
  // The timer stays armed after the park: if it fires later it wakes one
  // loop pass for nothing, which is cheaper than a syscall to disarm it on
  // every wake-up. Re-arming for the same instant is skipped.
  if (at_ns == armed_ns_) return;
  armed_ns_ = at_ns;
  itimerspec its{};
  const std::int64_t t = std::max<std::int64_t>(at_ns, 1);  // 0 would disarm
  its.it_value.tv_sec = static_cast<time_t>(t / 1000000000);
  its.it_value.tv_nsec = static_cast<long>(t % 1000000000);
  ::timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &its, nullptr);
}

void worker::run_thread() {
  alt_signal_stack alt;
  tls().w = this;
  tid_.store(static_cast<int>(::gettid()), std::memory_order_release);
  {
    std::string n = core_.thread_name.substr(0, 12) + "-" + std::to_string(index_);
    ::pthread_setname_np(::pthread_self(), n.substr(0, 15).c_str());
  }
  install(nullptr);
  busy_begin(steady_ns());
  // The main context sleeps until the runtime stops; the dispatcher runs
  // the fibers meanwhile.
  {
    spin_guard lk(core_.stop_lock_);
    while (!core_.stopping.load(std::memory_order_acquire)) {
      waiter w;
      wait_list::node n(w);
      core_.stop_waiters_.push_back(n);
      w.park(&lk, no_deadline, false);
      lk.lock();
      core_.stop_waiters_.remove(n);
    }
  }
  busy_end(steady_ns());
  // Thread exit destroys Boost's scheduler, which runs the dispatcher until
  // no fiber is attached here. tls().w stays set for that; the hook layer
  // passes libc calls through from here on (the contexts it would inspect
  // are being torn down).
  ++tls().no_hooks;
}

void worker::note_run(bool next_is_task) noexcept {
  const std::int64_t now = steady_ns();
  if (run_is_task_ && run_began_ != 0) {
    const std::int64_t d = now - run_began_;
    bump(run_hist_[poll_time_histogram::bucket_of(d)]);
    run_total_.store(run_total_.load(std::memory_order_relaxed) + d, std::memory_order_relaxed);
  }
  run_began_ = now;
  run_is_task_ = next_is_task;
}

void worker::busy_end(std::int64_t now) noexcept {
  const std::int64_t from = busy_from_.exchange(0, std::memory_order_relaxed);
  if (from != 0 && now > from) busy_done_.fetch_add(now - from, std::memory_order_relaxed);
}

std::int64_t worker::busy_ns(std::int64_t now) const noexcept {
  std::int64_t b = busy_done_.load(std::memory_order_relaxed);
  const std::int64_t from = busy_from_.load(std::memory_order_relaxed);
  if (from != 0 && now > from) b += now - from;
  std::int64_t seen = busy_seen_.load(std::memory_order_relaxed);
  while (b > seen && !busy_seen_.compare_exchange_weak(seen, b, std::memory_order_relaxed)) {
  }
  return std::max(b, seen);
}

void worker::fill_metrics(worker_metrics& m, std::int64_t now) const {
  m.index = index_;
  m.spare = index_ >= core_.regular_workers;
  // A current-thread runtime's worker is the block_on thread: started.
  m.started = tid() != 0 || core_.current_thread;
  m.busy = std::chrono::nanoseconds(busy_ns(now));
  m.fibers_run = fibers_run_.load(std::memory_order_relaxed);
  m.parks = parks_.load(std::memory_order_relaxed);
  m.polls = polls_.load(std::memory_order_relaxed);
  m.shared_taken = shared_taken_.load(std::memory_order_relaxed);
  m.timers_armed = timers_.size();
  m.io_waiting = static_cast<std::uint64_t>(std::max(0, io_waits.load(std::memory_order_relaxed)));
  m.io_registered = static_cast<std::uint64_t>(
      std::max<std::int64_t>(0, io_registered.load(std::memory_order_relaxed)));
  m.io_registrations = io_registrations.load(std::memory_order_relaxed);
  m.io_events = io_events.load(std::memory_order_relaxed);
}

void worker::add_poll_times(poll_time_histogram& h) const noexcept {
  for (std::size_t i = 0; i < h.counts.size(); ++i)
    h.counts[i] += run_hist_[i].load(std::memory_order_relaxed);
  h.total += std::chrono::nanoseconds(run_total_.load(std::memory_order_relaxed));
}

}  // namespace weft::detail
