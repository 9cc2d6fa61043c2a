// SPDX-License-Identifier: MIT
// Tests of the one wait/wake mechanism (weft/fibers/detail/waiter.hpp,
// docs/design.md section 5): exactly one wake source wins, on fibers and plain
// threads; deadlines; cancellation; wait_list counts.
#include "weft/fibers/detail/waiter.hpp"

#include <algorithm>
#include <atomic>
#include <barrier>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "support/runtime_fixture.hpp"

using namespace std::chrono_literals;
using weft::detail::no_deadline;
using weft::detail::spin_guard;
using weft::detail::spin_lock;
using weft::detail::wait_list;
using weft::detail::waiter;
using weft::detail::wake_reason;

namespace {

constexpr wake_reason kReasons[] = {wake_reason::notified, wake_reason::timeout, wake_reason::cancelled};

std::int64_t clock_ns() { return weft::time::clock::now().time_since_epoch().count(); }

// What park() reports for a claim made for `why` (without a task, a
// cancelled claim is reported as a plain wake-up).
wake_reason parked_result(wake_reason why) {
  return why == wake_reason::cancelled ? wake_reason::notified : why;
}

struct race_counts {
  int iterations = 0;
  int not_one_winner = 0;      // iterations where wins != 1
  int wrong_reason = 0;        // the waiter's reason is not the winner's
  int wrong_park_result = 0;   // park() returned something else
};

// race_plain_threads(): `racers` threads claim one waiter parked by the
// calling plain thread; each iteration starts them together.
race_counts race_plain_threads(int iterations, int racers) {
  std::barrier sync(racers + 1);
  std::atomic<waiter*> target{nullptr};
  std::atomic<int> wins{0};
  std::atomic<std::uint32_t> winner{0};
  bool stop = false;
  std::vector<std::thread> ts;
  for (int r = 0; r < racers; ++r) {
    ts.emplace_back([&, why = kReasons[r % 3]] {
      for (;;) {
        sync.arrive_and_wait();
        if (stop) return;
        if (target.load()->notify(why)) {
          winner.store(static_cast<std::uint32_t>(why));
          wins.fetch_add(1);
        }
        sync.arrive_and_wait();
      }
    });
  }
  race_counts c;
  for (int i = 0; i < iterations; ++i) {
    waiter w;
    target.store(&w);
    wins.store(0);
    sync.arrive_and_wait();
    const wake_reason r = w.park(nullptr, no_deadline, false);
    sync.arrive_and_wait();  // every racer is done with w
    const auto why = static_cast<wake_reason>(winner.load());
    ++c.iterations;
    if (wins.load() != 1) ++c.not_one_winner;
    if (w.reason() != why) ++c.wrong_reason;
    if (r != parked_result(why)) ++c.wrong_park_result;
  }
  stop = true;
  sync.arrive_and_wait();
  for (auto& t : ts) t.join();
  return c;
}

// fiber_race is shared by a parking fiber and racers (fibers and plain
// threads) that all claim the waiter of the current generation. Racers wait
// for a generation on a wait_list (weft's own mechanism, which parks fibers
// and blocks threads alike), so nobody spins while the parker sets up.
struct fiber_race {
  spin_lock lock;
  wait_list start_line;    // racers waiting for the next generation
  std::uint64_t gen = 0;   // guarded by lock
  bool stop = false;       // guarded by lock
  waiter* target = nullptr;  // guarded by lock
  wait_list done_line;     // the parker waiting for every racer's claim
  int racers = 0;
  std::atomic<int> claimed{0};
  std::atomic<int> wins{0};
  std::atomic<std::uint32_t> winner{0};

  // claimed_one() counts a racer's claim; the last one wakes the parker.
  void claimed_one() {
    if (claimed.fetch_add(1) + 1 != racers) return;
    spin_guard lk(lock);
    (void)done_line.wake_all();
  }

  // wait_all_claimed() waits (parked, not spinning) for every racer.
  void wait_all_claimed() {
    spin_guard lk(lock);
    while (claimed.load() != racers) {
      waiter w;
      wait_list::node n(w);
      done_line.push_back(n);
      (void)w.park(&lk, no_deadline, false);
      lk.lock();
      done_line.remove(n);
    }
  }

