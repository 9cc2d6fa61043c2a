// SPDX-License-Identifier: MIT
// Tests of weft::sync::semaphore (semaphore.hpp) and, through it, the batch
// semaphore that mutex and rwlock share: permits, FIFO order, fairness of
// acquire_many, close, deadlines, cancellation and a bound under stress.
#include "weft/sync/semaphore.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/runtime_fixture.hpp"
#include "sync/sync_test_support.hpp"

using namespace std::chrono_literals;
using weft::sync::semaphore;
using weft::time::clock;

TEST_CASE("semaphore: try_acquire takes free permits and reports empty and closed",
          "[sync][semaphore]") {
  semaphore s(3);
  CHECK(s.available_permits() == 3);
  {
    auto p = s.try_acquire_many(2);
    REQUIRE(p.has_value());
    CHECK(p->count() == 2);
    CHECK(s.available_permits() == 1);
    auto q = s.try_acquire_many(2);
    REQUIRE_FALSE(q.has_value());
    CHECK(q.error() == weft::errc::empty);
    auto r = s.try_acquire();
    REQUIRE(r.has_value());
    CHECK(s.available_permits() == 0);
    CHECK(s.try_acquire().error() == weft::errc::empty);
    r->release();
    CHECK(r->count() == 0);
    CHECK(s.available_permits() == 1);
    {
      weft::sync::semaphore_permit moved = std::move(*p);
      CHECK(p->count() == 0);
      CHECK(moved.count() == 2);
      CHECK(s.available_permits() == 1);
    }
    CHECK(s.available_permits() == 3);
  }
  {
    auto f = s.try_acquire();
    REQUIRE(f.has_value());
    f->forget();
  }
  CHECK(s.available_permits() == 2);
  s.add_permits(5);
  CHECK(s.available_permits() == 7);
  CHECK_THROWS_AS((void)s.try_acquire_many(semaphore::max_permits + 1), std::invalid_argument);
  CHECK_THROWS_AS((void)s.acquire_many(semaphore::max_permits + 1), std::invalid_argument);
  CHECK_THROWS_AS(semaphore(semaphore::max_permits + 1), std::invalid_argument);
  CHECK_THROWS_AS(s.add_permits(semaphore::max_permits), std::invalid_argument);
  auto zero = s.try_acquire_many(0);
  CHECK(zero.has_value());
  CHECK_FALSE(s.is_closed());
  s.close();
  CHECK(s.is_closed());
  CHECK(s.try_acquire().error() == weft::errc::closed);
  CHECK(s.acquire().error() == weft::errc::closed);
  CHECK(s.acquire_for(1s).error() == weft::errc::closed);
}

TEST_CASE("semaphore: waiters get permits in FIFO order", "[sync][semaphore]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers);
    constexpr int kWaiters = 8;
    std::vector<int> order;
    std::atomic<int> bad{0};
    rt.block_on([&] {
      semaphore s(1);
      auto held = s.acquire();
      if (!held) bad.fetch_add(1);
      std::atomic<int> next{0};
      std::vector<int> got(kWaiters, -1);
      std::vector<weft::join_handle<void>> hs;
      for (int i = 0; i < kWaiters; ++i) {
        hs.push_back(weft::spawn([&, i] {
          auto p = s.acquire();
          if (!p) bad.fetch_add(1);
          got[static_cast<std::size_t>(i)] = next.fetch_add(1);
        }));
        if (!weft_test::spin_until([&] { return weft_test::in_weft_wait(hs.back()); }))
          bad.fetch_add(1);
      }
      held->release();
      for (auto& h : hs) h.join();
      order = got;
    });
    CHECK(bad.load() == 0);
    for (int i = 0; i < kWaiters; ++i) CHECK(order[static_cast<std::size_t>(i)] == i);
  }
  leaks.finish();
}

TEST_CASE("semaphore: acquire_many at the head is not starved by later small requests",
          "[sync][semaphore]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  struct outcome {
    bool small_early = false;  // the small request got a permit before the big one
    std::size_t available_mid = 99;
    bool try_mid = true;
    int big_first = -1;
    int bad = 0;
  };
  const outcome o = rt.block_on([] {
    outcome r;
    semaphore s(0);
    std::atomic<int> seq{0};
    std::atomic<int> big_at{-1}, small_at{-1};
    auto big = weft::spawn([&] {
      auto p = s.acquire_many(3);
      big_at = seq.fetch_add(1);
      weft::this_fiber::yield();
    });
    if (!weft_test::spin_until([&] { return weft_test::in_weft_wait(big); })) ++r.bad;
    auto small = weft::spawn([&] {
      auto p = s.acquire();
      small_at = seq.fetch_add(1);
    });
    if (!weft_test::spin_until([&] { return weft_test::in_weft_wait(small); })) ++r.bad;
    s.add_permits(2);  // assigned to the big request, which still needs one more
    for (int i = 0; i < 50; ++i) weft::this_fiber::yield();
    r.small_early = small_at.load() != -1 || big_at.load() != -1;
    r.available_mid = s.available_permits();
    r.try_mid = static_cast<bool>(s.try_acquire());
    s.add_permits(1);
    big.join();
    small.join();
    r.big_first = big_at.load() == 0 && small_at.load() == 1 ? 1 : 0;
    if (s.available_permits() != 3) ++r.bad;
    return r;
  });
  CHECK_FALSE(o.small_early);
  CHECK(o.available_mid == 0);
  CHECK_FALSE(o.try_mid);
  CHECK(o.big_first == 1);
  CHECK(o.bad == 0);
}

