// SPDX-License-Identifier: MIT
// Tests of weft::sync::watch (weft/sync/watch.hpp): versions, borrow vs
// borrow_and_update, clones, close in both directions, timeouts,
// cancellation, the select members, iteration and a many-receiver run.
#include "weft/sync/watch.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "support/runtime_fixture.hpp"
#include "weft/sync.hpp"

using namespace std::chrono_literals;
namespace watch = weft::sync::watch;
using weft::detail::wait_list;
using weft::detail::waiter;
using weft::detail::wake_reason;
using weft::sync::detail::poll;

namespace {
// ok() says whether a result or a send_result succeeded.
template <class R>
bool ok(const R& r) {
  return r.has_value();
}
// is() says whether a result failed with `e`.
template <class R>
bool is(const R& r, weft::errc e) {
  return r.has_error() && r.error() == e;
}
}  // namespace

TEST_CASE("watch: changed returns at once for an unseen version and skips intermediate values",
          "[sync][watch]") {
  auto [tx, rx] = watch::channel<int>(0);
  CHECK(*rx.borrow() == 0);
  CHECK(rx.has_changed().value() == false);
  REQUIRE(ok(tx.send(1)));
  REQUIRE(ok(tx.send(2)));
  REQUIRE(ok(tx.send(3)));
  CHECK(rx.has_changed().value());
  CHECK(ok(rx.changed()));   // returns at once
  CHECK(*rx.borrow() == 3);  // 1 and 2 were skipped
  CHECK(rx.has_changed().value() == false);
  CHECK(*tx.borrow() == 3);
  CHECK_FALSE(tx.borrow().has_changed());
}

TEST_CASE("watch: borrow does not mark seen and borrow_and_update does", "[sync][watch]") {
  auto [tx, rx] = watch::channel<std::string>("a");
  REQUIRE(ok(tx.send("b")));
  auto r1 = rx.borrow();
  CHECK(*r1 == "b");
  CHECK(r1.has_changed());
  CHECK(rx.has_changed().value());
  auto r2 = rx.borrow_and_update();
  CHECK(r2->size() == 1);
  CHECK(r2.get() == "b");
  CHECK(r2.has_changed());
  CHECK_FALSE(rx.has_changed().value());
  CHECK_FALSE(rx.borrow().has_changed());
  CHECK_FALSE(rx.borrow_and_update().has_changed());
  REQUIRE(ok(tx.send("c")));
  rx.mark_unchanged();
  CHECK_FALSE(rx.has_changed().value());
  CHECK(*rx.borrow() == "c");
}

TEST_CASE("watch: a snapshot held across a send keeps its value", "[sync][watch]") {
  auto [tx, rx] = watch::channel<std::vector<int>>({1, 2, 3});
  auto snap = rx.borrow();
  REQUIRE(ok(tx.send({9})));
  CHECK(*snap == std::vector<int>{1, 2, 3});
  CHECK(*rx.borrow() == std::vector<int>{9});
  CHECK(snap.share().use_count() >= 1);
}

TEST_CASE("watch: a clone inherits the seen version", "[sync][watch]") {
  auto [tx, rx] = watch::channel<int>(0);
  REQUIRE(ok(tx.send(1)));
  auto unseen = rx;  // rx has not seen 1: neither has the clone
  CHECK(unseen.has_changed().value());
  (void)rx.borrow_and_update();
  auto seen = rx;  // rx has seen 1
  CHECK_FALSE(seen.has_changed().value());
  CHECK(unseen.has_changed().value());
  auto sub = tx.subscribe();  // a subscriber has seen the current version
  CHECK_FALSE(sub.has_changed().value());
  CHECK(tx.receiver_count() == 4);
  REQUIRE(ok(tx.send(2)));
  CHECK(seen.has_changed().value());
  CHECK(sub.has_changed().value());
}

