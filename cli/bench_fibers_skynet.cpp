// SPDX-License-Identifier: MIT
// fiber-bench skynet: a root fiber spawns 10 children, each spawns 10, down to
// 1,000,000 leaves; leaf i returns i, parents sum their children; the root's
// sum is checked (499999500000). ops = 1,111,111 fibers. Reports max_rss_kb.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <boost/fiber/all.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "weft/fibers/join_handle.hpp"
#include "weft/fibers/runtime.hpp"
#include "weft/fibers/spawn.hpp"

namespace weft_bench {
namespace {

constexpr std::uint64_t kLeaves = 1'000'000;
// The raw Boost.Fiber baseline keeps every fiber of the tree alive at once
// (shared_work's FIFO: ~13 KB each) and costs ~120 us per fiber here, so at
// 1,000,000 leaves it needs ~14 GB and minutes: by default it runs at most
// 100,000.
constexpr std::uint64_t kBaselineLeaves = 100'000;
constexpr std::uint64_t kQuickBaselineLeaves = 10'000;
constexpr int kFanout = 10;

// fibers_for() is the number of fibers of a tree with `leaves` leaves.
std::uint64_t fibers_for(std::uint64_t leaves) noexcept {
  std::uint64_t n = 0;
  for (std::uint64_t level = 1; level <= leaves; level *= kFanout) n += level;
  return n;
}

std::int64_t expected_sum(std::uint64_t leaves) noexcept {
  const auto n = static_cast<std::int64_t>(leaves);
  return n * (n - 1) / 2;
}

// --count's range: 10 leaves (11 fibers) to 10^8 (111,111,111 fibers).
constexpr std::uint64_t kMinLeaves = 10;
constexpr std::uint64_t kMaxLeaves = 100'000'000;

// ---- weft: each node is a fiber that spawns its children and joins them.
std::int64_t skynet_weft(std::int64_t num, std::int64_t size) {
  if (size == 1) return num;
  const std::int64_t child = size / kFanout;
  std::array<weft::join_handle<std::int64_t>, kFanout> hs;
  for (int i = 0; i < kFanout; ++i) hs[i] = weft::spawn(skynet_weft, num + i * child, child);
  std::int64_t sum = 0;
  for (auto& h : hs) sum += h.join();
  return sum;
}

// ---- raw Boost.Fiber: the same tree of boost::fibers::fiber, joined; a
// child writes its sum into its parent's slot.
void skynet_boost(std::int64_t& out, std::int64_t num, std::int64_t size,
                  const baseline_stack& st) {
  if (size == 1) {
    out = num;
    return;
  }
  const std::int64_t child = size / kFanout;
  std::array<std::int64_t, kFanout> sums{};
  std::array<boost::fibers::fiber, kFanout> fs;
  for (int i = 0; i < kFanout; ++i) {
    fs[i] = boost::fibers::fiber(std::allocator_arg, st, skynet_boost, std::ref(sums[i]),
                                 num + i * child, child, std::cref(st));
  }
  std::int64_t sum = 0;
  for (int i = 0; i < kFanout; ++i) {
    fs[i].join();
    sum += sums[i];
  }
  out = sum;
}

struct outcome {
  double seconds = 0;
  std::int64_t sum = 0;
};

class skynet_workload final : public workload {
 public:
  const char* name() const noexcept override { return "skynet"; }
  const char* about() const noexcept override {
    return "10-ary tree of fibers down to --count leaves; leaf i returns i, parents sum "
           "(default: 2 workers)";
  }
  std::vector<int> default_threads() const override { return {2}; }
  void add_options(CLI::App& sub) override {
    // The tree is built by dividing by 10 down to leaves of size 1: any
    // other count (0 above all) never reaches 1 and spawns without end.
    sub.add_option("-n,--count", leaves_, "leaves (a power of 10); ops = all fibers of the tree")
        ->capture_default_str()
        ->check(power_of_ten_in(kMinLeaves, kMaxLeaves, false));
    sub.add_option("--baseline-count", baseline_leaves_,
                   "leaves for the raw Boost.Fiber baseline (default 0: --count, at most "
                   "100000; at 1000000 leaves shared_work needs ~14 GB and minutes)")
        ->capture_default_str()
        ->check(power_of_ten_in(kMinLeaves, kMaxLeaves, true));
  }
  void set_quick() override { baseline_leaves_ = kQuickBaselineLeaves; }
  std::string note(bool with_baseline) const override {
    if (!with_baseline || baseline_count() == leaves_) return {};
    return fmt::format(
        "the raw Boost.Fiber baseline runs a smaller tree ({} leaves, ops={}): compare ns_per_op, "
        "not seconds or max_rss_kb",
        baseline_count(), fibers_for(baseline_count()));
  }

  result run_weft(int threads) override {
    const std::uint64_t leaves = leaves_;
    const bool reset = reset_peak_rss();
    weft::runtime rt = make_runtime(threads);
    const outcome o = rt.block_on([leaves] {
      outcome out;
      const auto t0 = steady::now();
      out.sum = weft::spawn(skynet_weft, std::int64_t{0}, static_cast<std::int64_t>(leaves)).join();
      out.seconds = seconds_since(t0);
      return out;
    });
    return finish(weft_result(name(), threads), o, leaves, reset);
  }

  result run_boost(boost_algo algo, std::size_t threads) override {
    const std::uint64_t leaves = baseline_count();
    const bool reset = reset_peak_rss();
    outcome o;
    run_boost_pool(algo, threads, [&](const baseline_stack& st) {
      const auto t0 = steady::now();
      boost::fibers::fiber root(std::allocator_arg, st, skynet_boost, std::ref(o.sum),
                                std::int64_t{0}, static_cast<std::int64_t>(leaves), std::cref(st));
      root.join();
      o.seconds = seconds_since(t0);
    });
    return finish(boost_result(name(), algo, threads), o, leaves, reset);
  }

 private:
  std::uint64_t baseline_count() const noexcept {
    return baseline_leaves_ == 0 ? std::min(leaves_, kBaselineLeaves) : baseline_leaves_;
  }

  // finish() fills the result; max_rss_kb is this run's peak RSS: VmHWM
  // after resetting it at the start of the run (getrusage's ru_maxrss keeps
  // the peak of earlier runs in the same process), else ru_maxrss.
  static result finish(result r, const outcome& o, std::uint64_t leaves, bool reset) {
    r.ops = fibers_for(leaves);
    r.seconds = o.seconds;
    r.ok = o.sum == expected_sum(leaves);
    r.add("max_rss_kb", reset ? peak_rss_kb() : maxrss_kb(), agg::median_spread);
    return r;
  }

  std::uint64_t leaves_ = kLeaves;
  std::uint64_t baseline_leaves_ = 0;  // 0: min(leaves_, kBaselineLeaves)
};

}  // namespace

std::unique_ptr<workload> make_skynet_workload() { return std::make_unique<skynet_workload>(); }

}  // namespace weft_bench
