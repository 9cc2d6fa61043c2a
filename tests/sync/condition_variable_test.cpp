// SPDX-License-Identifier: MIT
// Tests of weft::sync::condition_variable and condition_variable_any
// (condition_variable.hpp): no lost wake-ups between producers and
// consumers on fibers and threads, FIFO notify_one, notify_all, deadlines
// and cancellation (lock re-taken, notification passed on).
#include "weft/sync/condition_variable.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/runtime_fixture.hpp"
#include "sync/sync_test_support.hpp"

using namespace std::chrono_literals;
using weft::time::clock;

namespace {

// queue_state is a bounded producer/consumer queue guarded by Mutex.
template <class Mutex, class Cv>
struct queue_state {
  Mutex m;
  Cv not_empty, not_full;
  std::deque<int> q;
  static constexpr std::size_t kCap = 4;
  long sum = 0;
  int consumed = 0;

  void produce(int v) {
    std::unique_lock<Mutex> lk(m);
    not_full.wait(lk, [&] { return q.size() < kCap; });
    q.push_back(v);
    not_empty.notify_one();
  }
  // consume() returns false on the end marker (-1).
  bool consume() {
    std::unique_lock<Mutex> lk(m);
    not_empty.wait(lk, [&] { return !q.empty(); });
    const int v = q.front();
    q.pop_front();
    not_full.notify_one();
    if (v < 0) return false;
    sum += v;
    ++consumed;
    return true;
  }
};

template <class Mutex, class Cv>
void producer_consumer(weft::runtime& rt, int fibers, int threads) {
  queue_state<Mutex, Cv> s;
  constexpr int kItems = 400;
  const int producers = (fibers + threads) / 2, consumers = fibers + threads - producers;
  std::atomic<int> producers_done{0};
  weft_sync_test::run_mixed(rt, fibers, threads, [&](int i) {
    if (i % 2 == 0 && i / 2 < producers) {
      for (int k = 1; k <= kItems; ++k) s.produce(k);
      if (producers_done.fetch_add(1) + 1 == producers) {
        for (int c = 0; c < consumers; ++c) s.produce(-1);
      }
    } else {
      while (s.consume()) {
      }
    }
  });
  CHECK(s.consumed == producers * kItems);
  CHECK(s.sum == long{producers} * kItems * (kItems + 1) / 2);
  CHECK(s.q.empty());
}

}  // namespace

TEST_CASE("condition_variable: producers and consumers on fibers lose no wake-up",
          "[sync][condition_variable]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  producer_consumer<weft::sync::mutex, weft::sync::condition_variable>(rt, 8, 0);
  producer_consumer<weft::sync::mutex, weft::sync::condition_variable>(rt, 6, 2);
  producer_consumer<weft::sync::mutex, weft::sync::condition_variable_any>(rt, 6, 2);
}

TEST_CASE("condition_variable: condition_variable_any with std::mutex on plain threads",
          "[sync][condition_variable]") {
  auto rt = weft_test::make_runtime(1);
  producer_consumer<std::mutex, weft::sync::condition_variable_any>(rt, 0, 6);
}

TEST_CASE("condition_variable: notify_one wakes waiters in FIFO order and notify_all wakes all",
          "[sync][condition_variable]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  struct outcome {
    std::vector<int> order;
    int all_woken = 0, bad = 0;
  };
  const outcome o = rt.block_on([] {
    outcome r;
    weft::sync::mutex m;
    weft::sync::condition_variable cv;
    std::vector<int> order;  // under m
    std::vector<weft::join_handle<void>> hs;
    for (int i = 0; i < 5; ++i) {
      hs.push_back(weft::spawn([&, i] {
        std::unique_lock<weft::sync::mutex> lk(m);
        cv.wait(lk);
        order.push_back(i);
      }));
      if (!weft_test::spin_until([&] { return weft_test::in_weft_wait(hs.back()); })) ++r.bad;
    }
    for (int i = 0; i < 5; ++i) {
      cv.notify_one();
      // Let the woken one record itself before the next notify.
      if (!weft_test::spin_until([&] {
            std::lock_guard<weft::sync::mutex> g(m);
            return order.size() == static_cast<std::size_t>(i + 1);
          })) {
        ++r.bad;
      }
    }
    for (auto& h : hs) h.join();
    r.order = order;
    std::atomic<int> woken{0};
    hs.clear();
    for (int i = 0; i < 6; ++i) {
      hs.push_back(weft::spawn([&] {
        std::unique_lock<weft::sync::mutex> lk(m);
        cv.wait(lk);
        woken.fetch_add(1);
      }));
      if (!weft_test::spin_until([&] { return weft_test::in_weft_wait(hs.back()); })) ++r.bad;
    }
    cv.notify_all();
    for (auto& h : hs) h.join();
    r.all_woken = woken.load();
    return r;
  });
  CHECK(o.bad == 0);
  CHECK(o.order == std::vector<int>{0, 1, 2, 3, 4});
  CHECK(o.all_woken == 6);
}

