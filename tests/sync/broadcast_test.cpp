// SPDX-License-Identifier: MIT
// Tests of weft::sync::broadcast (weft/sync/broadcast.hpp): delivery to every
// receiver, Tokio's lag arithmetic, subscribe, close, timeouts, cancellation,
// the select members, iteration, value lifetimes and a mixed stress run.
#include "weft/sync/broadcast.hpp"

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "support/runtime_fixture.hpp"
#include "weft/sync.hpp"

using namespace std::chrono_literals;
namespace broadcast = weft::sync::broadcast;
using weft::detail::wait_list;
using weft::detail::waiter;
using weft::detail::wake_reason;
using weft::sync::detail::poll;

namespace {

// sent() says whether a send succeeded (reads better in CHECK than the
// send_result's explicit bool).
template <class R>
bool sent(const R& r) {
  return r.has_value();
}

// drain() receives with try_recv until empty/closed; lags are recorded as -n.
template <class T>
std::vector<long long> drain(broadcast::receiver<T>& rx) {
  std::vector<long long> got;
  for (;;) {
    auto r = rx.try_recv();
    if (r) {
      got.push_back(static_cast<long long>(*r));
    } else if (r.error().is_lagged()) {
      got.push_back(-static_cast<long long>(r.error().skipped));
    } else {
      return got;
    }
  }
}

// counted tracks how many instances are alive.
struct counted {
  static inline std::atomic<int> live{0};
  int v = 0;
  explicit counted(int x) : v(x) { live.fetch_add(1); }
  counted(const counted& o) : v(o.v) { live.fetch_add(1); }
  counted(counted&& o) noexcept : v(o.v) { live.fetch_add(1); }
  counted& operator=(const counted&) = default;
  counted& operator=(counted&&) noexcept = default;
  ~counted() { live.fetch_sub(1); }
};

}  // namespace

TEST_CASE("broadcast: capacity 0 throws invalid_argument", "[sync][broadcast]") {
  CHECK_THROWS_AS(broadcast::channel<int>(0), std::invalid_argument);
  auto [tx, rx] = broadcast::channel<int>(1);
  CHECK(tx.capacity() == 1);
}

TEST_CASE("broadcast: every receiver gets every message in order", "[sync][broadcast]") {
  auto [tx, rx1] = broadcast::channel<int>(8);
  auto rx2 = tx.subscribe();
  CHECK(tx.receiver_count() == 2);
  for (int i = 0; i < 5; ++i) REQUIRE(sent(tx.send(i)));
  CHECK(rx1.len() == 5);
  CHECK(drain(rx1) == std::vector<long long>{0, 1, 2, 3, 4});
  CHECK(rx1.is_empty());
  CHECK(drain(rx2) == std::vector<long long>{0, 1, 2, 3, 4});
  auto e = rx1.try_recv();
  REQUIRE_FALSE(e);
  CHECK(e.error().is_empty());
  CHECK(e.error().code == weft::errc::empty);
}

TEST_CASE("broadcast: len counts the messages a receiver lagged past",
          "[sync][broadcast][regression]") {
  // Issue 9: Tokio counts them (4 for capacity 2 after 4 sends); weft said 2.
  auto [tx, rx] = broadcast::channel<int>(2);
  for (int i = 0; i < 4; ++i) REQUIRE(sent(tx.send(i)));
  CHECK(rx.len() == 4);
  CHECK_FALSE(rx.is_empty());
  auto r = rx.try_recv();
  REQUIRE_FALSE(r);
  CHECK(r.error().skipped == 2);
  CHECK(rx.len() == 2);  // the lag is reported: the retained two are left
}

