// SPDX-License-Identifier: MIT
// timeouts: weft::time on fibers. sleep() parks a fiber without holding a
// thread, timeout() bounds any blocking weft call, interval ticks periodically,
// and a paused clock makes long timeouts instant in tests.
#include <chrono>
#include <cstdio>
#include <system_error>
#include <vector>

#include "weft/fibers.hpp"

using namespace std::chrono_literals;

namespace {

// ok() prints one check and returns whether it passed.
bool ok(bool passed, const char* what) {
  std::printf("timeouts: %-58s %s\n", what, passed ? "ok" : "FAILED");
  return passed;
}

// sleep_demo(): 100 fibers sleep 20 ms each, concurrently, on two workers.
bool sleep_demo() {
  const auto start = weft::time::clock::now();
  std::vector<weft::join_handle<void>> sleepers;
  for (int i = 0; i < 100; ++i) {
    sleepers.push_back(weft::spawn([] { weft::time::sleep(20ms); }));
  }
  for (auto& h : sleepers) h.join();
  const auto took = weft::time::clock::now() - start;
  // A lower bound only: the machine may be slow, never fast.
  return ok(took >= 20ms, "100 fibers slept 20ms each, at the same time");
}

// timeout_demo(): timeout(d, f) runs f on this fiber; if f is still waiting
// when d elapses, the wait throws weft::cancelled inside f (unwinding it) and
// timeout() returns errc::timeout. Otherwise it returns f's value.
bool timeout_demo() {
  bool good = true;

  weft::result<int> fast = weft::time::timeout(1s, [] { return 42; });
  good &= ok(fast && *fast == 42, "a fast call returns its value");

  weft::result<void> slow = weft::time::timeout(10ms, [] { weft::time::sleep(10s); });
  good &= ok(!slow && slow.error() == weft::errc::timeout, "a slow call reports errc::timeout");
  // errc::timeout is also std::errc::timed_out, for code that knows only std.
  good &=
      ok(!slow && slow.error() == std::errc::timed_out, "... which equals std::errc::timed_out");

  // Timing out a join() leaves the handle valid: the task keeps running
  // until it is aborted (or joined again).
  weft::join_handle<int> task = weft::spawn([] {
    weft::time::sleep(10s);
    return 7;
  });
  weft::result<int> joined = weft::time::timeout(10ms, [&] { return task.join(); });
  good &= ok(!joined && task.valid(), "join() under timeout(): handle still valid");
  task.abort();
  try {
    task.join();
    good &= ok(false, "an aborted task is reported cancelled");
  } catch (const weft::join_error& e) {
    good &= ok(e.is_cancelled(), "an aborted task is reported cancelled");
  }
  return good;
}

// interval_demo(): an interval ticks every period; the first tick of
// make_interval() is immediate, so five ticks take at least four periods.
bool interval_demo() {
  weft::time::interval every = weft::time::make_interval(10ms);
  const auto start = weft::time::clock::now();
  for (int i = 0; i < 5; ++i) every.tick();
  return ok(weft::time::clock::now() - start >= 40ms, "5 ticks of a 10ms interval took >= 40ms");
}

// paused_clock_demo(): a runtime started paused moves its clock only when
// every fiber is waiting, straight to the next timer: an hour-long timeout
// is reported at once, which is how tests of timeouts stay fast.
bool paused_clock_demo() {
  weft::runtime rt = weft::builder::current_thread().start_paused(true).build();
  const auto wall = std::chrono::steady_clock::now();
  const bool timed_out = rt.block_on([] {
    weft::result<void> r = weft::time::timeout(1h, [] { weft::time::sleep(2h); });
    return !r && r.error() == weft::errc::timeout;
  });
  const auto took = std::chrono::steady_clock::now() - wall;
  std::printf(
      "timeouts: (paused clock: a 1h timeout took %lld ms of real time)\n",
      static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
  return ok(timed_out, "a paused clock skips ahead to a 1h timeout");
}

}  // namespace

int main() {
  weft::runtime rt = weft::builder::multi_thread().worker_threads(2).build();
  bool good = rt.block_on([] {
    bool g = sleep_demo();
    g &= timeout_demo();
    g &= interval_demo();
    return g;
  });
  good &= paused_clock_demo();
  return good ? 0 : 1;
}
