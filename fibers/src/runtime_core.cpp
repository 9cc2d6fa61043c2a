// SPDX-License-Identifier: MIT
// runtime_core: spawning, the shared queue, the task registry, shutdown and
// the paused clock's auto-advance.
//
// Lock order: registry shard -> task lock -> waiter lock. The shared-queue
// lock and timer-shard locks are leaves.
#include "runtime_core.hpp"

#include <event2/thread.h>

#include <algorithm>
#include <boost/fiber/algo/round_robin.hpp>
#include <boost/fiber/context.hpp>
#include <boost/fiber/operations.hpp>
#include <boost/fiber/policy.hpp>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <new>
#include <string_view>

#include "logger.hpp"
#include "stack_overflow.hpp"
#include "thread_state.hpp"
#include "weft/fibers/detail/signal.hpp"

namespace weft::detail {

thread_state& tls() noexcept {
  static thread_local thread_state s;
  return s;
}

__attribute__((noinline)) worker* current_worker() noexcept { return tls().w; }

runtime_core* current_core() noexcept {
  worker* w = current_worker();
  return w ? &w->core() : tls().blocking;
}

std::shared_ptr<runtime_core> current_core_shared() noexcept {
  runtime_core* c = current_core();
  if (!c) return nullptr;
  try {
    return c->shared_from_this();
  } catch (...) {
    return nullptr;
  }
}

__attribute__((noinline)) task_base* current_task() noexcept {
  worker* w = current_worker();
  return w ? task_of(w->running()) : nullptr;
}

bool on_worker_of(const runtime_core& core) noexcept {
  worker* w = current_worker();
  return w && &w->core() == &core;
}

__attribute__((noinline)) cancel_context& current_cancel_context() noexcept {
  if (task_base* t = current_task()) return t->cancel_ctx_;
  return tls().plain_ctx;
}

void schedule_context(context* ctx) noexcept {
  worker* w = current_worker();
  boost::fibers::scheduler* s = ctx->get_scheduler();
  if (w && w->sched() == s) {
    s->schedule(ctx);
  } else {
    s->schedule_from_remote(ctx);
  }
}

void promote_for_join(task_base* t) noexcept {
  worker* w = current_worker();
  if (!w || t->queued_on_.load(std::memory_order_relaxed) != w) return;
  w->promote(static_cast<context*>(t->ctx_));
}

void schedule_detached(context* ctx) noexcept {
  worker* w = current_worker();
  task_base* t = task_of(ctx);
  runtime_core& core = *t->core_;
  if (w && &w->core() == &core) {
    w->run_detached(ctx);
  } else {
    core.push_shared(ctx);
  }
}

namespace {
void use_pthreads_once() {
  static std::once_flag once;
  std::call_once(once, [] { evthread_use_pthreads(); });
}

// fiber_stack_allocator hands Boost the stack weft allocated and takes it
// back when the fiber's context is destroyed (on the worker that ran it).
struct fiber_stack_allocator {
  runtime_core* core;
  stack s;
  boost::context::stack_context pre;