TEST_CASE("broadcast: a lagging receiver gets lagged(n) then the retained messages in order",
          "[sync][broadcast]") {
  auto [tx, rx] = broadcast::channel<int>(4);
  auto fast = tx.subscribe();
  for (int i = 0; i < 10; ++i) REQUIRE(sent(tx.send(i)));
  auto r = rx.try_recv();
  REQUIRE_FALSE(r);
  CHECK(r.error().is_lagged());
  CHECK(r.error().code == broadcast::recv_errc::lagged);
  CHECK(r.error().skipped == 6);
  CHECK(rx.len() == 4);
  CHECK(drain(rx) == std::vector<long long>{6, 7, 8, 9});
  // The blocking recv reports a lag the same way, exactly once.
  for (int i = 10; i < 15; ++i) REQUIRE(sent(tx.send(i)));
  auto b = rx.recv();
  REQUIRE_FALSE(b);
  CHECK(b.error().skipped == 1);
  CHECK(drain(rx) == std::vector<long long>{11, 12, 13, 14});
  // The other receiver lagged independently: 15 sent, 4 retained.
  CHECK(drain(fast) == std::vector<long long>{-11, 11, 12, 13, 14});
  // value() throws a system_error carrying the lagged code.
  for (int i = 0; i < 6; ++i) REQUIRE(sent(tx.send(i)));
  try {
    (void)rx.recv().value();
    FAIL("value() of a lag did not throw");
  } catch (const std::system_error& ex) {
    CHECK(ex.code() == broadcast::recv_errc::lagged);
    CHECK(std::string(ex.what()).find("skipped 2") != std::string::npos);
  }
  CHECK(std::string(broadcast::error_category().name()) == "weft.broadcast");
}

TEST_CASE("broadcast: a receiver reading exactly capacity behind does not lag",
          "[sync][broadcast]") {
  auto [tx, rx] = broadcast::channel<int>(3);
  for (int i = 0; i < 3; ++i) REQUIRE(sent(tx.send(i)));
  CHECK(drain(rx) == std::vector<long long>{0, 1, 2});
  for (int i = 3; i < 6; ++i) REQUIRE(sent(tx.send(i)));
  REQUIRE(rx.recv().value() == 3);
  REQUIRE(sent(tx.send(6)));  // overwrites 3, which rx already read
  CHECK(drain(rx) == std::vector<long long>{4, 5, 6});
}

TEST_CASE("broadcast: subscribe sees only later messages and a copy starts at the same position",
          "[sync][broadcast]") {
  auto [tx, rx] = broadcast::channel<int>(8);
  REQUIRE(sent(tx.send(1)));
  auto late = tx.subscribe();
  auto re = rx.resubscribe();
  auto copy = rx;  // same cursor as rx: will see 1 as well
  REQUIRE(sent(tx.send(2)));
  CHECK(tx.receiver_count() == 4);
  CHECK(drain(late) == std::vector<long long>{2});
  CHECK(drain(re) == std::vector<long long>{2});
  CHECK(drain(copy) == std::vector<long long>{1, 2});
  CHECK(drain(rx) == std::vector<long long>{1, 2});
  auto copy2 = rx;  // rx is at the tail now
  REQUIRE(sent(tx.send(3)));
  CHECK(drain(copy2) == std::vector<long long>{3});
}

TEST_CASE("broadcast: closed only after every sender is gone and the receiver drained",
          "[sync][broadcast]") {
  std::optional<broadcast::sender<int>> tx1, tx2;
  std::optional<broadcast::receiver<int>> rx;
  {
    auto [t, r] = broadcast::channel<int>(4);
    tx1.emplace(std::move(t));
    rx.emplace(std::move(r));
  }
  tx2.emplace(*tx1);
  REQUIRE(sent(tx1->send(1)));
  REQUIRE(sent(tx2->send(2)));
  tx1.reset();
  CHECK_FALSE(rx->is_closed());
  REQUIRE(sent(tx2->send(3)));
  tx2.reset();
  CHECK(rx->is_closed());
  CHECK(rx->recv().value() == 1);
  CHECK(rx->try_recv().value() == 2);
  CHECK(rx->recv_for(1s).value() == 3);
  auto c = rx->recv();
  REQUIRE_FALSE(c);
  CHECK(c.error().is_closed());
  CHECK(rx->try_recv().error().is_closed());
  CHECK(rx->recv_for(1s).error().is_closed());
  CHECK_THROWS_AS(rx->recv().value(), std::system_error);
}

TEST_CASE("broadcast: a lag is reported before closed", "[sync][broadcast]") {
  auto [tx, rx] = broadcast::channel<int>(2);
  for (int i = 0; i < 5; ++i) REQUIRE(sent(tx.send(i)));
  { auto gone = std::move(tx); }
  CHECK(drain(rx) == std::vector<long long>{-3, 3, 4});
  CHECK(rx.recv().error().is_closed());
}