TEST_CASE("semaphore: close wakes every waiter with errc::closed and keeps held permits valid",
          "[sync][semaphore]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  struct outcome {
    int closed = 0;
    int thread_closed = 0;
    std::size_t available_after = 0;
    int bad = 0;
  };
  const outcome o = rt.block_on([] {
    outcome r;
    semaphore s(2);
    auto held = s.acquire();
    std::atomic<int> closed{0};
    std::vector<weft::join_handle<void>> hs;
    for (int i = 0; i < 4; ++i) {
      hs.push_back(weft::spawn([&] {
        auto p = s.acquire_many(3);  // one is assigned to the first; all wait
        if (!p && p.error() == weft::errc::closed) closed.fetch_add(1);
      }));
      if (!weft_test::spin_until([&] { return weft_test::in_weft_wait(hs.back()); })) ++r.bad;
    }
    std::atomic<int> thread_closed{0};
    std::atomic<bool> thread_started{false};
    std::thread t([&] {
      thread_started = true;
      auto p = s.acquire_many(2);
      if (!p && p.error() == weft::errc::closed) thread_closed.fetch_add(1);
    });
    // The plain thread cannot be observed parked; close() racing with its
    // acquire is fine: before or after, it must see closed.
    if (!weft_test::spin_until([&] { return thread_started.load(); })) ++r.bad;
    s.close();
    for (auto& h : hs) h.join();
    t.join();
    held->release();
    r.closed = closed.load();
    r.thread_closed = thread_closed.load();
    r.available_after = s.available_permits();
    return r;
  });
  CHECK(o.closed == 4);
  CHECK(o.thread_closed == 1);
  CHECK(o.available_after == 2);  // the partly assigned permit came back too
  CHECK(o.bad == 0);
}

TEST_CASE("semaphore: acquire_for times out instantly on a paused clock and loses no permit",
          "[sync][semaphore][timeout]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers, /*paused=*/true);
  struct outcome {
    bool timed_out = false, until_timed_out = false, many_timed_out = false;
    clock::duration took{};
    bool next_got_it = false;
    std::size_t available = 0;
    int bad = 0;
  };
  const outcome o = rt.block_on([] {
    outcome r;
    semaphore s(1);
    {
      auto held = s.acquire();
      const auto t0 = clock::now();
      auto p = s.acquire_for(5s);
      r.took = clock::now() - t0;
      r.timed_out = !p && p.error() == weft::errc::timeout && p.error() == std::errc::timed_out;
      auto q = s.acquire_until(clock::now() + 1s);
      r.until_timed_out = !q && q.error() == weft::errc::timeout;
    }
    // The head asks for 3 and is assigned the 1 free permit; when it times
    // out that permit must go to the waiter queued behind it.
    std::atomic<bool> next{false};
    weft::join_handle<void> behind;
    auto head = weft::spawn([&] {
      auto p = s.acquire_many_for(3, 10s);
      r.many_timed_out = !p && p.error() == weft::errc::timeout;
    });
    if (!weft_test::spin_until([&] { return weft_test::in_weft_wait(head); })) ++r.bad;
    behind = weft::spawn([&] {
      auto p = s.acquire();
      next = static_cast<bool>(p);
    });
    head.join();
    behind.join();
    r.next_got_it = next.load();
    r.available = s.available_permits();
    return r;
  });
  CHECK(o.timed_out);
  CHECK(o.until_timed_out);
  CHECK(o.took >= 5s);
  CHECK(o.many_timed_out);
  CHECK(o.next_got_it);
  CHECK(o.available == 1);
  CHECK(o.bad == 0);
}

