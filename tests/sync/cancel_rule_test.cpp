// SPDX-License-Identifier: MIT
// Tests of the hand-off rule (docs/sync/cancellation.md) that span
// primitives: the broadcast case (broadcast_test.cpp is full) and a
// multi-thread stress run in which random aborts race the hand-offs of a
// semaphore, a mutex and a bounded channel.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "support/runtime_fixture.hpp"
#include "sync/sync_test_support.hpp"
#include "weft/sync/broadcast.hpp"
#include "weft/sync/mpsc.hpp"
#include "weft/sync/mutex.hpp"
#include "weft/sync/semaphore.hpp"

using namespace std::chrono_literals;

TEST_CASE("broadcast: a receive aborted before it runs takes nothing and the message stays",
          "[sync][broadcast][cancel][regression]") {
  // Issue 9: the aborted receive leaves its cursor; the other receiver's
  // wait is unaffected.
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  struct outcome {
    std::string a, b;
    bool reached = true;
    int got_b = -1, later = -1;
  };
  const outcome o = rt.block_on([] {
    return weft::spawn_pinned([] {
             outcome r;
             auto ch = weft::sync::broadcast::channel<int>(4);
             auto& rx = ch.second;
             auto rx2 = ch.first.subscribe();
             std::atomic<bool> reached{false};
             std::atomic<int> got_b{-1};
             auto a = weft::spawn_pinned([&] {
               (void)rx.recv();
               reached = true;
             });
             (void)weft_test::spin_until([&] { return weft_test::in_weft_wait(a); });
             auto b = weft::spawn_pinned([&] { got_b = rx2.recv().value(); });
             (void)weft_test::spin_until([&] { return weft_test::in_weft_wait(b); });
             (void)ch.first.send(5);
             a.abort();
             r.a = weft_test::outcome_of([&] { a.join(); });
             r.b = weft_test::outcome_of([&] { b.join(); });
             r.reached = reached;
             r.got_b = got_b;
             auto m = rx.try_recv();
             r.later = m ? *m : -1;
             return r;
           })
        .join();
  });
  CHECK(o.a == "cancelled");
  CHECK_FALSE(o.reached);
  CHECK(o.b == "value");
  CHECK(o.got_b == 5);
  CHECK(o.later == 5);
}

namespace {

// abort_some() aborts random ones of `hs` from this plain thread, spread
// over the run: the k-th abort waits until `progress` (bumped by the
// fibers) reached k / (aborts + 1) of `total`, so aborts land at any point
// of the waits, including between a hand-off and the fiber running again.
void abort_some(std::vector<weft::join_handle<void>>& hs, unsigned seed,
                const std::atomic<long>& progress, long total) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<std::size_t> pick(0, hs.size() - 1);
  const long aborts = static_cast<long>(hs.size() / 2);
  for (long k = 1; k <= aborts; ++k) {
    const long mark = total * k / (aborts + 1);
    // Give up pacing once the fibers stop making progress (all aborted or done).
    (void)weft_test::spin_until([&] { return progress.load() >= mark; },
                                std::chrono::milliseconds(200));
    hs[pick(rng)].abort();
  }
}

// holding counts a holder in a high_water for its scope (an abort at the
// yield inside unwinds through it).
class holding {
 public:
  holding(weft_sync_test::high_water& hw, int k) : hw_(hw), k_(k) { hw_.enter(k_); }
  holding(const holding&) = delete;
  holding& operator=(const holding&) = delete;
  ~holding() { hw_.leave(k_); }

 private:
  weft_sync_test::high_water& hw_;
  int k_;
};

// join_every() joins hs[first], hs[first + step], ...; aborted ones are fine.
void join_every(std::vector<weft::join_handle<void>>& hs, std::size_t first, std::size_t step) {
  for (std::size_t i = first; i < hs.size(); i += step) {
    try {
      hs[i].join();
    } catch (const weft::join_error&) {
    }
  }
}

