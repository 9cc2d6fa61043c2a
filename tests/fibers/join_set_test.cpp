// SPDX-License-Identifier: MIT
// Tests of weft::join_set (join_set.hpp): completion order, try_join_next,
// size, errors, abort_all and abort on destruction.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "support/runtime_fixture.hpp"

using namespace std::chrono_literals;

TEST_CASE("join_set: join_next yields results in completion order", "[fibers][join_set]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers, /*paused=*/true);
    struct outcome {
      std::vector<int> order;
      std::vector<std::size_t> sizes;
      bool empty_at_end = false, nullopt_at_end = false;
      bool empty_at_start = false;
    };
    const outcome o = rt.block_on([] {
      outcome r;
      weft::join_set<int> set;
      r.empty_at_start = set.empty();
      for (int ms : {30, 10, 40, 20, 50}) {
        set.spawn([ms] {
          weft::time::sleep(std::chrono::milliseconds(ms));
          return ms;
        });
      }
      r.sizes.push_back(set.size());
      while (auto v = set.join_next()) {
        r.order.push_back(*v);
        r.sizes.push_back(set.size());
      }
      r.empty_at_end = set.empty();
      r.nullopt_at_end = !set.join_next().has_value();
      return r;
    });
    CHECK(o.empty_at_start);
    CHECK(o.order == std::vector<int>{10, 20, 30, 40, 50});
    CHECK(o.sizes == std::vector<std::size_t>{5, 4, 3, 2, 1, 0});
    CHECK(o.empty_at_end);
    CHECK(o.nullopt_at_end);
  }
  leaks.finish();
}

TEST_CASE("join_set: try_join_next never waits", "[fibers][join_set]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers);
    struct outcome {
      bool empty_set_try = false, none_done_try = false;
      std::size_t size_while_running = 0;
      int first = 0, second = 0;
      bool drained = false;
    };
    const outcome o = rt.block_on([] {
      outcome r;
      weft::join_set<int> set;
      r.empty_set_try = !set.try_join_next().has_value();
      std::atomic<int> release{0};
      set.spawn([&release] {
        weft_test::spin_until([&] { return release.load() >= 1; });
        return 1;
      });
      set.spawn([&release] {
        weft_test::spin_until([&] { return release.load() >= 2; });
        return 2;
      });
      for (int i = 0; i < 50; ++i) weft::this_fiber::yield();
      r.none_done_try = !set.try_join_next().has_value();
      r.size_while_running = set.size();
      release.store(1);
      std::optional<int> v;
      weft_test::spin_until([&] { return (v = set.try_join_next()).has_value(); });
      r.first = v.value_or(-1);
      release.store(2);
      v.reset();
      weft_test::spin_until([&] { return (v = set.try_join_next()).has_value(); });
      r.second = v.value_or(-1);
      r.drained = set.empty() && !set.try_join_next().has_value();
      return r;
    });
    CHECK(o.empty_set_try);
    CHECK(o.none_done_try);
    CHECK(o.size_while_running == 2);
    CHECK(o.first == 1);
    CHECK(o.second == 2);
    CHECK(o.drained);
  }
  leaks.finish();
}

TEST_CASE("join_set: a panicked task is reported and the others still join", "[fibers][join_set]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers, /*paused=*/true);
  struct outcome {
    int values = 0, sum = 0, panics = 0;
    std::string nested;
    std::size_t size_after = 99;
  };
  const outcome o = rt.block_on([] {
    outcome r;
    weft::join_set<int> set;
    for (int i = 1; i <= 10; ++i) {
      set.spawn([i]() -> int {
        weft::time::sleep(std::chrono::milliseconds(i));
        if (i == 4 || i == 7) throw std::runtime_error("task " + std::to_string(i));
        return i;
      });
    }
    for (;;) {
      try {
        auto v = set.join_next();
        if (!v) break;
        ++r.values;
        r.sum += *v;
      } catch (const weft::join_error& e) {
        ++r.panics;
        try {
          e.rethrow_nested();
        } catch (const std::runtime_error& inner) {
          r.nested += inner.what();
          r.nested += ";";
        }
      }
    }
    r.size_after = set.size();
    return r;
  });
  CHECK(o.values == 8);
  CHECK(o.sum == 55 - 4 - 7);
  CHECK(o.panics == 2);
  CHECK(o.nested == "task 4;task 7;");
  CHECK(o.size_after == 0);
}

