// SPDX-License-Identifier: MIT
// Tests of weft::sync::oneshot (oneshot.hpp): one value, sender dropped
// without sending, receiver gone, deadlines, cancellation, plain threads.
#include "weft/sync/oneshot.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/runtime_fixture.hpp"

using namespace std::chrono_literals;
namespace oneshot = weft::sync::oneshot;

TEST_CASE("oneshot: the value reaches a parked receiver and only once", "[sync][oneshot]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers);
    struct outcome {
      std::string got;
      std::error_code second;
    };
    auto o = rt.block_on([] {
      outcome r;
      auto [tx, rx] = oneshot::channel<std::string>();
      auto h = weft::spawn([rx = std::move(rx)]() mutable {
        auto v = rx.recv();
        auto again = rx.try_recv();
        return std::make_pair(v ? *v : std::string("?"), again ? std::error_code() : again.error());
      });
      (void)weft_test::spin_until([&] { return weft_test::in_weft_wait(h); });
      (void)tx.send("reply");
      std::tie(r.got, r.second) = h.join();
      return r;
    });
    CHECK(o.got == "reply");
    CHECK(o.second == weft::errc::closed);
  }
  leaks.finish();
}

TEST_CASE("oneshot: a sender dropped without sending wakes the receiver with closed",
          "[sync][oneshot]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  auto err = rt.block_on([] {
    auto [tx, rx] = oneshot::channel<int>();
    auto h = weft::spawn([rx = std::move(rx)]() mutable {
      auto v = rx.recv();
      return v ? std::error_code() : v.error();
    });
    (void)weft_test::spin_until([&] { return weft_test::in_weft_wait(h); });
    { auto gone = std::move(tx); }
    return h.join();
  });
  CHECK(err == weft::errc::closed);
}

TEST_CASE("oneshot: send to a closed receiver hands the value back", "[sync][oneshot]") {
  auto [tx, rx] = oneshot::channel<std::unique_ptr<int>>();
  CHECK_FALSE(tx.is_closed());
  rx.close();
  CHECK(tx.is_closed());
  auto r = tx.send(std::make_unique<int>(7));
  REQUIRE_FALSE(r);
  CHECK(r.error().is_closed());
  REQUIRE(r.error().value != nullptr);
  CHECK(*r.error().value == 7);
}

TEST_CASE("oneshot: try_recv reports empty then the value, and deadlines time out",
          "[sync][oneshot][timing]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers, /*paused=*/true);
  struct outcome {
    std::error_code empty, timeout;
    weft::time::duration took{};
    int value = 0;
  };
  auto o = rt.block_on([] {
    outcome r;
    auto [tx, rx] = oneshot::channel<int>();
    auto e = rx.try_recv();
    if (!e) r.empty = e.error();
    const auto t0 = weft::time::clock::now();
    auto t = rx.recv_for(3s);
    if (!t) r.timeout = t.error();
    r.took = weft::time::clock::now() - t0;
    (void)tx.send(5);
    auto v = rx.try_recv();
    r.value = v ? *v : -1;
    return r;
  });
  CHECK(o.empty == weft::errc::empty);
  CHECK(o.timeout == weft::errc::timeout);
  CHECK(o.took == 3s);
  CHECK(o.value == 5);
}

TEST_CASE(
    "oneshot: an aborted receiver leaves the value unsent-to-nobody and the sender sees it gone",
    "[sync][oneshot]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers);
    struct outcome {
      std::string how;
      bool closed_after = false;
    };
    auto o = rt.block_on([] {
      outcome r;
      auto [tx, rx] = oneshot::channel<int>();
      auto h = weft::spawn([rx = std::move(rx)]() mutable { return rx.recv().value(); });
      (void)weft_test::spin_until([&] { return weft_test::in_weft_wait(h); });
      h.abort();
      r.how = weft_test::outcome_of([&] { h.join(); });
      r.closed_after = tx.is_closed();  // the fiber's receiver died with it
      return r;
    });
    CHECK(o.how == "cancelled");
    CHECK(o.closed_after);
  }
  leaks.finish();
}

