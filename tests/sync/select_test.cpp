// SPDX-License-Identifier: MIT
// Tests of weft::sync::select (select.hpp): exactly one branch completes and
// the losers have no effect (races with many fibers and threads), fairness
// and biased order, deadlines, else/disabled, tokens, notify, join,
// cancellation of a parked select, plain threads.
#include "weft/sync/select.hpp"

#include <array>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/runtime_fixture.hpp"
#include "sync/sync_test_support.hpp"
#include "weft/sync/broadcast.hpp"
#include "weft/sync/mpsc.hpp"
#include "weft/sync/oneshot.hpp"
#include "weft/sync/watch.hpp"

using namespace std::chrono_literals;
namespace mpsc = weft::sync::mpsc;
using weft::sync::on_cancelled;
using weft::sync::on_deadline;
using weft::sync::on_else;
using weft::sync::on_join;
using weft::sync::on_notified;
using weft::sync::on_recv;
using weft::sync::on_send;
using weft::sync::on_sleep;
using weft::sync::select;
using weft::sync::select_biased;

TEST_CASE("select: racing selectors over shared receivers take every message exactly once",
          "[sync][select]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  constexpr int kSelectors = 8, kFiberProducers = 4, kThreadProducers = 2, kPer = 1000;
  constexpr int kProducers = kFiberProducers + kThreadProducers;
  auto rt = weft_test::make_runtime(workers);
  auto [tx_a, rx_a] = mpsc::channel<std::uint64_t>(4);
  auto [tx_b, rx_b] = mpsc::channel<std::uint64_t>(4);
  // Each message is unique: producer << 32 | seq, sent alternately on a and b.
  std::vector<std::atomic<int>> seen(static_cast<std::size_t>(kProducers * kPer));
  std::atomic<long> received{0};
  std::atomic<int> bad{0};
  auto record = [&](std::uint64_t m) {
    const auto idx = (m >> 32) * kPer + (m & 0xffffffffu);
    if (idx >= seen.size()) {
      bad++;
      return;
    }
    seen[idx]++;
    received++;
  };
  auto produce = [kPer](int p, mpsc::sender<std::uint64_t> a, mpsc::sender<std::uint64_t> b) {
    for (std::uint64_t i = 0; i < kPer; ++i) {
      auto& tx = (i % 2) ? a : b;
      (void)tx.send((std::uint64_t(p) << 32) | i);
    }
  };
  std::vector<std::thread> threads;
  for (int p = kFiberProducers; p < kProducers; ++p) threads.emplace_back(produce, p, tx_a, tx_b);
  rt.block_on([&, tx_a = std::move(tx_a), tx_b = std::move(tx_b)]() mutable {
    for (int p = 0; p < kFiberProducers; ++p) weft::spawn(produce, p, tx_a, tx_b).detach();
    { auto da = std::move(tx_a), db = std::move(tx_b); }
    std::vector<weft::join_handle<void>> sel;
    for (int s = 0; s < kSelectors; ++s) {
      sel.push_back(weft::spawn([&] {
        bool open = true;
        while (open) {
          const auto i = select(on_recv(rx_a, [&](std::uint64_t m) { record(m); }),
                                on_recv(rx_b, [&](std::uint64_t m) { record(m); }),
                                on_else([&] { open = false; }));
          if (i > 2) bad++;
        }
      }));
    }
    for (auto& h : sel) h.join();
  });
  for (auto& t : threads) t.join();
  CHECK(bad.load() == 0);
  CHECK(received.load() == long{kProducers} * kPer);
  int dup_or_lost = 0;
  for (auto& s : seen) dup_or_lost += s.load() == 1 ? 0 : 1;
  CHECK(dup_or_lost == 0);
}

