// SPDX-License-Identifier: MIT
// Tests of weft::builder, weft::runtime and weft::handle.
#include <pthread.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/runtime_fixture.hpp"

using namespace std::chrono_literals;

namespace {

struct custom_error : std::runtime_error {
  explicit custom_error(int c) : std::runtime_error("custom " + std::to_string(c)), code(c) {}
  int code;
};

// config_message() builds `b` and returns the config_error's message ("" if
// the build succeeded, "other" for any other exception).
std::string config_message(const weft::builder& b) {
  try {
    auto rt = b.build();
    return "";
  } catch (const weft::config_error& e) {
    return e.what();
  } catch (...) {
    return "other";
  }
}

}  // namespace

TEST_CASE("runtime: block_on returns the fiber's value", "[fibers][runtime]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers);
    CHECK(rt.block_on([] { return 42; }) == 42);
    CHECK(rt.block_on([](int a, int b) { return a * b; }, 6, 7) == 42);
    CHECK(rt.block_on([] { return std::string("weft"); }) == "weft");
    // block_on can be called again on the same runtime.
    int calls = 0;
    for (int i = 0; i < 10; ++i) rt.block_on([&calls] { ++calls; });
    CHECK(calls == 10);
  }
  leaks.finish();
}

TEST_CASE("runtime: block_on rethrows the fiber's original exception", "[fibers][runtime]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers);
    int code = 0;
    std::string what;
    try {
      rt.block_on([]() -> int { throw custom_error(17); });
    } catch (const weft::join_error&) {
      what = "join_error (wrong: block_on must rethrow the original)";
    } catch (const custom_error& e) {
      code = e.code;
      what = e.what();
    }
    CHECK(code == 17);
    CHECK(what == "custom 17");
    // A non-std exception type comes back as itself too.
    int thrown = 0;
    try {
      rt.block_on([] { throw 99; });
    } catch (int v) {
      thrown = v;
    }
    CHECK(thrown == 99);
    // The runtime is still usable afterwards.
    CHECK(rt.block_on([] { return 1; }) == 1);
  }
  leaks.finish();
}

TEST_CASE("runtime: builder rejects invalid settings with config_error", "[fibers][runtime]") {
  using weft::builder;
  CHECK_THAT(config_message(builder::multi_thread().worker_threads(1).stack_size(1000)),
             Catch::Contains("stack_size(1000)"));
  CHECK_THAT(config_message(builder::multi_thread().worker_threads(1).stack_size(1u << 30)),
             Catch::Contains("stack_size"));
  CHECK_THAT(config_message(builder::current_thread().stack_size(16 * 1024 - 1)),
             Catch::Contains("stack_size"));
  CHECK_THAT(
      config_message(builder::multi_thread().worker_threads(1).stack_size(64 * 1024 * 1024 + 1)),
      Catch::Contains("stack_size"));
  CHECK_THAT(config_message(builder::multi_thread().worker_threads(1).event_interval(0)),
             Catch::Contains("event_interval"));
  CHECK_THAT(config_message(builder::multi_thread().worker_threads(1).max_blocking_threads(0)),
             Catch::Contains("max_blocking_threads"));
  CHECK_THAT(config_message(builder::current_thread().max_blocking_threads(0)),
             Catch::Contains("max_blocking_threads"));
  CHECK_THAT(config_message(builder::multi_thread().worker_threads(1025)),
             Catch::Contains("worker_threads(1025)"));
  CHECK_THAT(config_message(builder::current_thread().worker_threads(2)),
             Catch::Contains("exactly one worker"));
  CHECK_THAT(config_message(builder::multi_thread().worker_threads(1).thread_name("")),
             Catch::Contains("thread_name"));
  CHECK_THAT(config_message(builder::multi_thread().worker_threads(1).blocking_keep_alive(-1ms)),
             Catch::Contains("blocking_keep_alive"));
  // config_error is an std::invalid_argument.
  CHECK_THROWS_AS(builder::current_thread().event_interval(0).build(), std::invalid_argument);
  // The limits themselves are accepted.
  CHECK(config_message(builder::current_thread().stack_size(16 * 1024)).empty());
  CHECK(config_message(builder::multi_thread().worker_threads(1).stack_size(64 * 1024 * 1024))
            .empty());
  CHECK(config_message(builder::multi_thread().worker_threads(1).event_interval(1)).empty());
}

// Regression: worker_threads(0) used to be taken as "one per core" (the
// unset default), so it never threw although build() documents
// "config_error for 0 workers". Found by this suite, fixed in runtime.cpp.
TEST_CASE("runtime: builder rejects worker_threads(0) with config_error",
          "[fibers][runtime][regression]") {
  CHECK_THAT(config_message(weft::builder::multi_thread().worker_threads(0)),
             Catch::Contains("worker_threads(0)"));
}

TEST_CASE("runtime: the default multi-thread builder starts one worker per core",
          "[fibers][runtime]") {
  auto rt = weft::builder::multi_thread().build();
  const std::size_t cores = std::max(1u, std::thread::hardware_concurrency());
  CHECK(rt.get_handle().worker_count() == cores);
  CHECK(rt.get_handle().metrics().workers == cores);
  CHECK(rt.block_on([] { return weft::handle::current().worker_count(); }) == cores);
}

