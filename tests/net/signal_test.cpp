// SPDX-License-Identifier: MIT
// Tests of weft::net::signal_stream (signal.hpp): delivery to fibers and
// plain threads, coalescing, deadlines on the paused clock, cancellation,
// select, invalid numbers, dispositions, and the host runtime going away.
// Every raise happens while a stream for that signal is open: otherwise the
// default action would end the test process.
#include "weft/net/signal.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "support/runtime_fixture.hpp"
#include "weft/sync/mpsc.hpp"
#include "weft/sync/select.hpp"

using namespace std::chrono_literals;
using weft::net::signal_stream;

namespace {

// disposition_of() is the handler currently installed for `signum`.
void (*disposition_of(int signum))(int) {
  struct sigaction sa {};
  ::sigaction(signum, nullptr, &sa);
  return sa.sa_handler;
}

std::atomic<int> g_custom_calls{0};
void custom_handler(int) { g_custom_calls.fetch_add(1, std::memory_order_relaxed); }

}  // namespace

TEST_CASE("signal: open rejects numbers that cannot or must not be caught", "[net][signal]") {
  auto rt = weft_test::make_runtime(1);
  const int bad[] = {0, -1, NSIG, 1000, SIGKILL, SIGSTOP, SIGSEGV, SIGBUS, SIGILL, SIGFPE, 32};
  for (int signum : bad) {
    INFO("signum " << signum);
    auto s = signal_stream::open(signum);  // a plain thread, a runtime exists
    REQUIRE_FALSE(s.has_value());
    CHECK(s.error() == std::errc::invalid_argument);
    auto on_fiber = rt.block_on([signum] { return signal_stream::open(signum).has_value(); });
    CHECK_FALSE(on_fiber);
  }
}

TEST_CASE("signal: open with no runtime at all throws no_runtime_error", "[net][signal]") {
  CHECK_THROWS_AS(signal_stream::open(SIGUSR1), weft::no_runtime_error);
  // A bad number is still a plain error, runtime or not.
  auto s = signal_stream::open(SIGKILL);
  REQUIRE_FALSE(s.has_value());
  CHECK(s.error() == std::errc::invalid_argument);
}

TEST_CASE("signal: a raised signal wakes a fiber parked in recv", "[net][signal]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers);
    const bool use_kill = GENERATE(false, true);
    INFO((use_kill ? "kill(getpid())" : "raise()"));
    auto got = rt.block_on([use_kill] {
      auto s = signal_stream::open(SIGUSR1).value();
      auto h = weft::spawn([&] { return s.recv().has_value(); });
      (void)weft_test::spin_until([&] { return weft_test::in_weft_wait(h); });
      if (use_kill) {
        ::kill(::getpid(), SIGUSR1);
      } else {
        ::raise(SIGUSR1);
      }
      return h.join();
    });
    CHECK(got);
  }
  leaks.finish();
}

TEST_CASE("signal: deliveries nobody waited for coalesce into one recv", "[net][signal]") {
  // Flavours where the raising fiber holds the host's only thread, so the
  // event loop cannot run between the raises: the three deliveries reach
  // the stream together, deterministically.
  const int workers = GENERATE(0, 1);
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers, /*paused=*/true);
  struct outcome {
    bool first = false;
    std::error_code second;
    std::error_code third;
  };
  auto o = rt.block_on([] {
    outcome r;
    auto s = signal_stream::open(SIGUSR1).value();
    for (int i = 0; i < 3; ++i) ::raise(SIGUSR1);
    r.first = s.recv().has_value();  // returns at once, takes all three
    auto second = s.try_recv();
    if (!second) r.second = second.error();
    auto third = s.recv_for(1s);
    if (!third) r.third = third.error();
    return r;
  });
  CHECK(o.first);
  CHECK(o.second == weft::errc::empty);
  CHECK(o.third == weft::errc::timeout);
}

TEST_CASE("signal: a delivery before recv is kept, one before open is not seen", "[net][signal]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers, /*paused=*/true);
  struct outcome {
    bool early = false;
    std::error_code late_opened;
  };
  auto o = rt.block_on([] {
    outcome r;
    auto s = signal_stream::open(SIGUSR2).value();
    ::raise(SIGUSR2);
    r.early = s.recv().has_value();  // the delivery happened while nobody waited
    auto late = signal_stream::open(SIGUSR2).value();
    auto nothing = late.recv_for(1s);  // the raise above was before its open
    if (!nothing) r.late_opened = nothing.error();
    return r;
  });
  CHECK(o.early);
  CHECK(o.late_opened == weft::errc::timeout);
}

