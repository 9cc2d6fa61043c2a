// SPDX-License-Identifier: MIT
// What every fiber-bench workload shares: the result record (bench_output.hpp),
// timing, RSS and CPU readings, the progress indicator, and how a run is set
// up on weft or on raw Boost.Fiber.
#pragma once

#include <CLI/CLI.hpp>
#include <boost/context/stack_context.hpp>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench_flags.hpp"
#include "bench_output.hpp"
#include "weft/fibers/runtime.hpp"

namespace weft_bench {

// ---------------------------------------------------------------------------
// Measurements.

using steady = std::chrono::steady_clock;

// seconds_since() is the time from `t0` to now, in seconds.
double seconds_since(steady::time_point t0) noexcept;

// rss_kb() is VmRSS from /proc/self/status (-1 if unreadable).
std::int64_t rss_kb() noexcept;
// peak_rss_kb() is VmHWM from /proc/self/status (-1 if unreadable).
std::int64_t peak_rss_kb() noexcept;
// kernel_stack_kb() is /proc/meminfo's KernelStack: the kernel stacks of
// every thread on the machine, in kB (-1 if unreadable).
std::int64_t kernel_stack_kb() noexcept;
// maxrss_kb() is getrusage(RUSAGE_SELF).ru_maxrss.
std::int64_t maxrss_kb() noexcept;
// reset_peak_rss() resets VmHWM to the current RSS (writes 5 to
// /proc/self/clear_refs); false when the kernel refuses.
bool reset_peak_rss() noexcept;
// trim_heap() returns free malloc memory to the kernel so that an RSS
// reading taken next is not inflated by earlier runs' freed memory.
void trim_heap() noexcept;
// cpu_seconds() is user + system CPU time of the whole process.
double cpu_seconds() noexcept;

// progress prints "<label>: N s" on stderr while a run lasts longer than
// about 2 s: redrawn in place on a terminal, a line every 5 s otherwise.
// It is also the watchdog: a run still going after `limit_s` seconds (0: no
// limit) is reported as a hang, the hang handler runs and the process exits
// with code 3 (a hung runtime cannot be shut down).
class progress {
 public:
  progress(std::string label, double limit_s);
  ~progress();
  progress(const progress&) = delete;
  progress& operator=(const progress&) = delete;

 private:
  void loop();
  std::string label_;
  double limit_s_;
  std::mutex m_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread t_;
};

// set_hang_handler() sets what the watchdog runs before exiting (main
// prints the results gathered so far).
void set_hang_handler(std::function<void()> f);

// ---------------------------------------------------------------------------
// Running a workload on weft or on raw Boost.Fiber.

// weft_threads() is how many threads a `--threads` value runs weft on
// (0 is the current-thread flavour: 1 thread).
inline std::size_t weft_threads(int threads) noexcept {
  return threads == 0 ? 1 : static_cast<std::size_t>(threads);
}
// weft_flavour() is "current_thread" for `--threads 0`, else "multi_thread".
const char* weft_flavour(int threads) noexcept;
// make_runtime() builds the weft runtime for a `--threads` value, with the
// stall monitor unless set_monitor(false) (--monitor off) turned it off.
weft::runtime make_runtime(int threads);
void set_monitor(bool on) noexcept;
// set_metrics(true) (--metrics) makes make_runtime() turn the poll-time
// histogram on and remember the runtime, so that run_workload() prints its
// runtime_metrics (weft::format_metrics) on stderr after each weft run.
void set_metrics(bool on) noexcept;
// set_diagnostics() (--diagnostics) sets builder::diagnostics on every
// runtime make_runtime() builds: "on", "off", or "default" (the builder's
// own default: off in Release unless WEFT_DIAGNOSTICS says otherwise).
void set_diagnostics(const std::string& mode) noexcept;
// weft_result() starts a result with impl=weft and its flavour.
result weft_result(const char* workload, int threads);

// boost_algo is a raw Boost.Fiber scheduler used as the baseline.
enum class boost_algo { round_robin, shared_work, work_stealing };

// baseline_unavailable is thrown when a baseline cannot run in this process
// (Boost's work_stealing keeps static state: one pool per process).
class baseline_unavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// baseline_stack_kind selects the baseline fibers' stacks (--baseline-stack).
enum class baseline_stack_kind {
  pooled,    // boost::context::pooled_fixedsize_stack(64 KiB) behind a mutex
  fixedsize  // Boost's default_stack: fixedsize_stack(128 KiB), malloc per fiber
};

// baseline_stack is the StackAllocator of every baseline fiber. `pooled` is
// the 64 KiB pooled stacks of docs/benchmarks.md's raw Boost.Fiber figures; it is
// locked because boost::pool is not thread-safe and shared_work frees a
// stack on whichever thread ends the fiber. Copies share one pool.
class baseline_stack {
 public:
  explicit baseline_stack(baseline_stack_kind k);
  boost::context::stack_context allocate() const;
  void deallocate(boost::context::stack_context& sc) const noexcept;

