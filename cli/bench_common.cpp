// SPDX-License-Identifier: MIT
// fiber-bench's shared machinery: output lines and JSON, the human table,
// RSS/CPU readings, the progress indicator and the raw Boost.Fiber pools.
#include "bench_common.hpp"

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
#include <iostream>

namespace weft_bench {

// ===========================================================================
// result

namespace {
std::string fmt(double v, int decimals) {
  if (!std::isfinite(v)) v = 0;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string json_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size() + 2);
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out;
}

// all_fields() lists a result's fields in output order.
std::vector<field> all_fields(const result& r) {
  std::vector<field> f;
  f.reserve(8 + r.extra.size() + 1);
  f.push_back({"workload", r.workload, true});
  f.push_back({"impl", r.impl, true});
  f.push_back({"threads", std::to_string(r.threads), false});
  f.push_back({"ops", std::to_string(r.ops), false});
  f.push_back({"seconds", fmt(r.seconds, 6), false});
  f.push_back({"ops_per_sec", fmt(r.ops_per_sec(), 0), false});
  f.push_back({"ns_per_op", fmt(r.ns_per_op(), 1), false});
  f.push_back({"check", r.ok ? "ok" : "FAILED", true});
  for (const field& e : r.extra) f.push_back(e);
  for (const field& e : r.tail) f.push_back(e);
  return f;
}
}  // namespace

void result::add(std::string key, std::int64_t v) {
  extra.push_back({std::move(key), std::to_string(v), false});
}

void result::add(std::string key, double v, int decimals) {
  extra.push_back({std::move(key), fmt(v, decimals), false});
}

void result::add_text(std::string key, std::string v) {
  extra.push_back({std::move(key), std::move(v), true});
}

const std::string* result::find(const std::string& key) const {
  for (const auto* v : {&extra, &tail}) {
    for (const field& f : *v) {
      if (f.key == key) return &f.value;
    }
  }
  return nullptr;
}

double result::ops_per_sec() const noexcept {
  return (ops == 0 || seconds <= 0) ? 0.0 : static_cast<double>(ops) / seconds;
}

double result::ns_per_op() const noexcept {
  return (ops == 0 || seconds <= 0) ? 0.0 : seconds * 1e9 / static_cast<double>(ops);
}

std::string format_line(const result& r) {
  std::string s;
  for (const field& f : all_fields(r)) {
    if (!s.empty()) s += ' ';
    s += f.key;
    s += '=';
    s += f.value;
  }
  return s;
}

std::string format_json(const result& r) {
  std::string s = "{";
  bool first = true;
  for (const field& f : all_fields(r)) {
    if (!first) s += ',';
    first = false;
    s += '"';
    s += json_escape(f.key);
    s += "\":";
    if (f.text) {
      s += '"';
      s += json_escape(f.value);
      s += '"';
    } else {
      s += f.value;
    }
  }
  s += '}';
  return s;
}

// ===========================================================================
// reporter

void reporter::emit(const result& r) {
  std::cout << (json_ ? format_json(r) : format_line(r)) << std::endl;
  results_.push_back(r);
}

bool reporter::any_failed() const noexcept {
  return std::any_of(results_.begin(), results_.end(), [](const result& r) { return !r.ok; });
}

int reporter::exit_code() const noexcept {
  if (errors_) return 3;
  return any_failed() ? 1 : 0;
}

