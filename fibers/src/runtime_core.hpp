// SPDX-License-Identifier: MIT
// The runtime's machinery: runtime_core (shared queue, workers, registry,
// timers, clock, shutdown) and worker (one thread, its Boost.Fiber
// scheduling algorithm and its libevent loop). Private to fibers/src.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/fiber/algo/algorithm.hpp>
#include <boost/fiber/context.hpp>
#include <boost/fiber/scheduler.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <source_location>
#include <string>
#include <thread>
#include <vector>

#include "blocking_pool.hpp"
#include "clock.hpp"
#include "monitor.hpp"
#include "stack_pool.hpp"
#include "timer_heap.hpp"
#include "weft/fibers/detail/core.hpp"
#include "weft/fibers/runtime.hpp"

struct event_base;
struct event;

namespace weft::detail {

using boost::fibers::context;
using ready_queue = boost::fibers::scheduler::ready_queue_type;

class runtime_core;
class logger;

// fiber_props tags a Boost context with its weft task. It lives in the top
// bytes of the fiber's own stack; Boost's `delete` of it only runs the
// destructor (operator delete is a no-op), the stack is recycled after.
struct fiber_props final : boost::fibers::fiber_properties {
  explicit fiber_props(task_base* t) noexcept : fiber_properties(nullptr), task(t) {}
  static void operator delete(void*) noexcept {}
  task_base* task;
};

// task_of() is the weft task of a Boost context (nullptr for main/dispatcher
// contexts and fibers not made by weft).
inline task_base* task_of(const context* ctx) noexcept {
  auto* p = ctx->get_properties();
  return p ? static_cast<fiber_props*>(p)->task : nullptr;
}

// spawn_site_text() is "spawned at file:line in function", or "spawn site
// not recorded" (reports and the dump: fibers/src/dump.cpp).
std::string spawn_site_text(const std::source_location& s);

// worker is one scheduler thread (or, for a current-thread runtime, the
// thread running block_on).
class worker {
 public:
  worker(runtime_core& core, std::uint32_t index);
  ~worker();
  worker(const worker&) = delete;
  worker& operator=(const worker&) = delete;

  // --- the Boost.Fiber algorithm (called on the worker thread) ---
  void awakened(context* ctx) noexcept;
  context* pick_next() noexcept;
  bool has_ready_fibers() const noexcept;
  void suspend_until(std::chrono::steady_clock::time_point const& tp) noexcept;
  void notify() noexcept;  // any thread

  // install() makes this worker the calling thread's Boost.Fiber algorithm.
  void install(std::shared_ptr<runtime_core> keep);

  // push_new() queues a freshly created (detached) context on this worker.
  void push_new(context* ctx, bool pinned) noexcept;
  // wake_if_parked() wakes the worker from its event loop if it sleeps.
  bool wake_if_parked() noexcept;
  // defer_detach() asks the worker to detach the waiter's fiber once it has
  // switched out; settle() does that (call it wherever this thread may run
  // after a switch, before anything could resume that fiber here).
  void defer_detach(waiter* w) noexcept {
    settle();
    pending_detach_ = w;
  }
  void settle() noexcept {
    if (pending_detach_ && pending_detach_->ctx_ != running_) settle_slow();
    if (timer_note_ctx_ && timer_note_ctx_ != running_) flush_timer_note();
  }
  // note_earlier_timer() records that this worker's shard got an earlier
  // next deadline (owner thread, maybe under a primitive's lock); settle()
  // passes it to runtime_core::earlier_timer once the fiber switched out.
  // set_solo() tells the worker it is its runtime's only one.
  void set_solo(bool solo) noexcept { solo_ = solo; }
  void note_earlier_timer(std::int64_t deadline) noexcept {
    if (solo_) return;
    timer_note_ = std::min(timer_note_, deadline);
    timer_note_ctx_ = running_;
  }
  // run_detached() queues a detached fiber woken on this thread (runnext).
  void run_detached(context* ctx) noexcept;
  // promote() makes `ctx`, queued on this worker, the next to run.
  void promote(context* ctx) noexcept;
  // mark_yield() tells awakened() that `ctx` yields (goes to the FIFO tail).
  void mark_yield(context* ctx) noexcept { yielding_ = ctx; }

