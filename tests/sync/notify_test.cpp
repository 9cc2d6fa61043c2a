// SPDX-License-Identifier: MIT
// Tests of weft::sync::notify (notify.hpp): the stored permit, FIFO
// notify_one, notify_waiters, deadlines, cancellation, threads.
#include "weft/sync/notify.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "support/runtime_fixture.hpp"
#include "sync/sync_test_support.hpp"

using namespace std::chrono_literals;

TEST_CASE("notify: notify_one before the wait is stored as one permit", "[sync][notify]") {
  weft::sync::notify n;
  n.notify_one();
  n.notify_one();  // permits do not accumulate
  n.notified();    // consumes it at once
  auto second = n.notified_for(0s);
  REQUIRE_FALSE(second);
  CHECK(second.error() == weft::errc::timeout);
}

TEST_CASE("notify: notify_one wakes waiters one at a time in arrival order", "[sync][notify]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  auto order = rt.block_on([] {
    weft::sync::notify n;
    std::vector<int> woke;
    weft::detail::spin_lock lock;
    std::vector<weft::join_handle<void>> hs;
    for (int i = 0; i < 5; ++i) {
      hs.push_back(weft::spawn([&, i] {
        n.notified();
        weft::detail::spin_guard g(lock);
        woke.push_back(i);
      }));
      // Arrival order is made certain: wait until this one is parked.
      (void)weft_test::spin_until([&] { return weft_test::in_weft_wait(hs.back()); });
    }
    for (int i = 0; i < 5; ++i) {
      n.notify_one();
      (void)weft_test::spin_until([&] {
        weft::detail::spin_guard g(lock);
        return woke.size() == static_cast<std::size_t>(i + 1);
      });
    }
    for (auto& h : hs) h.join();
    return woke;
  });
  CHECK(order == std::vector<int>{0, 1, 2, 3, 4});
}

TEST_CASE("notify: notify_waiters wakes every current waiter and stores no permit",
          "[sync][notify]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers, /*paused=*/true);
  struct outcome {
    int woken = 0;
    std::error_code later;
  };
  auto o = rt.block_on([] {
    outcome r;
    weft::sync::notify n;
    std::atomic<int> woken{0};
    std::vector<weft::join_handle<void>> hs;
    for (int i = 0; i < 20; ++i)
      hs.push_back(weft::spawn([&] {
        n.notified();
        woken++;
      }));
    for (auto& h : hs) (void)weft_test::spin_until([&] { return weft_test::in_weft_wait(h); });
    n.notify_waiters();
    for (auto& h : hs) h.join();
    r.woken = woken.load();
    auto later = n.notified_for(1s);
    if (!later) r.later = later.error();
    return r;
  });
  CHECK(o.woken == 20);
  CHECK(o.later == weft::errc::timeout);
}

TEST_CASE("notify: an aborted waiter consumes no permit", "[sync][notify]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  struct outcome {
    std::string how;
    bool permit_left = false;
  };
  auto o = rt.block_on([] {
    outcome r;
    weft::sync::notify n;
    auto h = weft::spawn([&] { n.notified(); });
    (void)weft_test::spin_until([&] { return weft_test::in_weft_wait(h); });
    h.abort();
    r.how = weft_test::outcome_of([&] { h.join(); });
    n.notify_one();
    r.permit_left = static_cast<bool>(n.notified_for(0s));
    return r;
  });
  CHECK(o.how == "cancelled");
  CHECK(o.permit_left);
}

TEST_CASE("notify: a notify_one aimed at a waiter aborted before it runs goes to the next one",
          "[sync][notify][cancel][regression]") {
  // Issue 9: the aborted waiter used to consume the notification.
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  weft::sync::notify n;
  const auto o = weft_sync_test::abort_the_chosen_waiter(
      rt,
      [&](int) {
        n.notified();
        return 0;
      },
      [&](int) { n.notify_one(); });
  WEFT_CHECK_CHOSEN_WAITER(o);
  CHECK_FALSE(n.notified_for(0s));  // no permit left over: re-delivered, not stored
}

TEST_CASE("notify: notify_waiters reaching an aborted waiter stores no permit",
          "[sync][notify][cancel]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  struct outcome {
    std::string first, second;
    bool permit_left = true;
  };
  const outcome o = rt.block_on([] {
    return weft::spawn_pinned([] {
             outcome r;
             weft::sync::notify n;
             auto a = weft::spawn_pinned([&] { n.notified(); });
             (void)weft_test::spin_until([&] { return weft_test::in_weft_wait(a); });
             auto b = weft::spawn_pinned([&] { n.notified(); });
             (void)weft_test::spin_until([&] { return weft_test::in_weft_wait(b); });
             n.notify_waiters();
             a.abort();
             r.first = weft_test::outcome_of([&] { a.join(); });
             r.second = weft_test::outcome_of([&] { b.join(); });
             r.permit_left = static_cast<bool>(n.notified_for(0s));
             return r;
           })
        .join();
  });
  CHECK(o.first == "cancelled");
  CHECK(o.second == "value");
  CHECK_FALSE(o.permit_left);
}

TEST_CASE("notify: ping-pong between a plain thread and a fiber loses no wake-up",
          "[sync][notify]") {
  auto rt = weft_test::make_runtime(2);
  weft::sync::notify to_fiber, to_thread;
  constexpr int kRounds = 5000;
  auto h = rt.get_handle().spawn([&] {
    for (int i = 0; i < kRounds; ++i) {
      to_fiber.notified();
      to_thread.notify_one();
    }
  });
  for (int i = 0; i < kRounds; ++i) {
    to_fiber.notify_one();
    to_thread.notified();
  }
  h.join();
  SUCCEED("every round completed");
}
