// SPDX-License-Identifier: MIT
// fiber-bench idle: spawn 100,000 fibers that each park on a receive from
// their own one-shot channel; when all are parked read VmRSS and report
// (RSS parked - RSS before) / count; then release and join them all.
//
// weft: each fiber owns a weft::sync::oneshot receiver and parks in recv();
// the driver checks that every fiber is inside a weft wait before reading
// RSS. The baseline parks on boost::fibers::buffered_channel<int>::pop().
#include <atomic>
#include <boost/fiber/all.hpp>
#include <cstdint>
#include <memory>
#include <vector>

#include "bench_common.hpp"
#include "weft/fibers/join_handle.hpp"
#include "weft/fibers/runtime.hpp"
#include "weft/fibers/spawn.hpp"
#include "weft/fibers/this_fiber.hpp"
#include "weft/sync/oneshot.hpp"

namespace weft_bench {
namespace {

constexpr std::uint64_t kFull = 100'000;
constexpr std::uint64_t kQuick = 20'000;

namespace oneshot = weft::sync::oneshot;

// parked_in_weft() is true once the task behind `h` waits inside a weft
// wait (its waiter is published to abort()): the fiber really is parked.
bool parked_in_weft(const weft::join_handle<std::uint64_t>& h) noexcept {
  const weft::detail::task_base* t = h.task();
  return t && t->current_waiter_.load(std::memory_order_acquire) != nullptr;
}

struct outcome {
  std::int64_t rss_before_kb = 0;
  std::int64_t rss_parked_kb = 0;
  std::int64_t rss_released_kb = -1;  // after every fiber was joined and freed
  std::uint64_t parked = 0;
  std::uint64_t sum = 0;
  double seconds = 0;
  double park_seconds = 0;  // spawn until all parked
};

std::uint64_t expected_sum(std::uint64_t n) noexcept { return n * (n - 1) / 2; }

class idle_workload final : public workload {
 public:
  const char* name() const noexcept override { return "idle"; }
  const char* about() const noexcept override {
    return "park --count fibers, each on a receive from its own one-shot channel "
           "(weft::sync::oneshot); report RSS per parked fiber (default: 2 workers)";
  }
  std::vector<int> default_threads() const override { return {2}; }
  void add_options(CLI::App& sub) override {
    sub.add_option("-n,--count", count_, "fibers to park")
        ->capture_default_str()
        ->check(integer_in(1, 10'000'000));
  }
  void set_quick() override { count_ = kQuick; }

  result run_weft(int threads) override {
    const std::uint64_t count = count_;
    weft::runtime rt = make_runtime(threads);
    const outcome o = rt.block_on([count] {
      outcome out;
      trim_heap();
      out.rss_before_kb = rss_kb();
      const auto t0 = steady::now();
      std::vector<oneshot::sender<std::uint64_t>> txs;
      txs.reserve(static_cast<std::size_t>(count));
      std::vector<weft::join_handle<std::uint64_t>> hs;
      hs.reserve(static_cast<std::size_t>(count));
      for (std::uint64_t i = 0; i < count; ++i) {
        auto [tx, rx] = oneshot::channel<std::uint64_t>();
        txs.push_back(std::move(tx));
        hs.push_back(weft::spawn([rx = std::move(rx)]() mutable { return rx.recv().value(); }));
      }
      // Every fiber must really be parked in its recv() before RSS is read.
      for (std::size_t next = 0; next < hs.size();) {
        if (parked_in_weft(hs[next])) {
          ++next;
        } else {
          weft::this_fiber::yield();
        }
      }
      out.park_seconds = seconds_since(t0);
      out.rss_parked_kb = rss_kb();
      out.parked = count;
      for (std::uint64_t i = 0; i < count; ++i) (void)txs[static_cast<std::size_t>(i)].send(i);
      for (auto& h : hs) out.sum += h.join();
      out.seconds = seconds_since(t0);
      // Memory after the burst: the fibers' stacks above the runtime's
      // stack-cache bound went back to the kernel (issue 9). A few yields
      // let the dispatchers release the last terminated contexts.
      std::vector<oneshot::sender<std::uint64_t>>().swap(txs);
      std::vector<weft::join_handle<std::uint64_t>>().swap(hs);
      for (int i = 0; i < 64; ++i) weft::this_fiber::yield();
      trim_heap();
      out.rss_released_kb = rss_kb();
      return out;
    });
    return finish(weft_result(name(), threads), o);
  }

  // ---- raw Boost.Fiber baseline: one buffered_channel<int> (capacity 2,
  // Boost's minimum) per fiber; the fiber parks in pop().
  result run_boost(boost_algo algo, std::size_t threads) override {
    const std::uint64_t count = count_;
    outcome o;
    run_boost_pool(algo, threads, [&](const baseline_stack& st) {
      using channel = boost::fibers::buffered_channel<std::uint64_t>;
      trim_heap();
      o.rss_before_kb = rss_kb();
      const auto t0 = steady::now();
      std::atomic<std::uint64_t> parked{0};
      std::vector<std::unique_ptr<channel>> chans;
      chans.reserve(static_cast<std::size_t>(count));
      std::vector<boost::fibers::fiber> fs;
      fs.reserve(static_cast<std::size_t>(count));
      std::vector<std::uint64_t> got(static_cast<std::size_t>(count));
      for (std::uint64_t i = 0; i < count; ++i) {
        chans.push_back(std::make_unique<channel>(2));
        channel* ch = chans.back().get();
        std::uint64_t* slot = &got[static_cast<std::size_t>(i)];
        fs.emplace_back(std::allocator_arg, st, [ch, slot, &parked] {
          parked.fetch_add(1, std::memory_order_release);
          std::uint64_t v = 0;
          if (ch->pop(v) == boost::fibers::channel_op_status::success) *slot = v;
        });
      }
      while (parked.load(std::memory_order_acquire) < count) boost::this_fiber::yield();
      // A fiber counts itself just before pop(): let the last ones get there.
      boost::this_fiber::yield();
      o.park_seconds = seconds_since(t0);
      o.rss_parked_kb = rss_kb();
      o.parked = parked.load();
      for (std::uint64_t i = 0; i < count; ++i) chans[static_cast<std::size_t>(i)]->push(i);
      for (std::size_t i = 0; i < fs.size(); ++i) {
        fs[i].join();
        o.sum += got[i];
      }
      o.seconds = seconds_since(t0);
      std::vector<boost::fibers::fiber>().swap(fs);
      std::vector<std::unique_ptr<channel>>().swap(chans);
      trim_heap();
      o.rss_released_kb = rss_kb();
    });
    return finish(boost_result(name(), algo, threads), o);
  }

 private:
  result finish(result r, const outcome& o) const {
    r.ops = count_;
    r.seconds = o.seconds;
    r.ok = o.parked == count_ && o.sum == expected_sum(count_) && o.rss_before_kb >= 0 &&
           o.rss_parked_kb >= 0;
    const std::int64_t delta_kb = o.rss_parked_kb - o.rss_before_kb;
    r.add("bytes_per_task", delta_kb * 1024 / static_cast<std::int64_t>(count_),
          agg::median_spread);
    r.add("rss_parked_kb", o.rss_parked_kb);
    r.add("rss_released_kb", o.rss_released_kb);
    // Where the time went: spawning until all parked, then release + join.
    r.add("park_s", o.park_seconds, 3);
    r.add("release_s", o.seconds - o.park_seconds, 3);
    return r;
  }

  std::uint64_t count_ = kFull;
};

}  // namespace

std::unique_ptr<workload> make_idle_workload() { return std::make_unique<idle_workload>(); }

}  // namespace weft_bench