TEST_CASE("broadcast: send with no receivers returns the value with closed", "[sync][broadcast]") {
  auto [tx, rx] = broadcast::channel<std::string>(2);
  { auto gone = std::move(rx); }
  CHECK(tx.receiver_count() == 0);
  auto r = tx.send(std::string("hello"));
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().is_closed());
  CHECK(r.error().value == "hello");
  const std::string lv = "lvalue";
  auto r2 = tx.send(lv);
  REQUIRE_FALSE(r2.has_value());
  CHECK(r2.error().value == "lvalue");
  CHECK_THROWS_AS(tx.send(lv).value(), std::system_error);
  // A new subscriber reopens delivery and sees only what follows.
  auto again = tx.subscribe();
  REQUIRE(sent(tx.send(std::string("world"))));
  CHECK(again.recv().value() == "world");
}

TEST_CASE(
    "broadcast: values die when overwritten, when read by every receiver and with the channel",
    "[sync][broadcast]") {
  counted::live.store(0);
  {
    auto [tx, a] = broadcast::channel<counted>(2);
    auto b = tx.subscribe();
    for (int i = 0; i < 3; ++i) REQUIRE(sent(tx.send(counted(i))));
    CHECK(counted::live.load() == 2);  // 0 was overwritten
    CHECK(a.recv().error().skipped == 1);
    CHECK(a.recv().value().v == 1);
    CHECK(a.recv().value().v == 2);
    CHECK(counted::live.load() == 2);  // b has not read them
    CHECK(b.recv().error().skipped == 1);
    CHECK(b.recv().value().v == 1);
    CHECK(counted::live.load() == 1);  // the last reader took 1 out
    REQUIRE(sent(tx.send(counted(3))));
    CHECK(counted::live.load() == 2);
    { auto gone = std::move(b); }      // b never reads 2 and 3
    CHECK(counted::live.load() == 1);  // 2 is gone, a has not read 3
    REQUIRE(sent(tx.send(counted(4))));
    CHECK(counted::live.load() == 2);
  }
  CHECK(counted::live.load() == 0);
}

TEST_CASE("broadcast: a parked recv wakes for a send and for the close", "[sync][broadcast]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers);
    struct outcome {
      std::vector<long long> got;
      bool closed = false;
      bool parked = false;
    };
    const outcome o = rt.block_on([] {
      outcome r;
      auto [tx, rx] = broadcast::channel<int>(4);
      auto h = weft::spawn([&r, rx = std::move(rx)]() mutable {
        for (;;) {
          auto m = rx.recv();
          if (!m) {
            r.closed = m.error().is_closed();
            return;
          }
          r.got.push_back(*m);
        }
      });
      r.parked = true;
      for (int i = 0; i < 3; ++i) {
        // The receiver is parked again before each send (this exercises the wake-up).
        r.parked = weft_test::spin_until([&] { return weft_test::in_weft_wait(h); }) && r.parked;
        (void)tx.send(i);
      }
      { auto gone = std::move(tx); }
      h.join();
      return r;
    });
    CHECK(o.parked);
    CHECK(o.got == std::vector<long long>{0, 1, 2});
    CHECK(o.closed);
  }
  leaks.finish();
}

TEST_CASE("broadcast: recv_for and recv_until time out on the paused clock",
          "[sync][broadcast][timing]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers, /*paused=*/true);
    struct outcome {
      bool timed_out = false, until_timed_out = false, past_gets_value = false;
      weft::time::duration waited{};
      int after_timeout = -1;
      int waiting_after = -1;
    };
    const outcome o = rt.block_on([] {
      outcome r;
      auto [tx, rx] = broadcast::channel<int>(4);
      const auto t0 = weft::time::clock::now();
      r.timed_out = rx.recv_for(5s).error().is_timeout();
      r.waited = weft::time::clock::now() - t0;
      r.until_timed_out =
          rx.recv_until(weft::time::clock::now() + 1s).error().code == std::errc::timed_out;
      r.waiting_after = static_cast<int>(rx.waiting_for_tests());
      (void)tx.send(7);
      r.past_gets_value = rx.recv_until(t0).value() == 7;  // a ready message beats a past deadline
      auto h = weft::spawn([&tx] {
        weft::time::sleep(1s);
        (void)tx.send(8);
      });
      r.after_timeout = rx.recv_for(10s).value();
      h.join();
      return r;
    });
    CHECK(o.timed_out);
    CHECK(o.waited >= 5s);
    CHECK(o.until_timed_out);
    CHECK(o.waiting_after == 0);
    CHECK(o.past_gets_value);
    CHECK(o.after_timeout == 8);
  }
  leaks.finish();
}