TEST_CASE("signal: recv times out at its deadline on the paused clock", "[net][signal][timing]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers, /*paused=*/true);
  struct outcome {
    std::error_code at_deadline;
    std::error_code after_for;
    std::chrono::nanoseconds waited{};
  };
  auto o = rt.block_on([] {
    outcome r;
    auto s = signal_stream::open(SIGUSR1).value();
    const auto t0 = weft::time::clock::now();
    auto a = s.recv(t0 + 5s);
    if (!a) r.at_deadline = a.error();
    auto b = s.recv_for(250ms);
    if (!b) r.after_for = b.error();
    r.waited = weft::time::clock::now() - t0;
    return r;
  });
  CHECK(o.at_deadline == weft::errc::timeout);
  CHECK(o.at_deadline == std::errc::timed_out);
  CHECK(o.after_for == weft::errc::timeout);
  CHECK(o.waited >= 5250ms);
}

TEST_CASE("signal: a fiber parked in recv is cancelled and takes nothing", "[net][signal]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  struct outcome {
    std::string how;
    bool delivered_later = false;
    bool other_still_woken = false;
  };
  std::atomic<int> unwound{0};
  auto rt = weft_test::make_runtime(workers);
  auto o = rt.block_on([&] {
    outcome r;
    auto s = signal_stream::open(SIGUSR1).value();
    auto other = signal_stream::open(SIGUSR1).value();
    auto h = weft::spawn([&] {
      weft_test::on_destroy d(unwound);
      (void)s.recv();
    });
    auto h2 = weft::spawn([&] { return other.recv().has_value(); });
    (void)weft_test::spin_until(
        [&] { return weft_test::in_weft_wait(h) && weft_test::in_weft_wait(h2); });
    h.abort();
    r.how = weft_test::outcome_of([&] { h.join(); });
    // The aborted waiter is off the list: the next delivery reaches the
    // other stream's waiter and stays pending for `s`.
    ::raise(SIGUSR1);
    r.other_still_woken = h2.join();
    r.delivered_later = s.recv().has_value();
    return r;
  });
  CHECK(o.how == "cancelled");
  CHECK(unwound.load() == 1);
  CHECK(o.other_still_woken);
  CHECK(o.delivered_later);
}

TEST_CASE("signal: select between on_signal and a channel completes exactly one",
          "[net][signal][select]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers, /*paused=*/true);
  struct outcome {
    std::size_t parked_pick = 99;
    std::size_t message_pick = 99;
    int message = 0;
    std::size_t biased_pick = 99;
    int message2 = 0;
    bool signal_kept = false;
    std::size_t deadline_pick = 99;
  };
  auto o = rt.block_on([] {
    outcome r;
    auto sig = signal_stream::open(SIGUSR2).value();
    auto [tx, rx] = weft::sync::mpsc::channel<int>(4);
    // 1. Parked select: the signal arrives, the channel keeps its message.
    auto h = weft::spawn([&] {
      return weft::sync::select(weft::net::on_signal(sig, [] {}),
                                weft::sync::on_recv(rx, [](int) {}));
    });
    (void)weft_test::spin_until([&] { return weft_test::in_weft_wait(h); });
    ::raise(SIGUSR2);
    r.parked_pick = h.join();
    (void)tx.try_send(7);
    // 2. A message is ready and no signal: the channel branch wins and the
    //    signal branch takes nothing.
    r.message_pick = weft::sync::select(weft::net::on_signal(sig, [] {}),
                                        weft::sync::on_recv(rx, [&](int v) { r.message = v; }));
    // 3. A signal raised and a message ready, the receive polled first: the
    //    message wins and the losing signal branch takes nothing, so the
    //    delivery is still there for recv().
    ::raise(SIGUSR2);
    (void)tx.try_send(8);
    r.biased_pick = weft::sync::select_biased(
        weft::sync::on_recv(rx, [&](int v) { r.message2 = v; }), weft::net::on_signal(sig, [] {}));
    r.signal_kept = sig.recv_for(1s).has_value();
    // 4. Nothing arrives: the deadline branch wins on the paused clock.
    r.deadline_pick =
        weft::sync::select(weft::net::on_signal(sig, [] {}), weft::sync::on_sleep(1s, [] {}));
    return r;
  });
  CHECK(o.parked_pick == 0);
  CHECK(o.message_pick == 1);
  CHECK(o.message == 7);
  CHECK(o.biased_pick == 0);
  CHECK(o.message2 == 8);
  CHECK(o.signal_kept);
  CHECK(o.deadline_pick == 1);
}

TEST_CASE("signal: a plain thread waits while a runtime delivers", "[net][signal][thread]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  // Opened on this plain thread: the runtime above hosts the event.
  auto s = signal_stream::open(SIGUSR1).value();
  std::atomic<bool> got{false};
  std::thread t([&] { got = s.recv().has_value(); });
  // No wait for t to park is needed: a delivery after open() is never lost.
  // block_on keeps the current-thread flavour's loop running meanwhile.
  const bool done = rt.block_on([&] {
    ::kill(::getpid(), SIGUSR1);
    return weft_test::spin_until([&] { return got.load(); });
  });
  t.join();
  CHECK(done);
  CHECK(got.load());
}

