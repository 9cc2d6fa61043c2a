// SPDX-License-Identifier: MIT
// Tests of cancellation (docs/design.md section 6, cancelled.hpp): abort at a
// suspension point, unwinding, check_cancelled, delivery once.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "support/runtime_fixture.hpp"

using namespace std::chrono_literals;

static_assert(!std::is_base_of_v<std::exception, weft::cancelled>,
              "weft::cancelled must not be caught by catch (const std::exception&)");

TEST_CASE("cancel: abort of a sleeping fiber unwinds it and join reports cancelled",
          "[fibers][cancel]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers);
    std::atomic<int> unwound{0};
    std::atomic<bool> started{false}, after_sleep{false};
    struct outcome {
      bool cancelled = false, panic = true;
      std::string what;
      bool finished_after_join = false;
    };
    const outcome o = rt.block_on([&] {
      outcome r;
      auto h = weft::spawn_with({"sleeper"}, [&] {
        weft_test::on_destroy flag(unwound);
        started.store(true);
        weft::time::sleep(24h);
        after_sleep.store(true);
      });
      weft_test::spin_until([&] { return started.load(); });
      h.abort();
      try {
        h.join();
      } catch (const weft::join_error& e) {
        r.cancelled = e.is_cancelled();
        r.panic = e.is_panic();
        r.what = e.what();
      }
      return r;
    });
    CHECK(o.cancelled);
    CHECK_FALSE(o.panic);
    CHECK_THAT(o.what, Catch::Contains("'sleeper'") && Catch::Contains("cancelled"));
    CHECK(unwound.load() == 1);
    CHECK_FALSE(after_sleep.load());
  }
  leaks.finish();
}

TEST_CASE("cancel: abort of a fiber blocked in join of another fiber", "[fibers][cancel]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers);
    std::atomic<int> unwound{0};
    struct outcome {
      std::string joiner, target;
      bool joiner_caught_cancelled = false;
      bool target_valid = false, target_finished = true;
    };
    const outcome o = rt.block_on([&] {
      outcome r;
      std::atomic<bool> target_started{false}, joining{false};
      auto target = weft::spawn([&] {
        weft_test::on_destroy flag(unwound);
        target_started.store(true);
        weft::time::sleep(24h);
        return 1;
      });
      auto joiner = weft::spawn([&] {
        weft_test::on_destroy flag(unwound);
        joining.store(true);
        try {
          return target.join();
        } catch (const weft::cancelled&) {
          r.joiner_caught_cancelled = true;  // the joiner itself was cancelled
          throw;
        }
      });
      weft_test::spin_until([&] { return target_started.load() && joining.load(); });
      for (int i = 0; i < 10; ++i) weft::this_fiber::yield();
      joiner.abort();
      r.joiner = weft_test::outcome_of([&] { joiner.join(); });
      // The target was not affected and its handle is still usable.
      r.target_valid = target.valid();
      r.target_finished = target.is_finished();
      target.abort();
      r.target = weft_test::outcome_of([&] { target.join(); });
      return r;
    });
    CHECK(o.joiner == "cancelled");
    CHECK(o.joiner_caught_cancelled);
    CHECK(o.target_valid);
    CHECK_FALSE(o.target_finished);
    CHECK(o.target == "cancelled");
    CHECK(unwound.load() == 2);
  }
  leaks.finish();
}

TEST_CASE("cancel: a fiber aborted before it starts never runs", "[fibers][cancel]") {
  // Deterministic where the spawner keeps its worker until it joins.
  const int workers = GENERATE(0, 1);
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers);
    std::atomic<int> ran{0};
    const std::string res = rt.block_on([&] {
      auto h = weft::spawn([&] { ran.fetch_add(1); });
      h.abort();
      return weft_test::outcome_of([&] { h.join(); });
    });
    CHECK(res == "cancelled");
    CHECK(ran.load() == 0);
  }
  leaks.finish();
}

TEST_CASE("cancel: abort of a finished fiber changes nothing", "[fibers][cancel]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  const int v = rt.block_on([] {
    auto h = weft::spawn([] { return 13; });
    weft_test::spin_until([&] { return h.is_finished(); });
    h.abort();
    h.abort();
    return h.join();
  });
  CHECK(v == 13);
}