TEST_CASE("watch: after the sender is gone an unseen change comes first, then closed",
          "[sync][watch]") {
  std::optional<watch::sender<int>> tx;
  std::optional<watch::receiver<int>> rx;
  {
    auto [t, r] = watch::channel<int>(0);
    tx.emplace(std::move(t));
    rx.emplace(std::move(r));
  }
  REQUIRE(ok(tx->send(5)));
  CHECK_FALSE(rx->is_closed());
  tx.reset();
  CHECK(rx->is_closed());
  CHECK(is(rx->has_changed(), weft::errc::closed));  // as Tokio: closed wins here
  CHECK(ok(rx->changed()));
  CHECK(*rx->borrow() == 5);
  CHECK(is(rx->has_changed(), weft::errc::closed));
  CHECK(is(rx->changed(), weft::errc::closed));
  CHECK(is(rx->changed_for(1s), weft::errc::closed));
  CHECK_THROWS_AS(rx->changed().value(), std::system_error);
  CHECK(*rx->borrow() == 5);  // the last value stays readable
}

TEST_CASE("watch: has_changed reports closed once the sender is gone",
          "[sync][watch][regression]") {
  // Issue 9: Tokio's has_changed() errs once the sender is dropped, even
  // with an unseen version; weft said true.
  auto ch = watch::channel<int>(0);
  auto rx = std::move(ch.second);
  {
    auto tx = std::move(ch.first);
    REQUIRE(ok(tx.send(1)));
    CHECK(rx.has_changed().value());
  }
  CHECK(is(rx.has_changed(), weft::errc::closed));
  CHECK(*rx.borrow() == 1);  // the unseen value is still readable
  CHECK(rx.borrow().has_changed());
}

TEST_CASE("watch: send with no receivers returns the value with closed", "[sync][watch]") {
  auto [tx, rx] = watch::channel<std::string>("init");
  CHECK_FALSE(tx.is_closed());
  { auto gone = std::move(rx); }
  CHECK(tx.is_closed());
  CHECK(tx.receiver_count() == 0);
  auto r = tx.send("lost");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().is_closed());
  CHECK(r.error().value == "lost");
  CHECK(*tx.borrow() == "init");  // not stored
  // send_replace and send_modify store without receivers.
  CHECK(tx.send_replace("x") == "init");
  tx.send_modify([](std::string& s) { s += "y"; });
  CHECK(*tx.borrow() == "xy");
  auto again = tx.subscribe();
  CHECK_FALSE(again.has_changed().value());
  REQUIRE(ok(tx.send("z")));
  CHECK(again.has_changed().value());
}

TEST_CASE("watch: send_replace copies a value a snapshot still holds", "[sync][watch]") {
  auto [tx, rx] = watch::channel<std::string>("held");
  auto snap = rx.borrow();
  CHECK(tx.send_replace("new") == "held");
  CHECK(*snap == "held");
  CHECK(tx.send_replace("newer") == "new");
}

TEST_CASE("watch: send_if_modified publishes only when f reports a change", "[sync][watch]") {
  auto [tx, rx] = watch::channel<int>(1);
  CHECK_FALSE(tx.send_if_modified([](int& v) { return v == 2; }));
  CHECK_FALSE(rx.has_changed().value());
  CHECK(tx.send_if_modified([](int& v) {
    v = 2;
    return true;
  }));
  CHECK(rx.has_changed().value());
  CHECK(*rx.borrow_and_update() == 2);
}

TEST_CASE("watch: a send_modify whose function throws keeps the change without notifying",
          "[sync][watch][regression]") {
  // Issue 9: Tokio leaves the modified value visible and wakes nobody.
  auto [tx, rx] = watch::channel<int>(1);
  auto before = rx.borrow();
  CHECK_THROWS_AS(tx.send_modify([](int& v) {
    v = 5;
    throw std::runtime_error("boom");
  }),
                  std::runtime_error);
  CHECK(*rx.borrow() == 5);  // visible
  CHECK(*tx.borrow() == 5);
  CHECK_FALSE(rx.has_changed().value());  // but not announced
  CHECK_FALSE(rx.borrow().has_changed());
  CHECK(*before == 1);  // an earlier snapshot is untouched
  CHECK_THROWS_AS(tx.send_if_modified([](int& v) -> bool {
    v = 6;
    throw std::runtime_error("boom");
  }),
                  std::runtime_error);
  CHECK(*rx.borrow() == 6);
  CHECK_FALSE(rx.has_changed().value());
  REQUIRE(ok(tx.send(7)));  // the next send announces as usual
  CHECK(rx.has_changed().value());
}