TEST_CASE("broadcast: cancelling a parked recv leaves the channel usable and the cursor unchanged",
          "[sync][broadcast][cancel]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers);
    struct outcome {
      std::string join;
      bool parked = false;
      int waiting = -1;
      std::vector<long long> after;
    };
    const outcome o = rt.block_on([] {
      outcome r;
      auto [tx, rx] = broadcast::channel<int>(4);
      (void)tx.send(1);
      (void)rx.recv();  // rx is at the tail
      auto h = weft::spawn([&rx] { (void)rx.recv(); });
      r.parked = weft_test::spin_until(
          [&] { return weft_test::in_weft_wait(h) && rx.waiting_for_tests() == 1; });
      h.abort();
      r.join = weft_test::outcome_of([&] { h.join(); });
      r.waiting = static_cast<int>(rx.waiting_for_tests());
      (void)tx.send(2);
      (void)tx.send(3);
      r.after = drain(rx);
      return r;
    });
    CHECK(o.parked);
    CHECK(o.join == "cancelled");
    CHECK(o.waiting == 0);
    CHECK(o.after == std::vector<long long>{2, 3});
  }
  leaks.finish();
}

TEST_CASE("broadcast: range-for receives until closed and skips a lag", "[sync][broadcast]") {
  auto [tx, rx] = broadcast::channel<int>(2);
  for (int i = 0; i < 5; ++i) REQUIRE(sent(tx.send(i)));
  { auto gone = std::move(tx); }
  std::vector<int> got;
  for (int v : rx) got.push_back(v);
  CHECK(got == std::vector<int>{3, 4});
}

TEST_CASE("broadcast: range-for on a fiber follows a concurrent sender", "[sync][broadcast]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers);
    const long long sum = rt.block_on([] {
      auto [tx, rx] = broadcast::channel<int>(1000);
      auto h = weft::spawn([rx = std::move(rx)]() mutable {
        long long s = 0;
        for (int v : rx) s += v;
        return s;
      });
      for (int i = 1; i <= 1000; ++i) {
        (void)tx.send(i);
        if (i % 7 == 0) weft::this_fiber::yield();
      }
      { auto gone = std::move(tx); }
      return h.join();
    });
    CHECK(sum == 1000LL * 1001 / 2);
  }
  leaks.finish();
}

// ---------------------------------------------------------------------------
// select members, driven directly (the select front end is not here yet).

TEST_CASE("broadcast: select_try_recv is ready, pending or disabled and consumes only when ready",
          "[sync][broadcast][select]") {
  auto [tx, rx] = broadcast::channel<int>(2);
  std::optional<broadcast::recv_result<int>> out;
  CHECK(rx.select_try_recv(out) == poll::pending);
  CHECK_FALSE(out);
  for (int i = 0; i < 3; ++i) REQUIRE(sent(tx.send(i)));
  CHECK(rx.select_try_recv(out) == poll::ready);
  REQUIRE(out);
  CHECK(out->error().skipped == 1);  // a lag is a completed value
  out.reset();
  CHECK(rx.select_try_recv(out) == poll::ready);
  CHECK(out->value() == 1);
  { auto gone = std::move(tx); }
  out.reset();
  CHECK(rx.select_try_recv(out) == poll::ready);
  CHECK(out->value() == 2);
  out.reset();
  CHECK(rx.select_try_recv(out) == poll::disabled);
  CHECK_FALSE(out);
}

