// SPDX-License-Identifier: MIT
// The held-lock report (docs/diagnostics.md "Common mistakes"): with the
// hook layer linked, a fiber that suspends while it holds a std::mutex,
// std::shared_mutex or pthread lock is reported once, naming the fiber,
// its spawn site and the wait; every such suspension is counted
// (runtime_metrics::held_lock_waits). Correct code (locks released before
// the wait, weft::sync::mutex held across one) is never reported.
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "hook_test_support.hpp"
#include "weft/fibers.hpp"
#include "weft/sync.hpp"

using namespace std::chrono_literals;

namespace {

struct held_log {
  std::mutex m;
  std::vector<std::string> lines;
  weft::log_callback sink() {
    return [this](const weft::log_record& r) {
      if (r.topic != "held-lock") return;
      std::lock_guard<std::mutex> lk(m);
      lines.emplace_back(r.message);
    };
  }
  std::vector<std::string> all() {
    std::lock_guard<std::mutex> lk(m);
    return lines;
  }
};

weft::runtime diagnosing_runtime(held_log& log, bool on = true) {
  return weft::builder::multi_thread()
      .worker_threads(2)
      .diagnostics(on)
      .log_sink(log.sink())
      .build();
}

}  // namespace

TEST_CASE("held lock: a fiber sleeping with a std::mutex held is reported once",
          "[hook][diagnostics]") {
  held_log log;
  auto rt = diagnosing_runtime(log);
  std::mutex m;
  rt.block_on([&] {
    weft::spawn_with({"holder"}, [&] {
      std::lock_guard<std::mutex> lk(m);
      weft::time::sleep(1ms);
      weft::time::sleep(1ms);  // counted again, not reported again
    }).join();
  });
  CHECK(rt.get_handle().metrics().held_lock_waits == 2);
  const auto lines = log.all();
  REQUIRE(lines.size() == 1);
  INFO(lines[0]);
  CHECK(lines[0].find("'holder'") != std::string::npos);
  CHECK(lines[0].find("held_lock_test.cpp") != std::string::npos);
  CHECK(lines[0].find("suspended in sleep") != std::string::npos);
  CHECK(lines[0].find("1 pthread lock ") != std::string::npos);
  CHECK(lines[0].find("weft::sync::mutex") != std::string::npos);
}

TEST_CASE("held lock: shared_mutex and a pthread trylock held across a hooked read are reported",
          "[hook][diagnostics]") {
  held_log log;
  auto rt = diagnosing_runtime(log);
  std::shared_mutex sm;
  pthread_mutex_t pm = PTHREAD_MUTEX_INITIALIZER;
  const auto [a, b] = hook_test::stream_pair();
  const auto [locked, got] = rt.block_on([&, a = a, b = b] {
    auto reader = weft::spawn_with({"reader"}, [&, a] {
      std::shared_lock<std::shared_mutex> lk(sm);
      const bool ok = pthread_mutex_trylock(&pm) == 0;
      char c = 0;
      const ssize_t n = ::read(a, &c, 1);  // parks: nothing written yet
      if (ok) pthread_mutex_unlock(&pm);
      return std::make_pair(ok, n);
    });
    // Write once the reader is parked in its read (it counted the wait
    // just before parking), so that the read really suspends.
    const auto give_up = std::chrono::steady_clock::now() + 10s;
    while (weft::handle::current().metrics().held_lock_waits == 0 &&
           std::chrono::steady_clock::now() < give_up) {
      weft::time::sleep(1ms);
    }
    (void)::write(b, "x", 1);
    return reader.join();
  });
  CHECK(locked);
  CHECK(got == 1);
  ::close(a);
  ::close(b);
  pthread_mutex_destroy(&pm);
  const auto lines = log.all();
  REQUIRE(lines.size() == 1);
  INFO(lines[0]);
  CHECK(lines[0].find("'reader'") != std::string::npos);
  CHECK(lines[0].find("2 pthread locks") != std::string::npos);
  CHECK(lines[0].find("hooked") != std::string::npos);
}

TEST_CASE("held lock: correct locking on many fibers is never reported", "[hook][diagnostics]") {
  held_log log;
  auto rt = diagnosing_runtime(log);
  std::mutex m;
  std::shared_mutex sm;
  long counter = 0;
  rt.block_on([&] {
    weft::sync::mutex wm;  // a fiber mutex may be held across a suspension
    std::vector<weft::join_handle<void>> hs;
    for (int i = 0; i < 200; ++i) {
      hs.push_back(weft::spawn([&, i] {
        for (int r = 0; r < 20; ++r) {
          {
            std::lock_guard<std::mutex> lk(m);
            ++counter;
          }
          { std::shared_lock<std::shared_mutex> lk(sm); }
          if (r % 5 == 0) {
            std::lock_guard<weft::sync::mutex> g(wm);
            weft::time::sleep(std::chrono::microseconds(100 + i));
          } else {
            weft::this_fiber::yield();
          }
        }
      }));
    }
    for (auto& h : hs) h.join();
  });
  CHECK(counter == 200 * 20);
  CHECK(rt.get_handle().metrics().held_lock_waits == 0);
  CHECK(log.all().empty());
}

TEST_CASE("held lock: with the mode off the wait is counted and not reported",
          "[hook][diagnostics]") {
  held_log log;
  auto rt = diagnosing_runtime(log, /*on=*/false);
  std::mutex m;
  rt.block_on([&] {
    weft::spawn([&] {
      std::lock_guard<std::mutex> lk(m);
      weft::time::sleep(1ms);
    }).join();
  });
  CHECK(rt.get_handle().metrics().held_lock_waits == 1);
  CHECK(log.all().empty());
}

TEST_CASE("held lock: a fiber that stays parked is still reported", "[hook][diagnostics]") {
  held_log log;
  auto rt = diagnosing_runtime(log);
  std::mutex m;
  const bool seen = rt.block_on([&] {
    auto stuck = weft::spawn_with({"stuck"}, [&] {
      std::lock_guard<std::mutex> lk(m);
      weft::time::sleep(1h);  // the deadlock a held lock leads to
    });
    const auto give_up = std::chrono::steady_clock::now() + 10s;
    bool found = false;
    while (!found && std::chrono::steady_clock::now() < give_up) {
      weft::time::sleep(1ms);
      found = !log.all().empty();
    }
    stuck.abort();
    try {
      stuck.join();
    } catch (const weft::join_error&) {
    }
    return found;
  });
  CHECK(seen);
  const auto lines = log.all();
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].find("'stuck'") != std::string::npos);
}