TEST_CASE("join_set: abort_all cancels every task", "[fibers][join_set][cancel]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers);
    std::atomic<int> unwound{0}, started{0};
    struct outcome {
      int cancelled = 0, values = 0, other = 0;
      std::size_t size_after_abort = 0;
    };
    constexpr int kTasks = 20;
    const outcome o = rt.block_on([&] {
      outcome r;
      weft::join_set<int> set;
      for (int i = 0; i < kTasks; ++i) {
        set.spawn([&, i] {
          weft_test::on_destroy flag(unwound);
          started.fetch_add(1);
          if (i % 2) {
            weft::time::sleep(24h);
          } else {
            for (;;) weft::this_fiber::yield();
          }
          return i;
        });
      }
      weft_test::spin_until([&] { return started.load() == kTasks; });
      set.abort_all();
      r.size_after_abort = set.size();  // they stay until joined
      for (;;) {
        try {
          if (!set.join_next()) break;
          ++r.values;
        } catch (const weft::join_error& e) {
          (e.is_cancelled() ? r.cancelled : r.other) += 1;
        }
      }
      return r;
    });
    CHECK(o.size_after_abort == kTasks);
    CHECK(o.cancelled == kTasks);
    CHECK(o.values == 0);
    CHECK(o.other == 0);
    CHECK(unwound.load() == kTasks);
  }
  leaks.finish();
}

TEST_CASE("join_set: destroying a join_set aborts its tasks", "[fibers][join_set][cancel]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers);
    std::atomic<int> unwound{0}, started{0}, finished{0};
    constexpr int kTasks = 10;
    const bool all_unwound = rt.block_on([&] {
      {
        weft::join_set<void> set;
        for (int i = 0; i < kTasks; ++i) {
          set.spawn([&] {
            weft_test::on_destroy flag(unwound);
            started.fetch_add(1);
            weft::time::sleep(24h);
            finished.fetch_add(1);
          });
        }
        // One more that completes before the set dies: simply released.
        set.spawn([&] { finished.fetch_add(100); });
        weft_test::spin_until([&] { return started.load() == kTasks && finished.load() == 100; });
      }  // ~join_set aborts the sleepers (without waiting for them)
      return weft_test::spin_until([&] { return unwound.load() == kTasks; });
    });
    CHECK(all_unwound);
    CHECK(unwound.load() == kTasks);
    CHECK(finished.load() == 100);
  }
  leaks.finish();
}

TEST_CASE("join_set: join_set<void> yields monostate", "[fibers][join_set]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  const int n = rt.block_on([] {
    weft::join_set<void> set;
    std::atomic<int> ran{0};
    for (int i = 0; i < 5; ++i) set.spawn([&ran] { ran.fetch_add(1); });
    int joined = 0;
    while (auto v = set.join_next()) {
      static_assert(std::is_same_v<std::decay_t<decltype(*v)>, std::monostate>);
      ++joined;
    }
    return joined * 10 + ran.load();
  });
  CHECK(n == 55);
}

TEST_CASE("join_set: a set bound to a handle is used from a plain thread", "[fibers][join_set]") {
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(2, /*paused=*/true);
    weft::join_set<int> set(rt.get_handle());
    // Between two spawns from this thread the runtime may be idle and
    // auto-advance its clock: the tasks start sleeping together, on `go`.
    std::atomic<bool> go{false};
    for (int i = 1; i <= 4; ++i) {
      set.spawn([i, &go] {
        weft_test::spin_until([&] { return go.load(); });
        weft::time::sleep(std::chrono::seconds(5 - i));
        return i;
      });
    }
    CHECK(set.size() == 4);
    go.store(true);
    std::vector<int> order;
    while (auto v = set.join_next()) order.push_back(*v);  // blocks the thread
    CHECK(order == std::vector<int>{4, 3, 2, 1});
    // Without a handle and outside a runtime there is nowhere to spawn.
    weft::join_set<int> unbound;
    CHECK_THROWS_AS(unbound.spawn([] { return 0; }), weft::no_runtime_error);
    CHECK(unbound.empty());
  }
  leaks.finish();
}

TEST_CASE("join_set: a fiber waiting in join_next can be aborted", "[fibers][join_set][cancel]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers);
    std::atomic<int> unwound{0};
    const std::string res = rt.block_on([&] {
      auto owner = weft::spawn([&] {
        weft_test::on_destroy owner_flag(unwound);
        weft::join_set<int> set;
        set.spawn([&] {
          weft_test::on_destroy task_flag(unwound);
          weft::time::sleep(24h);
          return 1;
        });
        return set.join_next().value_or(-1);
      });
      weft_test::spin_until([&] { return weft_test::in_weft_wait(owner); });
      owner.abort();
      auto r = weft_test::outcome_of([&] { owner.join(); });
      // The owner's set was destroyed while unwinding: its task was aborted.
      if (!weft_test::spin_until([&] { return unwound.load() == 2; })) r += " (task not unwound)";
      return r;
    });
    CHECK(res == "cancelled");
    CHECK(unwound.load() == 2);
  }
  leaks.finish();
}