TEST_CASE("watch: a parked changed wakes for a send and for the sender's destruction",
          "[sync][watch]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers);
    struct outcome {
      bool parked1 = false, parked2 = false;
      int first = -1;
      bool closed = false;
    };
    const outcome o = rt.block_on([] {
      outcome r;
      auto [tx, rx] = watch::channel<int>(0);
      auto h = weft::spawn([&r, rx = std::move(rx)]() mutable {
        if (rx.changed()) r.first = *rx.borrow_and_update();
        r.closed = is(rx.changed(), weft::errc::closed);
      });
      r.parked1 = weft_test::spin_until(
          [&] { return weft_test::in_weft_wait(h) && tx.waiting_for_tests() == 1; });
      (void)tx.send(7);
      r.parked2 =
          weft_test::spin_until([&] { return r.first == 7 && tx.waiting_for_tests() == 1; });
      { auto gone = std::move(tx); }
      h.join();
      return r;
    });
    CHECK(o.parked1);
    CHECK(o.parked2);
    CHECK(o.first == 7);
    CHECK(o.closed);
  }
  leaks.finish();
}

TEST_CASE("watch: sender closed() wakes when the last receiver is dropped", "[sync][watch]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers);
    struct outcome {
      bool parked = false, finished_early = true, finished = false, closed_at_once = false;
    };
    const outcome o = rt.block_on([] {
      outcome r;
      auto [tx, rx] = watch::channel<int>(0);
      std::optional<watch::receiver<int>> a(std::move(rx)), b(*a);
      auto h = weft::spawn([&tx] { tx.closed(); });
      r.parked = weft_test::spin_until([&] { return weft_test::in_weft_wait(h); });
      a.reset();
      for (int i = 0; i < 100; ++i) weft::this_fiber::yield();
      r.finished_early = h.is_finished();
      b.reset();
      h.join();
      r.finished = true;
      tx.closed();  // no receiver: returns at once
      r.closed_at_once = tx.is_closed();
      return r;
    });
    CHECK(o.parked);
    CHECK_FALSE(o.finished_early);
    CHECK(o.finished);
    CHECK(o.closed_at_once);
  }
  leaks.finish();
}

TEST_CASE("watch: changed_for and closed_for time out on the paused clock",
          "[sync][watch][timing]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers, /*paused=*/true);
    struct outcome {
      bool changed_timeout = false, closed_timeout = false, until_timeout = false,
           got_later = false;
      weft::time::duration waited_changed{}, waited_closed{};
      int waiting = -1;
    };
    const outcome o = rt.block_on([] {
      outcome r;
      auto [tx, rx] = watch::channel<int>(0);
      auto t0 = weft::time::clock::now();
      r.changed_timeout = is(rx.changed_for(3s), weft::errc::timeout);
      r.waited_changed = weft::time::clock::now() - t0;
      t0 = weft::time::clock::now();
      r.closed_timeout = is(tx.closed_for(4s), weft::errc::timeout);
      r.waited_closed = weft::time::clock::now() - t0;
      r.until_timeout = is(rx.changed_until(weft::time::clock::now() + 1s), weft::errc::timeout);
      r.waiting = static_cast<int>(tx.waiting_for_tests());
      auto h = weft::spawn([&tx] {
        weft::time::sleep(1s);
        (void)tx.send(1);
      });
      r.got_later = ok(rx.changed_for(10s)) && *rx.borrow() == 1;
      h.join();
      return r;
    });
    CHECK(o.changed_timeout);
    CHECK(o.waited_changed >= 3s);
    CHECK(o.closed_timeout);
    CHECK(o.waited_closed >= 4s);
    CHECK(o.until_timeout);
    CHECK(o.waiting == 0);
    CHECK(o.got_later);
  }
  leaks.finish();
}

