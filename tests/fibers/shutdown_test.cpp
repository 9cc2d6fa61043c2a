// SPDX-License-Identifier: MIT
// Tests of runtime shutdown (runtime.hpp: ~runtime, shutdown_timeout): live
// fibers are cancelled and unwound, nothing is leaked, the destructor returns.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/runtime_fixture.hpp"

using namespace std::chrono_literals;

namespace {

// forever_waiters() starts fibers parked in every kind of weft wait that
// never ends by itself and returns how many fibers that makes; each fiber
// started here directly has an on_destroy on its stack. Call on a fiber.
int forever_waiters(std::atomic<int>& unwound, std::atomic<int>& started, int read_fd) {
  int n = 0;
  auto go = [&](auto&& body) {
    ++n;
    weft::spawn([&unwound, &started, body]() mutable {
      weft_test::on_destroy flag(unwound);
      started.fetch_add(1);
      body();
    }).detach();
  };
  for (int i = 0; i < 20; ++i) go([] { weft::time::sleep(24h); });
  // A chain of joins ending in a sleeper.
  go([] { weft::spawn([] { weft::spawn([] { weft::time::sleep(24h); }).join(); }).join(); });
  n += 2;  // the two inner fibers of the chain (not counted as started)
  go([] {
    weft::join_set<int> set;
    set.spawn([] {
      weft::time::sleep(24h);
      return 1;
    });
    (void)set.join_next();
  });
  ++n;  // the set's task
  go([read_fd] { (void)weft::this_fiber::wait_readable(read_fd); });
  go([] {
    for (;;) weft::this_fiber::yield();
  });
  go([] { (void)weft::time::timeout(24h, [] { weft::time::sleep(48h); }); });
  go([] {
    auto iv = weft::time::make_interval(1h);
    for (;;) (void)iv.tick();
  });
  return n;
}

}  // namespace

TEST_CASE("shutdown: destroying a runtime unwinds fibers that wait forever", "[fibers][shutdown]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  const bool paused = GENERATE(false, true);
  INFO(weft_test::flavour_name(workers) << (paused ? ", paused clock" : ""));
  weft_test::leak_check leaks;
  std::atomic<int> unwound{0}, started{0};
  int expected = 0;
  int outer = 0;
  {
    weft_test::pipe_fds p;
    REQUIRE(p.ok());
    {
      auto rt = weft_test::make_runtime(workers, paused);
      expected = rt.block_on([&] {
        const int n = forever_waiters(unwound, started, p.read_end());
        outer = n - 3;  // fibers started directly by forever_waiters
        weft_test::spin_until([&] { return started.load() == outer; });
        return n;
      });
      REQUIRE(started.load() == outer);
    }  // ~runtime: cancels and unwinds all of them
    // Only the fibers with an on_destroy count (not the chain's inner ones
    // or the set's task).
    CHECK(unwound.load() == outer);
  }
  CHECK(expected == outer + 3);
  leaks.finish();
}

TEST_CASE("shutdown: fibers spawned from a plain thread are unwound too", "[fibers][shutdown]") {
  const int workers = GENERATE(1, 4);
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  std::atomic<int> unwound{0}, started{0};
  std::vector<weft::join_handle<void>> hs;
  {
    auto rt = weft_test::make_runtime(workers);
    for (int i = 0; i < 100; ++i) {
      hs.push_back(rt.spawn([&] {
        weft_test::on_destroy flag(unwound);
        started.fetch_add(1);
        weft::time::sleep(24h);
      }));
    }
    REQUIRE(weft_test::spin_until([&] { return started.load() == 100; }));
  }
  CHECK(unwound.load() == 100);
  // The handles outlive the runtime: each reports cancelled.
  int cancelled = 0;
  for (auto& h : hs) cancelled += weft_test::outcome_of([&] { h.join(); }) == "cancelled";
  CHECK(cancelled == 100);
  leaks.finish();
}

TEST_CASE("shutdown: shutdown_timeout returns true when every fiber finishes",
          "[fibers][shutdown]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  std::atomic<int> unwound{0}, started{0};
  {
    auto rt = weft_test::make_runtime(workers);
    rt.block_on([&] {
      for (int i = 0; i < 50; ++i) {
        weft::spawn([&] {
          weft_test::on_destroy flag(unwound);
          started.fetch_add(1);
          weft::time::sleep(24h);
        }).detach();
      }
      weft_test::spin_until([&] { return started.load() == 50; });
    });
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(rt.shutdown_timeout(10s));
    CHECK(std::chrono::steady_clock::now() - t0 < 10s);
    CHECK(unwound.load() == 50);
    CHECK(rt.shutdown_timeout(10s));  // already down
  }
  leaks.finish();
}

TEST_CASE("shutdown: fibers spawned while shutting down start cancelled", "[fibers][shutdown]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  struct spawns_in_destructor {
    std::atomic<int>& late_ran;
    std::string& outcome;
    ~spawns_in_destructor() {
      auto h = weft::spawn([this] { late_ran.fetch_add(1); });
      outcome = weft_test::outcome_of([&] { h.join(); });
    }
  };
  std::atomic<int> late_ran{0};
  std::string outcome;
  {
    auto rt = weft_test::make_runtime(workers);
    rt.block_on([&] {
      std::atomic<bool> started{false};
      weft::spawn([&] {
        spawns_in_destructor d{late_ran, outcome};
        started.store(true);
        weft::time::sleep(24h);
      }).detach();
      weft_test::spin_until([&] { return started.load(); });
    });
  }
  CHECK(outcome == "cancelled");
  CHECK(late_ran.load() == 0);
  leaks.finish();
}

