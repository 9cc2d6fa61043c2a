// SPDX-License-Identifier: MIT
// weft::builder, weft::runtime and weft::handle: creating a runtime, running
// fibers on it and reaching it from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <source_location>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "weft/fibers/config.hpp"
#include "weft/fibers/detail/core.hpp"
#include "weft/fibers/detail/deadline.hpp"
#include "weft/fibers/join_handle.hpp"
#include "weft/fibers/log.hpp"
#include "weft/fibers/metrics.hpp"

namespace weft {

// config_error is thrown by builder::build() for invalid settings.
class config_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// no_runtime_error is thrown by calls that need a runtime (handle::current(),
// weft::spawn, time::pause, ...) when the caller is not on one.
class no_runtime_error : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

// spawn_options names a task (names appear in errors, dumps and stack
// overflow reports). `site` is where the spawn call is written: the default
// records the place where the options are created, `spawn_with({.name =
// "x"}, f)`, which is the call itself.
struct spawn_options {
  std::string name;
  std::source_location site = std::source_location::current();
};

// unhandled_exception_policy says what the runtime does when a task's
// exception can never be observed: the task was detached (its join_handle
// dropped or detach()ed, its join_set destroyed) before or after it threw
// (Tokio's unhandled_panic).
enum class unhandled_exception_policy : std::uint8_t {
  report,     // a log record (topic "unhandled_exception") names the task and the exception
  ignore,     // nothing
  terminate,  // the record, then std::terminate()
};

// task_info names a live task in reports.
struct task_info {
  std::uint64_t id = 0;
  std::string name;       // "" when unnamed
  bool blocking = false;  // a spawn_blocking job (running on the pool), not a fiber
  std::source_location site{};  // where it was spawned (line 0: not recorded)
};

// shutdown_result says how runtime::shutdown_timeout() ended. It converts
// to true when everything finished in time.
struct shutdown_result {
  bool clean = true;
  // still_running lists the tasks left when the bound passed: fibers stuck
  // outside weft waits or swallowing weft::cancelled, and blocking jobs
  // (which are never interrupted; their threads finish on their own).
  std::vector<task_info> still_running;
  explicit operator bool() const noexcept { return clean; }
};

// dump_format chooses runtime::dump's output.
enum class dump_format : std::uint8_t { text, json };

namespace detail {
template <class F, class... A>
auto bind_call(F&& f, A&&... a) {
  return
      [fn = std::decay_t<F>(std::forward<F>(f)),
       args = std::make_tuple(std::decay_t<A>(std::forward<A>(a))...)]() mutable -> decltype(auto) {
        return std::apply(std::move(fn), std::move(args));
      };
}
// unknown_site() is the spawn site of a spawn with arguments: a defaulted
// std::source_location parameter cannot follow a parameter pack.
inline spawn_options unknown_site() noexcept { return spawn_options{{}, std::source_location{}}; }
// not_site<A> keeps the spawn(f, args...) overloads away from a single
// std::source_location argument.
template <class A>
concept not_site = !std::is_same_v<std::remove_cvref_t<A>, std::source_location>;

template <class Fn>
using call_result_t = std::remove_cvref_t<std::invoke_result_t<Fn&&>>;

// spawn_on() creates the task record for f(args...) and starts it on `core`.
template <class F, class... A>
auto spawn_on(runtime_core& core, spawn_options opts, spawn_kind kind, F&& f, A&&... a) {
  auto fn = bind_call(std::forward<F>(f), std::forward<A>(a)...);
  using R = call_result_t<decltype(fn)>;
  auto* t = new task_impl<R, decltype(fn)>(std::move(fn));
  task_ptr<task<R>> keep(t);
  t->set_name(std::move(opts.name));
  t->set_site(opts.site);
  t->add_ref();  // the runtime's reference, released when the task ends
  submit(core, t, kind);
  return keep;
}

// block_on_check() throws std::logic_error where block_on is not allowed.
void block_on_check(runtime_core& core);
// block_on_wait() waits for `t` the way block_on needs (runs the scheduler
// on the calling thread for a current-thread runtime).
void block_on_wait(runtime_core& core, task_base* t);
// rethrow_original() rethrows a failed task's own exception.
void rethrow_original(const task_base& t);
// require_current_core() is the caller's runtime.
// Errors: throws no_runtime_error outside a runtime.
runtime_core& require_current_core();
}  // namespace detail

// handle is a cheap, copyable reference to a runtime, usable from any thread.
class handle {
 public:
  // current() returns the handle of the runtime the caller runs on.
  // Errors: throws no_runtime_error outside a runtime.
  static handle current();

