// SPDX-License-Identifier: MIT
// Tests of weft::sync::mutex (mutex.hpp): std lock types, exact counts under
// contention from fibers and threads, holding across suspension, FIFO
// hand-off, deadlines and cancellation.
#include "weft/sync/mutex.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/runtime_fixture.hpp"
#include "sync/sync_test_support.hpp"

using namespace std::chrono_literals;
using weft::time::clock;

TEST_CASE("mutex: lock try_lock unlock work with the std lock types", "[sync][mutex]") {
  weft::sync::mutex m;
  CHECK(m.try_lock());
  CHECK_FALSE(m.try_lock());
  CHECK_FALSE(m.try_lock_for(1ms));
  CHECK_FALSE(m.try_lock_until(std::chrono::steady_clock::now() + 1ms));
  m.unlock();
  {
    std::lock_guard<weft::sync::mutex> g(m);
    CHECK_FALSE(m.try_lock());
  }
  {
    std::unique_lock<weft::sync::mutex> lk(m, std::chrono::milliseconds(10));
    CHECK(lk.owns_lock());
    std::unique_lock<weft::sync::mutex> other(m, std::try_to_lock);
    CHECK_FALSE(other.owns_lock());
  }
  weft::sync::mutex m2;
  {
    std::scoped_lock both(m, m2);
    CHECK_FALSE(m.try_lock());
    CHECK_FALSE(m2.try_lock());
  }
  CHECK(m.try_lock());
  m.unlock();
}

TEST_CASE("mutex: a counter is exact with fibers and plain threads contending", "[sync][mutex]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  constexpr int kFibers = 32, kThreads = 3, kIters = 500;
  weft::sync::mutex m;
  long counter = 0;  // plain: only the mutex protects it
  weft_sync_test::high_water inside;
  weft_sync_test::run_mixed(rt, kFibers, kThreads, [&](int i) {
    for (int k = 0; k < kIters; ++k) {
      if ((i + k) % 7 == 0) {
        // Threads spin on try_lock; fibers fall back to lock() (fibers that
        // spin with yield() are the regression test below).
        if (i < kThreads) {
          while (!m.try_lock()) std::this_thread::yield();
        } else if (!m.try_lock()) {
          m.lock();
        }
      } else if ((i + k) % 7 == 1) {
        while (!m.try_lock_for(1ms)) {
        }
      } else {
        m.lock();
      }
      inside.enter();
      const long v = counter;
      if (k % 50 == 0) weft::this_fiber::yield();
      counter = v + 1;
      inside.leave();
      m.unlock();
    }
  });
  CHECK(counter == long{kFibers + kThreads} * kIters);
  CHECK(inside.max.load() == 1);
}

TEST_CASE("mutex: may be held across yield and sleep", "[sync][mutex]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers, /*paused=*/true);
  weft::sync::mutex m;
  weft_sync_test::high_water inside;
  std::atomic<int> done{0};
  rt.block_on([&] {
    std::vector<weft::join_handle<void>> hs;
    for (int i = 0; i < 16; ++i) {
      hs.push_back(weft::spawn([&, i] {
        for (int k = 0; k < 20; ++k) {
          std::unique_lock<weft::sync::mutex> lk(m);
          inside.enter();
          if ((i + k) % 2) {
            weft::this_fiber::yield();
          } else {
            weft::time::sleep(1ms);
          }
          inside.leave();
          done.fetch_add(1);
        }
      }));
    }
    for (auto& h : hs) h.join();
  });
  CHECK(done.load() == 16 * 20);
  CHECK(inside.max.load() == 1);
}

TEST_CASE("mutex: waiters get the lock in FIFO order and unlock cannot barge", "[sync][mutex]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  constexpr int kWaiters = 8;
  struct outcome {
    std::vector<int> order;
    bool relock_barged = true;
    int bad = 0;
  };
  const outcome o = rt.block_on([] {
    outcome r;
    weft::sync::mutex m;
    m.lock();
    std::vector<int> order;  // appended under m
    std::vector<weft::join_handle<void>> hs;
    for (int i = 0; i < kWaiters; ++i) {
      hs.push_back(weft::spawn([&, i] {
        std::lock_guard<weft::sync::mutex> g(m);
        order.push_back(i);
      }));
      if (!weft_test::spin_until([&] { return weft_test::in_weft_wait(hs.back()); })) ++r.bad;
    }
    m.unlock();
    // The lock was handed to waiter 0: the unlocker cannot take it back.
    r.relock_barged = m.try_lock();
    if (r.relock_barged) m.unlock();
    for (auto& h : hs) h.join();
    r.order = order;
    return r;
  });
  CHECK(o.bad == 0);
  CHECK_FALSE(o.relock_barged);
  REQUIRE(o.order.size() == kWaiters);
  for (int i = 0; i < kWaiters; ++i) CHECK(o.order[static_cast<std::size_t>(i)] == i);
}