TEST_CASE("select: a send that is not chosen sends nothing and keeps its value", "[sync][select]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  constexpr int kSelects = 1000;
  auto rt = weft_test::make_runtime(workers);
  struct outcome {
    int chosen_a = 0, chosen_b = 0, got_a = 0, got_b = 0;
    int kept_wrong = 0;
  };
  auto o = rt.block_on([] {
    outcome r;
    auto [tx_a, rx_a] = mpsc::channel<std::unique_ptr<int>>(1);
    auto [tx_b, rx_b] = mpsc::channel<std::unique_ptr<int>>(1);
    auto drain = [](mpsc::receiver<std::unique_ptr<int>> rx) {
      int n = 0;
      while (auto m = rx.recv()) n += (*m && **m >= 0) ? 1 : 0;
      return n;
    };
    auto da = weft::spawn(drain, std::move(rx_a));
    auto db = weft::spawn(drain, std::move(rx_b));
    for (int k = 0; k < kSelects; ++k) {
      auto a = std::make_unique<int>(k);
      auto b = std::make_unique<int>(k);
      const auto i =
          select(on_send(tx_a, a, [&] { r.chosen_a++; }), on_send(tx_b, b, [&] { r.chosen_b++; }));
      // Exactly the chosen value moved; the other is still ours.
      if (i == 0 && !(a == nullptr && b != nullptr)) r.kept_wrong++;
      if (i == 1 && !(b == nullptr && a != nullptr)) r.kept_wrong++;
    }
    { auto ka = std::move(tx_a), kb = std::move(tx_b); }
    r.got_a = da.join();
    r.got_b = db.join();
    return r;
  });
  CHECK(o.kept_wrong == 0);
  CHECK(o.chosen_a + o.chosen_b == kSelects);
  CHECK(o.got_a == o.chosen_a);
  CHECK(o.got_b == o.chosen_b);
}

TEST_CASE("select: fair choice among ready branches, biased picks the first", "[sync][select]") {
  auto [tx_a, rx_a] = mpsc::unbounded_channel<int>();
  auto [tx_b, rx_b] = mpsc::unbounded_channel<int>();
  constexpr int kRounds = 2000;
  for (int i = 0; i < kRounds; ++i) {
    (void)tx_a.send(i);
    (void)tx_b.send(i);
  }
  int fair_a = 0, fair_b = 0;
  for (int i = 0; i < kRounds / 2; ++i) {
    select(on_recv(rx_a, [&](int) { fair_a++; }), on_recv(rx_b, [&](int) { fair_b++; }));
  }
  // Random start: each side wins about half; a fixed order would give 0.
  CHECK(fair_a > kRounds / 10);
  CHECK(fair_b > kRounds / 10);
  int biased_first = 0;
  for (int i = 0; i < 100; ++i) {
    biased_first +=
        select_biased(on_recv(rx_a, [](int) {}), on_recv(rx_b, [](int) {})) == 0 ? 1 : 0;
  }
  CHECK(biased_first == 100);
}

TEST_CASE("select: a deadline branch fires on the paused clock when nothing else is ready",
          "[sync][select][timing]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers, /*paused=*/true);
  struct outcome {
    std::size_t first = 9, second = 9;
    weft::time::duration took{};
    int received = 0;
  };
  auto o = rt.block_on([] {
    outcome r;
    auto [tx, rx] = mpsc::channel<int>(1);
    const auto t0 = weft::time::clock::now();
    r.first = select(on_recv(rx, [&](int) { r.received++; }), on_sleep(5s, [] {}),
                     on_deadline(t0 + 7s, [] {}));
    r.took = weft::time::clock::now() - t0;
    // A message arriving before the deadline wins.
    auto h = weft::spawn([tx]() mutable {
      weft::time::sleep(1s);
      (void)tx.send(1);
    });
    r.second = select(on_recv(rx, [&](int) { r.received++; }), on_sleep(10s, [] {}));
    h.join();
    return r;
  });
  CHECK(o.first == 1);
  CHECK(o.took == 5s);
  CHECK(o.second == 0);
  CHECK(o.received == 1);
}

TEST_CASE("select: closed channels disable their branches and on_else runs", "[sync][select]") {
  auto [tx, rx] = mpsc::channel<int>(2);
  (void)tx.send(1);
  { auto gone = std::move(tx); }
  int got = 0, elses = 0;
  // The buffered message is still received, then the branch is disabled.
  CHECK(select(on_recv(rx, [&](int v) { got = v; }), on_else([&] { elses++; })) == 0);
  CHECK(got == 1);
  CHECK(select(on_recv(rx, [&](int) { got = -1; }), on_else([&] { elses++; })) == 1);
  CHECK(elses == 1);
  CHECK_THROWS_AS(select(on_recv(rx, [](int) {})), weft::sync::select_error);
  // A send branch on a closed channel is disabled too.
  auto [tx2, rx2] = mpsc::channel<int>(1);
  rx2.close();
  int v = 5;
  CHECK(select(on_send(tx2, v, [] {}), on_else([] {})) == 1);
  CHECK(v == 5);
}