  // try_current() is current() without the exception.
  static std::optional<handle> try_current() noexcept;

  // spawn() starts f(args...) on a new fiber and returns its join_handle.
  // The fiber may migrate between workers at suspension points. spawn(f)
  // records the call's file and line for reports and dumps (a spawn with
  // arguments cannot: bind them into a lambda, or use spawn_with).
  // Errors: throws std::system_error if no stack can be allocated.
  template <class F>
  auto spawn(F&& f, std::source_location site = std::source_location::current()) const {
    return spawn_impl({{}, site}, detail::spawn_kind::fiber, std::forward<F>(f));
  }
  template <class F, detail::not_site A0, class... A>
  auto spawn(F&& f, A0&& a0, A&&... a) const {
    return spawn_impl(detail::unknown_site(), detail::spawn_kind::fiber, std::forward<F>(f),
                      std::forward<A0>(a0), std::forward<A>(a)...);
  }

  // spawn_with() is spawn() with options (a name; the site of the call).
  template <class F, class... A>
  auto spawn_with(spawn_options opts, F&& f, A&&... a) const {
    return spawn_impl(std::move(opts), detail::spawn_kind::fiber, std::forward<F>(f),
                      std::forward<A>(a)...);
  }

  // spawn_pinned() starts a fiber that never migrates from the worker that
  // first runs it (Tokio's spawn_local), for code relying on thread_local.
  template <class F>
  auto spawn_pinned(F&& f, std::source_location site = std::source_location::current()) const {
    return spawn_impl({{}, site}, detail::spawn_kind::pinned_fiber, std::forward<F>(f));
  }
  template <class F, detail::not_site A0, class... A>
  auto spawn_pinned(F&& f, A0&& a0, A&&... a) const {
    return spawn_impl(detail::unknown_site(), detail::spawn_kind::pinned_fiber,
                      std::forward<F>(f), std::forward<A0>(a0), std::forward<A>(a)...);
  }

  // spawn_blocking() runs f(args...) on the blocking pool so that blocking
  // work never stalls a worker; joining it parks only the joining fiber.
  // abort() cancels a job that has not started yet; a running job finishes.
  template <class F>
  auto spawn_blocking(F&& f, std::source_location site = std::source_location::current()) const {
    return spawn_impl({{}, site}, detail::spawn_kind::blocking, std::forward<F>(f));
  }
  template <class F, detail::not_site A0, class... A>
  auto spawn_blocking(F&& f, A0&& a0, A&&... a) const {
    return spawn_impl(detail::unknown_site(), detail::spawn_kind::blocking, std::forward<F>(f),
                      std::forward<A0>(a0), std::forward<A>(a)...);
  }

  // block_on() runs f(args...) on a fiber of the runtime and blocks the
  // calling thread until it returns; returns its value or rethrows its
  // exception (join_error if it was cancelled by shutdown).
  // Errors: std::logic_error when called from a worker of a runtime
  //   (that would block a worker), or for a current-thread runtime already
  //   running block_on on another thread.
  template <class F, class... A>
  auto block_on(F&& f, A&&... a) const {
    auto fn = detail::bind_call(std::forward<F>(f), std::forward<A>(a)...);
    using R = detail::call_result_t<decltype(fn)>;
    detail::block_on_check(*core_);
    auto* t = new detail::task_impl<R, decltype(fn)>(std::move(fn));
    detail::task_ptr<detail::task<R>> keep(t);
    t->set_name("block_on");
    t->add_ref();
    detail::submit(*core_, t, detail::spawn_kind::fiber);
    detail::block_on_wait(*core_, t);
    detail::rethrow_original(*t);
    return t->take();
  }