  // start() publishes a new target and releases every racer.
  void start(waiter* w, bool stopping) {
    spin_guard lk(lock);
    target = w;
    stop = stopping;
    ++gen;
    (void)start_line.wake_all();
  }
};

void racer_loop(fiber_race& s, wake_reason why) {
  std::uint64_t seen = 0;
  for (;;) {
    waiter* target;
    {
      spin_guard lk(s.lock);
      while (s.gen == seen) {
        waiter w;
        wait_list::node n(w);
        s.start_line.push_back(n);
        (void)w.park(&lk, no_deadline, false);
        lk.lock();
        s.start_line.remove(n);
      }
      if (s.stop) return;
      seen = s.gen;
      target = s.target;
    }
    if (target->notify(why)) {
      s.winner.store(static_cast<std::uint32_t>(why));
      s.wins.fetch_add(1);
    }
    s.claimed_one();
  }
}

// race_on_fiber(): a fiber parks `iterations` times; each time `fibers`
// racer fibers and `threads` plain threads claim its waiter.
race_counts race_on_fiber(int workers, int iterations, int fibers, int threads) {
  auto rt = weft_test::make_runtime(workers);
  fiber_race s;
  s.racers = fibers + threads;
  std::vector<std::thread> ts;
  for (int i = 0; i < threads; ++i) {
    ts.emplace_back([&s, why = kReasons[(i + 1) % 3]] { racer_loop(s, why); });
  }
  race_counts c = rt.block_on([&] {
    std::vector<weft::join_handle<void>> hs;
    for (int i = 0; i < fibers; ++i) {
      hs.push_back(weft::spawn([&s, why = kReasons[i % 3]] { racer_loop(s, why); }));
    }
    race_counts r;
    for (int it = 1; it <= iterations; ++it) {
      waiter w;
      s.wins.store(0);
      s.claimed.store(0);
      s.start(&w, false);
      const wake_reason got = w.park(nullptr);
      s.wait_all_claimed();  // w must outlive every racer's claim
      const auto why = static_cast<wake_reason>(s.winner.load());
      ++r.iterations;
      if (s.wins.load() != 1) ++r.not_one_winner;
      if (w.reason() != why) ++r.wrong_reason;
      if (got != parked_result(why)) ++r.wrong_park_result;
    }
    s.start(nullptr, true);
    for (auto& h : hs) h.join();
    return r;
  });
  for (auto& t : ts) t.join();
  return c;
}

}  // namespace

TEST_CASE("waiter: exactly one of many racing threads wins the claim", "[fibers][waiter]") {
  const race_counts c = race_plain_threads(2000, 4);
  CHECK(c.iterations == 2000);
  CHECK(c.not_one_winner == 0);
  CHECK(c.wrong_reason == 0);
  CHECK(c.wrong_park_result == 0);
}

TEST_CASE("waiter: exactly one of many racing threads wins the claim (stress)", "[fibers][waiter][.stress]") {
  const race_counts c = race_plain_threads(100000, 6);
  CHECK(c.iterations == 100000);
  CHECK(c.not_one_winner == 0);
  CHECK(c.wrong_reason == 0);
  CHECK(c.wrong_park_result == 0);
}

TEST_CASE("waiter: exactly one of racing fibers and threads wins a parked fiber", "[fibers][waiter]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  const int rounds = 1000;
  const race_counts c = race_on_fiber(workers, rounds, 3, 2);
  CHECK(c.iterations == rounds);
  CHECK(c.not_one_winner == 0);
  CHECK(c.wrong_reason == 0);
  CHECK(c.wrong_park_result == 0);
  leaks.finish();
}

TEST_CASE("waiter: exactly one of racing fibers and threads wins a parked fiber (stress)",
          "[fibers][waiter][.stress]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  const race_counts c = race_on_fiber(workers, 30000, 6, 3);
  CHECK(c.iterations == 30000);
  CHECK(c.not_one_winner == 0);
  CHECK(c.wrong_reason == 0);
  CHECK(c.wrong_park_result == 0);
}

TEST_CASE("waiter: a claim made before park means park does not block", "[fibers][waiter]") {
  waiter w;
  CHECK(w.reason() == wake_reason::waiting);
  CHECK_FALSE(w.is_fiber());
  CHECK(w.notify());
  CHECK_FALSE(w.notify());
  CHECK_FALSE(w.notify(wake_reason::timeout));
  // Returns at once (the deadline is only a guard against a hang).
  CHECK(w.park(nullptr, clock_ns() + std::chrono::nanoseconds(10s).count()) == wake_reason::notified);
  CHECK(w.reason() == wake_reason::notified);
}

