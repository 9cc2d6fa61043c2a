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

TEST_CASE("once_cell: a cancelled initializer lets a waiter initialize",
          "[sync][once_cell][cancel]") {
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
      if (!weft_test::spin_until([&] { return started.load() && weft_test::in_weft_wait(first); }))
        ++r.bad;
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

TEST_CASE("once_cell: a waiter aborted after a failed initializer woke it runs no initializer",
          "[sync][once_cell][cancel][regression]") {
  // Issue 9 (docs/sync/cancellation.md): the initializer fails, every waiter
  // wakes; the first one is aborted before it runs, so it must not become
  // the initializer: another one does, and the third reads its value.
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  struct outcome {
    std::string how[3];
    int value = -1;
    bool ran0 = true;
    int bad = 0;
  };
  const outcome o = rt.block_on([] {
    return weft::spawn_pinned([] {
             outcome r;
             weft::sync::once_cell<int> c;
             std::atomic<bool> ran0{false};
             std::vector<weft::join_handle<int>> hs;
             try {
               (void)c.get_or_init([&]() -> int {
                 for (int i = 0; i < 3; ++i) {
                   hs.push_back(weft::spawn_pinned([&, i] {
                     return c.get_or_init([&, i] {
                       if (i == 0) ran0 = true;
                       return 10 + i;
                     });
                   }));
                   if (!weft_test::spin_until([&] { return weft_test::in_weft_wait(hs.back()); }))
                     ++r.bad;
                 }
                 throw std::runtime_error("failed");
               });
             } catch (const std::runtime_error&) {
               hs[0].abort();  // woken by the abandon, not run yet
             }
             for (std::size_t i = 0; i < 3; ++i) {
               r.how[i] = weft_test::outcome_of([&] { (void)hs[i].join(); });
             }
             r.value = c.get() ? *c.get() : -1;
             r.ran0 = ran0;
             return r;
           })
        .join();
  });
  CHECK(o.bad == 0);
  CHECK(o.how[0] == "cancelled");
  CHECK_FALSE(o.ran0);
  CHECK(o.how[1] == "value");
  CHECK(o.how[2] == "value");
  CHECK((o.value == 11 || o.value == 12));  // whichever woken waiter ran first
}
