// SPDX-License-Identifier: MIT
// fiber-bench idle_cpu: the CPU a runtime burns with nothing to do. Builds a
// runtime with 2 workers, lets them settle, then compares the process's
// user+system CPU time before and after --seconds of sleep on the main
// thread. weft's design requires ~0%; Boost's schedulers spin.
#include <boost/fiber/all.hpp>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "bench_common.hpp"
#include "weft/fibers/runtime.hpp"

namespace weft_bench {
namespace {

constexpr std::chrono::milliseconds kSettle{200};

struct outcome {
  double wall = 0;
  double cpu = 0;
};

class idle_cpu_workload final : public workload {
 public:
  const char* name() const noexcept override { return "idle_cpu"; }
  const char* about() const noexcept override {
    return "CPU used by a runtime with nothing to do over --seconds (default: 2 workers); "
           "check: weft uses at most --max-cpu-percent";
  }
  std::vector<int> default_threads() const override { return {2}; }
  void add_options(CLI::App& sub) override {
    sub.add_option("--seconds", seconds_, "how long to watch the idle runtime")
        ->capture_default_str()
        ->check(number_in(0.1, 600));
    sub.add_option("--max-cpu-percent", max_cpu_percent_,
                   "weft's check: CPU over the window, in % of one core")
        ->capture_default_str()
        ->check(number_in(0, 102400));
  }
  void set_quick() override {}

  result run_weft(int threads) override {
    weft::runtime rt = make_runtime(threads);
    std::this_thread::sleep_for(kSettle);  // let the workers reach their park
    const std::uint64_t parks0 = rt.get_handle().metrics().parks;
    const outcome o =
        watch([this] { std::this_thread::sleep_for(std::chrono::duration<double>(seconds_)); });
    const std::uint64_t wakeups = rt.get_handle().metrics().parks - parks0;
    result r = finish(weft_result(name(), threads), o);
    r.ok = r.ok && percent(o) <= max_cpu_percent_;
    r.add("worker_parks", static_cast<std::int64_t>(wakeups));
    return r;
  }

  // ---- raw Boost.Fiber baseline: the pool's only fiber sleeps; the
  // scheduler threads have nothing to run. The check only asks that the
  // measurement was made (Boost's spinning is the point of comparison).
  result run_boost(boost_algo algo, std::size_t threads) override {
    outcome o;
    run_boost_pool(algo, threads, [&](const baseline_stack&) {
      boost::this_fiber::sleep_for(kSettle);
      o = watch([this] {
        boost::this_fiber::sleep_for(std::chrono::duration_cast<std::chrono::nanoseconds>(
            std::chrono::duration<double>(seconds_)));
      });
    });
    return finish(boost_result(name(), algo, threads), o);
  }

 private:
  template <class F>
  static outcome watch(F&& sleep) {
    outcome o;
    const double c0 = cpu_seconds();
    const auto t0 = steady::now();
    sleep();
    o.wall = seconds_since(t0);
    o.cpu = cpu_seconds() - c0;
    return o;
  }
  static double percent(const outcome& o) noexcept {
    return o.wall > 0 ? 100.0 * o.cpu / o.wall : 0.0;
  }
  static result finish(result r, const outcome& o) {
    r.ops = 0;
    r.seconds = o.wall;
    r.ok = o.wall > 0;
    r.add("cpu_percent", percent(o), 2, agg::median_spread);
    r.add("cpu_ms", o.cpu * 1000.0, 1);
    return r;
  }

  double seconds_ = 3.0;
  double max_cpu_percent_ = 1.0;
};

}  // namespace

std::unique_ptr<workload> make_idle_cpu_workload() { return std::make_unique<idle_cpu_workload>(); }

}  // namespace weft_bench