TEST_CASE("waiter: a fiber's deadline ends its wait with timeout on a paused clock", "[fibers][waiter]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers, /*paused=*/true);
    struct outcome {
      bool is_fiber = false;
      wake_reason timed = wake_reason::waiting, timed_reason = wake_reason::waiting;
      weft::time::duration timed_after{};
      bool late_notify_won = true;
      wake_reason notified = wake_reason::waiting;
      weft::time::duration notified_after{};
      bool helper_won = false;
    };
    const outcome o = rt.block_on([] {
      outcome r;
      {
        waiter w;
        r.is_fiber = w.is_fiber();
        const auto t0 = weft::time::clock::now();
        r.timed = w.park(nullptr, (t0 + 5s).time_since_epoch().count());
        r.timed_after = weft::time::clock::now() - t0;
        r.timed_reason = w.reason();
        r.late_notify_won = w.notify();
      }
      {
        waiter w;
        const auto t0 = weft::time::clock::now();
        auto helper = weft::spawn([&w] {
          weft::time::sleep(1s);
          return w.notify();
        });
        r.notified = w.park(nullptr, (t0 + 5s).time_since_epoch().count());
        r.notified_after = weft::time::clock::now() - t0;
        r.helper_won = helper.join();
      }
      return r;
    });
    CHECK(o.is_fiber);
    CHECK(o.timed == wake_reason::timeout);
    CHECK(o.timed_reason == wake_reason::timeout);
    CHECK(o.timed_after == 5s);
    CHECK_FALSE(o.late_notify_won);
    CHECK(o.notified == wake_reason::notified);
    CHECK(o.notified_after == 1s);
    CHECK(o.helper_won);
  }
  leaks.finish();
}

TEST_CASE("waiter: a plain thread's deadline ends its wait with timeout", "[fibers][waiter][timing]") {
  waiter w;
  const auto start = std::chrono::steady_clock::now();
  const wake_reason r = w.park(nullptr, clock_ns() + std::chrono::nanoseconds(30ms).count());
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(r == wake_reason::timeout);
  CHECK(w.reason() == wake_reason::timeout);
  CHECK(took >= 30ms);
  CHECK_FALSE(w.notify());
  // A deadline already in the past times out at once.
  waiter past;
  CHECK(past.park(nullptr, clock_ns() - 1) == wake_reason::timeout);
}

TEST_CASE("waiter: a deadline racing a notify has exactly one winner", "[fibers][waiter][timing]") {
  // A waiter (plain thread or fiber) parked with a deadline and woken by
  // another thread around that deadline: the outcome matches who won.
  const bool on_fiber = GENERATE(false, true);
  INFO((on_fiber ? "fiber waiter" : "thread waiter"));
  auto rt = weft_test::make_runtime(2);
  std::atomic<waiter*> target{nullptr};
  std::atomic<std::int64_t> deadline{0};
  std::atomic<std::int64_t> jitter{0};
  std::atomic<int> racer_state{0};  // 1: claimed and won, 2: claimed and lost
  std::atomic<bool> stop{false};
  int mismatches = 0, timeouts = 0, notifies = 0;
  std::thread racer([&] {
    for (;;) {
      waiter* w = nullptr;
      while (!(w = target.load()) && !stop.load()) std::this_thread::yield();
      if (!w) return;
      const std::int64_t when = deadline.load() + jitter.load();
      while (clock_ns() < when) {
      }
      target.store(nullptr);
      racer_state.store(w->notify() ? 1 : 2);
    }
  });
  auto one_round = [&](std::int64_t jitter_ns) {
    waiter w;
    racer_state.store(0);
    jitter.store(jitter_ns);
    deadline.store(clock_ns() + 30000);
    target.store(&w);
    const wake_reason r = w.park(nullptr, deadline.load());
    while (racer_state.load() == 0) std::this_thread::yield();  // w lives until the racer is done
    const bool racer_won = racer_state.load() == 1;
    return std::pair<wake_reason, bool>(r, racer_won);
  };
  for (int i = 0; i < 300; ++i) {
    const std::int64_t offset = -20000 + (i % 11) * 10000;  // -20us .. +80us
    std::pair<wake_reason, bool> res;
    if (on_fiber) {
      res = rt.block_on([&] {
        auto r = one_round(offset);
        return r;
      });
    } else {
      res = one_round(offset);
    }
    if (res.first == wake_reason::timeout) ++timeouts;
    if (res.first == wake_reason::notified) ++notifies;
    if ((res.first == wake_reason::notified) != res.second) ++mismatches;
  }
  stop.store(true);
  racer.join();
  INFO("timeouts " << timeouts << ", notifies " << notifies);
  CHECK(mismatches == 0);
  CHECK(timeouts + notifies == 300);
}