TEST_CASE("condition_variable: wait_for and wait_until time out on a paused clock holding the lock",
          "[sync][condition_variable][timeout]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers, /*paused=*/true);
  struct outcome {
    bool status_timeout = false, pred_false = false, until_timeout = false, owns = false;
    bool any_timeout = false, pred_true = false;
    clock::duration took{};
  };
  const outcome o = rt.block_on([] {
    outcome r;
    weft::sync::mutex m;
    weft::sync::condition_variable cv;
    weft::sync::condition_variable_any cva;
    std::unique_lock<weft::sync::mutex> lk(m);
    const auto t0 = clock::now();
    r.status_timeout = cv.wait_for(lk, 5s) == std::cv_status::timeout;
    r.took = clock::now() - t0;
    r.pred_false = !cv.wait_for(lk, 1s, [] { return false; });
    r.until_timeout = cv.wait_until(lk, clock::now() + 1s) == std::cv_status::timeout;
    r.any_timeout = !cva.wait_until(lk, clock::now() + 1s, [] { return false; });
    r.pred_true = cv.wait_for(lk, 1s, [] { return true; });
    r.owns = lk.owns_lock() && !m.try_lock();
    return r;
  });
  CHECK(o.status_timeout);
  CHECK(o.took >= 5s);
  CHECK(o.pred_false);
  CHECK(o.until_timeout);
  CHECK(o.any_timeout);
  CHECK(o.pred_true);
  CHECK(o.owns);
}

TEST_CASE("condition_variable: a cancelled waiter re-locks and the notify goes to the next one",
          "[sync][condition_variable][cancel]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers);
    struct outcome {
      std::string victim;
      bool victim_held_on_unwind = false, next_woken = false, free_after = false;
      int bad = 0;
    };
    const outcome o = rt.block_on([] {
      outcome r;
      weft::sync::mutex m;
      weft::sync::condition_variable cv;
      bool ready = false;  // under m
      std::atomic<bool> held_on_unwind{false};
      auto victim = weft::spawn([&] {
        std::unique_lock<weft::sync::mutex> lk(m);
        try {
          cv.wait(lk, [&] { return ready; });
        } catch (...) {
          held_on_unwind = lk.owns_lock();
          throw;
        }
      });
      if (!weft_test::spin_until([&] { return weft_test::in_weft_wait(victim); })) ++r.bad;
      std::atomic<bool> next{false};
      auto behind = weft::spawn([&] {
        std::unique_lock<weft::sync::mutex> lk(m);
        cv.wait(lk, [&] { return ready; });
        next = true;
      });
      if (!weft_test::spin_until([&] { return weft_test::in_weft_wait(behind); })) ++r.bad;
      {
        // Hold the mutex so the victim must re-lock it while unwinding.
        std::unique_lock<weft::sync::mutex> lk(m);
        victim.abort();  // its cancellation claim wins: it can no longer take a notify
        ready = true;
        cv.notify_one();  // so this one must reach `behind`
      }
      r.victim = weft_test::outcome_of([&] { victim.join(); });
      behind.join();
      r.victim_held_on_unwind = held_on_unwind.load();
      r.next_woken = next.load();
      r.free_after = m.try_lock();
      if (r.free_after) m.unlock();
      return r;
    });
    CHECK(o.victim == "cancelled");
    CHECK(o.victim_held_on_unwind);
    CHECK(o.next_woken);
    CHECK(o.free_after);
    CHECK(o.bad == 0);
  }
  leaks.finish();
}

