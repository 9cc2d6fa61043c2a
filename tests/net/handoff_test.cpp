// SPDX-License-Identifier: MIT
// The stall monitor and weft::net (issue 11, docs/diagnostics.md): a socket
// registered with a worker's event loop still wakes its fiber while that
// worker is held by a blocking call, because the monitor runs the held
// worker's loop and the woken fiber moves to a spare worker.
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>

#include "weft/fibers.hpp"
#include "weft/net/unix.hpp"

using namespace std::chrono_literals;

TEST_CASE("handoff: readiness on a held worker's loop reaches its fiber on a spare",
          "[net][monitor]") {
  auto rt = weft::builder::multi_thread().worker_threads(1).max_spare_workers(1).build();
  int block[2];
  REQUIRE(::pipe(block) == 0);
  rt.block_on([&] {
    auto pair = weft::net::unix_stream::pair();
    REQUIRE(pair.has_value());
    auto& [a, b] = *pair;
    std::atomic<bool> reading{false};
    // The reader parks in read(), registered with worker 0's loop (the
    // only worker: it ran until it parked, then this fiber went on).
    auto reader = weft::spawn([&a, &reading] {
      reading = true;
      char c = 0;
      auto n = a.read(&c, 1);
      return n && *n == 1 ? c : '\0';
    });
    while (!reading) weft::this_fiber::yield();
    std::atomic<bool> held{false};
    auto blocker = weft::spawn([&] {
      held = true;
      char c = 0;
      return ::syscall(SYS_read, block[0], &c, 1) == 1 ? c : '\0';
    });
    // From here on worker 0 is held; this fiber continues on the spare.
    while (!held) weft::this_fiber::yield();
    REQUIRE(b.write("y", 1));
    auto got = weft::time::timeout(5s, [&reader] { return reader.join(); });
    REQUIRE(got);
    CHECK(*got == 'y');
    CHECK_FALSE(blocker.is_finished());
    CHECK(weft::handle::current().metrics().spare_workers == 1);
    REQUIRE(::syscall(SYS_write, block[1], "x", 1) == 1);
    CHECK(blocker.join() == 'x');
  });
  ::close(block[0]);
  ::close(block[1]);
}

TEST_CASE("dump: a fiber parked in a socket read names the descriptor and direction",
          "[net][dump]") {
  auto rt = weft::builder::multi_thread().worker_threads(2).build();
  rt.block_on([] {
    auto pair = weft::net::unix_stream::pair();
    REQUIRE(pair.has_value());
    auto& [a, b] = *pair;
    const int fd = a.native_handle();
    auto reader = weft::spawn_with({.name = "reader"}, [&a] {
      char c = 0;
      auto n = a.read(&c, 1);
      return n && *n == 1 ? c : '\0';
    });
    const std::string want = "'reader' parked: descriptor (fd " + std::to_string(fd) + ", read)";
    std::string d;
    const auto give_up = std::chrono::steady_clock::now() + 10s;
    do {
      weft::this_fiber::yield();
      d = weft::handle::current().dump();
    } while (d.find(want) == std::string::npos && std::chrono::steady_clock::now() < give_up);
    INFO(d);
    CHECK(d.find(want) != std::string::npos);
    REQUIRE(b.write("z", 1));
    CHECK(reader.join() == 'z');
  });
}