namespace {
double num(const result& r, const std::string& key) {
  const std::string* v = r.find(key);
  return v ? std::strtod(v->c_str(), nullptr) : std::nan("");
}

// target_of() states the BENCHMARKS.md "weft target" for a weft result and
// whether this run meets it ("" when the workload has none). `base` is the
// baseline run paired with it (nullptr if none): echo's target is relative.
std::string target_of(const result& r, const result* base) {
  const auto verdict = [](bool met) { return met ? " met" : " MISSED"; };
  if (r.workload == "echo") {
    const std::string t = ">=0.95x libevent, p99<=libevent";
    if (!base || base->impl != "libevent") return t + " (no baseline)";
    const bool met =
        r.ops_per_sec() >= 0.95 * base->ops_per_sec() && num(r, "p99_us") <= num(*base, "p99_us");
    return t + verdict(met);
  }
  if (r.workload == "spawn" && r.threads >= 2) {
    return "<=475 ns" + std::string(verdict(r.ns_per_op() <= 475));
  }
  if (r.workload == "spawn" && r.threads == 1) {
    return "<=175 ns" + std::string(verdict(r.ns_per_op() <= 175));
  }
  if (r.workload == "yield" && r.threads == 1) {
    return "<=60 ns" + std::string(verdict(r.ns_per_op() <= 60));
  }
  if (r.workload == "pingpong" && r.threads == 1) {
    return "<=236 ns" + std::string(verdict(r.ns_per_op() <= 236));
  }
  if (r.workload == "pingpong" && r.threads >= 2) {
    return "<=257 ns" + std::string(verdict(r.ns_per_op() <= 257));
  }
  if (r.workload == "mpsc" && r.threads >= 2) {
    return "<=51 ns" + std::string(verdict(r.ns_per_op() <= 51));
  }
  if (r.workload == "skynet" && r.ops == 1111111) {
    const bool met = r.seconds <= 0.88 && num(r, "max_rss_kb") <= 94.0 * 1024;
    return "<=0.88 s, <=94 MB" + std::string(verdict(met));
  }
  if (r.workload == "idle") {
    return "<=4500 B/task" + std::string(verdict(num(r, "bytes_per_task") <= 4500));
  }
  if (r.workload == "idle_cpu") {
    return "~0% CPU" + std::string(verdict(num(r, "cpu_percent") <= 1.0));
  }
  return "";
}

// ratio_of() compares a weft result with its baseline: baseline / weft of
// the workload's headline figure (bytes per task for idle, CPU for
// idle_cpu, ns per op otherwise). > 1 means weft is better.
std::string ratio_of(const result& w, const result& b) {
  double bw = 0, ww = 0;
  if (w.workload == "idle") {
    bw = num(b, "bytes_per_task");
    ww = num(w, "bytes_per_task");
  } else if (w.workload == "idle_cpu") {
    return "boost " + fmt(num(b, "cpu_percent"), 1) + "% CPU";
  } else {
    bw = b.ns_per_op();
    ww = w.ns_per_op();
  }
  if (!(ww > 0) || !(bw > 0)) return "";
  const bool boost = b.impl.rfind("boost-", 0) == 0;
  return fmt(bw / ww, 2) + "x (" + (boost ? b.impl.substr(6) : b.impl) + ")";
}

std::string extras_of(const result& r) {
  std::string s;
  for (const field& f : r.extra) {
    if (!s.empty()) s += ' ';
    s += f.key + "=" + f.value;
  }
  return s;
}
}  // namespace

void reporter::print_table(std::ostream& out) const {
  const std::vector<std::string> head = {"workload", "impl",  "thr",       "ops",    "seconds",
                                         "ns/op",    "check", "base/weft", "target", "details"};
  std::vector<std::vector<std::string>> rows;
  for (std::size_t i = 0; i < results_.size(); ++i) {
    const result& r = results_[i];
    std::string ratio, target;
    if (r.impl == "weft") {
      const result* base = nullptr;
      for (std::size_t j = i + 1; j < results_.size(); ++j) {
        const result& b = results_[j];
        if (b.impl == "weft" && b.workload == r.workload) break;
        if (b.workload == r.workload && b.threads == r.threads &&
            (b.impl.rfind("boost-", 0) == 0 || b.impl == "libevent")) {
          base = &b;
          ratio = ratio_of(r, b);
          break;
        }
      }
      target = target_of(r, base);
    }
    std::string impl = r.impl;
    if (const std::string* f = r.find("flavour"); f && *f == "current_thread") {
      impl += " (current-thread)";
    }
    rows.push_back({r.workload, impl, std::to_string(r.threads), std::to_string(r.ops),
                    fmt(r.seconds, 3), fmt(r.ns_per_op(), 1), r.ok ? "ok" : "FAILED", ratio, target,
                    extras_of(r)});
  }
  std::vector<std::size_t> w(head.size());
  for (std::size_t c = 0; c < head.size(); ++c) {
    w[c] = head[c].size();
    for (const auto& row : rows) w[c] = std::max(w[c], row[c].size());
  }
  const auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      const bool right = c >= 2 && c <= 5;
      std::string cell = cells[c];
      const std::string pad(w[c] - cell.size(), ' ');
      s += right ? pad + cell : cell + (c + 1 < cells.size() ? pad : "");
      if (c + 1 < cells.size()) s += "  ";
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    out << s << '\n';
  };
  out << '\n';
  line(head);
  std::size_t total = 0;
  for (std::size_t c = 0; c < w.size(); ++c) total += w[c] + (c + 1 < w.size() ? 2 : 0);
  out << std::string(std::min<std::size_t>(total, 160), '-') << '\n';
  for (const auto& row : rows) line(row);
  out << "base/weft: the baseline's figure over weft's (raw Boost.Fiber; raw libevent for "
         "echo; ns/op, bytes/task for idle): >1 means weft is ahead.\n"
         "target: shared/BENCHMARKS.md's weft target, in absolute figures measured on a "
         "comparable 2-core machine (echo's: relative to the libevent run beside it).\n";
  out.flush();
}

// ===========================================================================
// Measurements

double seconds_since(steady::time_point t0) noexcept {
  return std::chrono::duration<double>(steady::now() - t0).count();
}