  // run_thread() is the body of a multi-thread worker.
  void run_thread();

  // --- The monitor's view of this worker (fibers/src/handoff.cpp) ---
  // sched_section marks the owner thread inside this worker's queue code
  // (every method that reads or writes runnext_/local_). The monitor moves
  // the queued fibers of a worker that stays outside it, stuck in one
  // fiber, while it holds steal_; a section opened meanwhile waits.
  // Sections nest: only the outermost one enters and leaves.
  class sched_section {
   public:
    explicit sched_section(worker& w) noexcept
        : w_(w), outer_(w.in_sched_.load(std::memory_order_relaxed)) {
      if (!outer_) w_.enter_sched();
    }
    ~sched_section() {
      if (!outer_) w_.in_sched_.store(false, std::memory_order_release);
    }
    sched_section(const sched_section&) = delete;
    sched_section& operator=(const sched_section&) = delete;

   private:
    worker& w_;
    const bool outer_;
  };
  // switches() counts the contexts this worker switched to: the monitor's
  // sign of progress.
  std::uint64_t switches() const noexcept { return switches_.load(std::memory_order_relaxed); }
  // try_lock_steal() (monitor thread) takes the worker's queues if the
  // owner is outside every sched_section, spinning at most briefly while it
  // is inside one; false when it stayed inside. unlock_steal() gives them back.
  bool try_lock_steal() noexcept;
  void unlock_steal() noexcept;
  // hand_off() moves runnext_ and every migratable fiber of local_ to the
  // shared queue, waking idle workers; returns how many. Call it holding
  // the steal lock, or as the owner inside a sched_section.
  std::size_t hand_off() noexcept;
  // poll_for_monitor() (steal lock held) runs this worker's event loop once
  // without blocking and fires its due timers, from the monitor's thread:
  // readiness of descriptors registered here is not held up by a stuck owner.
  void poll_for_monitor() noexcept;
  // running_task() (steal lock held) is the task of the context running
  // here, or nullptr (the scheduler's own contexts, a finishing fiber).
  task_base* running_task() const noexcept;
  // in_place counts weft::block_in_place calls running on this worker.
  std::atomic<int> in_place{0};
  // cached_now() is the runtime clock as this worker last read it (when it
  // last fired timers): the "since" of a wait label, without a clock read.
  std::int64_t cached_now() const noexcept { return cached_now_.load(std::memory_order_relaxed); }
  // tid() is the worker thread's kernel thread id (0 before it started).
  int tid() const noexcept { return tid_.load(std::memory_order_acquire); }