TEST_CASE("runtime: handle::current() throws no_runtime_error on a plain thread",
          "[fibers][runtime]") {
  CHECK_THROWS_AS(weft::handle::current(), weft::no_runtime_error);
  CHECK_FALSE(weft::handle::try_current().has_value());
  CHECK_THROWS_AS(weft::spawn([] { return 1; }), weft::no_runtime_error);
  CHECK_THROWS_AS(weft::time::pause(), weft::no_runtime_error);
  // Also on a plain thread while a runtime exists, and after block_on returned.
  auto rt = weft_test::make_runtime(2);
  rt.block_on([] {});
  CHECK_THROWS_AS(weft::handle::current(), weft::no_runtime_error);
  bool threw = false;
  bool has_value = true;
  std::thread t([&] {
    try {
      (void)weft::handle::current();
    } catch (const weft::no_runtime_error&) {
      threw = true;
    }
    has_value = weft::handle::try_current().has_value();
  });
  t.join();
  CHECK(threw);
  CHECK_FALSE(has_value);
}

TEST_CASE("runtime: handle::current() inside a fiber is the running runtime", "[fibers][runtime]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers);
    struct seen {
      std::size_t outer_workers = 0, inner_workers = 0;
      bool try_current = false;
      bool same_core = false;
      int spawned_value = 0;
    };
    const seen s = rt.block_on([&rt] {
      seen r;
      weft::handle h = weft::handle::current();
      r.outer_workers = h.worker_count();
      r.try_current = weft::handle::try_current().has_value();
      r.same_core = &h.core() == &rt.get_handle().core();
      auto child = h.spawn([] { return weft::handle::current().worker_count(); });
      r.inner_workers = child.join();
      r.spawned_value = weft::spawn([] { return 5; }).join();
      return r;
    });
    const std::size_t expected = workers == 0 ? 1 : static_cast<std::size_t>(workers);
    CHECK(s.outer_workers == expected);
    CHECK(s.inner_workers == expected);
    CHECK(s.try_current);
    CHECK(s.same_core);
    CHECK(s.spawned_value == 5);
  }
  leaks.finish();
}

TEST_CASE("runtime: block_on from inside a fiber throws std::logic_error", "[fibers][runtime]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers);
    weft::handle h = rt.get_handle();
    const std::string outer = rt.block_on([h] {
      try {
        h.block_on([] { return 1; });
        return std::string("no exception");
      } catch (const std::logic_error& e) {
        return std::string("logic_error: ") + e.what();
      }
    });
    CHECK_THAT(outer, Catch::StartsWith("logic_error: ") && Catch::Contains("worker"));
    // From a spawned (not block_on) fiber as well.
    const bool inner = rt.block_on([h] {
      return weft::spawn([h] {
               try {
                 h.block_on([] {});
                 return false;
               } catch (const std::logic_error&) {
                 return true;
               }
             })
          .join();
    });
    CHECK(inner);
  }
  leaks.finish();
}

TEST_CASE("runtime: a current-thread runtime refuses block_on from another thread",
          "[fibers][runtime]") {
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(0);
    CHECK(rt.block_on([] { return 3; }) == 3);
    std::string error;
    std::thread other([&] {
      try {
        rt.block_on([] { return 4; });
        error = "none";
      } catch (const std::logic_error& e) {
        error = e.what();
      }
    });
    other.join();
    CHECK_THAT(error, Catch::Contains("current-thread"));
    // The owning thread still can.
    CHECK(rt.block_on([] { return 5; }) == 5);
  }
  leaks.finish();
}

TEST_CASE("runtime: a current-thread runtime runs fibers only inside block_on",
          "[fibers][runtime]") {
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(0);
    std::atomic<int> ran{0};
    auto early = rt.spawn([&ran] { return ran.fetch_add(1) + 100; });
    // Nothing runs this fiber until the thread enters block_on.
    std::this_thread::yield();
    CHECK(ran.load() == 0);
    CHECK_FALSE(early.is_finished());
    // A fiber spawned from another thread while block_on runs is run too.
    std::atomic<bool> go{false};
    std::optional<weft::join_handle<int>> from_thread;
    std::thread spawner([&] {
      weft_test::spin_until([&] { return go.load(); });
      from_thread.emplace(rt.get_handle().spawn([] { return 7; }));
      go.store(false);
    });
    const int sum = rt.block_on([&] {
      go.store(true);
      const bool spawned = weft_test::spin_until([&] { return !go.load(); });
      return early.join() + (spawned ? from_thread->join() : -1000);
    });
    spawner.join();
    CHECK(sum == 107);
    CHECK(ran.load() == 1);
  }
  leaks.finish();
}

