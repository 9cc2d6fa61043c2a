// SPDX-License-Identifier: MIT
// fiber-bench spawn: spawn 1,000,000 fibers that each return a small integer,
// joined in batches of 1000; the sum of the results is checked.
#include <algorithm>
#include <boost/fiber/all.hpp>
#include <cstdint>
#include <vector>

#include "bench_common.hpp"
#include "weft/fibers/join_handle.hpp"
#include "weft/fibers/runtime.hpp"
#include "weft/fibers/spawn.hpp"

namespace weft_bench {
namespace {

constexpr std::uint64_t kFull = 1'000'000;
constexpr std::uint64_t kQuick = 500'000;

// small() is what fiber i returns.
int small(std::uint64_t i) noexcept { return static_cast<int>(i % 1000); }

std::uint64_t expected_sum(std::uint64_t count) noexcept {
  std::uint64_t s = 0;
  for (std::uint64_t i = 0; i < count; ++i) s += static_cast<std::uint64_t>(small(i));
  return s;
}

struct outcome {
  double seconds = 0;
  std::uint64_t sum = 0;
};

class spawn_workload final : public workload {
 public:
  const char* name() const noexcept override { return "spawn"; }
  const char* about() const noexcept override {
    return "spawn --count fibers returning a small int, joined in batches of --batch "
           "(default: 2 workers, then 1 thread)";
  }
  std::vector<int> default_threads() const override { return {2, 0}; }
  void add_options(CLI::App& sub) override {
    sub.add_option("-n,--count", count_, "fibers to spawn")
        ->capture_default_str()
        ->check(integer_in(1, 1'000'000'000));
    sub.add_option("--batch", batch_, "fibers spawned, then joined, at a time")
        ->capture_default_str()
        ->check(integer_in(1, 1'000'000));
  }
  void set_quick() override { count_ = kQuick; }

  result run_weft(int threads) override {
    const std::uint64_t count = count_, batch = batch_;
    weft::runtime rt = make_runtime(threads);
    const outcome o = rt.block_on([count, batch] {
      std::vector<weft::join_handle<int>> hs;
      hs.reserve(static_cast<std::size_t>(batch));
      outcome out;
      const auto t0 = steady::now();
      for (std::uint64_t base = 0; base < count; base += batch) {
        const std::uint64_t end = std::min(count, base + batch);
        for (std::uint64_t i = base; i < end; ++i) {
          hs.push_back(weft::spawn([i] { return small(i); }));
        }
        for (auto& h : hs) out.sum += static_cast<std::uint64_t>(h.join());
        hs.clear();
      }
      out.seconds = seconds_since(t0);
      return out;
    });
    return finish(weft_result(name(), threads), o);
  }

  // ---- raw Boost.Fiber baseline: boost::fibers::fiber + join; a fiber
  // "returns" its int through its own slot (Boost fibers have no value).
  result run_boost(boost_algo algo, std::size_t threads) override {
    const std::uint64_t count = count_, batch = batch_;
    outcome o;
    run_boost_pool(algo, threads, [&](const baseline_stack& st) {
      std::vector<boost::fibers::fiber> fs;
      std::vector<int> slots(static_cast<std::size_t>(batch));
      fs.reserve(static_cast<std::size_t>(batch));
      const auto t0 = steady::now();
      for (std::uint64_t base = 0; base < count; base += batch) {
        const std::uint64_t end = std::min(count, base + batch);
        for (std::uint64_t i = base; i < end; ++i) {
          int* slot = &slots[static_cast<std::size_t>(i - base)];
          fs.emplace_back(std::allocator_arg, st, [slot, i] { *slot = small(i); });
        }
        for (std::size_t j = 0; j < fs.size(); ++j) {
          fs[j].join();
          o.sum += static_cast<std::uint64_t>(slots[j]);
        }
        fs.clear();
      }
      o.seconds = seconds_since(t0);
    });
    return finish(boost_result(name(), algo, threads), o);
  }

 private:
  result finish(result r, const outcome& o) const {
    r.ops = count_;
    r.seconds = o.seconds;
    r.ok = o.sum == expected_sum(count_);
    return r;
  }

  std::uint64_t count_ = kFull;
  std::uint64_t batch_ = 1000;
};

}  // namespace

std::unique_ptr<workload> make_spawn_workload() { return std::make_unique<spawn_workload>(); }

}  // namespace weft_bench