TEST_CASE("broadcast: select arm with a message ready claims the waiter and takes it",
          "[sync][broadcast][select]") {
  auto [tx, rx] = broadcast::channel<int>(4);
  REQUIRE(sent(tx.send(5)));
  std::optional<broadcast::recv_result<int>> out;
  {
    waiter w;
    wait_list::node n(w);
    CHECK(rx.select_arm_recv(w, n, out) == poll::ready);
    CHECK(w.reason() == wake_reason::notified);
    CHECK_FALSE(n.linked);
    REQUIRE(out);
    CHECK(out->value() == 5);
  }
  // Another branch already won: arming completes nothing and takes nothing.
  REQUIRE(sent(tx.send(6)));
  {
    waiter w;
    wait_list::node n(w);
    REQUIRE(w.notify());
    out.reset();
    CHECK(rx.select_arm_recv(w, n, out) == poll::pending);
    CHECK_FALSE(out);
    CHECK_FALSE(n.linked);
    CHECK_FALSE(rx.select_disarm_recv(n, out));
  }
  CHECK(rx.try_recv().value() == 6);
  // Closed and drained: disabled, nothing linked.
  { auto gone = std::move(tx); }
  waiter w;
  wait_list::node n(w);
  CHECK(rx.select_arm_recv(w, n, out) == poll::disabled);
  CHECK_FALSE(n.linked);
  CHECK(w.reason() == wake_reason::waiting);
}

TEST_CASE("broadcast: an armed node is fired by a send from a fiber and disarm takes the message",
          "[sync][broadcast][select]") {
  auto rt = weft_test::make_runtime(1);
  auto [tx, rx] = broadcast::channel<int>(4);
  std::optional<broadcast::recv_result<int>> out;
  waiter w;  // a plain-thread waiter on the main thread
  wait_list::node n(w);
  REQUIRE(rx.select_arm_recv(w, n, out) == poll::pending);
  CHECK(n.linked);
  CHECK(rx.waiting_for_tests() == 1);
  auto h = rt.spawn([&tx] { return static_cast<bool>(tx.send(42)); });
  CHECK(w.park(nullptr) == wake_reason::notified);
  CHECK(h.join());
  CHECK(n.fired);
  CHECK_FALSE(n.linked);
  CHECK(rx.select_disarm_recv(n, out));
  REQUIRE(out);
  CHECK(out->value() == 42);
  CHECK(rx.try_recv().error().is_empty());
}

TEST_CASE("broadcast: a fired node whose messages were overwritten disarms with the lag",
          "[sync][broadcast][select]") {
  auto [tx, rx] = broadcast::channel<int>(2);
  std::optional<broadcast::recv_result<int>> out;
  waiter w;
  wait_list::node n(w);
  REQUIRE(rx.select_arm_recv(w, n, out) == poll::pending);
  for (int i = 0; i < 4; ++i) REQUIRE(sent(tx.send(i)));
  CHECK(n.fired);
  CHECK(rx.select_disarm_recv(n, out));
  REQUIRE(out);
  REQUIRE_FALSE(*out);
  CHECK(out->error().skipped == 2);
  CHECK(drain(rx) == std::vector<long long>{2, 3});
}

TEST_CASE("broadcast: a branch that lost consumes nothing and a close does not fire",
          "[sync][broadcast][select]") {
  auto [tx, rx] = broadcast::channel<int>(4);
  std::optional<broadcast::recv_result<int>> out;
  {
    waiter w;
    wait_list::node n(w);
    REQUIRE(rx.select_arm_recv(w, n, out) == poll::pending);
    REQUIRE(w.notify(wake_reason::timeout));  // another branch (a timer) wins
    REQUIRE(sent(tx.send(1)));                // the send cannot claim w
    CHECK_FALSE(n.fired);
    CHECK_FALSE(rx.select_disarm_recv(n, out));
    CHECK_FALSE(out);
  }
  CHECK(rx.try_recv().value() == 1);  // cursor unchanged by the losing branch
  waiter w;
  wait_list::node n(w);
  REQUIRE(rx.select_arm_recv(w, n, out) == poll::pending);
  { auto gone = std::move(tx); }
  CHECK(w.reason() == wake_reason::notified);  // woken to re-poll
  CHECK_FALSE(n.fired);
  CHECK_FALSE(rx.select_disarm_recv(n, out));
  CHECK(rx.select_try_recv(out) == poll::disabled);
}

namespace {

// throwing_copy throws from its copy constructor while `armed` is set.
struct throwing_copy {
  static inline bool armed = false;
  int v = 0;
  explicit throwing_copy(int x) : v(x) {}
  throwing_copy(const throwing_copy& o) : v(o.v) {
    if (armed) throw std::runtime_error("copy");
  }
  throwing_copy(throwing_copy&&) noexcept = default;
  throwing_copy& operator=(const throwing_copy&) = default;
  throwing_copy& operator=(throwing_copy&&) noexcept = default;
};

}  // namespace