TEST_CASE("join_set: many tasks joined in completion order", "[fibers][join_set]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers);
    constexpr int kTasks = 1000;
    const long long sum = rt.block_on([] {
      weft::join_set<long long> set;
      for (long long i = 0; i < kTasks; ++i) {
        set.spawn([i] {
          for (long long k = 0; k < i % 4; ++k) weft::this_fiber::yield();
          return i;
        });
      }
      long long s = 0;
      while (auto v = set.join_next()) s += *v;
      return s;
    });
    CHECK(sum == static_cast<long long>(kTasks) * (kTasks - 1) / 2);
  }
  leaks.finish();
}

TEST_CASE("join_set: many tasks joined in completion order (stress)",
          "[fibers][join_set][.stress]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  constexpr int kTasks = 100000;
  const long long sum = rt.block_on([] {
    weft::join_set<long long> set;
    for (long long i = 0; i < kTasks; ++i) {
      set.spawn([i] {
        weft::this_fiber::yield();
        return i;
      });
    }
    long long s = 0;
    while (auto v = set.join_next()) s += *v;
    return s;
  });
  CHECK(sum == static_cast<long long>(kTasks) * (kTasks - 1) / 2);
}

TEST_CASE("join_set: set_limit bounds how many members run at once", "[fibers][join_set]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers, /*paused=*/true);
    struct outcome {
      int peak = 0;
      long sum = 0;
      std::size_t joined = 0;
      std::size_t limit = 0;
    };
    const outcome o = rt.block_on([] {
      outcome r;
      std::atomic<int> running{0}, peak{0};
      weft::join_set<int> set;
      set.set_limit(8);
      r.limit = set.limit();
      for (int i = 0; i < 200; ++i) {
        set.spawn([&running, &peak, i] {
          const int now = running.fetch_add(1) + 1;
          int p = peak.load();
          while (now > p && !peak.compare_exchange_weak(p, now)) {
          }
          weft::time::sleep(std::chrono::milliseconds(1 + i % 5));
          running.fetch_sub(1);
          return i;
        });
        REQUIRE(set.running() <= 8);
      }
      while (auto v = set.join_next()) {
        r.sum += *v;
        ++r.joined;
      }
      r.peak = peak.load();
      return r;
    });
    CHECK(o.limit == 8);
    CHECK(o.peak <= 8);
    CHECK(o.peak >= 2);  // the limit is not a serialisation
    CHECK(o.joined == 200);
    CHECK(o.sum == 199L * 200 / 2);
  }
}

TEST_CASE("join_set: a spawn waiting at the limit is cancellable and starts nothing",
          "[fibers][join_set]") {
  weft_test::leak_check leaks;
  auto rt = weft_test::make_runtime(2, /*paused=*/true);
  const auto r = rt.block_on([] {
    std::atomic<int> started{0};
    weft::join_set<void> set;
    set.set_limit(1);
    set.spawn([&started] {
      started.fetch_add(1);
      weft::time::sleep(std::chrono::hours(1));
    });
    auto spawner = weft::spawn([&set, &started] {
      set.spawn([&started] { started.fetch_add(1); });  // waits: the limit is reached
      return true;
    });
    weft::time::sleep(std::chrono::milliseconds(10));
    const bool waited =
        weft::handle::current().dump().find("join_set::spawn (at its limit)") != std::string::npos;
    spawner.abort();
    bool cancelled = false;
    try {
      spawner.join();
    } catch (const weft::join_error& e) {
      cancelled = e.is_cancelled();
    }
    const int before = started.load();
    set.abort_all();
    while (true) {
      try {
        if (!set.join_next()) break;
      } catch (const weft::join_error&) {
      }
    }
    return std::make_tuple(waited, cancelled, before);
  });
  CHECK(std::get<0>(r));  // the spawn really waited at the limit
  CHECK(std::get<1>(r));
  CHECK(std::get<2>(r) == 1);
}

TEST_CASE("join_set: raising the limit lets a waiting spawn through", "[fibers][join_set]") {
  weft_test::leak_check leaks;
  auto rt = weft_test::make_runtime(2, /*paused=*/true);
  const auto r = rt.block_on([] {
    weft::join_set<int> set;
    set.set_limit(1);
    set.spawn([] {
      weft::time::sleep(std::chrono::hours(1));
      return 1;
    });
    auto spawner = weft::spawn([&set] {
      set.spawn([] { return 2; });
      return true;
    });
    weft::time::sleep(std::chrono::milliseconds(10));
    const bool waited =
        weft::handle::current().dump().find("join_set::spawn (at its limit)") != std::string::npos;
    set.set_limit(0);  // unbounded: the waiting spawn proceeds
    const bool spawned = spawner.join();
    const auto first = set.join_next();  // the quick one
    set.abort_all();
    return std::make_tuple(waited, spawned, first.value_or(0));
  });
  CHECK(std::get<0>(r));
  CHECK(std::get<1>(r));
  CHECK(std::get<2>(r) == 2);
}
