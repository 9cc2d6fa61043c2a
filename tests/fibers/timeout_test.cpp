// SPDX-License-Identifier: MIT
// Tests of weft::time::timeout and timeout_at (time.hpp): expiry cancels the
// inner work, nesting, interaction with abort, CPU-bound work.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "support/runtime_fixture.hpp"

using namespace std::chrono_literals;
using weft::time::clock;

TEST_CASE("timeout: expiry cancels the inner work and reports errc::timeout", "[fibers][timeout]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers, /*paused=*/true);
    std::atomic<int> unwound{0};
    struct outcome {
      bool has_value = true;
      std::error_code error;
      bool after_sleep = false;
      clock::duration took{};
      int void_ok = 0;
    };
    const outcome o = rt.block_on([&] {
      outcome r;
      const auto t0 = clock::now();
      weft::result<int> res = weft::time::timeout(5s, [&] {
        weft_test::on_destroy flag(unwound);
        weft::time::sleep(10s);
        r.after_sleep = true;
        return 1;
      });
      r.took = clock::now() - t0;
      r.has_value = res.has_value();
      if (!res) r.error = res.error();
      // void work, and value() throwing std::system_error for exception users.
      weft::result<void> v = weft::time::timeout(1s, [] { weft::time::sleep(2s); });
      try {
        v.value();
      } catch (const std::system_error& e) {
        r.void_ok = e.code() == weft::errc::timeout ? 1 : 2;
      }
      return r;
    });
    CHECK_FALSE(o.has_value);
    CHECK(o.error == weft::errc::timeout);
    CHECK(o.error == std::errc::timed_out);
    CHECK(o.error.category() == weft::error_category());
    CHECK(unwound.load() == 1);
    CHECK_FALSE(o.after_sleep);
    CHECK(o.took == 5s);
    CHECK(o.void_ok == 1);
  }
  leaks.finish();
}

TEST_CASE("timeout: work that completes in time returns its value", "[fibers][timeout]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers, /*paused=*/true);
  struct outcome {
    int value = 0;
    std::string str;
    bool void_ok = false;
    clock::duration took{};
    bool later_sleep_ok = false;
  };
  const outcome o = rt.block_on([] {
    outcome r;
    const auto t0 = clock::now();
    auto a = weft::time::timeout(5s, [] {
      weft::time::sleep(1s);
      return 42;
    });
    r.value = a ? *a : -1;
    r.took = clock::now() - t0;
    auto b = weft::time::timeout_at(clock::now() + 1s, [] { return std::string("ok"); });
    r.str = b ? *b : "error";
    auto c = weft::time::timeout(1s, [] { weft::time::sleep(500ms); });
    r.void_ok = c.has_value();
    // The scope is gone: a longer sleep afterwards is not cut short.
    const auto t1 = clock::now();
    weft::time::sleep(10s);
    r.later_sleep_ok = clock::now() - t1 == 10s;
    return r;
  });
  CHECK(o.value == 42);
  CHECK(o.took == 1s);
  CHECK(o.str == "ok");
  CHECK(o.void_ok);
  CHECK(o.later_sleep_ok);
}

TEST_CASE("timeout: nested timeouts each report at their own level", "[fibers][timeout]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers, /*paused=*/true);
  struct outcome {
    // Inner shorter than outer.
    bool inner_timed_out = false, outer_ok = false;
    int outer_value = 0;
    clock::duration took1{};
    // Outer shorter than inner.
    bool outer_timed_out = false, inner_returned = false, after_inner = false;
    clock::duration took2{};
    // Inner fires, then the outer fires on a later wait.
    bool third_outer_timed_out = false, third_inner_timed_out = false;
    clock::duration took3{};
  };
  const outcome o = rt.block_on([] {
    outcome r;
    auto t0 = clock::now();
    auto outer = weft::time::timeout(10s, [&] {
      auto inner = weft::time::timeout(2s, [] {
        weft::time::sleep(1h);
        return 1;
      });
      r.inner_timed_out = !inner && inner.error() == weft::errc::timeout;
      weft::time::sleep(1s);
      return 7;
    });
    r.outer_ok = outer.has_value();
    r.outer_value = outer ? *outer : 0;
    r.took1 = clock::now() - t0;

    t0 = clock::now();
    auto outer2 = weft::time::timeout(2s, [&] {
      auto inner = weft::time::timeout(10s, [] {
        weft::time::sleep(1h);
        return 1;
      });
      // Not reached: the outer scope fired, so the inner timeout rethrows.
      r.inner_returned = true;
      r.after_inner = !inner;
      return 2;
    });
    r.outer_timed_out = !outer2 && outer2.error() == weft::errc::timeout;
    r.took2 = clock::now() - t0;

    t0 = clock::now();
    auto outer3 = weft::time::timeout(5s, [&] {
      auto inner = weft::time::timeout(1s, [] { weft::time::sleep(1h); });
      r.third_inner_timed_out = !inner;
      weft::time::sleep(1h);  // cut by the outer scope at 5 s
      return 3;
    });
    r.third_outer_timed_out = !outer3;
    r.took3 = clock::now() - t0;
    return r;
  });
  CHECK(o.inner_timed_out);
  CHECK(o.outer_ok);
  CHECK(o.outer_value == 7);
  CHECK(o.took1 == 3s);
  CHECK(o.outer_timed_out);
  CHECK_FALSE(o.inner_returned);
  CHECK_FALSE(o.after_inner);
  CHECK(o.took2 == 2s);
  CHECK(o.third_inner_timed_out);
  CHECK(o.third_outer_timed_out);
  CHECK(o.took3 == 5s);
}