  event_base* base() const noexcept { return base_; }
  timer_shard& timers() noexcept { return timers_; }
  stack_cache& stacks() noexcept { return stacks_; }
  boost::fibers::scheduler* sched() const noexcept { return sched_; }
  runtime_core& core() const noexcept { return core_; }
  std::uint32_t index() const noexcept { return index_; }
  bool is_parked() const noexcept { return sleeping_.load(std::memory_order_acquire); }
  // parked_until() is the runtime-clock deadline this worker's park sleeps
  // to (no_deadline: none); meaningful while is_parked().
  std::int64_t parked_until() const noexcept {
    return parked_until_.load(std::memory_order_seq_cst);
  }
  // has_remote_wake() is true when Boost queued a context for this worker
  // that it has not taken in yet.
  bool has_remote_wake() const noexcept { return notified_.load(std::memory_order_seq_cst); }
  // unpark() leaves the parked state (idempotent with a waker's wake_if_parked).
  void unpark() noexcept;
  // running() is the context running on this worker right now. Boost's
  // scheduler resumes only what pick_next() returns, so pick_next() tracks
  // it; reading it avoids Boost's thread_local lookup (~15 ns) on hot paths.
  context* running() const noexcept { return running_; }
  // io_waits counts fibers waiting on this worker's event loop for an fd;
  // a busy worker polls the loop only when it is non-zero.
  std::atomic<int> io_waits{0};
  // hosts_signals is set while this worker's event_base carries the
  // process's signal events (fibers/src/signal_hub.cpp); a busy worker then
  // polls its loop too, so a signal is not held up by CPU-bound fibers.
  std::atomic<bool> hosts_signals{false};
  // --- Metrics (weft/fibers/metrics.hpp): owner-written unless noted ---
  // busy_begin()/busy_end() open and close a stretch of time this worker's
  // thread runs the scheduler (not parked, not outside block_on).
  void busy_begin(std::int64_t now) noexcept { busy_from_.store(now, std::memory_order_relaxed); }
  void busy_end(std::int64_t now) noexcept;
  std::int64_t busy_ns(std::int64_t now) const noexcept;
  void fill_metrics(worker_metrics& m, std::int64_t now) const;
  void add_poll_times(poll_time_histogram& h) const noexcept;
  std::atomic<std::uint64_t> io_registrations{0};  // any thread
  std::atomic<std::int64_t> io_registered{0};      // any thread
  std::atomic<std::uint64_t> io_events{0};         // the owner, or the monitor polling for it
  // next_id() hands out task ids in per-worker batches.
  std::uint64_t next_id() noexcept;
  std::atomic<std::uint64_t> spawned{0};  // written by the owner thread only

  std::thread thread;

 private:
  context* pick() noexcept;
  context* take_shared() noexcept;
  void settle_slow() noexcept;
  void flush_timer_note() noexcept;
  context* attach(context* ctx) noexcept;
  void push_local(context* ctx) noexcept;
  context* pop_local() noexcept;
  void set_runnext(context* ctx) noexcept;
  context* take_runnext() noexcept;
  void maybe_share() noexcept;
  // poll() runs the event loop without blocking and fires due timers.
  void poll(bool idle) noexcept;
  // fire_timers() fires this worker's due timers and other workers' ones:
  // every due one when `idle`, else those late by more than
  // kForeignTimerGrace (their owner had its chance).
  void fire_timers(bool idle) noexcept;
  void park(std::chrono::steady_clock::time_point const& tp) noexcept;
  // arm_park_timer() arms timer_fd_ for `at_ns` (CLOCK_MONOTONIC).
  void arm_park_timer(std::int64_t at_ns) noexcept;
  bool has_outside_work() const noexcept;

  runtime_core& core_;
  const std::uint32_t index_;
  boost::fibers::scheduler* sched_ = nullptr;

  // Owner-thread state.
  ready_queue local_;  // FIFO: migratable (detached) and pinned (attached)
  std::size_t local_size_ = 0;
  context* running_ = nullptr;
  waiter* pending_detach_ = nullptr;
  std::int64_t timer_note_ = no_deadline;  // see note_earlier_timer()
  bool solo_ = false;                      // the runtime's only worker
  context* timer_note_ctx_ = nullptr;
  context* runnext_ = nullptr;  // LIFO slot: the fiber woken/spawned last
  std::uint32_t runnext_streak_ = 0;
  context* dispatcher_ = nullptr;       // Boost's dispatcher context, when ready
  context* dispatcher_self_ = nullptr;  // Boost's dispatcher context, always
  context* yielding_ = nullptr;
  std::uint32_t ticks_ = 0;
  std::uint32_t last_dispatch_ = 0;
  // Picks left before the shared queue is looked at even though local work
  // is ready (fairness for fibers woken from other threads). A countdown of
  // its own: keyed on ticks_ it could coincide with the dispatcher's turn
  // forever and never run.
  std::uint32_t shared_countdown_ = 0;
  std::uint32_t last_poll_ = 0;
  std::uint64_t id_next_ = 0;
  std::uint64_t id_limit_ = 0;
  stack_cache stacks_;
  timer_shard timers_;

