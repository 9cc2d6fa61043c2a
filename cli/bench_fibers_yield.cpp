// SPDX-License-Identifier: MIT
// fiber-bench yield: two fibers on ONE thread alternate with yield for
// 10,000,000 yields in total, with weft's reactor and timers on (a
// current-thread runtime); ns_per_op is per switch.
#include <atomic>
#include <boost/fiber/all.hpp>
#include <cstdint>
#include <vector>

#include "bench_common.hpp"
#include "weft/fibers/runtime.hpp"
#include "weft/fibers/spawn.hpp"
#include "weft/fibers/this_fiber.hpp"

namespace weft_bench {
namespace {

constexpr std::uint64_t kFull = 10'000'000;
constexpr std::uint64_t kQuick = 5'000'000;

struct outcome {
  double seconds = 0;
  std::uint64_t done = 0;  // yields performed
};

class yield_workload final : public workload {
 public:
  const char* name() const noexcept override { return "yield"; }
  const char* about() const noexcept override {
    return "two fibers on one thread alternate yield, --count yields in total "
           "(default: weft current-thread runtime, reactor and timers on)";
  }
  std::vector<int> default_threads() const override { return {0}; }
  int max_threads() const noexcept override { return 1; }
  void add_options(CLI::App& sub) override {
    sub.add_option("-n,--count,--yields", count_, "yields in total (both fibers)")
        ->capture_default_str()
        ->check(integer_in(2, 10'000'000'000));
  }
  void set_quick() override { count_ = kQuick; }

  result run_weft(int threads) override {
    const std::uint64_t a = count_ / 2, b = count_ - count_ / 2;
    weft::runtime rt = make_runtime(threads);
    const outcome o = rt.block_on([a, b] {
      const auto body = [](std::uint64_t n) {
        std::uint64_t i = 0;
        for (; i < n; ++i) weft::this_fiber::yield();
        return i;
      };
      outcome out;
      const auto t0 = steady::now();
      auto ha = weft::spawn(body, a);
      auto hb = weft::spawn(body, b);
      out.done = ha.join() + hb.join();
      out.seconds = seconds_since(t0);
      return out;
    });
    return finish(weft_result(name(), threads), o);
  }

  // ---- raw Boost.Fiber baseline: boost::this_fiber::yield on round_robin
  // (no reactor, no timers).
  result run_boost(boost_algo algo, std::size_t threads) override {
    const std::uint64_t a = count_ / 2, b = count_ - count_ / 2;
    outcome o;
    run_boost_pool(algo, threads, [&](const baseline_stack& st) {
      std::uint64_t da = 0, db = 0;
      const auto body = [](std::uint64_t n, std::uint64_t& done) {
        std::uint64_t i = 0;
        for (; i < n; ++i) boost::this_fiber::yield();
        done = i;
      };
      const auto t0 = steady::now();
      boost::fibers::fiber fa(std::allocator_arg, st, body, a, std::ref(da));
      boost::fibers::fiber fb(std::allocator_arg, st, body, b, std::ref(db));
      fa.join();
      fb.join();
      o.seconds = seconds_since(t0);
      o.done = da + db;
    });
    return finish(boost_result(name(), algo, threads), o);
  }

 private:
  result finish(result r, const outcome& o) const {
    r.ops = count_;
    r.seconds = o.seconds;
    r.ok = o.done == count_;
    return r;
  }

  std::uint64_t count_ = kFull;
};

}  // namespace

std::unique_ptr<workload> make_yield_workload() { return std::make_unique<yield_workload>(); }

}  // namespace weft_bench
