// SPDX-License-Identifier: MIT
// Tests of weft::time::interval (interval.hpp) on the paused clock: tick
// instants, the three missed-tick behaviours and the 5 ms lateness tolerance.
// Expected values follow interval::tick() in fibers/src/time.cpp.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/runtime_fixture.hpp"

using namespace std::chrono_literals;
using weft::time::clock;
using weft::time::missed_tick_behavior;

namespace {

long ms_since(clock::time_point t0, clock::time_point t) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(t - t0).count());
}

const char* name(missed_tick_behavior b) {
  switch (b) {
    case missed_tick_behavior::burst:
      return "burst";
    case missed_tick_behavior::delay:
      return "delay";
    case missed_tick_behavior::skip:
      return "skip";
  }
  return "?";
}

// stall_case: an interval of 10 ms whose first tick (at 0) is followed by a
// 35 ms stall; what the next five ticks return and when they complete, and
// how many ticks fall in the first 100 ms.
struct stall_case {
  missed_tick_behavior behavior;
  std::vector<long> returned;   // ms after start
  std::vector<long> completed;  // ms after start, clock when tick() returned
  int ticks_at_stall_end;       // ticks completing at 35 ms (the catch-up burst)
  int ticks_in_100ms;           // ticks scheduled at or before 100 ms
};

const stall_case kStallCases[] = {
    // burst: missed ticks fire back to back, then the original schedule.
    {missed_tick_behavior::burst, {10, 20, 30, 40, 50}, {35, 35, 35, 40, 50}, 3, 11},
    // delay: the late tick fires at 35, the schedule restarts from there.
    {missed_tick_behavior::delay, {10, 45, 55, 65, 75}, {35, 45, 55, 65, 75}, 1, 8},
    // skip: the late tick fires, the next is the next multiple of 10 after 35.
    {missed_tick_behavior::skip, {10, 40, 50, 60, 70}, {35, 40, 50, 60, 70}, 1, 9},
};

struct stall_result {
  long first = -1;
  std::vector<long> returned, completed;
  int ticks_at_stall_end = 0;
  int ticks_in_100ms = 0;
};

stall_result run_stall(missed_tick_behavior b) {
  stall_result r;
  const auto t0 = clock::now();
  auto iv = weft::time::make_interval(10ms, b);
  r.first = ms_since(t0, iv.tick());
  weft::time::sleep(35ms);  // the stall: ticks at 10, 20, 30 are missed
  for (int i = 0; i < 5; ++i) {
    const auto at = iv.tick();
    const long done = ms_since(t0, clock::now());
    r.returned.push_back(ms_since(t0, at));
    r.completed.push_back(done);
    if (done == 35) ++r.ticks_at_stall_end;
  }
  // Count ticks scheduled within [0, 100 ms] on a fresh interval.
  const auto t1 = clock::now();
  auto window = weft::time::make_interval(10ms, b);
  (void)window.tick();
  r.ticks_in_100ms = 1;
  weft::time::sleep(35ms);
  while (window.next_tick() <= t1 + 100ms) {
    (void)window.tick();
    ++r.ticks_in_100ms;
  }
  return r;
}

}  // namespace

TEST_CASE("interval: ticks are one period apart on a paused clock", "[fibers][interval]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers, /*paused=*/true);
    struct outcome {
      std::vector<long> returned, completed;
      long period_ms = 0;
      bool default_burst = false;
    };
    const outcome o = rt.block_on([] {
      outcome r;
      const auto t0 = clock::now();
      auto iv = weft::time::make_interval(25ms);
      r.period_ms = static_cast<long>(
          std::chrono::duration_cast<std::chrono::milliseconds>(iv.period()).count());
      r.default_burst = iv.behavior() == missed_tick_behavior::burst;
      for (int i = 0; i < 5; ++i) {
        r.returned.push_back(ms_since(t0, iv.tick()));
        r.completed.push_back(ms_since(t0, clock::now()));
      }
      return r;
    });
    CHECK(o.returned == std::vector<long>{0, 25, 50, 75, 100});
    CHECK(o.completed == std::vector<long>{0, 25, 50, 75, 100});
    CHECK(o.period_ms == 25);
    CHECK(o.default_burst);
  }
  leaks.finish();
}

TEST_CASE("interval: missed ticks under burst, delay and skip", "[fibers][interval]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  const stall_case& c = kStallCases[GENERATE(0, 1, 2)];
  INFO(weft_test::flavour_name(workers) << ", " << name(c.behavior));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers, /*paused=*/true);
    const stall_result r = rt.block_on(run_stall, c.behavior);
    CHECK(r.first == 0);
    CHECK(r.returned == c.returned);
    CHECK(r.completed == c.completed);
    CHECK(r.ticks_at_stall_end == c.ticks_at_stall_end);
    CHECK(r.ticks_in_100ms == c.ticks_in_100ms);
  }
  leaks.finish();
}

