// SPDX-License-Identifier: MIT
// Tests of weft::sync::barrier (barrier.hpp): one leader per generation,
// reuse across generations, fibers and threads, deadlines, cancellation.
#include "weft/sync/barrier.hpp"

#include <array>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/runtime_fixture.hpp"
#include "sync/sync_test_support.hpp"

using namespace std::chrono_literals;

TEST_CASE("barrier: n of one always leads", "[sync][barrier]") {
  weft::sync::barrier b(1);
  CHECK(b.size() == 1);
  for (int i = 0; i < 3; ++i) CHECK(b.wait().is_leader());
  auto r = b.wait_for(1s);
  REQUIRE(r.has_value());
  CHECK(r->is_leader());
}

TEST_CASE("barrier: n of zero behaves as n of one", "[sync][barrier][regression]") {
  // Issue 9: Tokio's Barrier::new(0) is Barrier::new(1); weft threw.
  weft::sync::barrier b(0);
  CHECK(b.size() == 1);
  for (int i = 0; i < 3; ++i) CHECK(b.wait().is_leader());
  auto r = b.wait_for(0s);
  REQUIRE(r.has_value());
  CHECK(r->is_leader());
}

TEST_CASE("barrier: exactly one leader per generation and nobody runs ahead", "[sync][barrier]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  constexpr int kFibers = 6, kThreads = 2, kN = kFibers + kThreads, kGens = 200;
  weft::sync::barrier b(kN);
  std::array<std::atomic<int>, kGens> leaders{};
  std::array<std::atomic<int>, kGens> arrived{};
  std::atomic<int> ran_ahead{0};
  weft_sync_test::run_mixed(rt, kFibers, kThreads, [&](int) {
    for (int g = 0; g < kGens; ++g) {
      arrived[static_cast<std::size_t>(g)].fetch_add(1);
      if (b.wait().is_leader()) leaders[static_cast<std::size_t>(g)].fetch_add(1);
      // Released only once everyone arrived for this generation.
      if (arrived[static_cast<std::size_t>(g)].load() != kN) ran_ahead.fetch_add(1);
    }
  });
  int bad_gens = 0;
  for (auto& l : leaders) bad_gens += l.load() != 1;
  CHECK(bad_gens == 0);
  CHECK(ran_ahead.load() == 0);
}

TEST_CASE("barrier: wait_for times out on a paused clock and withdraws the arrival",
          "[sync][barrier][timeout]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers, /*paused=*/true);
  struct outcome {
    bool timed_out = false;
    int leaders = 0, completed = 0;
    weft::time::duration took{};
  };
  const outcome o = rt.block_on([] {
    outcome r;
    weft::sync::barrier b(2);
    const auto t0 = weft::time::clock::now();
    auto first = b.wait_for(5s);
    r.took = weft::time::clock::now() - t0;
    r.timed_out = !first && first.error() == weft::errc::timeout;
    // Had the arrival stayed counted, the next single wait would lead alone.
    std::atomic<int> leaders{0}, completed{0};
    auto a = weft::spawn([&] {
      if (b.wait().is_leader()) leaders.fetch_add(1);
      completed.fetch_add(1);
    });
    if (!weft_test::spin_until([&] { return weft_test::in_weft_wait(a); })) leaders.fetch_add(10);
    auto until = b.wait_until(weft::time::clock::now() + 1s);
    if (until && until->is_leader()) leaders.fetch_add(1);
    if (until) completed.fetch_add(1);
    a.join();
    r.leaders = leaders.load();
    r.completed = completed.load();
    return r;
  });
  CHECK(o.timed_out);
  CHECK(o.took >= 5s);
  CHECK(o.leaders == 1);
  CHECK(o.completed == 2);
}

TEST_CASE("barrier: a cancelled waiter withdraws its arrival", "[sync][barrier][cancel]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers);
    struct outcome {
      std::string victim;
      int leaders = 0, completed = 0, bad = 0;
    };
    const outcome o = rt.block_on([] {
      outcome r;
      weft::sync::barrier b(2);
      auto victim = weft::spawn([&] { (void)b.wait(); });
      if (!weft_test::spin_until([&] { return weft_test::in_weft_wait(victim); })) ++r.bad;
      victim.abort();
      r.victim = weft_test::outcome_of([&] { victim.join(); });
      std::atomic<int> leaders{0}, completed{0};
      auto a = weft::spawn([&] {
        if (b.wait().is_leader()) leaders.fetch_add(1);
        completed.fetch_add(1);
      });
      if (!weft_test::spin_until([&] { return weft_test::in_weft_wait(a); })) ++r.bad;
      if (b.wait().is_leader()) leaders.fetch_add(1);
      completed.fetch_add(1);
      a.join();
      r.leaders = leaders.load();
      r.completed = completed.load();
      return r;
    });
    CHECK(o.victim == "cancelled");
    CHECK(o.leaders == 1);
    CHECK(o.completed == 2);
    CHECK(o.bad == 0);
  }
  leaks.finish();
}

TEST_CASE("barrier: a waiter aborted after its generation completed but before it ran is cancelled",
          "[sync][barrier][cancel][regression]") {
  // Issue 9 (docs/sync/cancellation.md): cancellation wins; the arrival
  // still counted, so the others were released.
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  struct outcome {
    std::string a, c;
    bool reached = true, leader = false, next_generation = false;
  };
  const outcome o = rt.block_on([] {
    return weft::spawn_pinned([] {
             outcome r;
             weft::sync::barrier b(3);
             std::atomic<bool> reached{false};
             auto a = weft::spawn_pinned([&] {
               (void)b.wait();
               reached = true;
             });
             (void)weft_test::spin_until([&] { return weft_test::in_weft_wait(a); });
             auto c = weft::spawn_pinned([&] { (void)b.wait(); });
             (void)weft_test::spin_until([&] { return weft_test::in_weft_wait(c); });
             r.leader = b.wait().is_leader();
             a.abort();
             r.a = weft_test::outcome_of([&] { a.join(); });
             r.c = weft_test::outcome_of([&] { c.join(); });
             r.reached = reached;
             auto d = weft::spawn_pinned([&] { (void)b.wait(); });
             auto e = weft::spawn_pinned([&] { (void)b.wait(); });
             (void)weft_test::spin_until(
                 [&] { return weft_test::in_weft_wait(d) && weft_test::in_weft_wait(e); });
             r.next_generation = b.wait().is_leader();  // a fresh generation of three
             d.join();
             e.join();
             return r;
           })
        .join();
  });
  CHECK(o.leader);
  CHECK(o.a == "cancelled");
  CHECK_FALSE(o.reached);
  CHECK(o.c == "value");
  CHECK(o.next_generation);
}