 private:
  struct pool;
  baseline_stack_kind kind_;
  std::shared_ptr<pool> pool_;
};

// set_baseline_stack() chooses the stacks of the following baselines.
void set_baseline_stack(baseline_stack_kind k) noexcept;
// baseline_stack_name() is "pooled_64k" or "fixedsize_128k".
const char* baseline_stack_name() noexcept;

// boost_impl_name() is the impl= value, e.g. "boost-shared_work".
std::string boost_impl_name(boost_algo a);
// boost_result() starts a result for a Boost baseline.
result boost_result(const char* workload, boost_algo a, std::size_t threads);

// run_boost_pool() runs `driver` as a fiber of a raw Boost.Fiber pool of
// `threads` fresh threads using `algo` (round_robin: one thread) and returns
// when it has finished and every pool thread has exited. The calling thread
// is not part of the pool, so its own Boost scheduler is left untouched.
// `driver` gets the stack allocator its fibers must use.
void run_boost_pool(boost_algo algo, std::size_t threads,
                    const std::function<void(const baseline_stack&)>& driver);

// ---------------------------------------------------------------------------
// Workloads.

// common_options are the flags every workload subcommand takes.
struct common_options {
  std::vector<int> threads;  // worker counts to sweep; 0 = current-thread
  bool json = false;
  std::string baseline;                   // "" = none, else shared_work | work_stealing
  std::string baseline_stack = "pooled";  // pooled | fixedsize
  double time_limit = 300;                // seconds per run; 0 = none
  bool no_reference = false;              // skip a workload's own baseline (--no-baseline)
  std::size_t repeat = 1;                 // runs of each configuration (--repeat)
  std::string monitor = "on";             // on | off (--monitor)
  bool metrics = false;                   // --metrics: print each weft run's runtime_metrics
  std::string diagnostics = "default";    // default | on | off (--diagnostics)
};

// workload is one standard workload: its flags, its weft run and its raw
// Boost.Fiber baseline. Each bench_<module>_<name>.cpp defines one.
class workload {
 public:
  virtual ~workload() = default;
  // name() is the subcommand and the workload= value.
  virtual const char* name() const noexcept = 0;
  // about() is the one-line description shown by --help.
  virtual const char* about() const noexcept = 0;
  // default_threads() is the sweep run when --threads is not given.
  virtual std::vector<int> default_threads() const = 0;
  // in_suite() is false for a workload `suite` leaves out (conns: minutes
  // long, and it needs weft::hook).
  virtual bool in_suite() const noexcept { return true; }
  // max_threads() bounds --threads (1 for one-thread workloads).
  virtual int max_threads() const noexcept { return 1024; }
  // add_options() adds --count and the workload's own flags to `sub`.
  virtual void add_options(CLI::App& sub) = 0;
  // set_quick() switches to the reduced counts of `suite --quick`.
  virtual void set_quick() = 0;
  // run_weft() runs the workload on weft.
  virtual result run_weft(int threads) = 0;
  // run_boost() runs the same work on raw Boost.Fiber.
  virtual result run_boost(boost_algo algo, std::size_t threads) = 0;
  // note() is printed on stderr before the runs (e.g. a reduced baseline).
  virtual std::string note(bool with_baseline) const { return {}; }
  // reference_impl() names a baseline that is not raw Boost.Fiber and runs
  // after each weft run unless --no-baseline (echo: "libevent"); nullptr
  // when the workload has none.
  virtual const char* reference_impl() const noexcept { return nullptr; }
  // run_reference() runs that baseline (only called when reference_impl()).
  virtual result run_reference(int /*threads*/) {
    throw baseline_unavailable("no reference baseline");
  }
  // peer_impls() names further runs of the same work on weft that run right
  // after run_weft() in every repetition, before the reference baseline
  // (echo --hooked: "weft-hook", the thread-per-connection server through
  // weft::hook); --no-baseline does not skip them.
  virtual std::vector<std::string> peer_impls() const { return {}; }
  // run_peer() runs peer_impls()[i].
  virtual result run_peer(std::size_t /*i*/, int /*threads*/) {
    throw baseline_unavailable("no peer run");
  }
  // sweep_size() is the number of values of the workload's own sweep flag
  // (conns' --connections): every --threads value runs at each of them, the
  // sweep outside. select_sweep() switches to the i-th; sweep_label() names
  // it in progress lines and messages ("connections=1000").
  virtual std::size_t sweep_size() const { return 1; }
  virtual void select_sweep(std::size_t /*i*/) {}
  virtual std::string sweep_label() const { return {}; }
  // run_standalone() runs a mode that is not a measurement (echo's
  // --server-only) and returns the exit code; nullopt when the flags ask
  // for the measurement.
  virtual std::optional<int> run_standalone(const common_options& /*opts*/) { return std::nullopt; }
};

std::unique_ptr<workload> make_spawn_workload();
std::unique_ptr<workload> make_yield_workload();
std::unique_ptr<workload> make_skynet_workload();
std::unique_ptr<workload> make_idle_workload();
std::unique_ptr<workload> make_timers_workload();
std::unique_ptr<workload> make_idle_cpu_workload();
std::unique_ptr<workload> make_pingpong_workload();
std::unique_ptr<workload> make_mpsc_workload();
std::unique_ptr<workload> make_select_workload();
std::unique_ptr<workload> make_mutex_workload();
std::unique_ptr<workload> make_echo_workload();
std::unique_ptr<workload> make_conns_workload();

// hook_linked() is true in a fiber-bench built with weft::hook (the blocking
// libc calls of fibers park them): echo --hooked and conns need it.
bool hook_linked() noexcept;

// run_workload() runs `w` for each thread count of `opts` (weft, then its
// reference baseline unless opts.no_reference, then its Boost.Fiber baseline
// when asked), each opts.repeat times, alternating, and reports one result
// per configuration: the combine() of its runs.
void run_workload(workload& w, const common_options& opts, reporter& rep);

// sum_below() is 0 + 1 + ... + (n - 1), the checksum of the channel
// workloads (exact for any n whose sum fits in 64 bits).
inline std::uint64_t sum_below(std::uint64_t n) noexcept {
  return n % 2 == 0 ? n / 2 * (n - 1) : (n - 1) / 2 * n;
}

// percentile() is the p-th percentile (0..100) of `v` (reordered; v non-empty).
std::int64_t percentile(std::vector<std::int64_t>& v, double p);

}  // namespace weft_bench
