// SPDX-License-Identifier: MIT
// Tests of weft::sync::mpsc (mpsc.hpp): order, nothing lost under many
// producers on fibers and threads, backpressure, close/drop semantics,
// try_ outcomes, deadlines on the paused clock, cancellation, iteration.
#include "weft/sync/mpsc.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/runtime_fixture.hpp"
#include "sync/sync_test_support.hpp"

using namespace std::chrono_literals;
namespace mpsc = weft::sync::mpsc;

TEST_CASE("mpsc: messages arrive in send order and recv ends after the last sender",
          "[sync][mpsc]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  const std::size_t cap = GENERATE(1, 16, 0);  // 0: unbounded
  INFO("capacity " << cap);
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers);
    auto got = rt.block_on([cap] {
      auto [tx, rx] = cap ? mpsc::channel<int>(cap) : mpsc::unbounded_channel<int>();
      auto producer = weft::spawn([tx = std::move(tx)]() mutable {
        int failed = 0;
        for (int i = 0; i < 1000; ++i) failed += tx.send(i) ? 0 : 1;
        return failed;
      });
      std::vector<int> v;
      while (auto m = rx.recv()) v.push_back(*m);
      v.push_back(producer.join());  // failures, appended last
      return v;
    });
    REQUIRE(got.size() == 1001);
    CHECK(got.back() == 0);
    bool in_order = true;
    for (int i = 0; i < 1000; ++i) in_order = in_order && got[static_cast<std::size_t>(i)] == i;
    CHECK(in_order);
  }
  leaks.finish();
}

TEST_CASE("mpsc: many producers on fibers and plain threads lose and duplicate nothing",
          "[sync][mpsc]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  const std::size_t cap = GENERATE(1, 64, 0);
  INFO("capacity " << cap);
  constexpr int kFibers = 16, kThreads = 4, kPer = 2000;
  constexpr int kProducers = kFibers + kThreads;
  auto rt = weft_test::make_runtime(workers);
  auto [tx, rx] =
      cap ? mpsc::channel<std::uint64_t>(cap) : mpsc::unbounded_channel<std::uint64_t>();
  std::atomic<int> send_failures{0};
  // Message = producer << 32 | sequence.
  std::vector<std::thread> threads;
  for (int p = kFibers; p < kProducers; ++p) {
    threads.emplace_back([&, p, tx = tx]() mutable {
      for (std::uint64_t i = 0; i < kPer; ++i) {
        if (!tx.blocking_send((std::uint64_t(p) << 32) | i)) send_failures++;
      }
    });
  }
  struct tally {
    std::vector<std::uint64_t> next;  // next expected sequence per producer
    int out_of_order = 0;
    int bad_producer = 0;
    long total = 0;
  };
  tally t = rt.block_on([&, tx = std::move(tx), rx = std::move(rx)]() mutable {
    for (int p = 0; p < kFibers; ++p) {
      weft::spawn([&send_failures, p, tx]() mutable {
        for (std::uint64_t i = 0; i < kPer; ++i) {
          if (!tx.send((std::uint64_t(p) << 32) | i)) send_failures++;
          if (i % 97 == 0) weft::this_fiber::yield();
        }
      }).detach();
    }
    tx = mpsc::sender<std::uint64_t>(std::move(tx));  // keep ours alive until here
    { auto drop = std::move(tx); }
    tally r;
    r.next.assign(kProducers, 0);
    for (std::uint64_t m : rx) {
      const auto p = static_cast<std::size_t>(m >> 32);
      if (p >= kProducers) {
        r.bad_producer++;
        continue;
      }
      if ((m & 0xffffffffu) != r.next[p]) r.out_of_order++;
      r.next[p] = (m & 0xffffffffu) + 1;
      r.total++;
    }
    return r;
  });
  for (auto& th : threads) th.join();
  CHECK(send_failures.load() == 0);
  CHECK(t.bad_producer == 0);
  CHECK(t.out_of_order == 0);  // per-producer FIFO, no duplicates, no gaps
  CHECK(t.total == long{kProducers} * kPer);
  for (int p = 0; p < kProducers; ++p) CHECK(t.next[static_cast<std::size_t>(p)] == kPer);
}

TEST_CASE("mpsc: a bounded send parks while full and resumes when a slot frees", "[sync][mpsc]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  struct outcome {
    bool parked = false;
    bool finished_early = true;
    std::vector<int> got;
    bool sent = false;
  };
  auto o = rt.block_on([] {
    outcome r;
    auto [tx, rx] = mpsc::channel<int>(2);
    (void)tx.try_send(1);
    (void)tx.try_send(2);
    auto h = weft::spawn([tx = std::move(tx)]() mutable { return static_cast<bool>(tx.send(3)); });
    r.parked = weft_test::spin_until([&] { return weft_test::in_weft_wait(h); });
    r.finished_early = h.is_finished();
    while (auto m = rx.recv()) r.got.push_back(*m);
    r.sent = h.join();
    return r;
  });
  CHECK(o.parked);
  CHECK_FALSE(o.finished_early);
  CHECK(o.got == std::vector<int>{1, 2, 3});
  CHECK(o.sent);
}