TEST_CASE("oneshot: many pairs across plain threads and fibers deliver every value",
          "[sync][oneshot]") {
  auto rt = weft_test::make_runtime(4);
  constexpr int kPairs = 2000;
  std::vector<oneshot::sender<int>> txs;
  std::vector<oneshot::receiver<int>> rxs;
  for (int i = 0; i < kPairs; ++i) {
    auto [tx, rx] = oneshot::channel<int>();
    txs.push_back(std::move(tx));
    rxs.push_back(std::move(rx));
  }
  std::thread sender([&] {
    for (int i = 0; i < kPairs; ++i) (void)txs[static_cast<std::size_t>(i)].send(i);
  });
  long sum = rt.block_on([&] {
    std::vector<weft::join_handle<int>> hs;
    for (auto& rx : rxs) hs.push_back(weft::spawn([&rx] { return rx.recv().value(); }));
    long s = 0;
    for (auto& h : hs) s += h.join();
    return s;
  });
  sender.join();
  CHECK(sum == long{kPairs} * (kPairs - 1) / 2);
}

TEST_CASE("oneshot: a value handed to a receive aborted before it runs stays for the next receive",
          "[sync][oneshot][cancel][regression]") {
  // Issue 9 (docs/sync/cancellation.md): the aborted receive takes nothing.
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  struct outcome {
    std::string how;
    bool reached = true;
    int later = -1;
  };
  const outcome o = rt.block_on([] {
    return weft::spawn_pinned([] {
             outcome r;
             auto ch = oneshot::channel<int>();
             auto& rx = ch.second;
             std::atomic<bool> reached{false};
             auto a = weft::spawn_pinned([&] {
               (void)rx.recv();
               reached = true;
             });
             (void)weft_test::spin_until([&] { return weft_test::in_weft_wait(a); });
             (void)ch.first.send(7);
             a.abort();  // before `a` could run: same worker, no suspension
             r.how = weft_test::outcome_of([&] { a.join(); });
             r.reached = reached;
             auto v = rx.try_recv();
             r.later = v ? *v : -1;
             return r;
           })
        .join();
  });
  CHECK(o.how == "cancelled");
  CHECK_FALSE(o.reached);
  CHECK(o.later == 7);
}

TEST_CASE("oneshot: close keeps a value already sent for recv and try_recv",
          "[sync][oneshot][regression]") {
  // Issue 9: Tokio's close() only stops further sends.
  {
    auto [tx, rx] = oneshot::channel<std::unique_ptr<int>>();
    REQUIRE(tx.send(std::make_unique<int>(4)));
    rx.close();
    auto v = rx.recv();
    REQUIRE(v);
    CHECK(**v == 4);
    CHECK(rx.recv().error() == weft::errc::closed);  // one value only
  }
  {
    auto [tx, rx] = oneshot::channel<int>();
    REQUIRE(tx.send(5));
    rx.close();
    auto v = rx.try_recv();
    REQUIRE(v);
    CHECK(*v == 5);
  }
}

TEST_CASE("oneshot: close without a value makes receives report closed and sends fail",
          "[sync][oneshot][regression]") {
  auto [tx, rx] = oneshot::channel<int>();
  rx.close();
  CHECK(tx.is_closed());
  CHECK(rx.try_recv().error() == weft::errc::closed);  // not std::logic_error
  CHECK(rx.recv().error() == weft::errc::closed);
  auto s = tx.send(3);
  REQUIRE_FALSE(s);
  CHECK(s.error().is_closed());
  CHECK(s.error().value == 3);
}

TEST_CASE("oneshot: close wakes a parked receive with closed", "[sync][oneshot]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  const std::error_code e = rt.block_on([] {
    auto [tx, rx] = oneshot::channel<int>();
    auto h = weft::spawn([&rx] {
      auto r = rx.recv();
      return r ? std::error_code{} : r.error();
    });
    (void)weft_test::spin_until([&] { return weft_test::in_weft_wait(h); });
    rx.close();
    return h.join();
  });
  CHECK(e == weft::errc::closed);
}
