// SPDX-License-Identifier: MIT
// fiber-bench pingpong: two fibers exchange a counter over a pair of
// capacity-1 channels for 1,000,000 round trips; ns_per_op is per round trip.
#include <boost/fiber/all.hpp>
#include <cstdint>
#include <utility>

#include "bench_common.hpp"
#include "weft/fibers/join_handle.hpp"
#include "weft/fibers/runtime.hpp"
#include "weft/fibers/spawn.hpp"
#include "weft/sync/mpsc.hpp"

namespace weft_bench {
namespace {

constexpr std::uint64_t kFull = 1'000'000;
constexpr std::uint64_t kQuick = 200'000;
// Boost's buffered_channel needs a power of 2 >= 2 and holds capacity - 1
// messages: 2 is its smallest, and like weft's capacity 1 it holds one.
constexpr std::size_t kBoostCapacity = 2;

struct outcome {
  double seconds = 0;
  std::uint64_t counter = 0;  // the client's counter after the last trip
  std::uint64_t echoed = 0;   // round trips the server answered
};

class pingpong_workload final : public workload {
 public:
  const char* name() const noexcept override { return "pingpong"; }
  const char* about() const noexcept override {
    return "two fibers exchange a counter over two capacity-1 channels, --count round trips "
           "(default: 1 thread, then 2 workers; docs/benchmarks.md target <= 236 ns per round trip "
           "on 1 thread, <= 257 ns on 2 workers)";
  }
  std::vector<int> default_threads() const override { return {0, 2}; }
  void add_options(CLI::App& sub) override {
    sub.add_option("-n,--count", count_, "round trips")
        ->capture_default_str()
        ->check(integer_in(1, 10'000'000'000));
  }
  void set_quick() override { count_ = kQuick; }
  std::string note(bool with_baseline) const override {
    if (!with_baseline) return {};
    return "the raw Boost.Fiber baseline uses buffered_channel capacity 2 (Boost's minimum: a "
           "power of 2 >= 2; it holds at most 1 message, like weft's capacity 1)";
  }

  // The client sends its counter on `ping`, the server answers counter + 1
  // on `pong`. Each fiber owns its channel ends as locals, so a finished
  // fiber has dropped its sender before join() returns.
  result run_weft(int threads) override {
    const std::uint64_t count = count_;
    weft::runtime rt = make_runtime(threads);
    const outcome o = rt.block_on([count] {
      auto ping = weft::sync::mpsc::channel<std::uint64_t>(1);
      auto pong = weft::sync::mpsc::channel<std::uint64_t>(1);
      outcome out;
      const auto t0 = steady::now();
      auto server =
          weft::spawn([rx0 = std::move(ping.second), tx0 = std::move(pong.first)]() mutable {
            auto rx = std::move(rx0);
            auto tx = std::move(tx0);
            std::uint64_t n = 0;
            while (auto v = rx.recv()) {
              if (!tx.send(*v + 1)) break;
              ++n;
            }
            return n;
          });
      auto client =
          weft::spawn([count, tx0 = std::move(ping.first), rx0 = std::move(pong.second)]() mutable {
            auto tx = std::move(tx0);
            auto rx = std::move(rx0);
            std::uint64_t c = 0;
            for (std::uint64_t i = 0; i < count; ++i) {
              if (!tx.send(c)) break;
              auto v = rx.recv();
              if (!v) break;
              c = *v;
            }
            return c;
          });
      out.counter = client.join();
      out.echoed = server.join();
      out.seconds = seconds_since(t0);
      return out;
    });
    result r = finish(weft_result(name(), threads), o);
    r.add("capacity", std::int64_t{1}, agg::param);
    return r;
  }

  // ---- raw Boost.Fiber baseline: two buffered_channel<uint64_t>(2), the
  // client closes `ping` when done.
  result run_boost(boost_algo algo, std::size_t threads) override {
    const std::uint64_t count = count_;
    outcome o;
    run_boost_pool(algo, threads, [&](const baseline_stack& st) {
      using chan = boost::fibers::buffered_channel<std::uint64_t>;
      using boost::fibers::channel_op_status;
      chan ping(kBoostCapacity), pong(kBoostCapacity);
      std::uint64_t n = 0, c = 0;
      const auto t0 = steady::now();
      boost::fibers::fiber server(std::allocator_arg, st, [&] {
        std::uint64_t v = 0;
        while (ping.pop(v) == channel_op_status::success) {
          if (pong.push(v + 1) != channel_op_status::success) break;
          ++n;
        }
      });
      boost::fibers::fiber client(std::allocator_arg, st, [&] {
        for (std::uint64_t i = 0; i < count; ++i) {
          if (ping.push(c) != channel_op_status::success) break;
          std::uint64_t v = 0;
          if (pong.pop(v) != channel_op_status::success) break;
          c = v;
        }
        ping.close();
      });
      client.join();
      server.join();
      o.seconds = seconds_since(t0);
      o.counter = c;
      o.echoed = n;
    });
    result r = finish(boost_result(name(), algo, threads), o);
    r.add("capacity", static_cast<std::int64_t>(kBoostCapacity), agg::param);
    return r;
  }

 private:
  result finish(result r, const outcome& o) const {
    r.ops = count_;
    r.seconds = o.seconds;
    r.ok = o.counter == count_ && o.echoed == count_;
    return r;
  }

  std::uint64_t count_ = kFull;
};

}  // namespace

std::unique_ptr<workload> make_pingpong_workload() { return std::make_unique<pingpong_workload>(); }

}  // namespace weft_bench
