// SPDX-License-Identifier: MIT
// fiber-bench mutex: 8 fibers on 2 workers each lock one shared mutex
// 1,000,000 times, increment a counter, unlock; the total is checked.
// ns_per_op is per lock/increment/unlock.
#include <boost/fiber/all.hpp>
#include <cstdint>
#include <mutex>
#include <vector>

#include "bench_common.hpp"
#include "weft/fibers/join_handle.hpp"
#include "weft/fibers/runtime.hpp"
#include "weft/fibers/spawn.hpp"
#include "weft/sync/mutex.hpp"

namespace weft_bench {
namespace {

constexpr std::uint64_t kFull = 1'000'000;
constexpr std::uint64_t kQuick = 100'000;

struct outcome {
  double seconds = 0;
  std::uint64_t counter = 0;
};

// hammer() is one fiber's loop, the same for weft and Boost.
template <class Mutex>
void hammer(Mutex& m, std::uint64_t& counter, std::uint64_t n) {
  for (std::uint64_t i = 0; i < n; ++i) {
    std::lock_guard<Mutex> lk(m);
    ++counter;
  }
}

class mutex_workload final : public workload {
 public:
  const char* name() const noexcept override { return "mutex"; }
  const char* about() const noexcept override {
    return "--fibers fibers each lock one shared mutex --count times, increment a counter, "
           "unlock; checks the total (default: 2 workers; docs/benchmarks.md gives no target: "
           "compare with --baseline, boost::fibers::mutex)";
  }
  std::vector<int> default_threads() const override { return {2}; }
  void add_options(CLI::App& sub) override {
    sub.add_option("-n,--count", count_, "lock/unlock pairs per fiber")
        ->capture_default_str()
        ->check(integer_in(1, 1'000'000'000));
    sub.add_option("--fibers", fibers_, "fibers contending for the mutex")
        ->capture_default_str()
        ->check(integer_in(1, 100'000));
  }
  void set_quick() override { count_ = kQuick; }

  result run_weft(int threads) override {
    const std::uint64_t per = count_, fibers = fibers_;
    weft::runtime rt = make_runtime(threads);
    const outcome o = rt.block_on([per, fibers] {
      weft::sync::mutex m;
      outcome out;
      std::vector<weft::join_handle<void>> hs;
      hs.reserve(static_cast<std::size_t>(fibers));
      const auto t0 = steady::now();
      for (std::uint64_t f = 0; f < fibers; ++f) {
        hs.push_back(weft::spawn([&m, &out, per] { hammer(m, out.counter, per); }));
      }
      for (auto& h : hs) h.join();
      out.seconds = seconds_since(t0);
      return out;
    });
    return finish(weft_result(name(), threads), o);
  }

  // ---- raw Boost.Fiber baseline: boost::fibers::mutex.
  result run_boost(boost_algo algo, std::size_t threads) override {
    const std::uint64_t per = count_, fibers = fibers_;
    outcome o;
    run_boost_pool(algo, threads, [&](const baseline_stack& st) {
      boost::fibers::mutex m;
      std::uint64_t counter = 0;
      std::vector<boost::fibers::fiber> fs;
      fs.reserve(static_cast<std::size_t>(fibers));
      const auto t0 = steady::now();
      for (std::uint64_t f = 0; f < fibers; ++f) {
        fs.emplace_back(std::allocator_arg, st, [&m, &counter, per] { hammer(m, counter, per); });
      }
      for (auto& f : fs) f.join();
      o.seconds = seconds_since(t0);
      o.counter = counter;
    });
    return finish(boost_result(name(), algo, threads), o);
  }

 private:
  result finish(result r, const outcome& o) const {
    r.ops = count_ * fibers_;
    r.seconds = o.seconds;
    r.ok = o.counter == r.ops;
    return r;
  }

  std::uint64_t count_ = kFull;
  std::uint64_t fibers_ = 8;
};

}  // namespace

std::unique_ptr<workload> make_mutex_workload() { return std::make_unique<mutex_workload>(); }

}  // namespace weft_bench
