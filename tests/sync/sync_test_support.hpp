// SPDX-License-Identifier: MIT
// Helpers shared by the tests of weft::sync's locks: run one body on many
// fibers and plain threads at once, and track a high-water mark.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/runtime_fixture.hpp"

namespace weft_sync_test {

// run_mixed() runs body(i) on `threads` plain threads (i < threads) and on
// `fibers` fibers of `rt` (i >= threads), and returns when all are done.
template <class Body>
void run_mixed(weft::runtime& rt, int fibers, int threads, Body body) {
  std::vector<std::thread> ts;
  ts.reserve(static_cast<std::size_t>(threads));
  for (int i = 0; i < threads; ++i) ts.emplace_back([&body, i] { body(i); });
  rt.block_on([&] {
    std::vector<weft::join_handle<void>> hs;
    for (int i = 0; i < fibers; ++i)
      hs.push_back(weft::spawn([&body, i, threads] { body(threads + i); }));
    for (auto& h : hs) h.join();
  });
  for (auto& t : ts) t.join();
}

// high_water counts current holders and remembers the maximum.
struct high_water {
  std::atomic<int> now{0};
  std::atomic<int> max{0};
  void enter(int k = 1) {
    const int v = now.fetch_add(k) + k;
    int m = max.load();
    while (v > m && !max.compare_exchange_weak(m, v)) {
    }
  }
  void leave(int k = 1) { now.fetch_sub(k); }
};

// chosen_waiter_outcome is what abort_the_chosen_waiter() observed.
struct chosen_waiter_outcome {
  std::array<std::string, 3> how;  // outcome_of() each waiter's join
  std::array<bool, 3> reached{};   // the waiter got past its wait
  bool second_woke = false;        // the first hand-off reached waiter 1
  bool third_waited = false;       // ... and waiter 2 was still waiting then
  int bad = 0;                     // a step of the protocol itself failed
};

// abort_the_chosen_waiter() checks the hand-off rule of
// docs/sync/cancellation.md with three waiters. Three fibers run
// `acquire(i)` one after another (each parked before the next starts, so
// the queue order is 0, 1, 2); what acquire returns is held until the test
// lets waiter i go. The driver then calls hand(0), which hands one wake-up
// (a permit, the lock, a message) to waiter 0, and aborts waiter 0 before
// it can run. Waiter 1 must get the hand-off, waiter 2 must stay waiting;
// hand(1) (a no-op where releasing waiter 1 passes the hand-off on) then
// frees waiter 2. Every fiber is pinned to the driver's worker so that
// "before it runs" holds on every runtime flavour.
template <class Acquire, class Hand>
chosen_waiter_outcome abort_the_chosen_waiter(weft::runtime& rt, Acquire acquire, Hand hand) {
  constexpr std::chrono::seconds kGiveUp{5};
  return rt.block_on([&] {
    return weft::spawn_pinned([&] {
             chosen_waiter_outcome r;
             std::array<std::atomic<bool>, 3> reached{}, go{};
             std::vector<weft::join_handle<void>> hs;
             for (int i = 0; i < 3; ++i) {
               hs.push_back(weft::spawn_pinned([&, i] {
                 [[maybe_unused]] auto held = acquire(i);
                 reached[static_cast<std::size_t>(i)] = true;
                 (void)weft_test::spin_until(
                     [&] { return go[static_cast<std::size_t>(i)].load(); });
               }));
               if (!weft_test::spin_until([&] { return weft_test::in_weft_wait(hs.back()); }))
                 ++r.bad;
             }
             hand(0);
             hs[0].abort();  // before waiter 0 could run: same worker, no suspension
             r.second_woke = weft_test::spin_until([&] { return reached[1].load(); }, kGiveUp);
             for (int k = 0; k < 20; ++k) weft::this_fiber::yield();  // let a wrong wake-up show
             r.third_waited = !reached[2] && weft_test::in_weft_wait(hs[2]);
             go[1] = true;
             hand(1);
             if (!weft_test::spin_until([&] { return reached[2].load(); }, kGiveUp)) {
               ++r.bad;
               for (auto& h : hs) h.abort();  // a broken primitive fails the test, not hangs it
             }
             go[0] = go[1] = go[2] = true;
             for (std::size_t i = 0; i < 3; ++i) {
               r.how[i] = weft_test::outcome_of([&] { hs[i].join(); });
               r.reached[i] = reached[i];
             }
             return r;
           })
        .join();
  });
}

// WEFT_CHECK_CHOSEN_WAITER() asserts the rule on an abort_the_chosen_waiter()
// outcome: waiter 0 cancelled without passing its wait, 1 and 2 served.
#define WEFT_CHECK_CHOSEN_WAITER(o)   \
  do {                                \
    CHECK((o).bad == 0);              \
    CHECK((o).how[0] == "cancelled"); \
    CHECK_FALSE((o).reached[0]);      \
    CHECK((o).second_woke);           \
    CHECK((o).third_waited);          \
    CHECK((o).how[1] == "value");     \
    CHECK((o).how[2] == "value");     \
  } while (false)

}  // namespace weft_sync_test