TEST_CASE("mpsc: try_send and try_recv report full, empty and closed", "[sync][mpsc]") {
  auto [tx, rx] = mpsc::channel<std::unique_ptr<int>>(1);
  auto a = rx.try_recv();
  REQUIRE_FALSE(a);
  CHECK(a.error() == weft::errc::empty);
  auto one = std::make_unique<int>(1);
  CHECK(tx.try_send(std::move(one)));
  CHECK(one == nullptr);  // moved on success
  auto two = std::make_unique<int>(2);
  auto full = tx.try_send(std::move(two));
  REQUIRE_FALSE(full);
  CHECK(full.error() == weft::errc::full);
  REQUIRE(two != nullptr);  // not moved on failure
  CHECK(*two == 2);
  auto got = rx.try_recv();
  REQUIRE(got);
  CHECK(**got == 1);
  rx.close();
  auto closed = tx.try_send(std::move(two));
  REQUIRE_FALSE(closed);
  CHECK(closed.error() == weft::errc::closed);
  CHECK(two != nullptr);
  auto after = rx.try_recv();
  REQUIRE_FALSE(after);
  CHECK(after.error() == weft::errc::closed);
  CHECK(tx.is_closed());
}

TEST_CASE("mpsc: send to a dropped receiver hands the value back", "[sync][mpsc]") {
  auto [tx, rx] = mpsc::unbounded_channel<std::string>();
  { auto gone = std::move(rx); }
  auto r = tx.send("kept");
  REQUIRE_FALSE(r);
  CHECK(r.error().is_closed());
  CHECK(r.error().value == "kept");
  CHECK_THROWS_AS(r.value(), std::system_error);
}

TEST_CASE("mpsc: close keeps buffered messages and wakes parked senders with their values",
          "[sync][mpsc]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  struct outcome {
    std::vector<int> drained;
    std::vector<int> returned;
    int codes_closed = 0;
  };
  auto o = rt.block_on([] {
    outcome r;
    auto [tx, rx] = mpsc::channel<int>(1);
    (void)tx.try_send(0);
    std::vector<weft::join_handle<weft::sync::send_result<int>>> hs;
    for (int i = 1; i <= 3; ++i)
      hs.push_back(weft::spawn([tx, i]() mutable { return tx.send(i); }));
    for (auto& h : hs) (void)weft_test::spin_until([&] { return weft_test::in_weft_wait(h); });
    rx.close();
    for (auto& h : hs) {
      auto s = h.join();
      if (!s) {
        r.returned.push_back(s.error().value);
        r.codes_closed += s.error().is_closed() ? 1 : 0;
      }
    }
    while (auto m = rx.recv()) r.drained.push_back(*m);
    return r;
  });
  CHECK(o.drained == std::vector<int>{0});
  std::sort(o.returned.begin(), o.returned.end());
  CHECK(o.returned == std::vector<int>{1, 2, 3});
  CHECK(o.codes_closed == 3);
}

TEST_CASE("mpsc: deadlines report timeout on the paused clock", "[sync][mpsc][timing]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers, /*paused=*/true);
  struct outcome {
    std::error_code recv_err;
    std::error_code send_err;
    int send_value = 0;
    weft::time::duration took{};
    int late = 0;
  };
  auto o = rt.block_on([] {
    outcome r;
    auto [tx, rx] = mpsc::channel<int>(1);
    const auto t0 = weft::time::clock::now();
    auto a = rx.recv_for(5s);
    if (!a) r.recv_err = a.error();
    (void)tx.try_send(1);
    auto b = tx.send_until(7, weft::time::clock::now() + 3s);
    if (!b) {
      r.send_err = b.error().code;
      r.send_value = b.error().value;
    }
    r.took = weft::time::clock::now() - t0;
    // A value that arrives before the deadline is returned.
    auto h = weft::spawn([tx]() mutable {
      weft::time::sleep(1s);
      (void)tx.send(9);
    });
    (void)rx.try_recv();
    auto c = rx.recv_for(10s);
    r.late = c ? *c : -1;
    h.join();
    return r;
  });
  CHECK(o.recv_err == weft::errc::timeout);
  CHECK(o.send_err == weft::errc::timeout);
  CHECK(o.send_value == 7);
  CHECK(o.took == 8s);
  CHECK(o.late == 9);
}

