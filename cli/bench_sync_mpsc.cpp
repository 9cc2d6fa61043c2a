// SPDX-License-Identifier: MIT
// fiber-bench mpsc: 4 producer fibers each send 1,000,000 64-bit integers
// into one bounded channel of capacity 1024; one consumer sums them and
// checks the sum. ops = every message (4,000,000).
#include <boost/fiber/all.hpp>
#include <cstdint>
#include <utility>
#include <vector>

#include "bench_common.hpp"
#include "weft/fibers/join_handle.hpp"
#include "weft/fibers/runtime.hpp"
#include "weft/fibers/spawn.hpp"
#include "weft/sync/mpsc.hpp"

namespace weft_bench {
namespace {

constexpr std::uint64_t kFull = 1'000'000;
constexpr std::uint64_t kQuick = 250'000;

// Producer p sends p * per + i for i in [0, per): every value in
// [0, producers * per) exactly once, so the sum is sum_below(total).

// boost_capacity() is the buffered_channel capacity for a weft capacity:
// the next power of 2 >= 2 (Boost's rule). A buffered_channel holds
// capacity - 1 messages, so 1024 holds 1023.
std::size_t boost_capacity(std::size_t cap) noexcept {
  std::size_t c = 2;
  while (c < cap) c *= 2;
  return c;
}

struct outcome {
  double seconds = 0;
  std::uint64_t sum = 0;
  std::uint64_t received = 0;
  bool sends_ok = true;
};

class mpsc_workload final : public workload {
 public:
  const char* name() const noexcept override { return "mpsc"; }
  const char* about() const noexcept override {
    return "--producers fibers each send --count uint64 into one bounded channel of --capacity; "
           "one consumer sums and checks them (default: 2 workers; docs/benchmarks.md target <= 51 "
           "ns per message)";
  }
  std::vector<int> default_threads() const override { return {2}; }
  void add_options(CLI::App& sub) override {
    sub.add_option("-n,--count", count_, "messages per producer")
        ->capture_default_str()
        ->check(integer_in(1, 1'000'000'000));
    sub.add_option("--producers", producers_, "producer fibers")
        ->capture_default_str()
        ->check(integer_in(1, 10'000));
    sub.add_option("--capacity", capacity_,
                   "channel capacity (the baseline rounds it up to a power of 2 >= 2)")
        ->capture_default_str()
        ->check(integer_in(1, 1'000'000));
  }
  void set_quick() override { count_ = kQuick; }

  // Each producer owns a copy of the sender; the consumer receives until
  // every copy is gone (recv() returns an empty optional).
  result run_weft(int threads) override {
    const std::uint64_t per = count_, producers = producers_;
    const std::size_t cap = static_cast<std::size_t>(capacity_);
    weft::runtime rt = make_runtime(threads);
    const outcome o = rt.block_on([per, producers, cap] {
      auto ch = weft::sync::mpsc::channel<std::uint64_t>(cap);
      outcome out;
      const auto t0 = steady::now();
      auto consumer = weft::spawn([rx0 = std::move(ch.second)]() mutable {
        auto rx = std::move(rx0);
        std::pair<std::uint64_t, std::uint64_t> sum_n{0, 0};
        while (auto v = rx.recv()) {
          sum_n.first += *v;
          ++sum_n.second;
        }
        return sum_n;
      });
      std::vector<weft::join_handle<bool>> hs;
      hs.reserve(static_cast<std::size_t>(producers));
      for (std::uint64_t p = 0; p < producers; ++p) {
        hs.push_back(weft::spawn([tx0 = ch.first, base = p * per, per]() mutable {
          auto tx = std::move(tx0);
          for (std::uint64_t i = 0; i < per; ++i) {
            if (!tx.send(base + i)) return false;
          }
          return true;
        }));
      }
      { auto drop = std::move(ch.first); }
      for (auto& h : hs) out.sends_ok = h.join() && out.sends_ok;
      const auto sum_n = consumer.join();
      out.seconds = seconds_since(t0);
      out.sum = sum_n.first;
      out.received = sum_n.second;
      return out;
    });
    result r = finish(weft_result(name(), threads), o);
    r.add("capacity", static_cast<std::int64_t>(cap), agg::param);
    return r;
  }

  // ---- raw Boost.Fiber baseline: one buffered_channel<uint64_t>; the
  // driver closes it once every producer has finished.
  result run_boost(boost_algo algo, std::size_t threads) override {
    const std::uint64_t per = count_, producers = producers_;
    const std::size_t cap = boost_capacity(static_cast<std::size_t>(capacity_));
    outcome o;
    run_boost_pool(algo, threads, [&](const baseline_stack& st) {
      using boost::fibers::channel_op_status;
      boost::fibers::buffered_channel<std::uint64_t> ch(cap);
      std::uint64_t sum = 0, received = 0;
      std::vector<char> sent_all(static_cast<std::size_t>(producers), 0);
      const auto t0 = steady::now();
      boost::fibers::fiber consumer(std::allocator_arg, st, [&] {
        std::uint64_t v = 0;
        while (ch.pop(v) == channel_op_status::success) {
          sum += v;
          ++received;
        }
      });
      std::vector<boost::fibers::fiber> fs;
      fs.reserve(static_cast<std::size_t>(producers));
      for (std::uint64_t p = 0; p < producers; ++p) {
        char* ok = &sent_all[static_cast<std::size_t>(p)];
        fs.emplace_back(std::allocator_arg, st, [&ch, ok, base = p * per, per] {
          for (std::uint64_t i = 0; i < per; ++i) {
            if (ch.push(base + i) != channel_op_status::success) return;
          }
          *ok = 1;
        });
      }
      for (auto& f : fs) f.join();
      ch.close();
      consumer.join();
      o.seconds = seconds_since(t0);
      o.sum = sum;
      o.received = received;
      for (char s : sent_all) o.sends_ok = o.sends_ok && s != 0;
    });
    result r = finish(boost_result(name(), algo, threads), o);
    r.add("capacity", static_cast<std::int64_t>(cap), agg::param);
    return r;
  }

 private:
  result finish(result r, const outcome& o) const {
    const std::uint64_t total = count_ * producers_;
    r.ops = total;
    r.seconds = o.seconds;
    r.ok = o.sends_ok && o.received == total && o.sum == sum_below(total);
    return r;
  }

  std::uint64_t count_ = kFull;
  std::uint64_t producers_ = 4;
  std::uint64_t capacity_ = 1024;
};

}  // namespace

std::unique_ptr<workload> make_mpsc_workload() { return std::make_unique<mpsc_workload>(); }

}  // namespace weft_bench
