// SPDX-License-Identifier: MIT
// Stress of the per-socket readiness registration (io_source): many fibers
// and plain threads parked on the same sockets while data flows and close()
// races with them. Nothing may hang, crash, lose or duplicate bytes, or
// leak a descriptor.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "net/net_test_support.hpp"
#include "weft/net/udp.hpp"
#include "weft/net/unix.hpp"

using namespace std::chrono_literals;
using weft_test::failures;

TEST_CASE("io stress: many readers share one socket, every datagram is taken once",
          "[net][.stress]") {
  weft_test::run_checked(GENERATE(1, 4), [&](failures& f) {
    auto pair = weft::net::unix_datagram::pair();
    REQUIRE(pair);
    auto& [tx, rx] = *pair;
    constexpr int kReaders = 16;
    constexpr int kThreads = 2;
    constexpr std::uint32_t kMessages = 20000;
    std::vector<std::atomic<int>> seen(kMessages);
    std::atomic<std::uint32_t> received{0};
    auto reader = [&] {
      for (;;) {
        std::uint32_t v;
        auto n = rx.recv(&v, sizeof v);
        if (!n) {
          NET_EXPECT(f, n.error() == weft::errc::closed);
          return;
        }
        if (!NET_EXPECT(f, *n == sizeof v && v < kMessages)) return;
        seen[v].fetch_add(1);
        received.fetch_add(1);
      }
    };
    std::vector<weft::join_handle<void>> fibers;
    for (int i = 0; i < kReaders; ++i) fibers.push_back(weft::spawn(reader));
    std::vector<std::thread> threads;  // plain threads park on the same socket
    for (int i = 0; i < kThreads; ++i) threads.emplace_back(reader);
    auto writer = weft::spawn([&] {
      for (std::uint32_t v = 0; v < kMessages; ++v) {
        if (!NET_EXPECT(f, tx.send(&v, sizeof v))) return;
      }
    });
    writer.join();
    REQUIRE(weft_test::spin_until([&] { return received.load() == kMessages; }));
    rx.close();  // wakes every parked reader with errc::closed
    for (auto& h : fibers) h.join();
    for (auto& t : threads) t.join();
    int dup = 0, lost = 0;
    for (auto& s : seen) {
      if (s.load() == 0) ++lost;
      if (s.load() > 1) ++dup;
    }
    CHECK(lost == 0);
    CHECK(dup == 0);
  });
}

TEST_CASE("io stress: close races with parked readers and writers, repeatedly", "[net][.stress]") {
  weft_test::run_checked(GENERATE(1, 4), [&](failures& f) {
    const std::string big(1 << 20, 'z');
    for (int round = 0; round < 200; ++round) {
      auto p = weft::net::unix_stream::pair();
      REQUIRE(p);
      auto& [a, b] = *p;
      std::vector<weft::join_handle<void>> hs;
      // Readers of a (b never writes) and writers of a (b never reads):
      // all park, or are about to, when close() runs.
      for (int i = 0; i < 4; ++i) {
        hs.push_back(weft::spawn([&] {
          char c;
          auto r = a.read(&c, 1);
          NET_EXPECT(f, !r && r.error() == weft::errc::closed);
        }));
        hs.push_back(weft::spawn([&] {
          auto r = a.write_all(big);
          NET_EXPECT(f, !r && r.error() == weft::errc::closed);
        }));
      }
      if (round % 2 == 0) weft::this_fiber::yield();  // vary how far they got
      a.close();
      for (auto& h : hs) h.join();
      CHECK_FALSE(a.is_open());
    }
  });
}