  void enter_sched() noexcept {
    in_sched_.store(true, std::memory_order_relaxed);
    // The monitor pairs this with a process-wide barrier (membarrier(2)):
    // either it sees in_sched_ set, or this load sees its steal_ (see
    // handoff.cpp). A compiler barrier is all the owner pays.
    std::atomic_signal_fence(std::memory_order_seq_cst);
    if (steal_.load(std::memory_order_acquire)) wait_steal();
  }
  void wait_steal() noexcept;

  // Cross-thread state.
  std::atomic<bool> in_sched_{false};       // owner inside a sched_section
  std::atomic<bool> steal_{false};          // the monitor holds the queues
  std::atomic<std::uint64_t> switches_{0};  // written by the owner only
  std::atomic<int> tid_{0};
  std::atomic<std::int64_t> cached_now_{0};
  std::atomic<bool> notified_{false};                    // Boost queued a remote-ready context
  std::atomic<bool> sleeping_{false};                    // parked in the event loop
  // Metrics (owner writes with relaxed stores; readers may see them late).
  static void bump(std::atomic<std::uint64_t>& c) noexcept {
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  // note_run() ends the current run (counted when it was a task's) and
  // starts the next one; called at each switch.
  void note_run(bool next_is_task) noexcept;
  std::atomic<std::uint64_t> fibers_run_{0};
  std::atomic<std::uint64_t> parks_{0};
  std::atomic<std::uint64_t> polls_{0};
  std::atomic<std::uint64_t> shared_taken_{0};
  std::atomic<std::int64_t> busy_done_{0};  // closed busy stretches, ns
  std::atomic<std::int64_t> busy_from_{0};  // start of the open one (steady ns), 0: none
  // busy_seen_: the most busy_ns() returned, so that a reader racing a
  // busy_end() never sees the total go back (a Prometheus counter).
  mutable std::atomic<std::int64_t> busy_seen_{0};
  std::int64_t run_began_ = 0;              // poll-time histogram: when the running fiber began
  bool run_is_task_ = false;                // ... and whether it is a task (counted when it ends)
  std::atomic<std::int64_t> run_total_{0};
  std::array<std::atomic<std::uint64_t>, poll_time_histogram::bucket_count> run_hist_{};
  std::atomic<std::int64_t> parked_until_{no_deadline};  // see parked_until()

  event_base* base_ = nullptr;
  event* wake_ev_ = nullptr;
  event* park_timer_ = nullptr;  // reads timer_fd_
  int wake_fd_ = -1;
  int timer_fd_ = -1;           // the park deadline (see arm_park_timer)
  std::int64_t armed_ns_ = -1;  // what timer_fd_ is armed for (steady ns)
};

// runtime_core is everything a runtime shares between its threads.
class runtime_core : public std::enable_shared_from_this<runtime_core> {
 public:
  explicit runtime_core(const builder& b, bool current_thread, std::size_t workers,
                        std::string thread_name, std::size_t stack_size, bool guard,
                        std::size_t max_blocking, std::chrono::milliseconds keep_alive,
                        std::uint32_t event_interval, bool paused);
  ~runtime_core();

  // start() launches the worker threads (multi-thread flavour).
  void start();

  // submit() — see detail/core.hpp.
  void submit_fiber(task_base* t, bool pinned);
  void submit_blocking(task_base* t);
  // blocking_idle() is called by the blocking pool when its last job in
  // flight ended.
  void blocking_idle() noexcept;

  // push_shared() puts a detached context in the shared queue and wakes an
  // idle worker. pop_shared() takes one (nullptr if empty).
  void push_shared(context* ctx) noexcept;
  context* pop_shared() noexcept;
  bool shared_empty() const noexcept { return shared_size_.load(std::memory_order_seq_cst) == 0; }
  std::size_t shared_depth() const noexcept { return shared_size_.load(std::memory_order_relaxed); }
  // wake_idle() wakes one parked worker unless one is already searching.
  void wake_idle() noexcept;