TEST_CASE("broadcast: a message copy that throws in arm or disarm consumes nothing",
          "[sync][broadcast][select]") {
  auto [tx, rx] = broadcast::channel<throwing_copy>(4);
  auto other = tx.subscribe();  // two readers: rx must copy, not move
  std::optional<broadcast::recv_result<throwing_copy>> out;
  REQUIRE(sent(tx.send(throwing_copy(1))));
  throwing_copy::armed = true;
  {
    waiter w;
    wait_list::node n(w);
    CHECK(rx.select_arm_recv(w, n, out) == poll::pending);  // claimed, but nothing taken
    CHECK(w.reason() == wake_reason::notified);
    CHECK_FALSE(out);
  }
  CHECK_THROWS_AS(rx.select_try_recv(out), std::runtime_error);  // the re-poll surfaces it
  {
    throwing_copy::armed = false;
    waiter w;
    wait_list::node n(w);
    REQUIRE(rx.select_try_recv(out) == poll::ready);
    CHECK(out->value().v == 1);
    out.reset();
    REQUIRE(rx.select_arm_recv(w, n, out) == poll::pending);
    REQUIRE(sent(tx.send(throwing_copy(2))));
    CHECK(n.fired);
    throwing_copy::armed = true;
    CHECK_FALSE(rx.select_disarm_recv(n, out));
    CHECK_FALSE(out);
  }
  CHECK_THROWS_AS(rx.try_recv(), std::runtime_error);
  throwing_copy::armed = false;
  CHECK(rx.try_recv().value().v == 2);
  CHECK(other.try_recv().value().v == 1);
}

TEST_CASE("broadcast: arm and disarm racing a sending thread lose and duplicate nothing",
          "[sync][broadcast][select]") {
  // The main thread plays a select with two branches: the receiver and a
  // competing source that it fires itself on some rounds, racing the sender.
  // Whatever path delivers a message, the receiver must see 0..N-1 exactly.
  constexpr int kMessages = 20000;
  auto [tx, rx] = broadcast::channel<int>(kMessages);
  std::thread sender([tx = std::move(tx)] {
    for (int i = 0; i < kMessages; ++i) {
      (void)tx.send(i);
      if (i % 64 == 0) std::this_thread::yield();
    }
  });
  std::vector<int> got;
  std::optional<broadcast::recv_result<int>> out;
  int disarm_wins = 0, competitor_wins = 0, bad = 0;
  unsigned rng = 12345;
  for (int round = 0; got.size() < static_cast<std::size_t>(kMessages) && round < 10 * kMessages;
       ++round) {
    out.reset();
    const poll p0 = rx.select_try_recv(out);
    if (p0 == poll::ready) {
      got.push_back(out->value());
      continue;
    }
    if (p0 == poll::disabled) break;
    waiter w;
    wait_list::node n(w);
    const poll p = rx.select_arm_recv(w, n, out);
    if (p == poll::ready) {
      got.push_back(out->value());
      continue;
    }
    rng = rng * 1103515245u + 12345u;
    if ((rng >> 16) % 2 == 0 && w.notify(wake_reason::timeout)) ++competitor_wins;
    (void)w.park(nullptr);
    if (rx.select_disarm_recv(n, out)) {
      ++disarm_wins;
      if (!*out) ++bad;
      got.push_back(out->value());
    }
  }
  sender.join();
  std::vector<int> want(kMessages);
  for (int i = 0; i < kMessages; ++i) want[static_cast<std::size_t>(i)] = i;
  CHECK(bad == 0);
  CHECK(got == want);
  CHECK(rx.try_recv().error().is_closed());
  INFO("disarm wins " << disarm_wins << ", competitor wins " << competitor_wins);
  CHECK(disarm_wins + competitor_wins > 0);
}

// ---------------------------------------------------------------------------
// Many senders and receivers.