TEST_CASE("waiter: abort claims a parked fiber's waiter with reason cancelled", "[fibers][waiter][cancel]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers);
    const std::string res = rt.block_on([] {
      std::atomic<bool> parked{false};
      auto h = weft::spawn([&parked] {
        waiter w;
        parked.store(true);
        try {
          (void)w.park(nullptr);
          return std::string("returned");
        } catch (const weft::cancelled& c) {
          return std::string(w.reason() == wake_reason::cancelled && !c.from_timeout() ? "cancelled" : "bad reason");
        }
      });
      weft_test::spin_until([&] { return parked.load() && weft_test::in_weft_wait(h); });
      h.abort();
      return h.join();  // the fiber caught it: it returns normally
    });
    CHECK(res == "cancelled");
  }
  leaks.finish();
}

TEST_CASE("waiter: a non-cancellable park ignores abort and the next wait delivers it", "[fibers][waiter][cancel]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers, /*paused=*/true);
    struct outcome {
      wake_reason parked = wake_reason::waiting;
      bool sleep_threw = false;
      std::string join;
    };
    const outcome o = rt.block_on([] {
      outcome r;
      std::atomic<waiter*> target{nullptr};
      auto h = weft::spawn([&] {
        waiter w;
        target.store(&w);
        r.parked = w.park(nullptr, no_deadline, /*cancellable=*/false);
        try {
          weft::time::sleep(1s);
        } catch (const weft::cancelled&) {
          r.sleep_threw = true;
          throw;
        }
      });
      weft_test::spin_until([&] { return target.load() != nullptr; });
      h.abort();
      for (int i = 0; i < 100; ++i) weft::this_fiber::yield();  // abort had its chance
      (void)target.load()->notify();
      r.join = weft_test::outcome_of([&] { h.join(); });
      return r;
    });
    CHECK(o.parked == wake_reason::notified);
    CHECK(o.sleep_threw);
    CHECK(o.join == "cancelled");
  }
  leaks.finish();
}

TEST_CASE("wait_list: wake_one skips waiters already claimed by another source", "[fibers][waiter]") {
  // Waiters that never park: claims and tokens work without a sleeper.
  waiter w[5];
  wait_list list;
  std::vector<wait_list::node> nodes;
  nodes.reserve(5);
  for (auto& x : w) nodes.emplace_back(x);
  for (auto& n : nodes) list.push_back(n);
  CHECK(list.size() == 5);
  CHECK(list.front() == &nodes[0]);
  // Another source (say a timer) claims waiters 0 and 2 first.
  CHECK(w[0].notify(wake_reason::timeout));
  CHECK(w[2].notify(wake_reason::cancelled));
  {
    auto t = list.wake_one();
    CHECK(static_cast<bool>(t));
  }
  CHECK(w[0].reason() == wake_reason::timeout);
  CHECK(w[1].reason() == wake_reason::notified);
  CHECK(list.size() == 3);  // 0 and 1 unlinked
  CHECK_FALSE(nodes[0].linked);
  CHECK_FALSE(nodes[1].linked);
  CHECK(list.front() == &nodes[2]);
  CHECK(list.wake_all() == 2);  // 2 was already claimed: skipped
  CHECK(list.empty());
  CHECK(list.size() == 0);
  CHECK(w[2].reason() == wake_reason::cancelled);
  CHECK(w[3].reason() == wake_reason::notified);
  CHECK(w[4].reason() == wake_reason::notified);
  {
    auto t = list.wake_one();
    CHECK_FALSE(static_cast<bool>(t));
  }
  CHECK(list.wake_all() == 0);
  CHECK_FALSE(list.remove(nodes[3]));
  // remove() of a middle node keeps the FIFO intact.
  waiter a, b, c;
  wait_list::node na(a), nb(b), nc(c);
  list.push_back(na);
  list.push_back(nb);
  list.push_back(nc);
  CHECK(list.remove(nb));
  CHECK(list.size() == 2);
  {
    auto t = list.wake_one(wake_reason::timeout);
    CHECK(static_cast<bool>(t));
  }
  CHECK(a.reason() == wake_reason::timeout);
  CHECK(b.reason() == wake_reason::waiting);
  CHECK(list.front() == &nc);
  CHECK(list.wake_all() == 1);
}

