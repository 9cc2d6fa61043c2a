// SPDX-License-Identifier: MIT
// fiber-bench timers: 100,000 fibers each sleep 10 times for a pseudo-random
// duration in [1, 20] ms (fixed seed); reports the wall time and the
// lateness (wake time - deadline) at p50 and p99, in microseconds.
#include <fmt/format.h>

#include <atomic>
#include <boost/fiber/all.hpp>
#include <chrono>
#include <cstdint>
#include <vector>

#include "bench_common.hpp"
#include "weft/fibers/join_handle.hpp"
#include "weft/fibers/runtime.hpp"
#include "weft/fibers/spawn.hpp"
#include "weft/fibers/time.hpp"

namespace weft_bench {
namespace {

constexpr std::uint64_t kFull = 100'000;
constexpr std::uint64_t kQuick = 20'000;
// kMaxSleeps bounds --count x --sleeps: every sleep keeps its 8-byte lateness.
constexpr std::uint64_t kMaxSleeps = 100'000'000;

// rng is splitmix64: fiber i draws its durations from seed ^ i.
class rng {
 public:
  explicit rng(std::uint64_t seed) noexcept : s_(seed) {}
  std::uint64_t next() noexcept {
    std::uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

 private:
  std::uint64_t s_;
};

struct params {
  std::uint64_t count;
  std::uint32_t sleeps;
  std::uint64_t seed;
  std::uint32_t min_ms;
  std::uint32_t max_ms;
  // duration() is fiber `i`'s next sleep.
  std::chrono::milliseconds duration(rng& r) const noexcept {
    return std::chrono::milliseconds(min_ms + r.next() % (max_ms - min_ms + 1));
  }
};

struct outcome {
  double seconds = 0;
  std::vector<std::int64_t> lateness_ns;  // one per sleep, fiber-major
  std::atomic<std::uint64_t> done{0};     // sleeps completed
};

class timers_workload final : public workload {
 public:
  const char* name() const noexcept override { return "timers"; }
  const char* about() const noexcept override {
    return "--count fibers each sleep --sleeps times for a random [--min-ms, --max-ms] ms "
           "(fixed --seed); reports lateness p50/p99 (default: 2 workers)";
  }
  std::vector<int> default_threads() const override { return {2}; }
  void add_options(CLI::App& sub) override {
    sub.add_option("-n,--count", p_.count, "sleeping fibers")
        ->capture_default_str()
        ->check(integer_in(1, 10'000'000));
    sub.add_option("--sleeps", p_.sleeps, "sleeps per fiber")
        ->capture_default_str()
        ->check(integer_in(1, 1000));
    sub.add_option("--seed", p_.seed, "seed of the pseudo-random durations")
        ->capture_default_str()
        ->check(integer_in(0, UINT64_MAX));
    sub.add_option("--min-ms", p_.min_ms, "shortest sleep, ms")
        ->capture_default_str()
        ->check(integer_in(0, 10'000));
    sub.add_option("--max-ms", p_.max_ms, "longest sleep, ms (>= --min-ms)")
        ->capture_default_str()
        ->check(integer_in(0, 10'000));
    sub.callback([this] {
      if (p_.max_ms < p_.min_ms) {
        throw CLI::ValidationError("--max-ms",
                                   fmt::format("{} is below --min-ms {}", p_.max_ms, p_.min_ms));
      }
      if (p_.count * p_.sleeps > kMaxSleeps) {
        throw CLI::ValidationError(
            "--count x --sleeps",
            fmt::format("{} x {} = {} sleeps; at most {} (each keeps its lateness)", p_.count,
                        p_.sleeps, p_.count * p_.sleeps, kMaxSleeps));
      }
    });
  }
  void set_quick() override { p_.count = kQuick; }

  result run_weft(int threads) override {
    const params p = p_;
    outcome o;
    o.lateness_ns.resize(static_cast<std::size_t>(p.count * p.sleeps));
    weft::runtime rt = make_runtime(threads);
    o.seconds = rt.block_on([&p, &o] {
      const auto t0 = steady::now();
      std::vector<weft::join_handle<void>> hs;
      hs.reserve(static_cast<std::size_t>(p.count));
      for (std::uint64_t i = 0; i < p.count; ++i) {
        hs.push_back(weft::spawn([&p, &o, i] {
          rng r(p.seed ^ i);
          std::int64_t* late = &o.lateness_ns[static_cast<std::size_t>(i * p.sleeps)];
          for (std::uint32_t k = 0; k < p.sleeps; ++k) {
            const weft::time::instant deadline = weft::time::clock::now() + p.duration(r);
            weft::time::sleep_until(deadline);
            late[k] = (weft::time::clock::now() - deadline).count();
          }
          o.done.fetch_add(p.sleeps, std::memory_order_relaxed);
        }));
      }
      for (auto& h : hs) h.join();
      return seconds_since(t0);
    });
    return finish(weft_result(name(), threads), o);
  }

  // ---- raw Boost.Fiber baseline: boost::this_fiber::sleep_until on
  // steady_clock (Boost's per-thread sleep queue).
  result run_boost(boost_algo algo, std::size_t threads) override {
    const params p = p_;
    outcome o;
    o.lateness_ns.resize(static_cast<std::size_t>(p.count * p.sleeps));
    run_boost_pool(algo, threads, [&p, &o](const baseline_stack& st) {
      const auto t0 = steady::now();
      std::vector<boost::fibers::fiber> fs;
      fs.reserve(static_cast<std::size_t>(p.count));
      for (std::uint64_t i = 0; i < p.count; ++i) {
        fs.emplace_back(std::allocator_arg, st, [&p, &o, i] {
          rng r(p.seed ^ i);
          std::int64_t* late = &o.lateness_ns[static_cast<std::size_t>(i * p.sleeps)];
          for (std::uint32_t k = 0; k < p.sleeps; ++k) {
            const auto deadline = steady::now() + p.duration(r);
            boost::this_fiber::sleep_until(deadline);
            late[k] = std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now() - deadline)
                          .count();
          }
          o.done.fetch_add(p.sleeps, std::memory_order_relaxed);
        });
      }
      for (auto& f : fs) f.join();
      o.seconds = seconds_since(t0);
    });
    return finish(boost_result(name(), algo, threads), o);
  }

 private:
  // finish(): check = every sleep completed and none woke before its
  // deadline (early_wakes counts those).
  result finish(result r, outcome& o) const {
    r.ops = p_.count * p_.sleeps;
    r.seconds = o.seconds;
    std::int64_t early = 0;
    for (std::int64_t v : o.lateness_ns) early += v < 0 ? 1 : 0;
    r.ok = o.done.load() == r.ops && early == 0;
    r.add("lateness_p50_us", static_cast<double>(percentile(o.lateness_ns, 50)) / 1000.0, 1,
          agg::median_spread);
    r.add("lateness_p99_us", static_cast<double>(percentile(o.lateness_ns, 99)) / 1000.0, 1,
          agg::median_spread);
    r.add("early_wakes", early, agg::worst);
    return r;
  }

  params p_{kFull, 10, 42, 1, 20};
};

}  // namespace

std::unique_ptr<workload> make_timers_workload() { return std::make_unique<timers_workload>(); }

}  // namespace weft_bench
