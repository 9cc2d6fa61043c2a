// SPDX-License-Identifier: MIT
// fiber-bench's shared machinery: RSS/CPU readings, the progress indicator,
// the raw Boost.Fiber pools and the loop that runs a workload.
#include "bench_common.hpp"

#include <fmt/format.h>
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <boost/context/fixedsize_stack.hpp>
#include <boost/context/pooled_fixedsize_stack.hpp>
#include <boost/fiber/algo/round_robin.hpp>
#include <boost/fiber/algo/shared_work.hpp>
#include <boost/fiber/algo/work_stealing.hpp>
#include <boost/fiber/all.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>

namespace weft_bench {

// ===========================================================================
// Measurements

double seconds_since(steady::time_point t0) noexcept {
  return std::chrono::duration<double>(steady::now() - t0).count();
}

namespace {
// proc_kb() is the value of a `Key: N kB` line of a /proc file (-1 if absent).
std::int64_t proc_kb(const char* path, const char* key) noexcept {
  std::FILE* f = std::fopen(path, "r");
  if (!f) return -1;
  char line[256];
  const std::size_t n = std::strlen(key);
  std::int64_t v = -1;
  while (std::fgets(line, sizeof line, f)) {
    if (std::strncmp(line, key, n) == 0 && line[n] == ':') {
      v = std::strtoll(line + n + 1, nullptr, 10);
      break;
    }
  }
  std::fclose(f);
  return v;
}
}  // namespace

std::int64_t rss_kb() noexcept { return proc_kb("/proc/self/status", "VmRSS"); }

std::int64_t peak_rss_kb() noexcept { return proc_kb("/proc/self/status", "VmHWM"); }

std::int64_t kernel_stack_kb() noexcept { return proc_kb("/proc/meminfo", "KernelStack"); }

std::int64_t maxrss_kb() noexcept {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

bool reset_peak_rss() noexcept {
  std::FILE* f = std::fopen("/proc/self/clear_refs", "w");
  if (!f) return false;
  const bool ok = std::fputs("5", f) >= 0;
  return std::fclose(f) == 0 && ok;
}

void trim_heap() noexcept { ::malloc_trim(0); }

double cpu_seconds() noexcept {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  const auto tv = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6;
  };
  return tv(ru.ru_utime) + tv(ru.ru_stime);
}

// ===========================================================================
// progress

namespace {
std::function<void()> g_hang_handler;
}  // namespace

void set_hang_handler(std::function<void()> f) { g_hang_handler = std::move(f); }

progress::progress(std::string label, double limit_s)
    : label_(std::move(label)), limit_s_(limit_s), t_([this] { loop(); }) {}

progress::~progress() {
  {
    std::lock_guard<std::mutex> lk(m_);
    done_ = true;
  }
  cv_.notify_all();
  t_.join();
}

void progress::loop() {
  using namespace std::chrono_literals;
  const bool tty = ::isatty(STDERR_FILENO) == 1;
  const auto t0 = steady::now();
  std::unique_lock<std::mutex> lk(m_);
  const auto first = std::chrono::duration<double>(limit_s_ > 0 ? std::min(2.0, limit_s_) : 2.0);
  if (cv_.wait_for(lk, first, [this] { return done_; })) return;
  bool drawn = false;
  for (;;) {
    const double s = seconds_since(t0);
    if (limit_s_ > 0 && s >= limit_s_) {
      fmt::print(stderr,
                 "{}fiber-bench: {}: no result after {:.0f} s (--time-limit): the run hangs or "
                 "is pathologically slow. Giving up, exit code 3. To see where it is stuck, "
                 "rerun with --time-limit 0 and `gdb -p <pid> -batch -ex 'thread apply all "
                 "bt'`.\n",
                 drawn ? "\r\033[K" : "", label_, s);
      std::fflush(stderr);
      if (g_hang_handler) g_hang_handler();
      std::fflush(stdout);
      std::_Exit(3);
    }
    if (tty) {
      fmt::print(stderr, "\r\033[K{}: {:.0f} s", label_, s);
      drawn = true;
    } else {
      fmt::print(stderr, "fiber-bench: {}: running, {:.0f} s\n", label_, s);
    }
    std::fflush(stderr);
    auto step = std::chrono::duration<double>(tty ? 0.25 : 5.0);
    if (limit_s_ > 0) {
      step = std::min(step, std::chrono::duration<double>(std::max(0.01, limit_s_ - s)));
    }
    if (cv_.wait_for(lk, step, [this] { return done_; })) break;
  }
  if (drawn) {
    std::fputs("\r\033[K", stderr);
    std::fflush(stderr);
  }
}

// ===========================================================================
// Runtimes and pools

const char* weft_flavour(int threads) noexcept {
  return threads == 0 ? "current_thread" : "multi_thread";
}

namespace {
bool monitor_on = true;   // --monitor
bool metrics_on = false;  // --metrics
int diagnostics_mode = -1;  // --diagnostics: -1 default, 0 off, 1 on
// last_runtime is the runtime make_runtime() built last under --metrics:
// its counters stay readable through the handle after it shut down.
std::optional<weft::handle> last_runtime;

// print_metrics() prints the metrics of the weft runtime `label`'s run
// built, if it built one (baselines do not).
void print_metrics(const std::string& label) {
  if (!last_runtime) return;
  const weft::runtime_metrics m = last_runtime->metrics();
  last_runtime.reset();
  fmt::print(stderr, "fiber-bench: metrics of {} (the run's last runtime):\n{}", label,
             weft::format_metrics(m));
}
}  // namespace

void set_monitor(bool on) noexcept { monitor_on = on; }
void set_metrics(bool on) noexcept { metrics_on = on; }
void set_diagnostics(const std::string& mode) noexcept {
  diagnostics_mode = mode == "on" ? 1 : mode == "off" ? 0 : -1;
}

weft::runtime make_runtime(int threads) {
  auto b = threads == 0
               ? weft::builder::current_thread()
               : weft::builder::multi_thread().worker_threads(static_cast<std::size_t>(threads));
  if (!monitor_on && threads != 0)
    b.handoff_after(std::chrono::nanoseconds(0)).stall_report_after(std::chrono::nanoseconds(0));
  if (metrics_on) b.poll_time_histogram(true);
  if (diagnostics_mode >= 0) b.diagnostics(diagnostics_mode == 1);
  weft::runtime rt = b.build();
  if (metrics_on) last_runtime = rt.get_handle();
  return rt;
}

result weft_result(const char* workload, int threads) {
  result r;
  r.workload = workload;
  r.impl = "weft";
  r.threads = weft_threads(threads);
  r.add_tail("flavour", weft_flavour(threads));
  if (!monitor_on && threads != 0) r.add_tail("monitor", "off");
  if (diagnostics_mode >= 0) r.add_tail("diagnostics", diagnostics_mode == 1 ? "on" : "off");
  return r;
}

std::string boost_impl_name(boost_algo a) {
  switch (a) {
    case boost_algo::round_robin:
      return "boost-round_robin";
    case boost_algo::shared_work:
      return "boost-shared_work";
    case boost_algo::work_stealing:
      return "boost-work_stealing";
  }
  return "boost";
}

result boost_result(const char* workload, boost_algo a, std::size_t threads) {
  result r;
  r.workload = workload;
  r.impl = boost_impl_name(a);
  r.threads = threads;
  r.add_tail("stack", baseline_stack_name());
  return r;
}

namespace {
baseline_stack_kind g_stack_kind = baseline_stack_kind::pooled;
constexpr std::size_t kPooledStack = 64 * 1024;
}  // namespace

struct baseline_stack::pool {
  std::mutex m;
  boost::context::pooled_fixedsize_stack stacks{kPooledStack};
};

baseline_stack::baseline_stack(baseline_stack_kind k) : kind_(k) {
  if (k == baseline_stack_kind::pooled) pool_ = std::make_shared<pool>();
}

boost::context::stack_context baseline_stack::allocate() const {
  if (kind_ == baseline_stack_kind::fixedsize) return boost::context::fixedsize_stack().allocate();
  std::lock_guard<std::mutex> lk(pool_->m);
  return pool_->stacks.allocate();
}

void baseline_stack::deallocate(boost::context::stack_context& sc) const noexcept {
  if (kind_ == baseline_stack_kind::fixedsize) {
    boost::context::fixedsize_stack().deallocate(sc);
    return;
  }
  std::lock_guard<std::mutex> lk(pool_->m);
  pool_->stacks.deallocate(sc);
}

void set_baseline_stack(baseline_stack_kind k) noexcept { g_stack_kind = k; }

const char* baseline_stack_name() noexcept {
  return g_stack_kind == baseline_stack_kind::pooled ? "pooled_64k" : "fixedsize_128k";
}

void run_boost_pool(boost_algo algo, std::size_t threads,
                    const std::function<void(const baseline_stack&)>& driver) {
  const baseline_stack salloc(g_stack_kind);
  if (algo == boost_algo::round_robin) {
    // A fresh thread's Boost scheduler is round_robin.
    std::thread t([&] {
      boost::fibers::fiber f(std::allocator_arg, salloc, driver, std::cref(salloc));
      f.join();
    });
    t.join();
    return;
  }
  if (algo == boost_algo::work_stealing) {
    // work_stealing registers its schedulers in a static array sized once
    // (std::call_once) and meets at a static barrier: one pool per process.
    static std::atomic<bool> used{false};
    if (used.exchange(true)) {
      throw baseline_unavailable(
          "Boost's work_stealing can build one pool per process (static state); run this "
          "workload on its own for a work_stealing baseline");
    }
  }
  // As in Boost's examples/work_sharing.cpp: every thread installs the
  // algorithm, meets at a barrier, then its main context waits on a fiber
  // condition variable while the dispatcher runs the shared fibers.
  std::barrier<> start(static_cast<std::ptrdiff_t>(threads));
  boost::fibers::mutex mtx;
  boost::fibers::condition_variable cv;
  bool done = false;
  const auto body = [&](std::size_t index) {
    if (algo == boost_algo::shared_work) {
      boost::fibers::use_scheduling_algorithm<boost::fibers::algo::shared_work>();
    } else {
      boost::fibers::use_scheduling_algorithm<boost::fibers::algo::work_stealing>(
          static_cast<std::uint32_t>(threads));
    }
    start.arrive_and_wait();
    if (index == 0) {
      boost::fibers::fiber(std::allocator_arg, salloc, [&] {
        driver(salloc);
        {
          std::lock_guard<boost::fibers::mutex> lk(mtx);
          done = true;
        }
        cv.notify_all();
      }).detach();
    }
    std::unique_lock<boost::fibers::mutex> lk(mtx);
    cv.wait(lk, [&] { return done; });
  };
  std::vector<std::thread> pool;
  pool.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) pool.emplace_back(body, i);
  for (auto& t : pool) t.join();
}