TEST_CASE("semaphore: a cancelled waiter gives back what it was assigned and the next proceeds",
          "[sync][semaphore][cancel]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers);
    struct outcome {
      std::string head_outcome;
      bool next_got_it = false;
      std::size_t available = 0;
      int unwound = 0;
      int bad = 0;
    };
    const outcome o = rt.block_on([] {
      outcome r;
      semaphore s(2);
      std::atomic<int> unwound{0};
      auto held = s.acquire();  // 1 left: assigned to the head below
      auto head = weft::spawn([&] {
        weft_test::on_destroy d(unwound);
        auto p = s.acquire_many(2);
      });
      if (!weft_test::spin_until([&] { return weft_test::in_weft_wait(head); })) ++r.bad;
      if (s.available_permits() != 0) ++r.bad;
      std::atomic<bool> next{false};
      // Bounded so that a lost permit fails the test instead of hanging it.
      auto behind = weft::spawn([&] { next = static_cast<bool>(s.acquire_for(10s)); });
      if (!weft_test::spin_until([&] { return weft_test::in_weft_wait(behind); })) ++r.bad;
      head.abort();
      r.head_outcome = weft_test::outcome_of([&] { head.join(); });
      behind.join();
      r.next_got_it = next.load();
      held->release();
      r.available = s.available_permits();
      r.unwound = unwound.load();
      return r;
    });
    CHECK(o.head_outcome == "cancelled");
    CHECK(o.next_got_it);
    CHECK(o.available == 2);
    CHECK(o.unwound == 1);
    CHECK(o.bad == 0);
  }
  leaks.finish();
}

TEST_CASE("semaphore: holders never exceed the permits under stress from fibers and threads",
          "[sync][semaphore]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  constexpr int kPermits = 3, kIters = 300;
  semaphore s(kPermits);
  weft_sync_test::high_water hw;
  std::atomic<int> errors{0}, done{0};
  weft_sync_test::run_mixed(rt, 24, 3, [&](int i) {
    for (int k = 0; k < kIters; ++k) {
      const std::size_t n = static_cast<std::size_t>(1 + (i + k) % 2);
      auto p = (k % 5 == 0) ? s.acquire_many_for(n, 10s) : s.acquire_many(n);
      if (!p) {
        errors.fetch_add(1);
        continue;
      }
      hw.enter(static_cast<int>(n));
      if (k % 3 == 0) weft::this_fiber::yield();
      hw.leave(static_cast<int>(n));
      done.fetch_add(1);
    }
  });
  CHECK(errors.load() == 0);
  CHECK(done.load() == 27 * kIters);
  CHECK(hw.max.load() <= kPermits);
  CHECK(hw.max.load() >= 1);
  CHECK(s.available_permits() == kPermits);
}

TEST_CASE("semaphore: a plain thread blocks until a fiber releases", "[sync][semaphore]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  semaphore s(0);
  std::atomic<bool> got{false};
  std::thread t([&] { got = static_cast<bool>(s.acquire()); });
  const bool queued = rt.block_on([&] {
    // The thread really is blocked in acquire() before the permit arrives.
    const bool q = weft_test::spin_until([&] { return s.waiter_count() == 1; });
    s.add_permits(1);
    return q;
  });
  t.join();
  CHECK(queued);
  CHECK(got.load());
  CHECK(s.available_permits() == 1);
}

TEST_CASE("semaphore: acquire_owned keeps the semaphore alive", "[sync][semaphore]") {
  auto s = std::make_shared<semaphore>(2);
  auto p = weft::sync::acquire_owned(s, 2);
  REQUIRE(p.has_value());
  CHECK(p->count() == 2);
  CHECK(weft::sync::try_acquire_owned(s).error() == weft::errc::empty);
  std::weak_ptr<semaphore> weak = s;
  s.reset();
  CHECK_FALSE(weak.expired());
  CHECK(p->owner()->available_permits() == 0);
  weft::sync::owned_semaphore_permit other = std::move(*p);
  other.release();
  CHECK(other.owner()->available_permits() == 2);
  other = weft::sync::owned_semaphore_permit();
  CHECK(weak.expired());
}

TEST_CASE("semaphore: a permit handed to a waiter aborted before it runs goes to the next one",
          "[sync][semaphore][cancel][regression]") {
  // Issue 9 (docs/sync/cancellation.md): cancellation wins, the permit moves on.
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  const std::size_t k = GENERATE(1, 3);  // acquire() and acquire_many(3)
  INFO("permits per waiter " << k);
  auto rt = weft_test::make_runtime(workers);
  semaphore s(0);
  const auto o = weft_sync_test::abort_the_chosen_waiter(
      rt, [&](int) { return s.acquire_many(k).value(); },
      [&](int step) {
        if (step == 0) s.add_permits(k);  // waiter 1 passes them on to waiter 2 when it lets go
      });
  WEFT_CHECK_CHOSEN_WAITER(o);
  CHECK(s.available_permits() == k);  // none leaked, none doubled
  CHECK(s.waiter_count() == 0);
}