  boost::context::stack_context allocate() { return pre; }
  void deallocate(boost::context::stack_context&) noexcept {
    worker* w = current_worker();
    core->stacks.release(w && &w->core() == core ? &w->stacks() : nullptr, s);
  }
};

// Bytes reserved at the top of each stack for fiber_props.
constexpr std::size_t kPropsReserve = 64;
static_assert(sizeof(fiber_props) <= kPropsReserve);

void fiber_main(task_base* t) noexcept {
  current_worker()->settle();
  t->execute();
  // The context outlives the task record by a little (until the dispatcher
  // releases it): make sure nothing reads a dangling task pointer. Inside a
  // sched_section, so that the monitor, which reads the running task only
  // while no section is open (worker::running_task), never sees it freed.
  {
    worker* w = current_worker();
    worker::sched_section in(*w);
    static_cast<fiber_props*>(w->running()->get_properties())->task = nullptr;
  }
  t->release();
}
}  // namespace

runtime_core::runtime_core(const builder& b, bool ct, std::size_t n, std::string name,
                           std::size_t stack_size, bool guard, std::size_t max_blocking,
                           std::chrono::milliseconds keep_alive, std::uint32_t ev_interval,
                           bool paused)
    : log(new logger(b.log_, b.log_rate_, b.unhandled_)),
      report_every_ns(b.shutdown_report_ns_),
      stacks(stack_size, guard ? b.guard_size_ : 0, b.max_cached_, n),
      blocking(*this, max_blocking, keep_alive, name),
      regular_workers(n),
      current_thread(ct),
      thread_name(std::move(name)),
      event_interval(ev_interval),
      offload_file_io(b.offload_file_io_),
      poll_histogram(b.poll_hist_),
      built_ns(steady_ns()),
      diagnostics(b.diagnostics_.value_or(b.diagnostics_default_)),
      high_water(b.high_water_) {
  if (!b.diagnostics_) {
    if (const char* env = std::getenv("WEFT_DIAGNOSTICS"); env && *env) {
      const std::string_view v(env);
      if (v == "1" || v == "on" || v == "true") {
        diagnostics.store(true, std::memory_order_relaxed);
      } else if (v == "0" || v == "off" || v == "false") {
        diagnostics.store(false, std::memory_order_relaxed);
      } else {
        log->log(log_level::warn, "diagnostics",
                 "WEFT_DIAGNOSTICS=" + std::string(v) +
                     " is not one of 1, on, true, 0, off, false: ignored");
      }
    }
  }
  use_pthreads_once();
  install_overflow_handler();
  if (paused) clock.pause();
  // Spare workers exist from the start (their event loops cost a few
  // descriptors) so that `workers` never changes while threads read it.
  const bool watched = !ct && (b.handoff_ns_ > 0 || b.stall_report_ns_ > 0);
  const std::size_t spares = watched && b.handoff_ns_ > 0 ? b.max_spares_ : 0;
  // The monitor also serves the dump signal, on either flavour.
  monitor::settings ms{};
  if (watched) ms = {b.handoff_ns_, b.stall_report_ns_};
  ms.dump_signal = b.dump_signal_;
  const std::size_t total = n + spares;
  reg_count_ = total + 1;
  reg_ = std::make_unique<reg_shard[]>(reg_count_);
  workers.reserve(total);
  for (std::size_t i = 0; i < total; ++i) {
    workers.push_back(std::make_unique<worker>(*this, static_cast<std::uint32_t>(i)));
  }
  for (auto& w : workers) w->set_solo(total == 1);
  if (watched || ms.dump_signal != 0) monitor_ = std::make_unique<monitor>(*this, ms);
}

runtime_core::~runtime_core() {
  monitor_.reset();
  flush_reports();
  signal_hub_runtime_stopping(*this);
  log->release();
}

void runtime_core::start() {
  signal_hub_runtime_started(*this);
  if (current_thread) {
    if (monitor_) monitor_->start();
    return;
  }
  for (std::size_t i = 0; i < regular_workers; ++i) {
    worker* wp = workers[i].get();
    wp->thread = std::thread([wp] { wp->run_thread(); });
  }
  threads_started_ = true;
  if (monitor_) monitor_->start();
}

worker* runtime_core::block_in_place_begin() noexcept {
  worker* w = current_worker();
  if (!w || &w->core() != this || current_thread) return nullptr;
  {
    worker::sched_section in(*w);
    w->hand_off();
  }
  w->in_place.fetch_add(1, std::memory_order_acq_rel);
  if (monitor_) monitor_->poke();
  return w;
}

void runtime_core::block_in_place_end(worker* w) noexcept {
  if (w) w->in_place.fetch_sub(1, std::memory_order_acq_rel);
}

void runtime_core::submit_fiber(task_base* t, bool pinned) {
  worker* w = current_worker();
  const bool local = w && &w->core() == this;
  stack s;
  try {
    s = stacks.allocate(local ? &w->stacks() : nullptr);
  } catch (...) {
    t->release();
    throw;
  }
  t->pinned_ = pinned;
  t->guard_lo_ = s.base;
  t->guard_len_ = s.guard;
  t->stack_size_ = s.size - s.guard;
  register_task(t);
  if (shutting_down.load(std::memory_order_acquire)) {
    stacks.release(local ? &w->stacks() : nullptr, s);
    t->finish_cancelled();
    t->release();
    return;
  }
  void* props_mem = static_cast<char*>(s.top()) - kPropsReserve;
  auto* props = new (props_mem) fiber_props(t);
  fiber_stack_allocator alloc{this, s, {}};
  alloc.pre.sp = props_mem;
  alloc.pre.size = static_cast<std::size_t>(static_cast<char*>(props_mem) -
                                            (static_cast<char*>(s.base) + s.guard));
  context* raw;
  {
    auto ctx = boost::fibers::make_worker_context_with_properties(
        boost::fibers::launch::post, props, alloc, [t]() noexcept { fiber_main(t); });
    raw = ctx.get();
  }
  t->ctx_ = raw;  // drop our reference; Boost's own is released when the fiber ends
  std::uint64_t nth;
  if (local) {
    nth = w->spawned.load(std::memory_order_relaxed) + 1;
    w->spawned.store(nth, std::memory_order_relaxed);
  } else {
    nth = spawned_outside.fetch_add(1, std::memory_order_relaxed) + 1;
  }
  if (nth % kHighWaterEvery == 0 && high_water != 0 && diagnosing()) check_high_water();
  if (local) {
    w->push_new(raw, pinned);
  } else {
    push_shared(raw);
  }
}

void runtime_core::submit_blocking(task_base* t) {
  // Blocking jobs are not in the registry (shutdown cannot cancel a running
  // one) but carry an id for errors and reports.
  t->id_ = next_id.fetch_add(1, std::memory_order_relaxed);
  t->core_ = this;  // for its logger; blocking_ keeps it out of the registry
  blocking.submit(t);
}

void runtime_core::blocking_idle() noexcept {
  // A paused clock does not auto-advance while a blocking job runs; the
  // last one ending lets it go on: wake a parked worker to try again.
  if (!clock.paused()) return;
  for (auto& w : workers) {
    if (w->wake_if_parked()) return;
  }
}

void runtime_core::push_shared(context* ctx) noexcept {
  {
    spin_guard lk(shared_lock_);
    ctx->ready_link(shared_);
    shared_size_.fetch_add(1, std::memory_order_seq_cst);
  }
  wake_idle();
}

context* runtime_core::pop_shared() noexcept {
  spin_guard lk(shared_lock_);
  if (shared_.empty()) return nullptr;
  context* c = &shared_.front();
  shared_.pop_front();
  shared_size_.fetch_sub(1, std::memory_order_relaxed);
  return c;
}

void runtime_core::wake_idle() noexcept {
  // A spinning (searching, not parked) worker will see the work by itself.
  const std::uint32_t s = searching.load(std::memory_order_seq_cst);
  const std::uint32_t p = parked.load(std::memory_order_seq_cst);
  if (s > p) return;
  for (auto& w : workers) {
    if (w->wake_if_parked()) return;
  }
}

void runtime_core::register_task(task_base* t) noexcept {
  t->core_ = this;
  worker* w = current_worker();
  const bool local = w && &w->core() == this;
  t->id_ = local ? w->next_id() : next_id.fetch_add(1, std::memory_order_relaxed);
  t->reg_shard_ = local ? w->index() : static_cast<std::uint32_t>(reg_count_ - 1);
  reg_shard& sh = reg_[t->reg_shard_];
  spin_guard lk(sh.lock);
  t->reg_prev_ = nullptr;
  t->reg_next_ = sh.head;
  if (sh.head) sh.head->reg_prev_ = t;
  sh.head = t;
  ++sh.count;
}

void runtime_core::unregister_task(task_base* t) noexcept {
  reg_shard& sh = reg_[t->reg_shard_];
  spin_guard lk(sh.lock);
  (t->reg_prev_ ? t->reg_prev_->reg_next_ : sh.head) = t->reg_next_;
  if (t->reg_next_) t->reg_next_->reg_prev_ = t->reg_prev_;
  t->reg_prev_ = t->reg_next_ = nullptr;
  --sh.count;
}

std::uint64_t runtime_core::alive() const noexcept {
  std::int64_t n = 0;
  for (std::size_t i = 0; i < reg_count_; ++i) {
    spin_guard lk(reg_[i].lock);
    n += reg_[i].count;
  }
  return n > 0 ? static_cast<std::uint64_t>(n) : 0;
}

void runtime_core::check_high_water() noexcept {
  const std::uint64_t n = alive();
  if (!high_water_armed.load(std::memory_order_relaxed)) {
    if (n < high_water / 2) high_water_armed.store(true, std::memory_order_relaxed);
    return;
  }
  if (n < high_water || high_water_armed.exchange(false, std::memory_order_relaxed) == false)
    return;
  high_water_reports.fetch_add(1, std::memory_order_relaxed);
  try {
    // Group the live fibers by spawn site: an unbounded spawn loop shows up
    // as one site holding most of them.
    struct site_count {
      std::source_location site;
      std::uint64_t count;
    };
    std::vector<site_count> sites;
    sites.reserve(64);  // no allocation under the shard locks
    for_each_live([&](const task_base& t) {
      const std::source_location s = t.site();
      auto it = std::find_if(sites.begin(), sites.end(), [&](const site_count& c) {
        return c.site.line() == s.line() && c.site.column() == s.column() &&
               std::string_view(c.site.file_name()) == s.file_name();
      });
      if (it != sites.end()) {
        ++it->count;
      } else if (sites.size() < 64) {
        sites.push_back({s, 1});
      }
    });
    std::sort(sites.begin(), sites.end(),
              [](const site_count& a, const site_count& b) { return a.count > b.count; });
    std::string m = std::to_string(n) + " fibers alive, at or above the high-water mark of " +
                    std::to_string(high_water) + " (builder::fiber_high_water)";
    const std::size_t shown = std::min<std::size_t>(sites.size(), 5);
    if (shown != 0) m += "; most alive were";
    for (std::size_t i = 0; i < shown; ++i) {
      m += i == 0 ? " " : ", ";
      m += std::to_string(sites[i].count) + " " + spawn_site_text(sites[i].site);
    }
    m += "; bound the spawning (join_set::set_limit, or a semaphore acquired before each spawn)"
         " unless this many is intended; reported again once fewer than " +
         std::to_string(high_water / 2) + " are alive and the mark is reached again";
    log->log(log_level::warn, "high-water", m);
  } catch (...) {
    log->log(log_level::warn, "high-water", "live fibers reached the high-water mark");
  }
}

void runtime_core::post_report(const char* topic, std::string text) noexcept {
  report_node* n;
  try {
    n = new report_node{topic, std::move(text), nullptr};
  } catch (...) {
    return;
  }
  n->next = pending_reports_.load(std::memory_order_relaxed);
  while (!pending_reports_.compare_exchange_weak(n->next, n, std::memory_order_release,
                                                 std::memory_order_relaxed)) {
  }
}

void runtime_core::flush_reports() noexcept {
  report_node* n = pending_reports_.exchange(nullptr, std::memory_order_acquire);
  report_node* fifo = nullptr;  // the list is newest first: reverse it
  while (n) {
    report_node* next = n->next;
    n->next = fifo;
    fifo = n;
    n = next;
  }
  while (fifo) {
    report_node* next = fifo->next;
    log->log(log_level::warn, fifo->topic, fifo->text);
    delete fifo;
    fifo = next;
  }
}

void note_task_finished(runtime_core& core) noexcept {
  if (!core.shutting_down.load(std::memory_order_seq_cst)) return;
  if (core.alive() == 0) {
    spin_guard lk(core.idle_lock_);
    core.idle_waiters_.wake_all();
  }
}

std::vector<task_info> runtime_core::live_tasks() const {
  std::vector<task_info> out;
  for_each_live([&](const task_base& t) { out.push_back({t.id(), t.name(), false, t.site()}); });
  blocking.for_each_running(
      [&](const task_base& t) { out.push_back({t.id(), t.name(), true, t.site()}); });
  return out;
}

void runtime_core::report_waiting(std::string_view what) noexcept {
  try {
    const std::vector<task_info> live = live_tasks();
    if (live.empty()) return;
    std::string m(what);
    m += " for ";
    m += std::to_string(live.size());
    m += live.size() == 1 ? " task:" : " tasks:";
    constexpr std::size_t kNamed = 16;
    for (std::size_t i = 0; i < live.size() && i < kNamed; ++i) {
      m += i ? ", " : " ";
      m += std::to_string(live[i].id);
      if (!live[i].name.empty()) m += " '" + live[i].name + "'";
      if (live[i].blocking) m += " (blocking job)";
    }
    if (live.size() > kNamed) m += ", and " + std::to_string(live.size() - kNamed) + " more";
    bool fibers = false, jobs = false;
    for (const task_info& t : live) (t.blocking ? jobs : fibers) = true;
    if (fibers) m += "; a fiber that catches weft::cancelled and carries on keeps shutdown waiting";
    if (jobs) m += "; a running blocking job is never interrupted";
    log->log(log_level::warn, "shutdown", m);
  } catch (...) {
  }
}

shutdown_result runtime_core::shutdown(std::int64_t deadline) {
  shutdown_result res;
  if (on_worker_of(*this)) {
    log->log(log_level::error, "shutdown",
             "a runtime was shut down from one of its own fibers; its threads are leaked");
    detached_ = true;
    res.clean = false;
    return res;
  }
  shutting_down.store(true, std::memory_order_seq_cst);
  // Signal events leave this runtime's event_base while it still runs (to
  // another live runtime, if any).
  signal_hub_runtime_stopping(*this);
  for (std::size_t i = 0; i < reg_count_; ++i) {
    spin_guard lk(reg_[i].lock);
    for (task_base* t = reg_[i].head; t; t = t->reg_next_) t->abort();
  }
  bool fibers_done = true;
  if (current_thread) {
    if (bound_thread == std::thread::id{} && alive() != 0 && current_worker() == nullptr) {
      bound_thread = std::this_thread::get_id();  // never ran: drain here
    }
    if (bound_thread == std::this_thread::get_id() && current_worker() == nullptr) {
      if (!workers[0]->sched()) workers[0]->install(nullptr);
      // Run the scheduler here until every fiber has unwound, then once
      // more so the dispatcher releases the terminated contexts (their
      // stacks go back to this core before it is destroyed). The fibers
      // live on this thread's scheduler, so this waits for them however
      // long it takes (`deadline` bounds only blocking jobs here), naming
      // them every report interval (runtime clock; none while paused: the
      // clock would jump straight to each report).
      worker* w = workers[0].get();
      tls().w = w;
      {
        spin_guard lk(idle_lock_);
        while (alive() != 0) {
          waiter wt;
          wait_list::node n(wt);
          idle_waiters_.push_back(n);
          const std::int64_t report_at =
              clock.paused()
                  ? no_deadline
                  : deadline_after_ns(clock.now(), std::chrono::nanoseconds(report_every_ns));
          const wake_reason r = wt.park(&lk, report_at, false);
          lk.lock();
          idle_waiters_.remove(n);
          if (r == wake_reason::timeout && alive() != 0) {
            lk.unlock();
            report_waiting("shutdown is waiting");
            lk.lock();
          }
        }
      }
      w->mark_yield(w->running());
      w->running()->yield();
      tls().w = nullptr;
    } else if (alive() != 0) {
      log->log(log_level::error, "shutdown",
               "a current-thread runtime with live fibers was destroyed on another thread than "
               "its block_on thread; those fibers are leaked");
      fibers_done = false;
    }
  } else {
    // Steady time here: this thread is not on the runtime, so the
    // (possibly paused) runtime clock does not apply.
    std::int64_t report_at =
        deadline_after_ns(steady_ns(), std::chrono::nanoseconds(report_every_ns));
    spin_guard lk(idle_lock_);
    while (alive() != 0) {
      waiter wt;  // a plain thread: blocks on a futex
      wait_list::node n(wt);
      idle_waiters_.push_back(n);
      const wake_reason r = wt.park(&lk, std::min(deadline, report_at), false);
      lk.lock();
      idle_waiters_.remove(n);
      if (r != wake_reason::timeout || alive() == 0) continue;
      if (deadline != no_deadline && steady_ns() >= deadline) {
        fibers_done = false;
        break;
      }
      lk.unlock();
      report_waiting("shutdown is waiting");
      report_at = deadline_after_ns(steady_ns(), std::chrono::nanoseconds(report_every_ns));
      lk.lock();
    }
  }
  // Queued blocking jobs are cancelled; running ones are waited for until
  // the deadline (not past it when fibers already used it up).
  const bool blocking_done = blocking.shutdown(fibers_done ? deadline : 0);
  if (!fibers_done || !blocking_done) {
    res.clean = false;
    try {
      res.still_running = live_tasks();
    } catch (...) {
    }
    report_waiting("shutdown gave up waiting");
  }
  // The monitor may start spares and hand off until here (a stuck worker's
  // fibers must still finish); not while the threads stop.
  if (monitor_) monitor_->stop();
  if (!fibers_done) {
    detached_ = true;
    for (auto& w : workers) {
      if (w->thread.joinable()) w->thread.detach();
    }
    return res;
  }
  stopping.store(true, std::memory_order_release);
  {
    spin_guard lk(stop_lock_);
    stop_waiters_.wake_all();
  }
  for (auto& w : workers) w->wake_if_parked();
  for (auto& w : workers) {
    if (w->thread.joinable()) w->thread.join();
  }
  if (current_thread && bound_thread == std::this_thread::get_id() && workers[0]->sched()) {
    // Give the thread its default Boost scheduling back.
    boost::fibers::use_scheduling_algorithm<boost::fibers::algo::round_robin>();
  }
  // Blocking jobs still running keep this core alive (the caller leaks it).
  if (!blocking_done) detached_ = true;
  return res;
}

void runtime_core::fire_all_timers() noexcept {
  const std::int64_t now = clock.now();
  for (auto& w : workers) w->timers().fire_due(now);
}

std::int64_t runtime_core::next_timer() const noexcept {
  std::int64_t next = no_deadline;
  for (auto& w : workers) next = std::min(next, w->timers().next_deadline());
  return next;
}

void runtime_core::earlier_timer(std::int64_t deadline, const worker& owner) noexcept {
  // One parked worker is enough: it fires the timers of every shard. On a
  // paused clock parks have no deadline; auto-advance handles the timers.
  if (workers.size() == 1 || clock.paused()) return;
  if (parked.load(std::memory_order_seq_cst) == 0) return;
  for (auto& w : workers) {
    if (w.get() == &owner || !w->is_parked()) continue;
    if (w->parked_until() <= deadline) return;  // it wakes in time already
    if (w->wake_if_parked()) return;
  }
}

bool runtime_core::try_auto_advance(worker& self) noexcept {
  // One advancer at a time, and the advancer leaves the parked state before
  // it lets another worker look: otherwise two workers that both saw every
  // worker parked could each move the clock, the second one past a fiber
  // the first one just woke (found by tests/fibers/time_test.cpp).
  std::lock_guard<std::mutex> lk(advance_lock_);
  if (parked.load(std::memory_order_seq_cst) < live_workers()) return false;
  if (blocking.in_flight() != 0 || !shared_empty()) return false;
  for (auto& w : workers) {
    if (w->has_remote_wake()) return false;
  }
  const std::int64_t next = next_timer();
  if (next == no_deadline) return false;
  // Fibers wait on sockets, or a worker carries the signal events: another
  // worker may be about to take an event its loop has not collected yet
  // (this worker polled its own loop just before parking). Give the loops a
  // short real-time grace; if any loop woke meanwhile, something moved, and
  // a later parker decides.
  if (workers.size() > 1) {
    bool io = false;
    for (auto& w : workers) {
      io = io || w->io_waits.load(std::memory_order_relaxed) > 0 ||
           w->hosts_signals.load(std::memory_order_relaxed);
    }
    if (io) {
      const std::uint64_t before = loop_wakes.load(std::memory_order_seq_cst);
      std::this_thread::sleep_for(kAdvanceGrace);
      if (loop_wakes.load(std::memory_order_seq_cst) != before ||
          parked.load(std::memory_order_seq_cst) < live_workers() || !shared_empty())
        return false;
      for (auto& w : workers) {
        if (w->has_remote_wake()) return false;
      }
    }
  }
  self.unpark();
  clock.advance_to(next);
  fire_all_timers();
  return true;
}

runtime_metrics runtime_core::metrics() const {
  runtime_metrics m;
  const std::int64_t now = steady_ns();
  m.workers = regular_workers;
  m.uptime = std::chrono::nanoseconds(now - built_ns);
  m.per_worker.resize(workers.size());
  m.poll_times.enabled = poll_histogram;
  for (std::size_t i = 0; i < workers.size(); ++i) {
    worker_metrics& wm = m.per_worker[i];
    workers[i]->fill_metrics(wm, now);
    workers[i]->add_poll_times(m.poll_times);
    m.fibers_run += wm.fibers_run;
    m.io_polls += wm.polls;
    m.parks += wm.parks;
    m.timers_armed += wm.timers_armed;
    m.io_registered += wm.io_registered;
    m.io_registrations += wm.io_registrations;
    m.io_events += wm.io_events;
  }
  m.held_lock_waits = held_lock_waits.load(std::memory_order_relaxed);
  m.high_water_reports = high_water_reports.load(std::memory_order_relaxed);
  m.spare_workers = spares_started.load(std::memory_order_relaxed);
  m.handoffs = handoffs.load(std::memory_order_relaxed);
  m.stalls = stalls.load(std::memory_order_relaxed);
  m.fibers_alive = alive();
  m.fibers_spawned = spawned_outside.load(std::memory_order_relaxed);
  for (auto& w : workers) m.fibers_spawned += w->spawned.load(std::memory_order_relaxed);
  const blocking_pool::stats_t bs = blocking.stats();
  m.blocking_threads = bs.threads;
  m.blocking_idle = bs.idle;
  m.blocking_busy = bs.threads > bs.idle ? bs.threads - bs.idle : 0;
  m.blocking_queue = bs.queued;
  m.blocking_jobs = bs.started;
  m.shared_queue_depth = shared_size_.load(std::memory_order_relaxed);
  m.stacks_cached = stacks.cached();
  m.stacks_returned = stacks.returned();
  m.unguarded_stacks = stacks.unguarded();
  return m;
}

void submit(runtime_core& core, task_base* t, spawn_kind kind) {
  if (kind == spawn_kind::blocking) {
    t->blocking_ = true;
    core.submit_blocking(t);
  } else {
    core.submit_fiber(t, kind == spawn_kind::pinned_fiber);
  }
}

}  // namespace weft::detail