  // metrics() returns a snapshot of the runtime's counters (metrics.hpp).
  // Thread-safety: any thread or fiber; it allocates.
  runtime_metrics metrics() const;

  // set_diagnostics() turns the diagnostic mode (builder::diagnostics) on
  // or off while the runtime runs; diagnostics() says which it is.
  void set_diagnostics(bool on) const noexcept;
  bool diagnostics() const noexcept;

  // dump() lists every live fiber and running blocking job: id, name,
  // state (running on worker N, ready, parked), what a parked fiber waits on
  // (which primitive and object, a descriptor and direction, the task it
  // joins, a select's branches), since when and until which deadline, and
  // where it was spawned. As text (one line per task) or as one JSON
  // object; docs/diagnostics.md shows both. A snapshot: fibers move while
  // it is taken. Thread-safety: any thread or fiber; it allocates.
  std::string dump(dump_format format = dump_format::text) const;

  // trim_stacks() returns every cached fiber stack to the kernel: the
  // shared cache at once, each worker's own at its next scheduling turn (a
  // parked worker is woken for it). Returns how many it unmapped at once.
  // Thread-safety: any thread or fiber.
  std::size_t trim_stacks() const noexcept;

  // worker_count() is the number of worker threads.
  std::size_t worker_count() const noexcept;

  // Clock control for tests (see weft/fibers/time.hpp: pause/resume/advance).
  void pause_clock() const;
  void resume_clock() const;
  // advance_clock() moves a paused clock by `d`, saturating (see
  // weft::time::advance). Errors: std::logic_error when not paused;
  //   std::invalid_argument for a negative `d`.
  template <class Rep, class Period>
  void advance_clock(std::chrono::duration<Rep, Period> d) const {
    advance_clock_ns(detail::to_ns_saturated(d));
  }

  // Internal.
  explicit handle(std::shared_ptr<detail::runtime_core> c) noexcept : core_(std::move(c)) {}
  detail::runtime_core& core() const noexcept { return *core_; }

 private:
  template <class F, class... A>
  auto spawn_impl(spawn_options opts, detail::spawn_kind kind, F&& f, A&&... a) const {
    auto t = detail::spawn_on(*core_, std::move(opts), kind, std::forward<F>(f),
                              std::forward<A>(a)...);
    return join_handle<typename std::remove_reference_t<decltype(*t.get())>::value_type>(
        std::move(t));
  }

  void advance_clock_ns(std::int64_t d) const;

  std::shared_ptr<detail::runtime_core> core_;
};

class builder;

// runtime owns worker threads, their event loops, timers and the blocking
// pool. Destroying it shuts down: running fibers are cancelled (section 6 of
// docs/design.md), the destructor waits for them to unwind, then joins the threads.
class runtime {
 public:
  runtime(runtime&&) noexcept;
  runtime& operator=(runtime&&) noexcept;
  ~runtime();

  // block_on() — see handle::block_on.
  template <class F, class... A>
  auto block_on(F&& f, A&&... a) const {
    return h_.block_on(std::forward<F>(f), std::forward<A>(a)...);
  }
  // spawn() — see handle::spawn.
  template <class F>
  auto spawn(F&& f, std::source_location site = std::source_location::current()) const {
    return h_.spawn_with({{}, site}, std::forward<F>(f));
  }
  template <class F, detail::not_site A0, class... A>
  auto spawn(F&& f, A0&& a0, A&&... a) const {
    return h_.spawn(std::forward<F>(f), std::forward<A0>(a0), std::forward<A>(a)...);
  }
  // spawn_blocking() — see handle::spawn_blocking.
  template <class F>
  auto spawn_blocking(F&& f, std::source_location site = std::source_location::current()) const {
    return h_.spawn_blocking(std::forward<F>(f), site);
  }
  template <class F, detail::not_site A0, class... A>
  auto spawn_blocking(F&& f, A0&& a0, A&&... a) const {
    return h_.spawn_blocking(std::forward<F>(f), std::forward<A0>(a0), std::forward<A>(a)...);
  }