TEST_CASE("cancel: abort from a plain thread", "[fibers][cancel]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers);
    std::atomic<int> unwound{0};
    std::atomic<int> started{0};
    std::atomic<bool> handles_ready{false};
    std::vector<weft::join_handle<void>> hs;
    // A plain thread aborts fibers while the test thread joins them.
    std::thread aborter([&] {
      weft_test::spin_until([&] { return handles_ready.load() && started.load() == 20; });
      for (auto& h : hs) h.abort();
    });
    const int cancelled = rt.block_on([&] {
      for (int i = 0; i < 20; ++i) {
        hs.push_back(weft::spawn([&] {
          weft_test::on_destroy flag(unwound);
          started.fetch_add(1);
          weft::time::sleep(24h);
        }));
      }
      handles_ready.store(true);
      int n = 0;
      for (auto& h : hs) n += weft_test::outcome_of([&] { h.join(); }) == "cancelled";
      return n;
    });
    aborter.join();
    CHECK(cancelled == 20);
    CHECK(unwound.load() == 20);
  }
  leaks.finish();
}

TEST_CASE("cancel: check_cancelled interrupts a CPU loop", "[fibers][cancel]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers);
    std::atomic<long> iterations{0};
    std::atomic<bool> loop_done{false};
    std::atomic<int> unwound{0};
    std::optional<weft::join_handle<void>> target;
    std::atomic<bool> spawned{false};
    // The fiber never suspends, so on one worker nothing else runs: the
    // abort comes from a plain thread.
    std::thread aborter([&] {
      weft_test::spin_until([&] { return spawned.load() && iterations.load() > 1000; });
      target->abort();
    });
    struct outcome {
      std::string res;
      long uninterrupted = 0;
    };
    const outcome o = rt.block_on([&] {
      outcome r;
      // Not aborted: check_cancelled() is a no-op.
      r.uninterrupted = weft::spawn([] {
                          long n = 0;
                          for (int i = 0; i < 100000; ++i) {
                            weft::this_fiber::check_cancelled();
                            ++n;
                          }
                          return n;
                        }).join();
      target.emplace(weft::spawn([&] {
        weft_test::on_destroy flag(unwound);
        const auto give_up = std::chrono::steady_clock::now() + 20s;
        while (std::chrono::steady_clock::now() < give_up) {
          iterations.fetch_add(1);
          weft::this_fiber::check_cancelled();
        }
        loop_done.store(true);
      }));
      spawned.store(true);
      r.res = weft_test::outcome_of([&] { target->join(); });
      return r;
    });
    aborter.join();
    CHECK(o.uninterrupted == 100000);
    CHECK(o.res == "cancelled");
    CHECK(iterations.load() > 1000);
    CHECK_FALSE(loop_done.load());
    CHECK(unwound.load() == 1);
  }
  leaks.finish();
}

TEST_CASE("cancel: yield is a cancellation point", "[fibers][cancel]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers);
    std::atomic<long> yields{0};
    std::atomic<int> unwound{0};
    const std::string res = rt.block_on([&] {
      auto h = weft::spawn([&] {
        weft_test::on_destroy flag(unwound);
        for (;;) {
          weft::this_fiber::yield();
          yields.fetch_add(1);
        }
      });
      weft_test::spin_until([&] { return yields.load() > 100; });
      h.abort();
      return weft_test::outcome_of([&] { h.join(); });
    });
    CHECK(res == "cancelled");
    CHECK(unwound.load() == 1);
  }
  leaks.finish();
}

TEST_CASE("cancel: cancelled is not caught as a std::exception", "[fibers][cancel]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  std::atomic<bool> swallowed{false};
  std::atomic<bool> started{false};
  const std::string res = rt.block_on([&] {
    auto h = weft::spawn([&] {
      try {
        started.store(true);
        weft::time::sleep(24h);
      } catch (const std::exception&) {
        swallowed.store(true);
      }
    });
    weft_test::spin_until([&] { return started.load(); });
    h.abort();
    return weft_test::outcome_of([&] { h.join(); });
  });
  CHECK(res == "cancelled");
  CHECK_FALSE(swallowed.load());
}

