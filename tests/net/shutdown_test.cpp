// SPDX-License-Identifier: MIT
// Tests of weft::net::graceful_shutdown (shutdown.hpp): a clean drain, tasks
// forced at the deadline, spawns refused once shutdown began, panics counted,
// an accept-style loop stopped through the token, and a signal starting it.
#include "weft/net/shutdown.hpp"

#include <signal.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <stdexcept>

#include "support/runtime_fixture.hpp"
#include "weft/net/signal.hpp"
#include "weft/sync/mpsc.hpp"
#include "weft/sync/select.hpp"

using namespace std::chrono_literals;
using weft::net::graceful_shutdown;
using weft::net::shutdown_report;

TEST_CASE("shutdown: tasks that stop on the token drain cleanly", "[net][shutdown]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  std::atomic<int> stopped{0};
  {
    auto rt = weft_test::make_runtime(workers, /*paused=*/true);
    auto rep = rt.block_on([&] {
      graceful_shutdown sd;
      for (int i = 0; i < 8; ++i) {
        auto ok = sd.spawn([&, tok = sd.token()] {
          tok.cancelled();
          weft::time::sleep(10ms);  // some clean-up work, well within the drain
          stopped++;
        });
        if (!ok) throw std::runtime_error("spawn refused");
      }
      return sd.shutdown(5s);
    });
    CHECK(rep.clean);
    CHECK(rep.drained == 8);
    CHECK(rep.forced == 0);
    CHECK(rep.panicked == 0);
    CHECK(stopped.load() == 8);
  }
  leaks.finish();
}

TEST_CASE("shutdown: tasks that ignore the token are forced at the deadline", "[net][shutdown]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  std::atomic<int> unwound{0};
  std::atomic<int> finished{0};
  {
    auto rt = weft_test::make_runtime(workers, /*paused=*/true);
    struct outcome {
      shutdown_report rep;
      std::chrono::nanoseconds took{};
      std::size_t left = 99;
    };
    auto o = rt.block_on([&] {
      outcome r;
      graceful_shutdown sd;
      weft_test::pipe_fds p;  // a resource each stuck task holds open
      for (int i = 0; i < 3; ++i) {
        (void)sd.spawn([&] {  // finishes in time
          sd.token().cancelled();
          finished++;
        });
        (void)sd.spawn([&] {  // ignores the token
          weft_test::on_destroy d(unwound);
          weft::time::sleep(1h);
          finished++;  // never reached
        });
      }
      const auto t0 = weft::time::clock::now();
      r.rep = sd.shutdown(100ms);
      r.took = weft::time::clock::now() - t0;
      r.left = sd.in_flight();
      return r;
    });
    CHECK_FALSE(o.rep.clean);
    CHECK(o.rep.drained == 3);
    CHECK(o.rep.forced == 3);
    CHECK(o.took >= 100ms);
    CHECK(o.left == 0);
    CHECK(unwound.load() == 3);  // the stacks unwound: RAII ran
    CHECK(finished.load() == 3);
    CHECK(rt.get_handle().metrics().fibers_alive == 0);
  }
  leaks.finish();
}

TEST_CASE("shutdown: spawns after shutdown began are refused and a second shutdown is empty",
          "[net][shutdown]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers, /*paused=*/true);
  struct outcome {
    std::error_code late;
    bool late_ran = false;
    shutdown_report second;
    bool token_cancelled = false;
  };
  auto o = rt.block_on([] {
    outcome r;
    graceful_shutdown sd;
    (void)sd.shutdown(1s);
    r.token_cancelled = sd.token().is_cancelled();
    auto late = sd.spawn([&] { r.late_ran = true; });
    if (!late) r.late = late.error();
    r.second = sd.shutdown(1s);
    return r;
  });
  CHECK(o.token_cancelled);
  CHECK(o.late == weft::errc::closed);
  CHECK_FALSE(o.late_ran);
  CHECK(o.second.clean);
  CHECK(o.second.drained + o.second.forced == 0);
}

TEST_CASE("shutdown: a task that throws while draining counts as drained and panicked",
          "[net][shutdown]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers, /*paused=*/true);
  auto rep = rt.block_on([] {
    graceful_shutdown sd;
    (void)sd.spawn([&] {
      sd.token().cancelled();
      throw std::runtime_error("flush failed");
    });
    (void)sd.spawn([&] { sd.token().cancelled(); });
    return sd.shutdown(1s);
  });
  CHECK(rep.clean);
  CHECK(rep.drained == 2);
  CHECK(rep.panicked == 1);
  CHECK(rep.forced == 0);
}

TEST_CASE("shutdown: finished tasks are reaped as new ones are spawned", "[net][shutdown]") {
  auto rt = weft_test::make_runtime(1);
  auto left = rt.block_on([] {
    graceful_shutdown sd;
    for (int i = 0; i < 1000; ++i) {
      (void)sd.spawn([] {});
      weft::this_fiber::yield();
    }
    const std::size_t n = sd.in_flight();
    (void)sd.shutdown(1s);
    return n;
  });
  CHECK(left < 1000);
}

TEST_CASE("shutdown: an accept-style loop stops through the token and its handlers drain",
          "[net][shutdown]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers, /*paused=*/true);
  struct outcome {
    shutdown_report rep;
    int handled = 0;
  };
  auto o = rt.block_on([] {
    outcome r;
    std::atomic<int> accepted{0};
    std::atomic<int> handled{0};
    graceful_shutdown sd;
    auto [tx, rx] = weft::sync::mpsc::channel<int>(16);  // stands in for accept()
    (void)sd.spawn([&, rx = std::move(rx)]() mutable {
      for (bool running = true; running;) {
        weft::sync::select_biased(weft::sync::on_cancelled(sd.token(), [&] { running = false; }),
                                  weft::sync::on_recv(rx, [&](int conn) {
                                    (void)sd.spawn([&, conn] {  // a connection handler
                                      weft::time::sleep(std::chrono::milliseconds(conn));
                                      handled++;
                                    });
                                    accepted++;
                                  }));
      }
    });
    for (int i = 1; i <= 5; ++i) (void)tx.send(i * 10);
    // Every connection accepted; the handlers sleep on the paused clock,
    // which cannot move while this fiber keeps a worker busy.
    (void)weft_test::spin_until([&] { return accepted.load() == 5; });
    r.rep = sd.shutdown(1s);
    r.handled = handled.load();
    return r;
  });
  CHECK(o.rep.clean);
  CHECK(o.rep.forced == 0);
  CHECK(o.rep.drained == 6);  // the loop and five handlers
  CHECK(o.handled == 5);
}

TEST_CASE("shutdown: a signal starts the sequence", "[net][shutdown][signal]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  auto rep = rt.block_on([] {
    auto term = weft::net::signal_stream::open(SIGUSR2).value();
    graceful_shutdown sd;
    for (int i = 0; i < 4; ++i) (void)sd.spawn([&] { sd.token().cancelled(); });
    auto raiser = weft::spawn([] { ::raise(SIGUSR2); });
    shutdown_report r;
    weft::sync::select(weft::net::on_signal(term, [&] { r = sd.shutdown(5s); }));
    raiser.join();
    return r;
  });
  CHECK(rep.clean);
  CHECK(rep.drained == 4);
}
