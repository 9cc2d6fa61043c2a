// SPDX-License-Identifier: MIT
// Huge durations and far time points (issue 9): every deadline entry point of
// fibers/ saturates instead of overflowing, so "sleep forever" parks for
// good and a far timeout never fires. Each extreme is checked on a paused
// clock (auto-advance makes "a long time" instant) at every flavour.
#include "weft/fibers/detail/deadline.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

#include "support/runtime_fixture.hpp"

using namespace std::chrono_literals;
using weft::time::clock;

namespace {

using years = std::chrono::duration<std::int64_t, std::ratio<31556952>>;

// parks_for_good() spawns a fiber running `wait`, lets a paused day pass,
// and reports whether the fiber was still waiting (it is then aborted).
template <class Wait>
bool parks_for_good(Wait wait) {
  std::atomic<bool> returned{false};
  auto h = weft::spawn([&] {
    wait();
    returned = true;
  });
  weft::time::sleep(24h);  // auto-advance: no real time passes
  const bool still = !returned.load() && !h.is_finished();
  h.abort();
  const std::string how = weft_test::outcome_of([&] { h.join(); });
  return still && how == "cancelled";
}

// each_extreme() calls f(d) for each huge duration of the issue.
template <class F>
void each_extreme(F&& f) {
  f(years(300));
  f(std::chrono::seconds::max());
  f(std::chrono::hours::max());
  f(std::chrono::nanoseconds::max());
  f(std::chrono::steady_clock::duration::max());
  f(std::chrono::duration<double>(1e300));
  f(std::chrono::duration<double, std::milli>(std::numeric_limits<double>::infinity()));
}

}  // namespace

TEST_CASE("deadline: conversions saturate instead of overflowing (issue 9)",
          "[fibers][time][regression]") {
  using weft::detail::deadline_after_ns;
  using weft::detail::kFarAway;
  using weft::detail::no_deadline;
  using weft::detail::to_ns_saturated;
  CHECK(to_ns_saturated(std::chrono::hours::max()) == kFarAway);
  CHECK(to_ns_saturated(std::chrono::hours::min()) == -kFarAway);
  CHECK(to_ns_saturated(std::chrono::nanoseconds::max()) == kFarAway);
  CHECK(to_ns_saturated(std::chrono::duration<double>(1e300)) == kFarAway);
  CHECK(to_ns_saturated(std::chrono::duration<double>(-1e300)) == -kFarAway);
  CHECK(to_ns_saturated(std::chrono::duration<double>(std::nan(""))) == 0);
  CHECK(to_ns_saturated(1500ms) == 1500000000);
  CHECK(to_ns_saturated(std::chrono::duration<double, std::micro>(1.5)) == 1500);  // rounds up
  CHECK(deadline_after_ns(1000, 5ns) == 1005);
  CHECK(deadline_after_ns(1000, -5s) == 1000);
  CHECK(deadline_after_ns(1000, years(300)) == no_deadline);
  CHECK(deadline_after_ns(kFarAway - 10, 20ns) == no_deadline);
  CHECK(weft::detail::deadline_at(clock::time_point::max()) == no_deadline);
  CHECK(weft::detail::deadline_at(clock::time_point::min()) == 0);
  CHECK(weft::detail::deadline_at(
            std::chrono::time_point<weft::time::clock, std::chrono::hours>::max()) == no_deadline);
  CHECK(weft::detail::deadline_at(std::chrono::steady_clock::time_point::max()) == no_deadline);
  CHECK(weft::detail::deadline_at(std::chrono::system_clock::time_point::max()) == no_deadline);
  const std::int64_t past = weft::detail::deadline_at(std::chrono::system_clock::time_point::min());
  CHECK(past <= weft::detail::runtime_now_ns());
}

TEST_CASE("deadline: sleep of a huge duration parks for good (issue 9)",
          "[fibers][time][regression]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers, /*paused=*/true);
    const int good = rt.block_on([] {
      int n = 0;
      each_extreme([&](auto d) {
        n += parks_for_good([d] { weft::time::sleep(d); });
        n += parks_for_good([d] { weft::time::sleep_for(d); });
      });
      return n;
    });
    CHECK(good == 14);
  }
  leaks.finish();
}

TEST_CASE("deadline: sleep_until a far time point of any clock parks for good (issue 9)",
          "[fibers][time][regression]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers, /*paused=*/true);
  const int good = rt.block_on([] {
    int n = 0;
    n += parks_for_good([] { weft::time::sleep_until(clock::time_point::max()); });
    n += parks_for_good([] {
      weft::time::sleep_until(
          std::chrono::time_point<weft::time::clock, std::chrono::hours>::max());
    });
    n += parks_for_good(
        [] { weft::time::sleep_until(std::chrono::steady_clock::time_point::max()); });
    n += parks_for_good([] { weft::time::sleep_until(clock::now() + years(250)); });
    return n;
  });
  CHECK(good == 4);
}