TEST_CASE("runtime: metrics count spawned and live fibers", "[fibers][runtime]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers);
    const auto before = rt.get_handle().metrics();
    struct snapshot {
      std::uint64_t alive_while_parked = 0;
      std::uint64_t spawned = 0;
      bool drained = false;
    };
    const snapshot s = rt.block_on([] {
      snapshot r;
      std::atomic<bool> release{false};
      std::vector<weft::join_handle<void>> hs;
      for (int i = 0; i < 50; ++i) {
        hs.push_back(
            weft::spawn([&release] { weft_test::spin_until([&] { return release.load(); }); }));
      }
      // 50 fibers plus this block_on fiber.
      r.alive_while_parked = weft::handle::current().metrics().fibers_alive;
      release.store(true);
      for (auto& h : hs) h.join();
      r.spawned = weft::handle::current().metrics().fibers_spawned;
      // A joined fiber is counted out just after its joiner is woken.
      r.drained =
          weft_test::spin_until([] { return weft::handle::current().metrics().fibers_alive == 1; });
      return r;
    });
    CHECK(before.fibers_alive == 0);
    CHECK(s.alive_while_parked == 51);
    CHECK(s.spawned - before.fibers_spawned == 51);
    CHECK(s.drained);
    CHECK(rt.get_handle().metrics().workers ==
          (workers == 0 ? 1u : static_cast<std::size_t>(workers)));
  }
  leaks.finish();
}

TEST_CASE("runtime: a handle that outlives its runtime spawns cancelled tasks",
          "[fibers][runtime]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  std::optional<weft::handle> h;
  std::atomic<int> ran{0};
  {
    auto rt = weft_test::make_runtime(workers);
    h = rt.get_handle();
  }
  auto fiber = h->spawn([&ran] { return ran.fetch_add(1); });
  auto job = h->spawn_blocking([&ran] { return ran.fetch_add(1); });
  CHECK(fiber.is_finished());
  CHECK(weft_test::outcome_of([&] { fiber.join(); }) == "cancelled");
  CHECK(weft_test::outcome_of([&] { job.join(); }) == "cancelled");
  CHECK(ran.load() == 0);
  h.reset();
  leaks.finish();
}

TEST_CASE("runtime: moving a runtime keeps it and move-assigning shuts the old one down",
          "[fibers][runtime]") {
  weft_test::leak_check leaks;
  {
    std::atomic<int> unwound{0};
    std::atomic<bool> started{false};
    auto a = weft_test::make_runtime(2);
    auto b = weft_test::make_runtime(1);
    b.spawn([&] {
       weft_test::on_destroy flag(unwound);
       started.store(true);
       weft::time::sleep(24h);
     }).detach();
    REQUIRE(weft_test::spin_until([&] { return started.load(); }));
    weft::runtime c(std::move(a));
    CHECK(c.block_on([] { return 2; }) == 2);
    b = std::move(c);  // b's old runtime is shut down here
    CHECK(unwound.load() == 1);
    CHECK(b.block_on([] { return weft::handle::current().worker_count(); }) == 2);
  }
  leaks.finish();
}

TEST_CASE("runtime: a fiber of one runtime joins a task of another", "[fibers][runtime]") {
  weft_test::leak_check leaks;
  {
    auto left = weft_test::make_runtime(1);
    auto right = weft_test::make_runtime(2);
    weft::handle rh = right.get_handle();
    const int sum = left.block_on([rh] {
      int total = 0;
      std::vector<weft::join_handle<int>> hs;
      for (int i = 1; i <= 100; ++i) {
        hs.push_back(rh.spawn([i] {
          weft::this_fiber::yield();
          return i;
        }));
      }
      for (auto& h : hs) total += h.join();
      return total;
    });
    CHECK(sum == 5050);
  }
  leaks.finish();
}

TEST_CASE("runtime: worker threads carry the configured name", "[fibers][runtime]") {
  auto rt =
      weft::builder::multi_thread().worker_threads(2).thread_name("my-very-long-prefix").build();
  const std::string name = rt.block_on([] {
    char buf[32] = {};
    ::pthread_getname_np(::pthread_self(), buf, sizeof buf);
    return std::string(buf);
  });
  // At most 12 characters of the prefix, then "-<index>".
  CHECK((name == "my-very-long-0" || name == "my-very-long-1"));
}

namespace {
// use_stack() touches about `bytes` of stack through recursion.
__attribute__((noinline)) int use_stack(std::size_t bytes) {
  volatile char frame[4096];
  std::memset(const_cast<char*>(frame), 1, sizeof frame);
  if (bytes <= sizeof frame) return frame[7];
  return use_stack(bytes - sizeof frame) + frame[11];
}
}  // namespace

TEST_CASE("runtime: stack_size sets the usable fiber stack", "[fibers][runtime][stack]") {
  const int workers = GENERATE(0, 2);
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto b = workers == 0 ? weft::builder::current_thread()
                          : weft::builder::multi_thread().worker_threads(2);
    auto rt = b.stack_size(2 * 1024 * 1024).build();
    // 1 MiB of frames: far beyond the 128 KiB default, within 2 MiB.
    const int r =
        rt.block_on([] { return weft::spawn([] { return use_stack(1024 * 1024); }).join(); });
    CHECK(r > 0);
  }
  leaks.finish();
}