  // dump() — see handle::dump.
  std::string dump(dump_format format = dump_format::text) const { return h_.dump(format); }

  // get_handle() returns a handle usable from any thread.
  const handle& get_handle() const noexcept { return h_; }

  // shutdown_timeout() cancels every fiber and queued blocking job and
  // waits at most `d` (any duration; a huge one waits for good) for them
  // and for running blocking jobs to finish. The result is clean when
  // everything finished; otherwise it lists what was still running: fibers
  // stuck outside weft waits or swallowing weft::cancelled (their worker
  // threads are then detached and leaked with them) and blocking jobs
  // (left to finish on their own thread, as Tokio does). While it waits it
  // names the tasks still alive through the log sink every
  // builder::shutdown_report_interval(). A second call returns clean.
  template <class Rep, class Period>
  shutdown_result shutdown_timeout(std::chrono::duration<Rep, Period> d) {
    return shutdown_within_ns(detail::to_ns_saturated(d));
  }

 private:
  shutdown_result shutdown_within_ns(std::int64_t d);
  friend class builder;
  explicit runtime(std::shared_ptr<detail::runtime_core> c) noexcept;
  handle h_;
  bool down_ = false;
};

// builder configures and creates a runtime.
class builder {
 public:
  // multi_thread() starts from the default: one worker per core.
  static builder multi_thread() noexcept { return builder(false); }
  // current_thread() runs every fiber on the thread that calls block_on.
  static builder current_thread() noexcept { return builder(true); }