// run_with_random_aborts() runs body(i) on `n` fibers, aborts random ones
// (abort_some) and joins them all.
// Each call of body(i) is one round; `rounds` per fiber.
template <class Body>
void run_with_random_aborts(weft::runtime& rt, int n, int rounds, unsigned seed, Body body) {
  std::atomic<long> progress{0};
  std::vector<weft::join_handle<void>> hs;
  auto handle = rt.get_handle();
  for (int i = 0; i < n; ++i) {
    hs.push_back(handle.spawn([&body, &progress, i, rounds] {
      for (int r = 0; r < rounds; ++r) {
        body(i, r);
        progress.fetch_add(1, std::memory_order_relaxed);
      }
    }));
  }
  abort_some(hs, seed, progress, long{n} * rounds);
  join_every(hs, 0, 1);
}

}  // namespace

TEST_CASE("hand-off rule: random aborts racing hand-offs lose no permit and no message",
          "[sync][cancel]") {
  const int workers = GENERATE(2, 4);
  INFO(weft_test::flavour_name(workers));
  const unsigned seed = GENERATE(1u, 2u);
  INFO("seed " << seed);
  auto rt = weft_test::make_runtime(workers);
  constexpr int kFibers = 64, kRounds = 1000;

  // Semaphore: never more holders than permits, every permit back at the end.
  {
    weft::sync::semaphore s(3);
    weft_sync_test::high_water hw;
    run_with_random_aborts(rt, kFibers, kRounds, seed, [&](int, int r) {
      auto p = s.acquire_many(1 + static_cast<std::size_t>(r % 2)).value();
      holding h(hw, static_cast<int>(p.count()));  // left before the permit goes back
      weft::this_fiber::yield();
    });
    CHECK(hw.max.load() <= 3);
    CHECK(s.available_permits() == 3);
    CHECK(s.waiter_count() == 0);
  }

  // Mutex: exclusive, and free at the end.
  {
    weft::sync::mutex m;
    weft_sync_test::high_water hw;
    run_with_random_aborts(rt, kFibers, kRounds, seed + 100, [&](int, int r) {
      std::lock_guard<weft::sync::mutex> g(m);
      holding h(hw, 1);
      if (r % 3 == 0) weft::this_fiber::yield();
    });
    CHECK(hw.max.load() == 1);
    CHECK(m.try_lock());
    m.unlock();
  }

  // Bounded channel: even fibers send unique values (each with its own
  // sender), odd ones receive on the one receiver until the senders are
  // gone. A value is received exactly once if and only if its send
  // returned success.
  {
    auto ch = weft::sync::mpsc::channel<std::uint32_t>(4);
    auto& rx = ch.second;
    constexpr int kPer = 1000;
    std::vector<std::atomic<int>> sent(kFibers * kPer), received(kFibers * kPer);
    std::atomic<long> progress{0};
    std::vector<weft::join_handle<void>> hs;
    auto handle = rt.get_handle();
    for (int i = 0; i < kFibers; ++i) {
      if (i % 2 == 0) {
        hs.push_back(handle.spawn([&sent, &progress, tx = ch.first, i]() mutable {
          for (int k = 0; k < kPer; ++k) {
            const auto v = static_cast<std::uint32_t>(i * kPer + k);
            if (tx.send(v)) sent[v]++;
            progress.fetch_add(1, std::memory_order_relaxed);
          }
        }));
      } else {
        hs.push_back(handle.spawn([&received, &rx] {
          while (auto m = rx.recv()) received[*m]++;
        }));
      }
    }
    ch.first = {};  // the receivers end once every sender fiber is gone
    abort_some(hs, seed + 200, progress, long{kFibers} / 2 * kPer);
    join_every(hs, 1, 2);  // receivers first: an aborted receiver may leave senders blocked
    rx.close();            // ... which then get their values back, unsent
    join_every(hs, 0, 2);
    while (auto m = rx.try_recv()) received[*m]++;  // what nobody received
    int lost = 0, phantom = 0, twice = 0;
    for (std::size_t v = 0; v < sent.size(); ++v) {
      if (received[v] > 1) ++twice;
      if (sent[v] == 1 && received[v] == 0) ++lost;
      if (sent[v] == 0 && received[v] != 0) ++phantom;  // an aborted send got through
    }
    CHECK(lost == 0);
    CHECK(phantom == 0);
    CHECK(twice == 0);
  }
}