TEST_CASE("mpsc: a fiber parked in recv or send can be aborted and the channel stays usable",
          "[sync][mpsc]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers);
    struct outcome {
      std::string recv_outcome, send_outcome;
      std::vector<int> after;
    };
    auto o = rt.block_on([] {
      outcome r;
      auto [tx, rx] = mpsc::channel<int>(1);
      auto shared_rx = std::make_shared<mpsc::receiver<int>>(std::move(rx));
      auto receiver = weft::spawn([shared_rx] { return shared_rx->recv().value_or(-1); });
      (void)weft_test::spin_until([&] { return weft_test::in_weft_wait(receiver); });
      receiver.abort();
      r.recv_outcome = weft_test::outcome_of([&] { receiver.join(); });
      (void)tx.try_send(1);
      auto sender = weft::spawn([tx]() mutable { (void)tx.send(2); });
      (void)weft_test::spin_until([&] { return weft_test::in_weft_wait(sender); });
      sender.abort();
      r.send_outcome = weft_test::outcome_of([&] { sender.join(); });
      (void)tx.try_send(3);
      { auto drop = std::move(tx); }
      while (auto m = shared_rx->recv()) r.after.push_back(*m);
      return r;
    });
    CHECK(o.recv_outcome == "cancelled");
    CHECK(o.send_outcome == "cancelled");
    // The aborted receive took nothing; the aborted send sent nothing.
    CHECK(o.after == std::vector<int>{1});
  }
  leaks.finish();
}

TEST_CASE("mpsc: plain threads send and receive with blocking calls", "[sync][mpsc]") {
  auto [tx, rx] = mpsc::channel<int>(4);
  std::thread producer([tx = std::move(tx)]() mutable {
    for (int i = 0; i < 10000; ++i) (void)tx.blocking_send(i);
  });
  long sum = 0;
  int count = 0;
  while (auto m = rx.blocking_recv()) {
    sum += *m;
    ++count;
  }
  producer.join();
  CHECK(count == 10000);
  CHECK(sum == 10000L * 9999 / 2);
}

TEST_CASE("mpsc: a zero capacity is rejected and moved-from handles are errors", "[sync][mpsc]") {
  CHECK_THROWS_AS(mpsc::channel<int>(0), std::invalid_argument);
  auto [tx, rx] = mpsc::channel<int>(1);
  auto tx2 = std::move(tx);
  CHECK_THROWS_AS((void)tx.send(1), std::logic_error);
  auto rx2 = std::move(rx);
  CHECK_THROWS_AS(rx.recv(), std::logic_error);
  CHECK(tx2.capacity() == 1);
  auto clone = tx2;
  CHECK(clone.same_channel(tx2));
}

TEST_CASE("mpsc: a message handed to a receiver aborted before it runs goes to the next one",
          "[sync][mpsc][cancel][regression]") {
  // Issue 9 (docs/sync/cancellation.md): three fibers receive on one receiver.
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  const std::size_t cap = GENERATE(1, 0);
  INFO("capacity " << cap);
  auto rt = weft_test::make_runtime(workers);
  auto ch = cap ? mpsc::channel<std::unique_ptr<int>>(cap)
                : mpsc::unbounded_channel<std::unique_ptr<int>>();
  auto& tx = ch.first;
  auto& rx = ch.second;
  std::array<int, 3> got{-1, -1, -1};
  const auto o = weft_sync_test::abort_the_chosen_waiter(
      rt,
      [&](int i) {
        auto m = rx.recv();
        got[static_cast<std::size_t>(i)] = m ? **m : -2;
        return 0;
      },
      [&](int step) { (void)tx.send(std::make_unique<int>(10 + step)); });
  WEFT_CHECK_CHOSEN_WAITER(o);
  CHECK(got[1] == 10);  // the message the aborted receiver was handed
  CHECK(got[2] == 11);
  CHECK(rx.try_recv().error() == weft::errc::empty);
}

TEST_CASE("mpsc: a slot granted to a sender aborted before it runs goes to the next sender",
          "[sync][mpsc][cancel][regression]") {
  // Issue 9: a bounded channel is full and three senders wait; a receive
  // frees one slot. The aborted sender sends nothing.
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  auto ch = mpsc::channel<int>(1);
  auto& tx = ch.first;
  auto& rx = ch.second;
  REQUIRE(tx.try_send(1));
  std::vector<int> received;
  const auto o = weft_sync_test::abort_the_chosen_waiter(
      rt,
      [&](int i) {
        (void)tx.send(10 + i).value();
        return 0;
      },
      [&](int) { received.push_back(rx.try_recv().value()); });
  WEFT_CHECK_CHOSEN_WAITER(o);
  // hand(0) took 1 (sender 1 got the slot), hand(1) took sender 1's message.
  CHECK(received == std::vector<int>{1, 11});
  auto last = rx.try_recv();
  REQUIRE(last);
  CHECK(*last == 12);
  CHECK(rx.try_recv().error() == weft::errc::empty);  // nothing from sender 0
}
