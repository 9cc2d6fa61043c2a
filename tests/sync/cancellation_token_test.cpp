// SPDX-License-Identifier: MIT
// Tests of weft::sync::cancellation_token (cancellation_token.hpp): trees
// of children, waits on fibers and threads, deadlines, drop guards.
#include "weft/sync/cancellation_token.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "support/runtime_fixture.hpp"

using namespace std::chrono_literals;
using weft::sync::cancellation_token;

TEST_CASE("cancellation_token: cancel reaches children and grandchildren, not parents", "[sync][token]") {
  cancellation_token root;
  auto child = root.child_token();
  auto grandchild = child.child_token();
  auto sibling = root.child_token();
  auto copy = child;
  child.cancel();
  CHECK(child.is_cancelled());
  CHECK(copy.is_cancelled());  // copies share the state
  CHECK(grandchild.is_cancelled());
  CHECK_FALSE(root.is_cancelled());
  CHECK_FALSE(sibling.is_cancelled());
  root.cancel();
  CHECK(sibling.is_cancelled());
  // A child of a cancelled token starts cancelled.
  CHECK(root.child_token().is_cancelled());
}

TEST_CASE("cancellation_token: dropped children do not keep piling up", "[sync][token]") {
  cancellation_token root;
  for (int i = 0; i < 10000; ++i) {
    auto c = root.child_token();
    (void)c.child_token();
  }
  root.cancel();
  CHECK(root.is_cancelled());
}

TEST_CASE("cancellation_token: cancelled() wakes every waiting fiber and thread", "[sync][token]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  cancellation_token root;
  auto child = root.child_token();
  std::atomic<int> woken{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) threads.emplace_back([&] {
    child.cancelled();
    woken++;
  });
  rt.block_on([&] {
    std::vector<weft::join_handle<void>> hs;
    for (int i = 0; i < 50; ++i) hs.push_back(weft::spawn([&] {
      child.cancelled();
      woken++;
    }));
    for (auto& h : hs) (void)weft_test::spin_until([&] { return weft_test::in_weft_wait(h); });
    root.cancel();
    for (auto& h : hs) h.join();
  });
  for (auto& t : threads) t.join();
  CHECK(woken.load() == 53);
}

TEST_CASE("cancellation_token: cancelled_for times out on the paused clock", "[sync][token][timing]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers, /*paused=*/true);
  struct outcome {
    std::error_code err;
    weft::time::duration took{};
    bool ok_after = false;
  };
  auto o = rt.block_on([] {
    outcome r;
    cancellation_token t;
    const auto t0 = weft::time::clock::now();
    auto a = t.cancelled_for(4s);
    if (!a) r.err = a.error();
    r.took = weft::time::clock::now() - t0;
    t.cancel();
    r.ok_after = static_cast<bool>(t.cancelled_until(weft::time::clock::now()));
    return r;
  });
  CHECK(o.err == weft::errc::timeout);
  CHECK(o.took == 4s);
  CHECK(o.ok_after);
}

TEST_CASE("cancellation_token: a drop guard cancels on scope exit unless disarmed", "[sync][token]") {
  cancellation_token a, b;
  { auto g = a.drop_guard(); }
  CHECK(a.is_cancelled());
  {
    auto g = b.drop_guard();
    auto kept = g.disarm();
    CHECK_FALSE(kept.is_cancelled());
  }
  CHECK_FALSE(b.is_cancelled());
}

TEST_CASE("cancellation_token: a fiber waiting on a token can be aborted", "[sync][token]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  auto how = rt.block_on([] {
    cancellation_token t;
    auto h = weft::spawn([t] { t.cancelled(); });
    (void)weft_test::spin_until([&] { return weft_test::in_weft_wait(h); });
    h.abort();
    return weft_test::outcome_of([&] { h.join(); });
  });
  CHECK(how == "cancelled");
}

TEST_CASE("cancellation_token: concurrent cancels and child creation from threads are safe", "[sync][token]") {
  for (int round = 0; round < 50; ++round) {
    cancellation_token root;
    std::atomic<int> not_cancelled{0};
    std::vector<std::thread> ts;
    std::vector<cancellation_token> kids(4);
    for (int i = 0; i < 4; ++i) ts.emplace_back([&, i] {
      kids[static_cast<std::size_t>(i)] = root.child_token().child_token();
    });
    ts.emplace_back([&] { root.cancel(); });
    for (auto& t : ts) t.join();
    for (auto& k : kids) not_cancelled += k.is_cancelled() ? 0 : 1;
    CHECK(not_cancelled.load() == 0);
  }
}