TEST_CASE("condition_variable: an abort that races the notify leaves the lock held once",
          "[sync][condition_variable][cancel]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers);
    struct outcome {
      std::string victim;
      bool reached = false, first_try = false, second_try = true, rw_reached = false;
      int bad = 0;
    };
    const outcome o = rt.block_on([] {
      outcome r;
      weft::sync::mutex m;
      weft::sync::condition_variable_any cv;
      bool ready = false;  // under m
      std::atomic<bool> reached{false};
      auto victim = weft::spawn([&] {
        std::lock_guard<weft::sync::mutex> g(m);  // unlocks m once, at unwind
        cv.wait(m, [&] { return ready; });
        reached = true;
        weft::time::sleep(std::chrono::hours(1));  // the abort is delivered here
      });
      if (!weft_test::spin_until([&] { return weft_test::in_weft_wait(victim); })) ++r.bad;
      m.lock();
      ready = true;
      cv.notify_one();  // wins the victim's waiter first; the abort then wins
      victim.abort();   // at the wait if the victim has not run yet, else at its sleep
      // Keep m until the victim queued for it again: re-locking must not be
      // where the abort is delivered (a broken lock finishes the victim).
      (void)weft_test::spin_until([&] { return m.waiter_count() == 1 || victim.is_finished(); });
      m.unlock();
      r.victim = weft_test::outcome_of([&] { victim.join(); });
      r.reached = reached.load();
      // Exactly one unlock happened: the mutex is free, and taking it once
      // leaves it taken (a double unlock would have left two permits).
      r.first_try = m.try_lock();
      r.second_try = m.try_lock();
      if (r.first_try) m.unlock();
      if (r.second_try) m.unlock();

      // The same with a shared lock of an rwlock.
      weft::sync::rwlock l;
      std::atomic<bool> rw_reached{false};
      bool go = false;  // under l (exclusive)
      auto reader = weft::spawn([&] {
        std::unique_lock<weft::sync::rwlock> lk(l);
        cv.wait(lk, [&] { return go; });
        rw_reached = lk.owns_lock();
        weft::time::sleep(std::chrono::hours(1));
      });
      if (!weft_test::spin_until([&] { return weft_test::in_weft_wait(reader); })) ++r.bad;
      l.lock();
      go = true;
      cv.notify_one();
      reader.abort();
      (void)weft_test::spin_until([&] { return l.waiter_count() == 1 || reader.is_finished(); });
      l.unlock();
      if (weft_test::outcome_of([&] { reader.join(); }) != "cancelled") ++r.bad;
      r.rw_reached = rw_reached.load();
      if (!l.try_lock()) ++r.bad;
      l.unlock();
      return r;
    });
    CHECK(o.victim == "cancelled");
    // Whether the victim got past its wait depends on whether another worker
    // ran it between notify_one() and abort() (docs/sync/cancellation.md);
    // on one worker it cannot, and the abort wins at the wait.
    if (workers <= 1) {
      CHECK_FALSE(o.reached);
      CHECK_FALSE(o.rw_reached);
    }
    CHECK(o.first_try);
    CHECK_FALSE(o.second_try);
    CHECK(o.bad == 0);
  }
  leaks.finish();
}

TEST_CASE(
    "condition_variable: a notify_one aimed at a waiter aborted before it runs goes to the next "
    "one",
    "[sync][condition_variable][cancel][regression]") {
  // Issue 9 (docs/sync/cancellation.md).
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  const bool any = GENERATE(false, true);
  INFO((any ? "condition_variable_any" : "condition_variable"));
  auto rt = weft_test::make_runtime(workers);
  weft::sync::mutex m;
  weft::sync::condition_variable cv;
  weft::sync::condition_variable_any cva;
  std::atomic<int> held_after_abort{0};
  const auto o = weft_sync_test::abort_the_chosen_waiter(
      rt,
      [&](int) {
        std::unique_lock<weft::sync::mutex> lk(m);
        try {
          if (any) {
            cva.wait(lk);
          } else {
            cv.wait(lk);
          }
        } catch (...) {
          if (lk.owns_lock()) held_after_abort++;
          throw;
        }
        return 0;
      },
      [&](int) {
        if (any) {
          cva.notify_one();
        } else {
          cv.notify_one();
        }
      });
  WEFT_CHECK_CHOSEN_WAITER(o);
  CHECK(held_after_abort == 1);  // the lock is held again when the wait throws
  CHECK(m.try_lock());
  m.unlock();
}