namespace {
// waits_in_destructor sleeps and joins a fiber while being destroyed, the
// way RAII cleanup might during unwinding from weft::cancelled.
struct waits_in_destructor {
  std::atomic<int>& done;
  ~waits_in_destructor() {
    try {
      weft::time::sleep(1s);
      const int v = weft::spawn([] {
                      weft::time::sleep(1s);
                      return 2;
                    }).join();
      done.store(v);
    } catch (...) {
      done.store(-1);
    }
  }
};
}  // namespace

TEST_CASE("cancel: cancellation is delivered once, so destructors can still wait",
          "[fibers][cancel]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers, /*paused=*/true);
    std::atomic<int> done{0};
    struct outcome {
      std::string res;
      weft::time::duration took{};
      int swallowed_value = 0;
    };
    const outcome o = rt.block_on([&] {
      outcome r;
      std::atomic<bool> started{false};
      auto h = weft::spawn([&] {
        waits_in_destructor cleanup{done};
        started.store(true);
        weft::time::sleep(24h);
      });
      weft_test::spin_until([&] { return started.load(); });
      const auto t0 = weft::time::clock::now();
      h.abort();
      r.res = weft_test::outcome_of([&] { h.join(); });
      r.took = weft::time::clock::now() - t0;
      // A fiber that swallows cancelled (a user bug) is not cancelled again.
      std::atomic<bool> started2{false};
      auto g = weft::spawn([&] {
        try {
          started2.store(true);
          weft::time::sleep(24h);
        } catch (const weft::cancelled&) {
        }
        weft::time::sleep(1s);
        weft::this_fiber::check_cancelled();
        weft::this_fiber::yield();
        return 5;
      });
      weft_test::spin_until([&] { return started2.load(); });
      g.abort();
      r.swallowed_value = g.join();
      return r;
    });
    CHECK(o.res == "cancelled");
    CHECK(done.load() == 2);
    CHECK(o.took >= 2s);
    CHECK(o.swallowed_value == 5);
  }
  leaks.finish();
}

TEST_CASE("cancel: aborting many waiting fibers at once", "[fibers][cancel]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers);
    std::atomic<int> unwound{0}, started{0};
    constexpr int kFibers = 1000;
    const int cancelled = rt.block_on([&] {
      std::vector<weft::join_handle<int>> hs;
      for (int i = 0; i < kFibers; ++i) {
        hs.push_back(weft::spawn([&, i] {
          weft_test::on_destroy flag(unwound);
          started.fetch_add(1);
          // A mix of suspension points.
          if (i % 3 == 0) weft::time::sleep(24h);
          if (i % 3 == 1) {
            for (;;) weft::this_fiber::yield();
          }
          weft::spawn([] { weft::time::sleep(24h); }).join();  // its child is detached on unwind
          return i;
        }));
      }
      weft_test::spin_until([&] { return started.load() == kFibers; });
      for (auto& h : hs) h.abort();
      int n = 0;
      for (auto& h : hs) n += weft_test::outcome_of([&] { h.join(); }) == "cancelled";
      return n;
    });
    CHECK(cancelled == kFibers);
    CHECK(unwound.load() == kFibers);
  }
  leaks.finish();
}

TEST_CASE("cancel: cancelled says whether a timeout or an abort caused it", "[fibers][cancel]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers, /*paused=*/true);
  struct outcome {
    bool timeout_flag = false, abort_flag = true;
    std::string timeout_what, abort_what;
  };
  const outcome o = rt.block_on([] {
    outcome r;
    auto res = weft::time::timeout(1s, [&] {
      try {
        weft::time::sleep(1h);
      } catch (const weft::cancelled& c) {
        r.timeout_flag = c.from_timeout();
        r.timeout_what = c.what();
        throw;
      }
    });
    (void)res;
    std::atomic<bool> started{false};
    auto h = weft::spawn([&] {
      try {
        started.store(true);
        weft::time::sleep(1h);
      } catch (const weft::cancelled& c) {
        r.abort_flag = c.from_timeout();
        r.abort_what = c.what();
        throw;
      }
    });
    weft_test::spin_until([&] { return started.load(); });
    h.abort();
    (void)weft_test::outcome_of([&] { h.join(); });
    return r;
  });
  CHECK(o.timeout_flag);
  CHECK_FALSE(o.abort_flag);
  CHECK(o.timeout_what == std::string("weft: timeout elapsed"));
  CHECK(o.abort_what == std::string("weft: fiber cancelled"));
}