TEST_CASE("mutex: try_lock_for times out instantly on a paused clock", "[sync][mutex][timeout]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers, /*paused=*/true);
  struct outcome {
    bool for_failed = false, until_failed = false, later_ok = false;
    clock::duration took{};
  };
  const outcome o = rt.block_on([] {
    outcome r;
    weft::sync::mutex m;
    m.lock();
    auto other = weft::spawn([&] {
      const auto t0 = clock::now();
      r.for_failed = !m.try_lock_for(5s);
      r.took = clock::now() - t0;
      r.until_failed = !m.try_lock_until(clock::now() + 2s);
    });
    other.join();
    m.unlock();
    auto later = weft::spawn([&] {
      r.later_ok = m.try_lock_for(5s);
      if (r.later_ok) m.unlock();
    });
    later.join();
    return r;
  });
  CHECK(o.for_failed);
  CHECK(o.until_failed);
  CHECK(o.took >= 5s);
  CHECK(o.later_ok);
}

TEST_CASE("mutex: a cancelled waiter holds nothing and the next waiter proceeds",
          "[sync][mutex][cancel]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers);
    struct outcome {
      std::string cancelled_outcome, holder_outcome;
      bool next_got_it = false, free_after = false;
      int bad = 0;
    };
    const outcome o = rt.block_on([] {
      outcome r;
      weft::sync::mutex m;
      m.lock();
      auto victim = weft::spawn([&] { std::lock_guard<weft::sync::mutex> g(m); });
      if (!weft_test::spin_until([&] { return weft_test::in_weft_wait(victim); })) ++r.bad;
      std::atomic<bool> next{false};
      auto behind = weft::spawn([&] {
        std::lock_guard<weft::sync::mutex> g(m);
        next = true;
      });
      if (!weft_test::spin_until([&] { return weft_test::in_weft_wait(behind); })) ++r.bad;
      victim.abort();
      r.cancelled_outcome = weft_test::outcome_of([&] { victim.join(); });
      m.unlock();
      behind.join();
      r.next_got_it = next.load();
      // A holder cancelled while parked elsewhere releases the lock by RAII.
      auto holder = weft::spawn([&] {
        std::lock_guard<weft::sync::mutex> g(m);
        weft::time::sleep(1h);
      });
      if (!weft_test::spin_until([&] { return weft_test::in_weft_wait(holder); })) ++r.bad;
      holder.abort();
      r.holder_outcome = weft_test::outcome_of([&] { holder.join(); });
      r.free_after = m.try_lock();
      if (r.free_after) m.unlock();
      return r;
    });
    CHECK(o.cancelled_outcome == "cancelled");
    CHECK(o.holder_outcome == "cancelled");
    CHECK(o.next_got_it);
    CHECK(o.free_after);
    CHECK(o.bad == 0);
  }
  leaks.finish();
}

// Regression (issue 3, found by this file): worker::pick() read the shared
// queue when (ticks_ & 63) == 0, but the dispatcher's 32-pick turn could fall
// on the same tick forever, so with fibers yielding in a loop a fiber woken
// from a plain thread (pushed to the shared queue) never ran. The shared
// queue now has its own countdown (fibers/src/worker.cpp).
TEST_CASE("mutex: fibers spinning on try_lock with yield do not starve a woken waiter",
          "[sync][mutex][regression]") {
  auto rt = weft_test::make_runtime(0);
  constexpr int kFibers = 32, kThreads = 3, kIters = 500;
  weft::sync::mutex m;
  long counter = 0;
  std::atomic<int> gave_up{0};
  weft_sync_test::run_mixed(rt, kFibers, kThreads, [&](int i) {
    for (int k = 0; k < kIters; ++k) {
      if ((i + k) % 7 == 0) {
        if (!weft_test::spin_until([&] { return m.try_lock(); }, std::chrono::seconds(5))) {
          gave_up.fetch_add(1);
          m.lock();
        }
      } else {
        m.lock();
      }
      const long v = counter;
      if (k % 50 == 0) weft::this_fiber::yield();
      counter = v + 1;
      m.unlock();
    }
  });
  CHECK(counter == long{kFibers + kThreads} * kIters);
  CHECK(gave_up.load() == 0);
}

TEST_CASE("mutex: the lock handed to a waiter aborted before it runs goes to the next one",
          "[sync][mutex][cancel][regression]") {
  // Issue 9 (docs/sync/cancellation.md): cancellation wins, the lock moves on.
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  weft::sync::mutex m;
  m.lock();
  const auto o = weft_sync_test::abort_the_chosen_waiter(
      rt, [&](int) { return std::unique_lock<weft::sync::mutex>(m); },
      [&](int step) {
        if (step == 0) m.unlock();
      });
  WEFT_CHECK_CHOSEN_WAITER(o);
  CHECK(m.try_lock());  // free exactly once
  CHECK_FALSE(m.try_lock());
  m.unlock();
}