// ===========================================================================
// Running a workload

namespace {
// config is one thing run_workload() measures at one thread count: weft,
// its reference baseline or its Boost.Fiber baseline, with its runs so far.
struct config {
  config(std::string l, std::function<result()> r) : label(std::move(l)), run(std::move(r)) {}
  std::string label;  // "spawn weft threads=2", for progress and messages
  std::function<result()> run;
  std::vector<result> runs;
  bool skipped = false;  // baseline_unavailable: not run again
};

// run_once() runs `c` once under the watchdog and keeps its result. A
// baseline that cannot run here is reported once and skipped from then on;
// a run that throws is reported (exit code 3) and leaves no result.
void run_once(config& c, reporter& rep, double limit, std::size_t i, std::size_t repeat) {
  const std::string label =
      repeat == 1 ? c.label : fmt::format("{} (run {} of {})", c.label, i + 1, repeat);
  try {
    last_runtime.reset();
    {
      progress p(label, limit);
      c.runs.push_back(c.run());
    }
    print_metrics(label);
  } catch (const baseline_unavailable& e) {
    fmt::print(stderr, "fiber-bench: {}: skipped: {}\n", label, e.what());
    c.skipped = true;
  } catch (const std::exception& e) {
    fmt::print(stderr, "fiber-bench: {}: error: {}\n", label, e.what());
    rep.note_error();
  } catch (...) {
    fmt::print(stderr, "fiber-bench: {}: error: unknown exception\n", label);
    rep.note_error();
  }
}
}  // namespace