TEST_CASE("select: a token, a notify and a join handle each wake a parked select",
          "[sync][select]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  struct outcome {
    std::size_t by_token = 9, by_notify = 9, by_join = 9;
    int joined = 0;
    bool token_cancelled = false;
  };
  auto o = rt.block_on([] {
    outcome r;
    auto [tx, rx] = mpsc::channel<int>(1);  // never sent on: keeps every select parked
    weft::sync::cancellation_token token;
    weft::sync::notify note;
    auto never = weft::spawn([] {});
    never.join();
    {
      auto h = weft::spawn([&] {
        return select(on_recv(rx, [](int) {}), on_cancelled(token, [] {}),
                      on_notified(note, [] {}));
      });
      (void)weft_test::spin_until([&] { return weft_test::in_weft_wait(h); });
      token.cancel();
      r.by_token = h.join();
      r.token_cancelled = token.is_cancelled();
    }
    {
      weft::sync::cancellation_token fresh;
      auto h = weft::spawn([&] {
        return select(on_recv(rx, [](int) {}), on_cancelled(fresh, [] {}),
                      on_notified(note, [] {}));
      });
      (void)weft_test::spin_until([&] { return weft_test::in_weft_wait(h); });
      note.notify_one();
      r.by_notify = h.join();
    }
    {
      auto [go_tx, go_rx] = weft::sync::oneshot::channel<int>();
      auto worker =
          weft::spawn([rx = std::move(go_rx)]() mutable { return rx.recv().value() * 2; });
      auto h = weft::spawn([&] {
        return select(on_recv(rx, [](int) {}),
                      on_join(worker, [&](weft::join_handle<int>& w) { r.joined = w.join(); }));
      });
      (void)weft_test::spin_until([&] { return weft_test::in_weft_wait(h); });
      (void)go_tx.send(21);
      r.by_join = h.join();
    }
    return r;
  });
  CHECK(o.by_token == 1);
  CHECK(o.token_cancelled);
  CHECK(o.by_notify == 2);
  CHECK(o.by_join == 1);
  CHECK(o.joined == 42);
}

TEST_CASE("select: an aborted select takes nothing and leaves the channels usable",
          "[sync][select]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers);
    struct outcome {
      std::string how;
      std::vector<int> after;
    };
    auto o = rt.block_on([] {
      outcome r;
      auto [tx_a, rx_a] = mpsc::channel<int>(1);
      auto [tx_b, rx_b] = mpsc::channel<int>(1);
      weft::sync::notify note;
      auto h = weft::spawn([&] {
        select(on_recv(rx_a, [](int) {}), on_recv(rx_b, [](int) {}), on_notified(note, [] {}));
      });
      (void)weft_test::spin_until([&] { return weft_test::in_weft_wait(h); });
      h.abort();
      r.how = weft_test::outcome_of([&] { h.join(); });
      (void)tx_a.send(1);
      (void)tx_b.send(2);
      note.notify_one();  // stored as a permit: the aborted select left no waiter
      auto a = rx_a.try_recv();
      auto b = rx_b.try_recv();
      r.after.push_back(a ? *a : -1);
      r.after.push_back(b ? *b : -1);
      r.after.push_back(note.notified_for(0s) ? 1 : 0);
      return r;
    });
    CHECK(o.how == "cancelled");
    CHECK(o.after == std::vector<int>{1, 2, 1});
  }
  leaks.finish();
}

TEST_CASE("select: works on plain threads and mixes with fibers", "[sync][select]") {
  auto rt = weft_test::make_runtime(2);
  auto [tx, rx] = mpsc::channel<int>(1);
  weft::sync::cancellation_token stop;
  auto producer = rt.get_handle().spawn([tx]() mutable {
    for (int i = 1; i <= 1000; ++i) (void)tx.send(i);
  });
  long sum = 0;
  int count = 0;
  while (count < 1000) {
    select(on_recv(rx,
                   [&](int v) {
                     sum += v;
                     count++;
                   }),
           on_cancelled(stop, [] {}));
  }
  producer.join();
  CHECK(sum == 1000L * 1001 / 2);
}