TEST_CASE("watch: cancelling fibers parked in changed and closed leaves the channel usable",
          "[sync][watch][cancel]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers);
    struct outcome {
      bool parked = false;
      std::string join_changed, join_closed;
      int waiting = -1;
      bool unseen_after = false, seen_value = false, still_unchanged = false;
    };
    const outcome o = rt.block_on([] {
      outcome r;
      auto [tx, rx] = watch::channel<int>(0);
      auto c = weft::spawn([&rx] { (void)rx.changed(); });
      auto d = weft::spawn([&tx] { tx.closed(); });
      r.parked = weft_test::spin_until([&] {
        return weft_test::in_weft_wait(c) && weft_test::in_weft_wait(d) &&
               tx.waiting_for_tests() == 2;
      });
      c.abort();
      d.abort();
      r.join_changed = weft_test::outcome_of([&] { c.join(); });
      r.join_closed = weft_test::outcome_of([&] { d.join(); });
      r.waiting = static_cast<int>(tx.waiting_for_tests());
      r.still_unchanged = rx.has_changed().value() == false;  // seen version untouched
      (void)tx.send(3);
      r.unseen_after = rx.has_changed().value();
      r.seen_value = ok(rx.changed()) && *rx.borrow() == 3;
      return r;
    });
    CHECK(o.parked);
    CHECK(o.join_changed == "cancelled");
    CHECK(o.join_closed == "cancelled");
    CHECK(o.waiting == 0);
    CHECK(o.still_unchanged);
    CHECK(o.unseen_after);
    CHECK(o.seen_value);
  }
  leaks.finish();
}

TEST_CASE("watch: range-for yields the current value then each change until closed",
          "[sync][watch]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers);
    struct outcome {
      std::vector<int> got;
    };
    const outcome o = rt.block_on([] {
      outcome r;
      auto [tx, rx] = watch::channel<int>(0);
      auto h = weft::spawn([&r, rx = std::move(rx)]() mutable {
        for (const auto& v : rx) r.got.push_back(*v);
      });
      for (int i = 1; i <= 3; ++i) {
        // Wait until the reader has the previous value and parked again, so
        // no value is skipped and the sequence is exact.
        weft_test::spin_until([&] {
          return r.got.size() == static_cast<std::size_t>(i) && tx.waiting_for_tests() == 1;
        });
        (void)tx.send(i);
      }
      weft_test::spin_until([&] { return r.got.size() == 4 && tx.waiting_for_tests() == 1; });
      { auto gone = std::move(tx); }
      h.join();
      return r;
    });
    CHECK(o.got == std::vector<int>{0, 1, 2, 3});
  }
  leaks.finish();
}

// ---------------------------------------------------------------------------
// select members, driven directly.

TEST_CASE("watch: select_try_recv is ready, pending or disabled and marks seen only when ready",
          "[sync][watch][select]") {
  auto [tx, rx] = watch::channel<int>(0);
  std::optional<watch::ref<int>> out;
  CHECK(rx.select_try_recv(out) == poll::pending);
  CHECK_FALSE(out);
  REQUIRE(ok(tx.send(1)));
  CHECK(rx.select_try_recv(out) == poll::ready);
  REQUIRE(out);
  CHECK(**out == 1);
  CHECK(out->has_changed());
  CHECK_FALSE(rx.has_changed().value());  // borrow_and_update semantics
  REQUIRE(ok(tx.send(2)));
  { auto gone = std::move(tx); }
  out.reset();
  CHECK(rx.select_try_recv(out) == poll::ready);  // the unseen change first
  CHECK(**out == 2);
  out.reset();
  CHECK(rx.select_try_recv(out) == poll::disabled);
  CHECK_FALSE(out);
}

TEST_CASE("watch: select arm with an unseen change claims the waiter, else links",
          "[sync][watch][select]") {
  auto [tx, rx] = watch::channel<int>(0);
  std::optional<watch::ref<int>> out;
  REQUIRE(ok(tx.send(1)));
  {
    waiter w;
    wait_list::node n(w);
    CHECK(rx.select_arm_recv(w, n, out) == poll::ready);
    CHECK(w.reason() == wake_reason::notified);
    CHECK_FALSE(n.linked);
    REQUIRE(out);
    CHECK(**out == 1);
  }
  REQUIRE(ok(tx.send(2)));
  {
    waiter w;
    wait_list::node n(w);
    REQUIRE(w.notify());  // another branch won first
    out.reset();
    CHECK(rx.select_arm_recv(w, n, out) == poll::pending);
    CHECK_FALSE(out);
    CHECK_FALSE(n.linked);
    CHECK_FALSE(rx.select_disarm_recv(n, out));
  }
  CHECK(rx.has_changed().value());  // still unseen
}