  // Registry of live tasks (for shutdown and dumps).
  void register_task(task_base* t) noexcept;
  void unregister_task(task_base* t) noexcept;

  // shutdown() cancels all tasks and waits for them (and for running
  // blocking jobs) until `deadline` (steady ns, or no_deadline); see
  // runtime::shutdown_timeout for the result.
  shutdown_result shutdown(std::int64_t deadline);
  // live_tasks() lists registered fibers and running blocking jobs.
  std::vector<task_info> live_tasks() const;
  // report_waiting() logs "<what> for N tasks: ..." naming live_tasks().
  void report_waiting(std::string_view what) noexcept;

  // Paused-clock auto-advance: called by a worker about to park; returns
  // true if time moved (timers fired).
  bool try_auto_advance(worker& self) noexcept;
  // fire_all_timers() fires due timers of every shard.
  void fire_all_timers() noexcept;
  // next_timer() is the earliest deadline over every shard.
  std::int64_t next_timer() const noexcept;
  // earlier_timer() is told by `owner`'s shard that its next deadline is
  // now `deadline`: a parked worker that sleeps past it is woken, so a due
  // timer fires on a free worker even while its owner is busy.
  void earlier_timer(std::int64_t deadline, const worker& owner) noexcept;

  runtime_metrics metrics() const;
  // dump() — see handle::dump (fibers/src/dump.cpp).
  std::string dump(dump_format format) const;

  logger* const log;                   // the log sink (reference-counted)
  const std::int64_t report_every_ns;  // shutdown's report interval
  runtime_clock clock;
  stack_pool stacks;
  blocking_pool blocking;
  // workers: the regular ones first, then the spares the monitor may start
  // (monitor.hpp); only the first live_workers() have threads.
  std::vector<std::unique_ptr<worker>> workers;
  const std::size_t regular_workers;
  std::atomic<std::size_t> spares_started{0};
  std::size_t live_workers() const noexcept {
    return regular_workers + spares_started.load(std::memory_order_acquire);
  }
  std::atomic<std::uint64_t> handoffs{0};  // fibers moved off a stuck worker
  std::atomic<std::uint64_t> stalls{0};    // stall reports made
  // block_in_place_begin() hands off the calling worker's queued fibers and
  // marks it blocked (the monitor then treats it as stuck at once);
  // returns the worker, or nullptr where there is nothing to hand off to.
  worker* block_in_place_begin() noexcept;
  void block_in_place_end(worker* w) noexcept;
  const bool current_thread;
  const std::string thread_name;
  const std::uint32_t event_interval;
  // offload_file_io: builder::offload_file_io (read by the hook layer).
  const bool offload_file_io;
  // poll_histogram: builder::poll_time_histogram (workers read the clock
  // at every switch).
  const bool poll_histogram;
  const std::int64_t built_ns;  // steady ns when the runtime was built

  // Diagnostic mode (builder::diagnostics, handle::set_diagnostics;
  // docs/diagnostics.md "Common mistakes").
  std::atomic<bool> diagnostics;
  bool diagnosing() const noexcept { return diagnostics.load(std::memory_order_relaxed); }
  // high_water: builder::fiber_high_water (0: off). check_high_water() is
  // called every kHighWaterEvery spawns: it reports once when live fibers
  // reach the mark, and again only after they fell below half of it.
  const std::uint64_t high_water;
  static constexpr std::uint64_t kHighWaterEvery = 256;
  void check_high_water() noexcept;
  std::atomic<bool> high_water_armed{true};
  std::atomic<std::uint64_t> high_water_reports{0};
  // held_lock_waits counts fibers that suspended while holding a pthread
  // lock (seen through weft::hook's lock hooks, hook_support.hpp).
  std::atomic<std::uint64_t> held_lock_waits{0};
  // post_report() queues a warning made where no log call may run (under a
  // weft lock, held_lock.cpp) on a lock-free list; flush_reports() logs the
  // queue in order. A fiber flushes after each park and the monitor at each
  // tick, so a fiber that never wakes is still reported where a monitor
  // runs. Both noexcept; a report that cannot be allocated is dropped.
  void post_report(const char* topic, std::string text) noexcept;
  void flush_reports() noexcept;
  bool reports_pending() const noexcept {
    return pending_reports_.load(std::memory_order_relaxed) != nullptr;
  }