  // worker_threads() sets the number of workers (multi-thread only; 1 to
  // 1024). Unset, a multi-thread runtime has one worker per core.
  builder& worker_threads(std::size_t n) noexcept {
    workers_ = n;
    return *this;
  }
  // thread_name() sets the workers' name prefix (shown by ps/top/gdb; at
  // most 12 characters are kept, the worker index is appended).
  builder& thread_name(std::string prefix) {
    name_ = std::move(prefix);
    return *this;
  }
  // stack_size() sets each fiber's stack size (default 128 KiB; at least
  // 16 KiB, at most 64 MiB). Pages are committed only when touched.
  builder& stack_size(std::size_t bytes) noexcept {
    stack_ = bytes;
    return *this;
  }
  // stack_guard() turns the guard region below each stack on (default) or
  // off.
  builder& stack_guard(bool on) noexcept {
    guard_ = on;
    return *this;
  }
  // stack_guard_size() sets the PROT_NONE guard region below each stack
  // (default 256 KiB; at least 4 KiB, at most 64 MiB; rounded up to pages).
  // It costs address space, not memory: a stack frame smaller than the
  // guard cannot jump over it, so an overflow is reported instead of
  // writing into a neighbour. Code with larger frames: build it with
  // -fstack-clash-protection (docs/scheduler.md "Stacks").
  builder& stack_guard_size(std::size_t bytes) noexcept {
    guard_size_ = bytes;
    return *this;
  }
  // max_cached_stacks() bounds the freed stacks kept warm for reuse, over
  // all workers (default 1024; 0 keeps none). Stacks freed above it go back
  // to the kernel, so memory returns after a burst of fibers; each cached
  // stack keeps the pages its fiber touched. handle::trim_stacks() returns
  // the cached ones too.
  builder& max_cached_stacks(std::size_t n) noexcept {
    max_cached_ = n;
    return *this;
  }
  // max_blocking_threads() bounds the blocking pool (default 512).
  builder& max_blocking_threads(std::size_t n) noexcept {
    max_blocking_ = n;
    return *this;
  }
  // blocking_keep_alive() is how long an idle blocking thread lives (10 s).
  // Any duration; one longer than 100 years is treated as 100 years.
  template <class Rep, class Period>
  builder& blocking_keep_alive(std::chrono::duration<Rep, Period> d) noexcept {
    constexpr std::int64_t kCentury_ns = 100LL * 365 * 24 * 3600 * 1000000000LL;
    const std::int64_t ns = detail::to_ns_saturated(d);
    keep_alive_ = std::chrono::ceil<std::chrono::milliseconds>(
        std::chrono::nanoseconds(ns > kCentury_ns ? kCentury_ns : ns));
    return *this;
  }
  // event_interval() is how many scheduling ticks a busy worker runs between
  // non-blocking polls of its event loop (default 61).
  builder& event_interval(std::uint32_t ticks) noexcept {
    event_interval_ = ticks;
    return *this;
  }
  // offload_file_io() makes the hook layer (weft::hook, docs/hooks.md) run
  // reads and writes of descriptors the reactor cannot poll (regular files,
  // block and most character devices) on the blocking pool, so a slow disk
  // parks the fiber instead of its worker (default off: such calls run on
  // the worker, as libc would run them). Without weft::hook it does nothing.
  builder& offload_file_io(bool on) noexcept {
    offload_file_io_ = on;
    return *this;
  }
  // start_paused() starts the runtime with its clock paused (tests).
  builder& start_paused(bool on) noexcept {
    paused_ = on;
    return *this;
  }
  // log_sink() sets where the runtime's reports go (default:
  // weft::stderr_log_sink; an empty callback drops them). See log.hpp.
  builder& log_sink(log_callback sink) {
    log_ = std::move(sink);
    return *this;
  }
  // log_rate_limit() caps records per topic per second (default 10; 0: no
  // limit). Dropped records are counted in the next one's `suppressed`.
  builder& log_rate_limit(std::uint32_t per_second) noexcept {
    log_rate_ = per_second;
    return *this;
  }
  // unhandled_exception() sets what happens to an exception no join can
  // ever observe (default: report).
  builder& unhandled_exception(unhandled_exception_policy p) noexcept {
    unhandled_ = p;
    return *this;
  }
  // shutdown_report_interval() is how often a shutdown that waits for
  // fibers names them through the log sink (default 5 s; any duration, a
  // huge one never reports).
  template <class Rep, class Period>
  builder& shutdown_report_interval(std::chrono::duration<Rep, Period> d) noexcept {
    shutdown_report_ns_ = detail::to_ns_saturated(d);
    return *this;
  }

  // handoff_after() is how long a worker may run one fiber without
  // switching before the runtime's monitor moves the worker's queued fibers
  // to the other workers (and, when every worker is held, starts a spare
  // worker thread: max_spare_workers). Default 20 ms; zero turns hand-off
  // off. Multi-thread runtimes only. See docs/diagnostics.md.
  template <class Rep, class Period>
  builder& handoff_after(std::chrono::duration<Rep, Period> d) noexcept {
    handoff_ns_ = detail::to_ns_saturated(d);
    return *this;
  }
  // stall_report_after() is how long a fiber may hold its worker before a
  // stall report (log topic "stall": the task, its name and spawn site,
  // how long) goes to the log sink; another record follows when the worker
  // switches again. Default 100 ms; zero turns reports off. Multi-thread
  // runtimes only.
  template <class Rep, class Period>
  builder& stall_report_after(std::chrono::duration<Rep, Period> d) noexcept {
    stall_report_ns_ = detail::to_ns_saturated(d);
    return *this;
  }
  // dump_signal() makes signal `signo` (e.g. SIGUSR1) send runtime::dump()
  // to the log sink (topic "dump") within about 100 ms, from a live process:
  // `kill -USR1 <pid>` shows what every fiber waits on. The runtime
  // installs the signal's handler while it runs and restores the previous
  // one when it stops (several runtimes may share a signal: each dumps).
  // Do not also wait for that signal with weft::net's signals. Default 0:
  // none. Either flavour.
  builder& dump_signal(int signo) noexcept {
    dump_signal_ = signo;
    return *this;
  }
  // max_spare_workers() bounds the extra worker threads the monitor starts
  // when every worker is held and fibers are waiting (default 2; 0: none;
  // at most 1024). A spare, once started, stays until the runtime stops.
  builder& max_spare_workers(std::size_t n) noexcept {
    max_spares_ = n;
    return *this;
  }