namespace {
// parked_list is a wait_list guarded by a spin_lock, with bookkeeping of
// who parked (in order) and who woke.
struct parked_list {
  spin_lock lock;
  wait_list list;
  std::vector<int> order;  // guarded by lock
  std::vector<int> woken_ids;  // guarded by lock
  std::atomic<int> woken{0};

  void wait(int id) {
    spin_guard lk(lock);
    waiter w;
    wait_list::node n(w);
    list.push_back(n);
    order.push_back(id);
    (void)w.park(&lk, no_deadline, false);
    {
      spin_guard again(lock);
      woken_ids.push_back(id);
    }
    woken.fetch_add(1);
  }
  std::size_t size() {
    spin_guard lk(lock);
    return list.size();
  }
  bool wake_one() {
    weft::detail::wake_token t;
    {
      spin_guard lk(lock);
      t = list.wake_one();
    }
    return static_cast<bool>(t);  // resumed by t's destructor, after unlock
  }
  std::size_t wake_all() {
    spin_guard lk(lock);
    return list.wake_all();
  }
};
}  // namespace

TEST_CASE("wait_list: wake_one and wake_all wake exact counts of parked fibers", "[fibers][waiter]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers);
    constexpr int kFibers = 16;
    parked_list pl;
    struct outcome {
      bool all_parked = false;
      int woken_after_three = -1;
      bool fifo = false;
      std::size_t all_woken_count = 0;
      int woken_final = -1;
    };
    const outcome o = rt.block_on([&] {
      outcome r;
      std::vector<weft::join_handle<void>> hs;
      for (int i = 0; i < kFibers; ++i) hs.push_back(weft::spawn([&pl, i] { pl.wait(i); }));
      r.all_parked = weft_test::spin_until([&] { return pl.size() == kFibers; });
      for (int i = 0; i < 3; ++i) pl.wake_one();
      weft_test::spin_until([&] { return pl.woken.load() >= 3; });
      for (int i = 0; i < 200; ++i) weft::this_fiber::yield();  // nobody else may wake
      r.woken_after_three = pl.woken.load();
      {
        spin_guard lk(pl.lock);
        std::vector<int> first(pl.order.begin(), pl.order.begin() + 3);
        std::vector<int> got(pl.woken_ids.begin(), pl.woken_ids.begin() + 3);
        std::sort(got.begin(), got.end());
        std::sort(first.begin(), first.end());
        r.fifo = first == got;
      }
      r.all_woken_count = pl.wake_all();
      for (auto& h : hs) h.join();
      r.woken_final = pl.woken.load();
      return r;
    });
    CHECK(o.all_parked);
    CHECK(o.woken_after_three == 3);
    CHECK(o.fifo);
    CHECK(o.all_woken_count == kFibers - 3);
    CHECK(o.woken_final == kFibers);
    CHECK_FALSE(pl.wake_one());
  }
  leaks.finish();
}

TEST_CASE("wait_list: wake_one and wake_all wake exact counts of parked threads", "[fibers][waiter]") {
  constexpr int kThreads = 6;
  parked_list pl;
  std::vector<std::thread> ts;
  for (int i = 0; i < kThreads; ++i) ts.emplace_back([&pl, i] { pl.wait(i); });
  REQUIRE(weft_test::spin_until([&] { return pl.size() == kThreads; }));
  CHECK(pl.wake_one());
  CHECK(pl.wake_one());
  REQUIRE(weft_test::spin_until([&] { return pl.woken.load() >= 2; }));
  for (int i = 0; i < 200; ++i) std::this_thread::yield();
  CHECK(pl.woken.load() == 2);
  {
    spin_guard lk(pl.lock);
    std::vector<int> first(pl.order.begin(), pl.order.begin() + 2);
    std::vector<int> got(pl.woken_ids.begin(), pl.woken_ids.begin() + 2);
    std::sort(first.begin(), first.end());
    std::sort(got.begin(), got.end());
    CHECK(first == got);
  }
  CHECK(pl.wake_all() == kThreads - 2);
  for (auto& t : ts) t.join();
  CHECK(pl.woken.load() == kThreads);
}