  std::atomic<std::uint32_t> searching{0};  // workers spinning or parked
  std::atomic<std::uint32_t> parked{0};     // workers parked in their loop
  std::atomic<bool> stopping{false};        // workers must exit
  std::atomic<bool> shutting_down{false};   // new tasks start cancelled
  std::atomic<std::uint64_t> spawned_outside{0};
  // loop_wakes counts returns from a parked worker's event loop (paused
  // clock: progress seen during the auto-advance grace).
  std::atomic<std::uint64_t> loop_wakes{0};
  // kAdvanceGrace: how long auto-advance lets other workers' loops collect
  // socket readiness before it moves a paused clock.
  static constexpr std::chrono::milliseconds kAdvanceGrace{2};
  std::atomic<std::uint64_t> next_id{1};
  std::thread::id bound_thread{};  // current-thread flavour: the block_on thread

 private:
  // Shared (injection) queue of detached contexts.
  mutable spin_lock shared_lock_;
  ready_queue shared_;
  std::atomic<std::size_t> shared_size_{0};

  // Live-task registry, one shard per worker plus one for other threads:
  // a spawn locks its own shard, uncontended unless a task of that shard
  // finishes elsewhere at the same moment.
  struct alignas(64) reg_shard {
    spin_lock lock;
    task_base* head = nullptr;
    std::int64_t count = 0;
  };
  std::unique_ptr<reg_shard[]> reg_;
  std::size_t reg_count_ = 0;

 public:
  // alive() is the number of registered (spawned, unfinished) fiber tasks.
  std::uint64_t alive() const noexcept;
  // for_each_live() calls f(task) for every registered fiber task, under
  // each registry shard's lock in turn (lock order: shard -> task ->
  // waiter; f takes no registry lock and does not log).
  template <class F>
  void for_each_live(F&& f) const {
    for (std::size_t i = 0; i < reg_count_; ++i) {
      spin_guard lk(reg_[i].lock);
      for (task_base* t = reg_[i].head; t; t = t->reg_next_) f(*t);
    }
  }

 private:
  // Shutdown: waiters for `alive` reaching zero.
  spin_lock idle_lock_;
  wait_list idle_waiters_;
  std::mutex advance_lock_;  // one paused-clock auto-advance at a time
  // Worker main contexts wait here until `stopping`.
  spin_lock stop_lock_;
  wait_list stop_waiters_;
  friend class worker;
  friend void note_task_finished(runtime_core&) noexcept;
  bool threads_started_ = false;
  bool detached_ = false;
  std::unique_ptr<monitor> monitor_;  // multi-thread runtimes with a threshold set
  struct report_node {
    const char* topic;
    std::string text;
    report_node* next;
  };
  std::atomic<report_node*> pending_reports_{nullptr};
};

// note_task_finished() decrements `alive` and wakes shutdown waiters.
void note_task_finished(runtime_core& core) noexcept;

// promote_for_join() runs a not-yet-started task next when the caller is
// about to wait for it and it sits in the caller's worker queue (join-first:
// fork/join code then runs depth-first and keeps few fibers alive).
void promote_for_join(task_base* t) noexcept;

// schedule_context() makes a parked (attached) fiber runnable from any thread.
void schedule_context(context* ctx) noexcept;

// schedule_detached() makes a parked, detached fiber runnable: on the
// calling worker when it belongs to the same runtime, else via the shared
// queue of its runtime.
void schedule_detached(context* ctx) noexcept;

}  // namespace weft::detail
