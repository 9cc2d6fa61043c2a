// SPDX-License-Identifier: MIT
// fiber-bench select: one fiber selects over 4 channels fed by 4 producer
// fibers, 1,000,000 messages in total; the sum is checked. Raw Boost.Fiber
// has no select, so there is no baseline.
#include <cstdint>
#include <utility>
#include <vector>

#include "bench_common.hpp"
#include "weft/fibers/join_handle.hpp"
#include "weft/fibers/runtime.hpp"
#include "weft/fibers/spawn.hpp"
#include "weft/sync/mpsc.hpp"
#include "weft/sync/select.hpp"

namespace weft_bench {
namespace {

constexpr std::uint64_t kFull = 1'000'000;
constexpr std::uint64_t kQuick = 250'000;
constexpr std::size_t kChannels = 4;  // select's arity is fixed at compile time

struct outcome {
  double seconds = 0;
  std::uint64_t sum = 0;
  std::uint64_t received = 0;
  bool sends_ok = true;
};

class select_workload final : public workload {
 public:
  const char* name() const noexcept override { return "select"; }
  const char* about() const noexcept override {
    return "one fiber selects over 4 channels of --capacity fed by 4 producer fibers, --count "
           "messages in total; checks the sum (default: 2 workers; docs/benchmarks.md gives no "
           "target, and raw Boost.Fiber has no select: no baseline)";
  }
  std::vector<int> default_threads() const override { return {2}; }
  void add_options(CLI::App& sub) override {
    sub.add_option("-n,--count", count_, "messages in total (split over the 4 producers)")
        ->capture_default_str()
        ->check(integer_in(kChannels, 4'000'000'000));
    sub.add_option("--capacity", capacity_, "capacity of each of the 4 channels")
        ->capture_default_str()
        ->check(integer_in(1, 1'000'000));
  }
  void set_quick() override { count_ = kQuick; }

  // Producer p sends the values [p * count / 4, (p + 1) * count / 4) on
  // channel p; the selector receives until every channel is closed and
  // drained (every branch disabled: on_else runs).
  result run_weft(int threads) override {
    const std::uint64_t count = count_;
    const std::size_t cap = static_cast<std::size_t>(capacity_);
    weft::runtime rt = make_runtime(threads);
    const outcome o = rt.block_on([count, cap] {
      using weft::sync::mpsc::receiver;
      using weft::sync::mpsc::sender;
      std::vector<sender<std::uint64_t>> txs;
      std::vector<receiver<std::uint64_t>> rx_all;
      for (std::size_t c = 0; c < kChannels; ++c) {
        auto ch = weft::sync::mpsc::channel<std::uint64_t>(cap);
        txs.push_back(std::move(ch.first));
        rx_all.push_back(std::move(ch.second));
      }
      outcome out;
      const auto t0 = steady::now();
      auto selector = weft::spawn([rxs0 = std::move(rx_all)]() mutable {
        auto rxs = std::move(rxs0);
        outcome got;
        bool done = false;
        const auto take = [&got](std::uint64_t v) {
          got.sum += v;
          ++got.received;
        };
        while (!done) {
          (void)weft::sync::select(
              weft::sync::on_recv(rxs[0], take), weft::sync::on_recv(rxs[1], take),
              weft::sync::on_recv(rxs[2], take), weft::sync::on_recv(rxs[3], take),
              weft::sync::on_else([&done] { done = true; }));
        }
        return got;
      });
      std::vector<weft::join_handle<bool>> hs;
      hs.reserve(kChannels);
      for (std::size_t p = 0; p < kChannels; ++p) {
        const std::uint64_t lo = count * p / kChannels, hi = count * (p + 1) / kChannels;
        hs.push_back(weft::spawn([tx0 = std::move(txs[p]), lo, hi]() mutable {
          auto tx = std::move(tx0);
          for (std::uint64_t v = lo; v < hi; ++v) {
            if (!tx.send(v)) return false;
          }
          return true;
        }));
      }
      for (auto& h : hs) out.sends_ok = h.join() && out.sends_ok;
      const outcome got = selector.join();
      out.seconds = seconds_since(t0);
      out.sum = got.sum;
      out.received = got.received;
      return out;
    });
    result r = weft_result(name(), threads);
    r.ops = count_;
    r.seconds = o.seconds;
    r.ok = o.sends_ok && o.received == count_ && o.sum == sum_below(count_);
    r.add("capacity", static_cast<std::int64_t>(cap), agg::param);
    return r;
  }

  // ---- no raw Boost.Fiber baseline: Boost.Fiber has no select, and
  // emulating one (a polling loop over try_pop, or a thread per channel
  // funnelling into one more channel) would measure different work.
  result run_boost(boost_algo, std::size_t) override {
    throw baseline_unavailable("raw Boost.Fiber has no select: no baseline line");
  }

 private:
  std::uint64_t count_ = kFull;
  std::uint64_t capacity_ = 1024;
};

}  // namespace

std::unique_ptr<workload> make_select_workload() { return std::make_unique<select_workload>(); }

}  // namespace weft_bench