TEST_CASE("select: on_recv_or_closed reports the close while other branches stay enabled",
          "[sync][select]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  struct outcome {
    std::vector<int> got;
    int closes = 0;
  };
  auto o = rt.block_on([] {
    outcome r;
    auto [tx, rx] = mpsc::channel<int>(2);
    weft::sync::cancellation_token stop;  // never cancelled: keeps a branch enabled
    weft::spawn([tx = std::move(tx)]() mutable {
      for (int i = 0; i < 5; ++i) (void)tx.send(i);
    }).detach();
    for (bool running = true; running;) {
      select(weft::sync::on_recv_or_closed(rx,
                                           [&](std::optional<int> v) {
                                             if (v) {
                                               r.got.push_back(*v);
                                             } else {
                                               r.closes++;
                                               running = false;
                                             }
                                           }),
             on_cancelled(stop, [&] { running = false; }));
    }
    return r;
  });
  CHECK(o.got == std::vector<int>{0, 1, 2, 3, 4});
  CHECK(o.closes == 1);
}

TEST_CASE("select: broadcast and watch receivers work as on_recv branches", "[sync][select]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  struct outcome {
    std::vector<int> news;
    std::vector<int> configs;
    int lagged = 0;
  };
  auto o = rt.block_on([] {
    outcome r;
    auto [news_tx, news_rx] = weft::sync::broadcast::channel<int>(16);
    auto [cfg_tx, cfg_rx] = weft::sync::watch::channel<int>(0);
    auto feeder = weft::spawn([news_tx = std::move(news_tx), cfg_tx = std::move(cfg_tx)]() mutable {
      for (int i = 1; i <= 5; ++i) {
        (void)news_tx.send(i);
        weft::this_fiber::yield();
      }
      (void)cfg_tx.send(42);
    });
    while (r.configs.empty()) {
      select_biased(
          on_recv(news_rx,
                  [&](weft::sync::broadcast::recv_result<int> v) {
                    if (v) {
                      r.news.push_back(*v);
                    } else if (v.error().is_lagged()) {
                      r.lagged++;
                    }
                  }),
          on_recv(cfg_rx, [&](weft::sync::watch::ref<int> c) { r.configs.push_back(*c); }));
    }
    feeder.join();
    // The news sent before the config change are all there (capacity 16: no lag).
    while (auto v = news_rx.try_recv()) r.news.push_back(*v);
    return r;
  });
  CHECK(o.news == std::vector<int>{1, 2, 3, 4, 5});
  CHECK(o.configs == std::vector<int>{42});
  CHECK(o.lagged == 0);
}

TEST_CASE("select: a branch handed its operation in a select aborted before it runs gives it back",
          "[sync][select][cancel][regression]") {
  // Issue 9 (docs/sync/cancellation.md): three selects wait on the same
  // notify, receiver or full bounded channel; the first is chosen and aborted.
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  const int kind = GENERATE(0, 1, 2);
  INFO("kind " << kind);
  auto rt = weft_test::make_runtime(workers);
  weft::sync::notify n;
  auto ch = mpsc::channel<int>(1);
  auto& tx = ch.first;
  auto& rx = ch.second;
  std::array<int, 3> got{-1, -1, -1};
  if (kind == 2) REQUIRE(tx.try_send(1));
  std::vector<int> received;
  weft::sync::cancellation_token never;
  const auto o = weft_sync_test::abort_the_chosen_waiter(
      rt,
      [&](int i) {
        auto& slot = got[static_cast<std::size_t>(i)];
        int v = 10 + i;
        if (kind == 0) {
          (void)weft::sync::select(weft::sync::on_notified(n, [&] { slot = 0; }),
                                   on_cancelled(never, [] {}));
        } else if (kind == 1) {
          (void)weft::sync::select(weft::sync::on_recv(rx, [&](int m) { slot = m; }),
                                   on_cancelled(never, [] {}));
        } else {
          (void)weft::sync::select(weft::sync::on_send(tx, v, [&] { slot = 0; }),
                                   on_cancelled(never, [] {}));
        }
        return 0;
      },
      [&](int step) {
        if (kind == 0) n.notify_one();
        if (kind == 1) (void)tx.send(20 + step);
        if (kind == 2) received.push_back(rx.try_recv().value());
      });
  WEFT_CHECK_CHOSEN_WAITER(o);
  CHECK(got[0] == -1);
  if (kind == 0) CHECK_FALSE(n.notified_for(0s));  // re-delivered, not stored
  if (kind == 1) CHECK(got[1] == 20);
  if (kind == 1) CHECK(got[2] == 21);
  if (kind == 2) {
    CHECK(received == std::vector<int>{1, 11});
    auto last = rx.try_recv();
    CHECK((last && *last == 12));
  }
}
