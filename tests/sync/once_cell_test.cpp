// SPDX-License-Identifier: MIT
// Tests of weft::sync::once_cell (once_cell.hpp): set/get, one initializer
// under races from fibers and threads, retry after a throw or a
// cancellation, and the deadline form.
#include "weft/sync/once_cell.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/runtime_fixture.hpp"
#include "sync/sync_test_support.hpp"

using namespace std::chrono_literals;

TEST_CASE("once_cell: set and get", "[sync][once_cell]") {
  weft::sync::once_cell<std::string> c;
  CHECK(c.get() == nullptr);
  CHECK_FALSE(c.initialized());
  std::string v = "first";
  CHECK(c.set(std::move(v)));
  REQUIRE(c.get() != nullptr);
  CHECK(*c.get() == "first");
  std::string w = "second";
  CHECK_FALSE(c.set(std::move(w)));
  CHECK(w == "second");  // not moved from on failure
  CHECK(c.get_or_init([] { return std::string("third"); }) == "first");
  auto r = c.get_or_init_for(1s, [] { return std::string("fourth"); });
  REQUIRE(r.has_value());
  CHECK(**r == "first");
  weft::sync::once_cell<std::unique_ptr<int>> owned;  // destroyed with its value (ASan checks)
  CHECK(owned.set(std::make_unique<int>(7)));
}

TEST_CASE("once_cell: exactly one initializer runs under races", "[sync][once_cell]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  for (int round = 0; round < 20; ++round) {
    weft::sync::once_cell<int> c;
    std::atomic<int> inits{0}, wrong{0};
    weft_sync_test::run_mixed(rt, 16, 2, [&](int i) {
      const int& v = c.get_or_init([&] {
        inits.fetch_add(1);
        weft::this_fiber::yield();  // widen the window
        return 100 + i;
      });
      if (c.get() != &v || v < 100) wrong.fetch_add(1);
    });
    CHECK(inits.load() == 1);
    CHECK(wrong.load() == 0);
  }
}

TEST_CASE("once_cell: an initializer that throws lets the next caller retry", "[sync][once_cell]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  weft::sync::once_cell<int> c;
  std::atomic<int> attempts{0}, threw{0}, got{0};
  weft_sync_test::run_mixed(rt, 8, 1, [&](int) {
    try {
      const int v = c.get_or_init([&] {
        weft::this_fiber::yield();
        if (attempts.fetch_add(1) < 3) throw std::runtime_error("not yet");
        return 42;
      });
      if (v == 42) got.fetch_add(1);
    } catch (const std::runtime_error&) {
      threw.fetch_add(1);
    }
  });
  CHECK(attempts.load() == 4);
  CHECK(threw.load() == 3);
  CHECK(got.load() == 9 - 3);
  REQUIRE(c.get() != nullptr);
  CHECK(*c.get() == 42);
}

TEST_CASE("once_cell: a cancelled initializer lets a waiter initialize", "[sync][once_cell][cancel]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers);
    struct outcome {
      std::string first;
      int value = 0, bad = 0;
    };
    const outcome o = rt.block_on([] {
      outcome r;
      weft::sync::once_cell<int> c;
      std::atomic<bool> started{false};
      auto first = weft::spawn([&] {
        (void)c.get_or_init([&] {
          started = true;
          weft::time::sleep(1h);
          return 1;
        });
      });
      if (!weft_test::spin_until([&] { return started.load() && weft_test::in_weft_wait(first); })) ++r.bad;
      auto second = weft::spawn([&] { return c.get_or_init([] { return 2; }); });
      if (!weft_test::spin_until([&] { return weft_test::in_weft_wait(second); })) ++r.bad;
      first.abort();
      r.first = weft_test::outcome_of([&] { first.join(); });
      r.value = second.join();
      return r;
    });
    CHECK(o.first == "cancelled");
    CHECK(o.value == 2);
    CHECK(o.bad == 0);
  }
  leaks.finish();
}

TEST_CASE("once_cell: get_or_init_for times out while another initializer runs",
          "[sync][once_cell][timeout]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers, /*paused=*/true);
  struct outcome {
    bool timed_out = false, ran_second = false;
    int final_value = 0;
  };
  const outcome o = rt.block_on([] {
    outcome r;
    weft::sync::once_cell<int> c;
    std::atomic<bool> started{false};
    auto slow = weft::spawn([&] {
      return c.get_or_init([&] {
        started = true;
        weft::time::sleep(20s);
        return 1;
      });
    });
    (void)weft_test::spin_until([&] { return started.load(); });
    auto res = c.get_or_init_until(weft::time::clock::now() + 5s, [&] {
      r.ran_second = true;
      return 2;
    });
    r.timed_out = !res && res.error() == weft::errc::timeout;
    r.final_value = slow.join();
    return r;
  });
  CHECK(o.timed_out);
  CHECK_FALSE(o.ran_second);
  CHECK(o.final_value == 1);
}