TEST_CASE("watch: an armed node is fired by a send from a fiber and disarm marks it seen",
          "[sync][watch][select]") {
  auto rt = weft_test::make_runtime(1);
  auto [tx, rx] = watch::channel<int>(0);
  std::optional<watch::ref<int>> out;
  waiter w;
  wait_list::node n(w);
  REQUIRE(rx.select_arm_recv(w, n, out) == poll::pending);
  CHECK(n.linked);
  CHECK(tx.waiting_for_tests() == 1);
  auto h = rt.spawn([&tx] { return tx.send(42).has_value(); });
  CHECK(w.park(nullptr) == wake_reason::notified);
  CHECK(h.join());
  CHECK(n.fired);
  CHECK(rx.select_disarm_recv(n, out));
  REQUIRE(out);
  CHECK(**out == 42);
  CHECK_FALSE(rx.has_changed().value());
}

TEST_CASE("watch: a changed branch that lost marks nothing and a close does not fire",
          "[sync][watch][select]") {
  auto [tx, rx] = watch::channel<int>(0);
  std::optional<watch::ref<int>> out;
  {
    waiter w;
    wait_list::node n(w);
    REQUIRE(rx.select_arm_recv(w, n, out) == poll::pending);
    REQUIRE(w.notify(wake_reason::timeout));
    REQUIRE(ok(tx.send(1)));
    CHECK_FALSE(n.fired);
    CHECK_FALSE(rx.select_disarm_recv(n, out));
    CHECK_FALSE(out);
  }
  CHECK(rx.has_changed().value());
  (void)rx.borrow_and_update();
  waiter w;
  wait_list::node n(w);
  REQUIRE(rx.select_arm_recv(w, n, out) == poll::pending);
  { auto gone = std::move(tx); }
  CHECK(w.reason() == wake_reason::notified);
  CHECK_FALSE(n.fired);
  CHECK_FALSE(rx.select_disarm_recv(n, out));
  CHECK(rx.select_try_recv(out) == poll::disabled);
  waiter w2;
  wait_list::node n2(w2);
  CHECK(rx.select_arm_recv(w2, n2, out) == poll::disabled);
}

TEST_CASE("watch: arm and disarm racing a sending thread see increasing values and the last one",
          "[sync][watch][select]") {
  constexpr int kValues = 20000;
  auto [tx, rx] = watch::channel<int>(0);
  std::thread sender([tx = std::move(tx)]() mutable {
    for (int i = 1; i <= kValues; ++i) {
      (void)tx.send(i);
      if (i % 64 == 0) std::this_thread::yield();
    }
  });
  std::optional<watch::ref<int>> out;
  int prev = 0, not_increasing = 0, disarm_wins = 0;
  bool disabled = false;
  unsigned rng = 777;
  while (!disabled) {
    out.reset();
    poll p = rx.select_try_recv(out);
    if (p == poll::pending) {
      waiter w;
      wait_list::node n(w);
      p = rx.select_arm_recv(w, n, out);
      if (p == poll::pending) {
        rng = rng * 1103515245u + 12345u;
        if ((rng >> 16) % 2 == 0) (void)w.notify(wake_reason::timeout);
        (void)w.park(nullptr);
        if (rx.select_disarm_recv(n, out)) {
          ++disarm_wins;
          p = poll::ready;
        }
      }
    }
    if (p == poll::disabled) disabled = true;
    if (p == poll::ready) {
      if (**out <= prev) ++not_increasing;
      prev = **out;
    }
  }
  sender.join();
  CHECK(not_increasing == 0);
  CHECK(prev == kValues);
  INFO("disarm wins " << disarm_wins);
  CHECK(is(rx.changed(), weft::errc::closed));
}

// ---------------------------------------------------------------------------
// Many receivers.