TEST_CASE("shutdown: a current-thread runtime never entered cancels its queued fibers",
          "[fibers][shutdown]") {
  weft_test::leak_check leaks;
  std::atomic<int> ran{0};
  std::vector<weft::join_handle<int>> hs;
  {
    auto rt = weft_test::make_runtime(0);
    for (int i = 0; i < 10; ++i) hs.push_back(rt.spawn([&ran] { return ran.fetch_add(1); }));
  }
  int cancelled = 0;
  for (auto& h : hs) cancelled += weft_test::outcome_of([&] { h.join(); }) == "cancelled";
  CHECK(cancelled == 10);
  CHECK(ran.load() == 0);
  leaks.finish();
}

TEST_CASE("shutdown: a plain thread blocked in join is released with cancelled",
          "[fibers][shutdown]") {
  weft_test::leak_check leaks;
  std::string outcome;
  std::thread joiner;
  {
    auto rt = weft_test::make_runtime(2);
    auto h = rt.spawn([] { weft::time::sleep(24h); });
    REQUIRE(weft_test::spin_until([&] { return weft_test::in_weft_wait(h); }));
    joiner = std::thread([&outcome, h = std::move(h)]() mutable {
      outcome = weft_test::outcome_of([&] { h.join(); });
    });
  }
  joiner.join();
  CHECK(outcome == "cancelled");
  leaks.finish();
}

TEST_CASE("shutdown: shutdown_timeout returns false when a fiber ignores cancellation",
          "[fibers][shutdown][slow][timing]") {
  // The stuck fiber's workers are detached and leaked on purpose (runtime.hpp),
  // so there is no fd check here.
  std::atomic<bool> stop{false}, started{false}, finished{false};
  auto rt = weft_test::make_runtime(2);
  rt.spawn([&] {
      started.store(true);
      while (!stop.load()) std::this_thread::yield();  // no weft call: not cancellable
      finished.store(true);
    }).detach();
  REQUIRE(weft_test::spin_until([&] { return started.load(); }));
  bool clean = true;
  const auto t0 = std::chrono::steady_clock::now();
  {
    WEFT_TEST_LSAN_DISABLER;  // the runtime's core is leaked on purpose
    clean = static_cast<bool>(rt.shutdown_timeout(100ms));
  }
  CHECK(std::chrono::steady_clock::now() - t0 >= 100ms);
  CHECK_FALSE(clean);
  CHECK_FALSE(finished.load());
  stop.store(true);
  CHECK(weft_test::spin_until([&] { return finished.load(); }));
}

TEST_CASE(
    "shutdown: a wait for a fiber swallowing cancellation names it through the log sink (issue 9)",
    "[fibers][shutdown][log][regression]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  std::mutex m;
  std::vector<std::string> records;
  std::atomic<bool> named{false};
  {
    auto b = workers == 0
                 ? weft::builder::current_thread()
                 : weft::builder::multi_thread().worker_threads(static_cast<std::size_t>(workers));
    auto rt =
        b.shutdown_report_interval(10ms)
            .log_sink([&](const weft::log_record& r) {
              std::lock_guard<std::mutex> lk(m);
              records.push_back(std::string(r.topic) + ": " + std::string(r.message));
              if (r.topic == "shutdown" && r.message.find("'stubborn'") != std::string_view::npos) {
                named = true;
              }
            })
            .build();
    rt.block_on([&] {
      weft::spawn_with({"stubborn"}, [&] {
        try {
          weft::time::sleep(24h);
        } catch (const weft::cancelled&) {
          // The user bug the docs name: carry on after cancellation, here
          // until shutdown said who keeps it waiting.
        }
        while (!named.load()) weft::this_fiber::yield();
      }).detach();
    });
  }  // ~runtime waits for "stubborn" and names it meanwhile
  CHECK(named.load());
  std::lock_guard<std::mutex> lk(m);
  REQUIRE_FALSE(records.empty());
  CHECK_THAT(records.front(), Catch::StartsWith("shutdown: shutdown is waiting for 1 task: ") &&
                                  Catch::Contains("weft::cancelled"));
}

TEST_CASE("shutdown: shutdown_timeout lists the fibers it gave up on (issue 9)",
          "[fibers][shutdown][regression]") {
  std::atomic<bool> stop{false}, started{false};
  weft::shutdown_result r;
  {
    auto rt = weft::builder::multi_thread().worker_threads(2).log_sink({}).build();
    rt.get_handle()
        .spawn_with({"spinner"},
                    [&] {
                      started = true;
                      while (!stop.load())
                        std::this_thread::yield();  // no weft call: not cancellable
                    })
        .detach();
    REQUIRE(weft_test::spin_until([&] { return started.load(); }));
    WEFT_TEST_LSAN_DISABLER;  // the runtime's core is leaked on purpose
    r = rt.shutdown_timeout(10ms);
  }
  CHECK_FALSE(r);
  REQUIRE(r.still_running.size() == 1);
  CHECK(r.still_running[0].name == "spinner");
  CHECK_FALSE(r.still_running[0].blocking);
  CHECK(r.still_running[0].id != 0);
  stop = true;
}