namespace {

struct mixed_result {
  int receivers = 0;
  int wrong_count = 0;   // receivers whose message count is not N*M
  int out_of_order = 0;  // per-sender order violations
  int bad_multiset = 0;  // receivers that did not get exactly each message once
  int not_closed = 0;    // receivers that did not end with closed
  int lagged = 0;
  int send_failures = 0;
};

// run_mixed(): `fiber_senders` + `thread_senders` send `per_sender` messages
// each (sender s sends s * 1'000'000 + i); `fiber_receivers` +
// `thread_receivers` check they got every message exactly once, in each
// sender's order. Capacity holds everything: nobody may lag.
mixed_result run_mixed(int workers, int fiber_senders, int thread_senders, int per_sender,
                       int fiber_receivers, int thread_receivers) {
  const int senders = fiber_senders + thread_senders;
  const auto total = static_cast<std::size_t>(senders * per_sender);
  auto rt = weft_test::make_runtime(workers);
  auto [tx0, rx0] = broadcast::channel<std::int64_t>(total);
  std::vector<broadcast::receiver<std::int64_t>> rxs;
  for (int i = 0; i < fiber_receivers + thread_receivers; ++i) rxs.push_back(rx0);
  { auto gone = std::move(rx0); }
  std::vector<broadcast::sender<std::int64_t>> txs(static_cast<std::size_t>(senders), tx0);
  { auto gone = std::move(tx0); }

  std::vector<std::vector<std::int64_t>> got(rxs.size());
  std::vector<int> closed(rxs.size(), 0), lags(rxs.size(), 0);
  std::atomic<int> send_failures{0};
  auto receive = [&](std::size_t k) {
    for (;;) {
      auto m = rxs[k].recv();
      if (m) {
        got[k].push_back(*m);
      } else {
        if (m.error().is_lagged()) {
          ++lags[k];
          continue;
        }
        closed[k] = m.error().is_closed();
        return;
      }
    }
  };
  auto send = [&](std::size_t s) {
    auto tx = std::move(txs[s]);
    for (int i = 0; i < per_sender; ++i) {
      if (!tx.send(static_cast<std::int64_t>(s) * 1000000 + i)) send_failures.fetch_add(1);
      if (i % 16 == 0) weft::this_fiber::yield();
    }
  };
  std::vector<std::thread> threads;
  for (int k = 0; k < thread_receivers; ++k) {
    threads.emplace_back(receive, static_cast<std::size_t>(fiber_receivers + k));
  }
  for (int s = 0; s < thread_senders; ++s) {
    threads.emplace_back(send, static_cast<std::size_t>(fiber_senders + s));
  }
  rt.block_on([&] {
    std::vector<weft::join_handle<void>> hs;
    for (int k = 0; k < fiber_receivers; ++k)
      hs.push_back(weft::spawn(receive, static_cast<std::size_t>(k)));
    for (int s = 0; s < fiber_senders; ++s)
      hs.push_back(weft::spawn(send, static_cast<std::size_t>(s)));
    for (auto& h : hs) h.join();
  });
  for (auto& t : threads) t.join();

  mixed_result r;
  r.receivers = static_cast<int>(rxs.size());
  r.send_failures = send_failures.load();
  for (std::size_t k = 0; k < rxs.size(); ++k) {
    r.lagged += lags[k];
    if (!closed[k]) ++r.not_closed;
    if (got[k].size() != total) ++r.wrong_count;
    std::map<std::int64_t, std::int64_t> last;  // sender -> last index seen
    for (auto v : got[k]) {
      const std::int64_t s = v / 1000000, i = v % 1000000;
      auto it = last.find(s);
      if (it != last.end() && it->second >= i) ++r.out_of_order;
      last[s] = i;
    }
    std::vector<std::int64_t> sorted = got[k], want;
    std::sort(sorted.begin(), sorted.end());
    for (int s = 0; s < senders; ++s) {
      for (int i = 0; i < per_sender; ++i)
        want.push_back(static_cast<std::int64_t>(s) * 1000000 + i);
    }
    if (sorted != want) ++r.bad_multiset;
  }
  return r;
}

void check_mixed(const mixed_result& r, int receivers) {
  CHECK(r.receivers == receivers);
  CHECK(r.send_failures == 0);
  CHECK(r.wrong_count == 0);
  CHECK(r.out_of_order == 0);
  CHECK(r.bad_multiset == 0);
  CHECK(r.not_closed == 0);
  CHECK(r.lagged == 0);
}

}  // namespace

TEST_CASE("broadcast: fiber and thread senders reach every fiber and thread receiver in order",
          "[sync][broadcast]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  check_mixed(run_mixed(workers, 2, 2, 500, 4, 2), 6);
  leaks.finish();
}

TEST_CASE("broadcast: fiber and thread senders reach every receiver in order (stress)",
          "[sync][broadcast][.stress]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  check_mixed(run_mixed(workers, 4, 3, 5000, 16, 3), 19);
}