TEST_CASE("interval: lateness up to 5 ms is not a missed tick", "[fibers][interval]") {
  // Period 10 ms; the tick due at 10 is taken at 10 + late. Up to 5 ms late
  // every behaviour keeps the schedule (next at 20); beyond, delay shifts it.
  struct lateness_case {
    int late_ms;
    missed_tick_behavior behavior;
    long next_ms;
  };
  const lateness_case cases[] = {
      {4, missed_tick_behavior::delay, 20},  {5, missed_tick_behavior::delay, 20},
      {6, missed_tick_behavior::delay, 26},  {6, missed_tick_behavior::skip, 20},
      {6, missed_tick_behavior::burst, 20},  {5, missed_tick_behavior::skip, 20},
      {17, missed_tick_behavior::skip, 30},  {17, missed_tick_behavior::delay, 37},
      {17, missed_tick_behavior::burst, 20},
  };
  const int workers = GENERATE(0, 1);
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers, /*paused=*/true);
  for (const lateness_case& c : cases) {
    INFO(name(c.behavior) << " late by " << c.late_ms << " ms");
    const auto got = rt.block_on([c] {
      const auto t0 = clock::now();
      auto iv = weft::time::make_interval(10ms, c.behavior);
      (void)iv.tick();  // at 0
      weft::time::sleep(std::chrono::milliseconds(10 + c.late_ms));
      const long returned = ms_since(t0, iv.tick());  // the tick due at 10
      return std::pair<long, long>(returned, ms_since(t0, iv.next_tick()));
    });
    CHECK(got.first == 10);
    CHECK(got.second == c.next_ms);
  }
}

TEST_CASE("interval: make_interval_at starts at the given instant and reset restarts the period",
          "[fibers][interval]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers, /*paused=*/true);
  struct outcome {
    long first_returned = -1, first_completed = -1, second = -1;
    long after_reset = -1, after_reset_completed = -1;
    long set_behavior_next = -1;
  };
  const outcome o = rt.block_on([] {
    outcome r;
    const auto t0 = clock::now();
    auto iv = weft::time::make_interval_at(t0 + 50ms, 20ms, missed_tick_behavior::skip);
    r.first_returned = ms_since(t0, iv.tick());
    r.first_completed = ms_since(t0, clock::now());
    r.second = ms_since(t0, iv.tick());  // 70
    weft::time::sleep(3ms);              // now 73
    iv.reset();                          // next: 73 + 20
    r.after_reset = ms_since(t0, iv.tick());
    r.after_reset_completed = ms_since(t0, clock::now());
    iv.set_missed_tick_behavior(missed_tick_behavior::delay);
    weft::time::sleep(30ms);  // now 123; the tick due at 113 is late
    (void)iv.tick();
    r.set_behavior_next = ms_since(t0, iv.next_tick());  // delay: 123 + 20
    return r;
  });
  CHECK(o.first_returned == 50);
  CHECK(o.first_completed == 50);
  CHECK(o.second == 70);
  CHECK(o.after_reset == 93);
  CHECK(o.after_reset_completed == 93);
  CHECK(o.set_behavior_next == 143);
}

TEST_CASE("interval: a non-positive period throws std::invalid_argument", "[fibers][interval]") {
  CHECK_THROWS_AS(weft::time::make_interval(0ms), std::invalid_argument);
  CHECK_THROWS_AS(weft::time::make_interval(-1ms), std::invalid_argument);
  CHECK_THROWS_AS(weft::time::interval(clock::now(), 0ns), std::invalid_argument);
  CHECK_NOTHROW(weft::time::make_interval(1ns));
}

TEST_CASE("interval: a tick abandoned by timeout is not consumed", "[fibers][interval][timeout]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers, /*paused=*/true);
  struct outcome {
    bool timed_out = false;
    long next_unchanged = -1, tick = -1, completed = -1;
  };
  const outcome o = rt.block_on([] {
    outcome r;
    const auto t0 = clock::now();
    auto iv = weft::time::make_interval_at(t0 + 10ms, 10ms);
    auto res = weft::time::timeout(4ms, [&] { return iv.tick(); });
    r.timed_out = !res;
    r.next_unchanged = ms_since(t0, iv.next_tick());
    r.tick = ms_since(t0, iv.tick());
    r.completed = ms_since(t0, clock::now());
    return r;
  });
  CHECK(o.timed_out);
  CHECK(o.next_unchanged == 10);
  CHECK(o.tick == 10);
  CHECK(o.completed == 10);
}

TEST_CASE("interval: tick is a cancellation point", "[fibers][interval][cancel]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers);
    std::atomic<int> ticks{0};
    const std::string res = rt.block_on([&] {
      auto h = weft::spawn([&] {
        auto iv = weft::time::make_interval(1h);
        for (;;) {
          (void)iv.tick();
          ticks.fetch_add(1);
        }
      });
      weft_test::spin_until([&] { return ticks.load() == 1 && weft_test::in_weft_wait(h); });
      h.abort();
      return weft_test::outcome_of([&] { h.join(); });
    });
    CHECK(res == "cancelled");
    CHECK(ticks.load() == 1);
  }
  leaks.finish();
}