void run_workload(workload& w, const common_options& opts, reporter& rep) {
  set_baseline_stack(opts.baseline_stack == "fixedsize" ? baseline_stack_kind::fixedsize
                                                        : baseline_stack_kind::pooled);
  const std::vector<int> threads = opts.threads.empty() ? w.default_threads() : opts.threads;
  const std::string note = w.note(!opts.baseline.empty());
  if (!note.empty()) fmt::print(stderr, "fiber-bench: {}: {}\n", w.name(), note);
  const std::size_t repeat = std::max<std::size_t>(opts.repeat, 1);
  const std::vector<std::string> peers = w.peer_impls();
  for (std::size_t s = 0; s < w.sweep_size(); ++s) {
    w.select_sweep(s);
    const std::string at = w.sweep_label().empty() ? "" : " " + w.sweep_label();
    for (int t : threads) {
      std::vector<config> configs;
      configs.emplace_back(fmt::format("{} weft threads={}{}", w.name(), weft_threads(t), at),
                           [&w, t] { return w.run_weft(t); });
      for (std::size_t p = 0; p < peers.size(); ++p) {
        configs.emplace_back(
            fmt::format("{} {} threads={}{}", w.name(), peers[p], weft_threads(t), at),
            [&w, p, t] { return w.run_peer(p, t); });
      }
      if (w.reference_impl() && !opts.no_reference) {
        configs.emplace_back(
            fmt::format("{} {} threads={}{}", w.name(), w.reference_impl(), weft_threads(t), at),
            [&w, t] { return w.run_reference(t); });
      }
      if (!opts.baseline.empty()) {
        const boost_algo a = t <= 1                             ? boost_algo::round_robin
                             : opts.baseline == "work_stealing" ? boost_algo::work_stealing
                                                                : boost_algo::shared_work;
        const std::size_t n = t <= 1 ? 1 : static_cast<std::size_t>(t);
        configs.emplace_back(fmt::format("{} {} threads={}", w.name(), boost_impl_name(a), n),
                             [&w, a, n] { return w.run_boost(a, n); });
      }
      // Repetitions alternate (weft, baseline, weft, baseline, ...) so that a
      // drift of the machine's load touches both sides alike.
      for (std::size_t i = 0; i < repeat; ++i) {
        for (config& c : configs) {
          if (!c.skipped) run_once(c, rep, opts.time_limit, i, repeat);
        }
      }
      for (const config& c : configs) {
        if (!c.runs.empty()) rep.emit(combine(c.runs, repeat > 1));
      }
    }
  }
}

std::int64_t percentile(std::vector<std::int64_t>& v, double p) {
  const std::size_t n = v.size();
  std::size_t rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(n)));
  rank = std::clamp<std::size_t>(rank, 1, n);
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(rank - 1), v.end());
  return v[rank - 1];
}

}  // namespace weft_bench