namespace {
struct many_result {
  int not_increasing = 0;  // receivers that saw a value twice or out of order
  int missed_last = 0;     // receivers whose last value was not the final one
  int not_closed = 0;
  long long observed = 0;  // total values observed (at least one per receiver)
};

// run_many(): one fiber publishes 1..values; fiber and thread receivers
// loop changed() + borrow_and_update() and check what they see.
many_result run_many(int workers, int values, int fiber_rx, int thread_rx) {
  auto rt = weft_test::make_runtime(workers);
  auto [tx, rx0] = watch::channel<int>(0);
  std::vector<watch::receiver<int>> rxs(static_cast<std::size_t>(fiber_rx + thread_rx), rx0);
  { auto gone = std::move(rx0); }
  std::vector<int> bad(rxs.size(), 0), last(rxs.size(), 0), closed(rxs.size(), 0);
  std::vector<long long> seen(rxs.size(), 0);
  auto receive = [&](std::size_t k) {
    int prev = 0;
    for (;;) {
      auto c = rxs[k].changed();
      if (!c) {
        closed[k] = c.error() == weft::errc::closed;
        break;
      }
      const int v = *rxs[k].borrow_and_update();
      if (v <= prev) bad[k] = 1;
      prev = v;
      ++seen[k];
    }
    last[k] = prev;
  };
  std::vector<std::thread> threads;
  for (int k = 0; k < thread_rx; ++k)
    threads.emplace_back(receive, static_cast<std::size_t>(fiber_rx + k));
  rt.block_on([&] {
    std::vector<weft::join_handle<void>> hs;
    for (int k = 0; k < fiber_rx; ++k)
      hs.push_back(weft::spawn(receive, static_cast<std::size_t>(k)));
    auto s = weft::spawn([&, tx = std::move(tx)]() mutable {
      for (int i = 1; i <= values; ++i) {
        tx.send_modify([](int& v) { ++v; });
        if (i % 8 == 0) weft::this_fiber::yield();
      }
    });
    s.join();
    for (auto& h : hs) h.join();
  });
  for (auto& t : threads) t.join();
  many_result r;
  for (std::size_t k = 0; k < rxs.size(); ++k) {
    r.not_increasing += bad[k];
    r.missed_last += last[k] != values;
    r.not_closed += closed[k] ? 0 : 1;
    r.observed += seen[k];
  }
  return r;
}
}  // namespace

TEST_CASE("watch: many fiber and thread receivers see increasing values and the final one",
          "[sync][watch]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  const many_result r = run_many(workers, 5000, 16, 2);
  CHECK(r.not_increasing == 0);
  CHECK(r.missed_last == 0);
  CHECK(r.not_closed == 0);
  CHECK(r.observed >= 18);
  leaks.finish();
}

TEST_CASE("watch: many receivers see increasing values and the final one (stress)",
          "[sync][watch][.stress]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  const many_result r = run_many(workers, 100000, 64, 4);
  CHECK(r.not_increasing == 0);
  CHECK(r.missed_last == 0);
  CHECK(r.not_closed == 0);
}

TEST_CASE("watch: a changed() aborted before it runs leaves the change unseen",
          "[sync][watch][cancel][regression]") {
  // Issue 9 (docs/sync/cancellation.md): cancellation wins over the wake-up.
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  struct outcome {
    std::string a, b;
    bool reached = true, unseen = false;
  };
  const outcome o = rt.block_on([] {
    return weft::spawn_pinned([] {
             outcome r;
             auto ch = watch::channel<int>(0);
             auto& rx = ch.second;
             auto rx2 = rx;
             std::atomic<bool> reached{false};
             auto a = weft::spawn_pinned([&] {
               (void)rx.changed();
               reached = true;
             });
             (void)weft_test::spin_until([&] { return weft_test::in_weft_wait(a); });
             auto b = weft::spawn_pinned([&] { (void)rx2.changed().value(); });
             (void)weft_test::spin_until([&] { return weft_test::in_weft_wait(b); });
             (void)ch.first.send(1);
             a.abort();
             r.a = weft_test::outcome_of([&] { a.join(); });
             r.b = weft_test::outcome_of([&] { b.join(); });
             r.reached = reached;
             r.unseen = rx.has_changed().value();
             return r;
           })
        .join();
  });
  CHECK(o.a == "cancelled");
  CHECK_FALSE(o.reached);
  CHECK(o.b == "value");
  CHECK(o.unseen);
}