  // poll_time_histogram() turns on the histogram of how long fibers run
  // before they switch (runtime_metrics::poll_times; Tokio's poll-time
  // histogram). Default off: it reads the clock at every switch.
  builder& poll_time_histogram(bool on) noexcept {
    poll_hist_ = on;
    return *this;
  }
  // diagnostic mode (docs/diagnostics.md "Common mistakes"): a fiber that
  // suspends while it holds a pthread or std mutex is reported (log topic
  // "held-lock"; seen through weft::hook's lock hooks), and so is a live
  // fiber count reaching fiber_high_water (topic "high-water"). Default: on
  // when the code creating the builder is compiled without NDEBUG (Debug),
  // off with it (Release); the environment variable WEFT_DIAGNOSTICS=1 or
  // =0 overrides that default, and handle::set_diagnostics() switches it
  // while the runtime runs. Stall reports do not depend on it.
  builder& diagnostics(bool on) noexcept {
    diagnostics_ = on;
    return *this;
  }
  // fiber_high_water() is the live-fiber count the diagnostic mode reports
  // (unbounded spawning: the report names the commonest spawn sites). It
  // is checked every 256 spawns and reported once until the count falls
  // below half of it. Default 100,000; 0 turns the report off.
  builder& fiber_high_water(std::size_t n) noexcept {
    high_water_ = n;
    return *this;
  }

  // build() creates the runtime and starts its workers.
  // Errors: config_error for 0 workers, more than 1024 workers, more than
  //   one worker on a current-thread runtime, a stack size
  //   outside [16 KiB, 64 MiB], 0 blocking threads or event_interval 0,
  //   a negative handoff_after or stall_report_after, more than 1024 spares,
  //   a dump_signal that is not a catchable signal number;
  //   std::system_error if threads or event loops cannot be created.
  runtime build() const;

 private:
  explicit builder(bool current) noexcept : current_(current) {}
  friend class detail::runtime_core;
  bool current_;
  std::optional<std::size_t> workers_;  // unset: one per core
  std::string name_ = "weft-worker";
  std::size_t stack_ = 128 * 1024;
  bool guard_ = true;
  std::size_t guard_size_ = 256 * 1024;
  std::size_t max_cached_ = 1024;
  std::size_t max_blocking_ = 512;
  std::chrono::milliseconds keep_alive_{10000};
  std::uint32_t event_interval_ = 61;
  bool paused_ = false;
  bool offload_file_io_ = false;
  log_callback log_ = stderr_log_sink;
  std::uint32_t log_rate_ = 10;
  unhandled_exception_policy unhandled_ = unhandled_exception_policy::report;
  std::int64_t shutdown_report_ns_ = 5000000000LL;
  std::int64_t handoff_ns_ = 20000000LL;        // 20 ms
  std::int64_t stall_report_ns_ = 100000000LL;  // 100 ms
  std::size_t max_spares_ = 2;
  int dump_signal_ = 0;
  bool poll_hist_ = false;
#ifdef NDEBUG
  bool diagnostics_default_ = false;
#else
  bool diagnostics_default_ = true;
#endif
  std::optional<bool> diagnostics_;
  std::size_t high_water_ = 100000;
};

}  // namespace weft