TEST_CASE("signal: ctrl_c waits for the next SIGINT", "[net][signal]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers, /*paused=*/true);
  struct outcome {
    bool got = false;
    std::error_code timed_out;
  };
  auto o = rt.block_on([] {
    outcome r;
    auto h = weft::spawn([] { return weft::net::ctrl_c().has_value(); });
    (void)weft_test::spin_until([&] { return weft_test::in_weft_wait(h); });
    ::raise(SIGINT);  // ctrl_c's stream is open: SIGINT is caught
    r.got = h.join();
    auto t = weft::net::ctrl_c(weft::time::clock::now() + 2s);
    if (!t) r.timed_out = t.error();
    return r;
  });
  CHECK(o.got);
  CHECK(o.timed_out == weft::errc::timeout);
}

TEST_CASE("signal: the last stream restores the disposition found by the first", "[net][signal]") {
  auto rt = weft_test::make_runtime(1);
  struct sigaction sa {
  }, before{};
  sa.sa_handler = custom_handler;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGUSR2, &sa, &before);
  g_custom_calls = 0;
  {
    auto a = signal_stream::open(SIGUSR2).value();
    {
      auto b = signal_stream::open(SIGUSR2).value();
      CHECK(disposition_of(SIGUSR2) != &custom_handler);
    }
    CHECK(disposition_of(SIGUSR2) != &custom_handler);  // `a` still listens
    ::raise(SIGUSR2);
    CHECK(rt.block_on([&] { return a.recv().has_value(); }));
    CHECK(g_custom_calls.load() == 0);  // taken over while a stream exists
  }
  CHECK(disposition_of(SIGUSR2) == &custom_handler);
  ::raise(SIGUSR2);
  CHECK(g_custom_calls.load() == 1);
  ::sigaction(SIGUSR2, &before, nullptr);
}

TEST_CASE("signal: a moved-from stream is empty and reports closed", "[net][signal]") {
  auto rt = weft_test::make_runtime(1);
  auto s = signal_stream::open(SIGUSR1).value();
  signal_stream t = std::move(s);
  CHECK(t.signum() == SIGUSR1);
  CHECK(s.signum() == 0);  // NOLINT(bugprone-use-after-move): documented state
  auto r = s.try_recv();
  REQUIRE_FALSE(r);
  CHECK(r.error() == weft::errc::closed);
}

TEST_CASE("signal: events move to another runtime when the host shuts down", "[net][signal]") {
  auto keeper = weft_test::make_runtime(1);
  std::optional<weft::runtime> host(weft_test::make_runtime(2));
  // Opened on the host's fiber: that runtime hosts the signal events.
  auto s = host->block_on([] { return signal_stream::open(SIGUSR1).value(); });
  host.reset();  // the events move to `keeper`
  ::raise(SIGUSR1);
  CHECK(s.recv_for(std::chrono::seconds(20)).has_value());
  CHECK(disposition_of(SIGUSR1) != SIG_DFL);
}

TEST_CASE("signal: with every runtime gone recv reports closed and the signal stays caught",
          "[net][signal]") {
  std::optional<weft::runtime> rt(weft_test::make_runtime(1));
  auto s = signal_stream::open(SIGUSR1).value();
  std::atomic<int> result{0};  // 1 ok, 2 closed, 3 other
  std::thread t([&] {
    auto r = s.recv();
    result = r ? 1 : r.error() == weft::errc::closed ? 2 : 3;
  });
  rt.reset();  // wakes the thread parked in recv (or it finds closed at once)
  t.join();
  CHECK(result.load() == 2);
  ::raise(SIGUSR1);  // counted by weft's fallback handler, not fatal
  CHECK(s.try_recv().has_value());
  CHECK(s.try_recv().error() == weft::errc::closed);
}

TEST_CASE("signal: fibers opening, raising and closing streams at once lose no delivery",
          "[net][signal]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  std::atomic<int> received{0};
  constexpr int kFibers = 6;
  constexpr int kRounds = 100;
  {
    auto rt = weft_test::make_runtime(workers);
    rt.block_on([&] {
      std::vector<weft::join_handle<void>> hs;
      for (int f = 0; f < kFibers; ++f) {
        hs.push_back(weft::spawn([&] {
          for (int i = 0; i < kRounds; ++i) {
            // Each stream is open while its own raise() runs (raise delivers
            // on this thread before it returns), so the signal is always
            // caught, while the first/last-listener transitions race.
            auto s = signal_stream::open(SIGUSR1).value();
            ::raise(SIGUSR1);
            if (s.recv().has_value()) received++;
          }
        }));
      }
      for (auto& h : hs) h.join();
    });
  }
  CHECK(received.load() == kFibers * kRounds);
  CHECK(disposition_of(SIGUSR1) == SIG_DFL);
  leaks.finish();
}