namespace {

struct lag_result {
  int fast_wrong = 0;      // fast receivers whose sequence is not 0..N-1
  long long slow_got = 0;  // messages the slow receiver got
  long long slow_skipped = 0;
  int slow_lags = 0;
  int slow_not_increasing = 0;
  bool slow_closed = false;
};

// run_lagging(): one fiber sender, `fast` receivers (fibers and two plain
// threads) that the sender never outruns by more than capacity/2, and one
// slow fiber receiver that reads one message per `capacity * 2` sent.
lag_result run_lagging(int workers, int messages, int fast_fibers, std::size_t capacity) {
  auto rt = weft_test::make_runtime(workers);
  auto [tx, rx0] = broadcast::channel<int>(capacity);
  const int fast = fast_fibers + 2;
  std::vector<broadcast::receiver<int>> rxs;
  for (int i = 0; i < fast + 1; ++i) rxs.push_back(rx0);
  { auto gone = std::move(rx0); }
  std::vector<std::atomic<int>> progress(static_cast<std::size_t>(fast));
  for (auto& p : progress) p.store(0);
  std::atomic<int> sent{0};
  std::vector<int> fast_ok(static_cast<std::size_t>(fast), 0);
  lag_result r;

  auto fast_rx = [&](std::size_t k) {
    int expect = 0;
    bool ok = true;
    for (;;) {
      auto m = rxs[k].recv();
      if (!m) {
        ok = ok && m.error().is_closed();
        break;
      }
      ok = ok && *m == expect;
      ++expect;
      progress[k].store(expect, std::memory_order_release);
    }
    fast_ok[k] = ok && expect == messages;
  };
  std::vector<std::thread> threads;
  for (int k = fast_fibers; k < fast; ++k)
    threads.emplace_back(fast_rx, static_cast<std::size_t>(k));
  rt.block_on([&] {
    std::vector<weft::join_handle<void>> hs;
    for (int k = 0; k < fast_fibers; ++k)
      hs.push_back(weft::spawn(fast_rx, static_cast<std::size_t>(k)));
    auto slow = weft::spawn([&] {
      auto& rx = rxs[static_cast<std::size_t>(fast)];
      int last = -1;
      for (;;) {
        auto m = rx.recv();
        if (m) {
          ++r.slow_got;
          if (*m <= last) ++r.slow_not_increasing;
          last = *m;
          // Be slow: let the sender get well ahead before reading again.
          const int target = std::min(messages, *m + static_cast<int>(capacity) * 2);
          weft_test::spin_until([&] { return sent.load() >= target; });
        } else if (m.error().is_lagged()) {
          ++r.slow_lags;
          r.slow_skipped += static_cast<long long>(m.error().skipped);
        } else {
          r.slow_closed = m.error().is_closed();
          return;
        }
      }
    });
    auto sender = weft::spawn([&, tx = std::move(tx)]() mutable {
      const int window = static_cast<int>(capacity) / 2;
      for (int i = 0; i < messages; ++i) {
        weft_test::spin_until([&] {
          for (auto& p : progress) {
            if (i - p.load(std::memory_order_acquire) >= window) return false;
          }
          return true;
        });
        (void)tx.send(i);
        sent.store(i + 1);
      }
    });
    sender.join();
    slow.join();
    for (auto& h : hs) h.join();
  });
  for (auto& t : threads) t.join();
  for (int ok : fast_ok) r.fast_wrong += ok ? 0 : 1;
  return r;
}

void check_lagging(const lag_result& r, int messages) {
  CHECK(r.fast_wrong == 0);
  CHECK(r.slow_lags > 0);
  CHECK(r.slow_got + r.slow_skipped == messages);
  CHECK(r.slow_not_increasing == 0);
  CHECK(r.slow_closed);
}

}  // namespace

TEST_CASE("broadcast: fast receivers get everything while a slow one lags", "[sync][broadcast]") {
  const int messages = 5000;
  const lag_result r = run_lagging(4, messages, 6, 16);
  check_lagging(r, messages);
}

TEST_CASE("broadcast: fast receivers get everything while a slow one lags (stress)",
          "[sync][broadcast][.stress]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  const int messages = 40000;
  check_lagging(run_lagging(workers, messages, 24, 32), messages);
}