TEST_CASE("deadline: sleep_until a point in the past returns (issue 9)",
          "[fibers][time][regression]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers, /*paused=*/true);
  const bool ok = rt.block_on([] {
    const auto t0 = clock::now();
    weft::time::sleep_until(clock::time_point::min());
    weft::time::sleep_until(std::chrono::steady_clock::time_point::min());
    weft::time::sleep(std::chrono::hours::min());
    weft::time::sleep(-1s);
    return clock::now() == t0;
  });
  CHECK(ok);
}

TEST_CASE("deadline: a huge timeout never fires, its callable's value comes back (issue 9)",
          "[fibers][time][timeout][regression]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers, /*paused=*/true);
  const int good = rt.block_on([] {
    int n = 0;
    auto body = [] {
      weft::time::sleep(1h);
      return 7;
    };
    each_extreme([&](auto d) {
      auto r = weft::time::timeout(d, body);
      n += r && *r == 7;
    });
    for (auto r : {weft::time::timeout_at(clock::time_point::max(), body),
                   weft::time::timeout_at(
                       std::chrono::time_point<weft::time::clock, std::chrono::hours>::max(), body),
                   weft::time::timeout_at(std::chrono::steady_clock::time_point::max(), body)}) {
      n += r && *r == 7;
    }
    // And the past still times out at once.
    auto past = weft::time::timeout_at(clock::time_point::min(), body);
    n += !past && past.error() == weft::errc::timeout;
    return n;
  });
  CHECK(good == 11);
}

TEST_CASE("deadline: an interval of duration::max() ticks once (issue 9)",
          "[fibers][time][interval][regression]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers, /*paused=*/true);
  const int ticks = rt.block_on([] {
    std::atomic<int> n{0};
    auto h = weft::spawn([&] {
      auto a = weft::time::make_interval(clock::duration::max());
      auto b = weft::time::make_interval(std::chrono::hours::max());
      a.tick();
      b.tick();
      n.fetch_add(1);
      a.tick();  // never
      n.fetch_add(100);
    });
    weft::time::sleep(24h * 365);
    const int seen = n.load();
    h.abort();
    (void)weft_test::outcome_of([&] { h.join(); });
    return seen;
  });
  CHECK(ticks == 1);
}

TEST_CASE("deadline: advance by a huge duration fires due timers, not infinite ones (issue 9)",
          "[fibers][time][regression]") {
  auto rt = weft_test::make_runtime(1, /*paused=*/true);
  const bool ok = rt.block_on([] {
    std::atomic<int> woke{0};
    auto finite = weft::spawn([&] {
      weft::time::sleep(years(100));
      woke.fetch_add(1);
    });
    auto forever = weft::spawn([&] {
      weft::time::sleep(std::chrono::hours::max());
      woke.fetch_add(10);
    });
    weft::this_fiber::yield();  // both are parked on their timers now
    weft::time::advance(std::chrono::hours::max());
    finite.join();
    const bool right = woke.load() == 1 && !forever.is_finished();
    forever.abort();
    (void)weft_test::outcome_of([&] { forever.join(); });
    bool threw = false;
    try {
      weft::time::advance(-1s);
    } catch (const std::invalid_argument&) {
      threw = true;
    }
    return right && threw;
  });
  CHECK(ok);
}

TEST_CASE("deadline: readiness waits with far and past deadlines (issue 9)",
          "[fibers][io][regression]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::pipe_fds p;
  REQUIRE(p.ok());
  auto rt = weft_test::make_runtime(workers, /*paused=*/true);
  const int good = rt.block_on([&] {
    int n = 0;
    auto past = weft::this_fiber::wait_readable(p.read_end(), clock::time_point::min());
    n += !past && past.error() == weft::errc::timeout;
    n += parks_for_good(
        [&] { (void)weft::this_fiber::wait_readable(p.read_end(), clock::time_point::max()); });
    return n;
  });
  CHECK(good == 2);
}

TEST_CASE("deadline: shutdown_timeout and blocking_keep_alive take huge durations (issue 9)",
          "[fibers][runtime][regression]") {
  auto rt = weft::builder::multi_thread()
                .worker_threads(2)
                .blocking_keep_alive(std::chrono::hours::max())
                .build();
  CHECK(rt.block_on([] { return weft::spawn_blocking([] { return 3; }).join(); }) == 3);
  CHECK(rt.shutdown_timeout(std::chrono::hours::max()));
}