namespace {
std::int64_t status_kb(const char* key) noexcept {
  std::FILE* f = std::fopen("/proc/self/status", "r");
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

std::int64_t rss_kb() noexcept { return status_kb("VmRSS"); }

std::int64_t peak_rss_kb() noexcept { return status_kb("VmHWM"); }

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
      std::fprintf(stderr,
                   "%sfiber-bench: %s: no result after %.0f s (--time-limit): the run hangs or "
                   "is pathologically slow. Giving up, exit code 3. To see where it is stuck, "
                   "rerun with --time-limit 0 and `gdb -p <pid> -batch -ex 'thread apply all "
                   "bt'`.\n",
                   drawn ? "\r\033[K" : "", label_.c_str(), s);
      std::fflush(stderr);
      if (g_hang_handler) g_hang_handler();
      std::fflush(stdout);
      std::_Exit(3);
    }
    if (tty) {
      std::fprintf(stderr, "\r\033[K%s: %.0f s", label_.c_str(), s);
      drawn = true;
    } else {
      std::fprintf(stderr, "fiber-bench: %s: running, %.0f s\n", label_.c_str(), s);
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

weft::runtime make_runtime(int threads) {
  if (threads == 0) return weft::builder::current_thread().build();
  return weft::builder::multi_thread().worker_threads(static_cast<std::size_t>(threads)).build();
}

result weft_result(const char* workload, int threads) {
  result r;
  r.workload = workload;
  r.impl = "weft";
  r.threads = weft_threads(threads);
  r.tail.push_back({"flavour", weft_flavour(threads), true});
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
  r.tail.push_back({"stack", baseline_stack_name(), true});
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
template <class F>
void run_one(reporter& rep, const std::string& label, double limit, F&& f) {
  std::optional<result> r;
  try {
    progress p(label, limit);
    r = f();
  } catch (const baseline_unavailable& e) {
    std::cerr << "fiber-bench: " << label << ": skipped: " << e.what() << std::endl;
    return;
  } catch (const std::exception& e) {
    std::cerr << "fiber-bench: " << label << ": error: " << e.what() << std::endl;
    rep.note_error();
    return;
  } catch (...) {
    std::cerr << "fiber-bench: " << label << ": error: unknown exception" << std::endl;
    rep.note_error();
    return;
  }
  rep.emit(*r);
}
}  // namespace

void run_workload(workload& w, const common_options& opts, reporter& rep) {
  set_baseline_stack(opts.baseline_stack == "fixedsize" ? baseline_stack_kind::fixedsize
                                                        : baseline_stack_kind::pooled);
  const std::vector<int> threads = opts.threads.empty() ? w.default_threads() : opts.threads;
  const std::string note = w.note(!opts.baseline.empty());
  if (!note.empty()) std::cerr << "fiber-bench: " << w.name() << ": " << note << std::endl;
  for (int t : threads) {
    run_one(rep, std::string(w.name()) + " weft threads=" + std::to_string(weft_threads(t)),
            opts.time_limit, [&] { return w.run_weft(t); });
    if (w.reference_impl() && !opts.no_reference) {
      run_one(rep,
              std::string(w.name()) + " " + w.reference_impl() +
                  " threads=" + std::to_string(weft_threads(t)),
              opts.time_limit, [&] { return w.run_reference(t); });
    }
    if (opts.baseline.empty()) continue;
    const boost_algo a = t <= 1                             ? boost_algo::round_robin
                         : opts.baseline == "work_stealing" ? boost_algo::work_stealing
                                                            : boost_algo::shared_work;
    const std::size_t n = t <= 1 ? 1 : static_cast<std::size_t>(t);
    run_one(rep, std::string(w.name()) + " " + boost_impl_name(a) + " threads=" + std::to_string(n),
            opts.time_limit, [&] { return w.run_boost(a, n); });
  }
}

CLI::Validator integer_in(std::uint64_t lo, std::uint64_t hi) {
  return CLI::Validator(
      [lo, hi](std::string& s) -> std::string {
        std::size_t used = 0;
        unsigned long long v = 0;
        const bool digits = !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
        try {
          if (digits) v = std::stoull(s, &used);
        } catch (...) {
          used = 0;
        }
        if (!digits || used != s.size()) return "'" + s + "' is not a non-negative integer";
        if (v < lo || v > hi) {
          return s + " is out of range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
        }
        return "";
      },
      "INT in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]", "integer_in");
}

std::int64_t percentile(std::vector<std::int64_t>& v, double p) {
  const std::size_t n = v.size();
  std::size_t rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(n)));
  rank = std::clamp<std::size_t>(rank, 1, n);
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(rank - 1), v.end());
  return v[rank - 1];
}

}  // namespace weft_bench