TEST_CASE("timeout: an abort inside a timeout propagates as cancellation",
          "[fibers][timeout][cancel]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers);
    std::atomic<int> unwound{0};
    std::atomic<bool> timeout_returned{false};
    const std::string res = rt.block_on([&] {
      auto h = weft::spawn([&] {
        weft_test::on_destroy outer_flag(unwound);
        auto r = weft::time::timeout(1h, [&] {
          weft_test::on_destroy inner_flag(unwound);
          weft::time::sleep(2h);
        });
        timeout_returned.store(true);
        (void)r;
      });
      weft_test::spin_until([&] { return weft_test::in_weft_wait(h); });
      h.abort();
      return weft_test::outcome_of([&] { h.join(); });
    });
    CHECK(res == "cancelled");
    CHECK_FALSE(timeout_returned.load());
    CHECK(unwound.load() == 2);
  }
  leaks.finish();
}

TEST_CASE("timeout: a CPU loop is interrupted at check_cancelled", "[fibers][timeout]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers, /*paused=*/true);
  struct outcome {
    bool timed_out = false;
    int iterations = 0;
    bool no_wait_value = false;
  };
  const outcome o = rt.block_on([] {
    outcome r;
    auto res = weft::time::timeout(1s, [&] {
      for (;;) {
        ++r.iterations;
        if (r.iterations == 10) weft::time::advance(2s);  // the deadline passes
        weft::this_fiber::check_cancelled();
      }
    });
    r.timed_out = !res && res.error() == weft::errc::timeout;
    // Work with no suspension point is never interrupted, even if late.
    auto late = weft::time::timeout(0s, [] {
      weft::time::advance(1s);
      return 9;
    });
    r.no_wait_value = late && *late == 9;
    return r;
  });
  CHECK(o.timed_out);
  CHECK(o.iterations == 10);
  CHECK(o.no_wait_value);
}

TEST_CASE("timeout: a deadline already past times out at the first wait", "[fibers][timeout]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers, /*paused=*/true);
  struct outcome {
    bool zero = false, past = false, yield_cut = false;
    clock::duration moved{};
  };
  const outcome o = rt.block_on([] {
    outcome r;
    const auto t0 = clock::now();
    r.zero = !weft::time::timeout(0s, [] { weft::time::sleep(1ms); });
    r.past = !weft::time::timeout_at(t0 - 1s, [] { weft::time::sleep(1ms); });
    r.yield_cut = !weft::time::timeout(0s, [] { weft::this_fiber::yield(); });
    r.moved = clock::now() - t0;
    return r;
  });
  CHECK(o.zero);
  CHECK(o.past);
  CHECK(o.yield_cut);
  CHECK(o.moved == 0s);
}

TEST_CASE("timeout: exceptions thrown by the work propagate", "[fibers][timeout]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers, /*paused=*/true);
  const std::string what = rt.block_on([] {
    try {
      (void)weft::time::timeout(1s, []() -> int { throw std::runtime_error("inner failure"); });
      return std::string("no exception");
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
  });
  CHECK(what == "inner failure");
}

TEST_CASE("timeout: a timed-out join leaves the handle valid", "[fibers][timeout]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers, /*paused=*/true);
    struct outcome {
      bool timed_out = false, valid = false, finished = true;
      int value = 0;
    };
    const outcome o = rt.block_on([] {
      outcome r;
      auto task = weft::spawn([] {
        weft::time::sleep(10s);
        return 77;
      });
      auto j = weft::time::timeout(1s, [&] { return task.join(); });
      r.timed_out = !j;
      r.valid = task.valid();
      r.finished = task.is_finished();
      r.value = task.join();  // joined again, without a deadline: 9 s later
      return r;
    });
    CHECK(o.timed_out);
    CHECK(o.valid);
    CHECK_FALSE(o.finished);
    CHECK(o.value == 77);
  }
  leaks.finish();
}

TEST_CASE("timeout: works on a plain thread", "[fibers][timeout][timing]") {
  const auto t0 = std::chrono::steady_clock::now();
  auto res = weft::time::timeout(20ms, [] {
    weft::time::sleep(10s);
    return 1;
  });
  const auto took = std::chrono::steady_clock::now() - t0;
  CHECK_FALSE(res.has_value());
  CHECK(res.error() == weft::errc::timeout);
  CHECK(took >= 20ms);
  CHECK(took < 10s);
  auto ok = weft::time::timeout(10s, [] { return 5; });
  CHECK(ok.value() == 5);
}

TEST_CASE("timeout: many fibers with staggered timeouts each time out at their deadline",
          "[fibers][timeout]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers, /*paused=*/true);
    const std::string wrong = rt.block_on([] {
      std::vector<weft::join_handle<std::string>> hs;
      for (int i = 1; i <= 200; ++i) {
        hs.push_back(weft::spawn([i] {
          const auto t0 = clock::now();
          // Even i: the timeout wins; odd i: the sleep wins.
          const auto d = std::chrono::milliseconds(i);
          auto r = weft::time::timeout(d, [i] {
            weft::time::sleep(std::chrono::milliseconds(i % 2 == 0 ? 2 * i : i / 2));
            return i;
          });
          const auto took = clock::now() - t0;
          const bool ok = i % 2 == 0 ? (!r && took == d)
                                     : (r && *r == i && took == std::chrono::milliseconds(i / 2));
          if (ok) return std::string();
          return "i=" + std::to_string(i) + (r ? " value" : " timeout") + " after " +
                 std::to_string(
                     std::chrono::duration_cast<std::chrono::microseconds>(took).count()) +
                 "us; ";
        }));
      }
      std::string bad;
      for (auto& h : hs) bad += h.join();
      return bad;
    });
    CHECK(wrong == "");
  }
  leaks.finish();
}
