// SPDX-License-Identifier: MIT
// The documented server shutdown sequence on real sockets: stop accepting
// (close the listener), let connections finish, drain with a deadline,
// report clean or forced; no fd leaked.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <vector>

#include "net/net_test_support.hpp"
#include "weft/net/shutdown.hpp"
#include "weft/net/tcp.hpp"
#include "weft/sync/select.hpp"

using namespace std::chrono_literals;
using weft::net::shutdown_how;
using weft::net::tcp_stream;

namespace {
// echo() serves one connection until EOF; when `stubborn` it then keeps
// reading past its stop signal, so only the forced abort ends it.
void echo(tcp_stream s, bool stubborn) {
  char buf[1024];
  for (;;) {
    auto n = s.read(buf, sizeof buf);
    if (!n || *n == 0) break;
    if (!s.write_all(buf, *n)) break;
  }
  if (stubborn) weft::time::sleep(1h);  // ignores the shutdown: only the abort ends it
}
}  // namespace

TEST_CASE("shutdown: open connections drain within the deadline, or are forced",
          "[net][shutdown]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  const bool stubborn = GENERATE(false, true);
  INFO(weft_test::flavour_name(workers) << (stubborn ? " with a stubborn handler" : ""));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers, /*paused=*/true);
    rt.block_on([&] {
      auto listener = weft_test::loopback_listener();
      const auto addr = weft_test::address_of(listener);
      weft::net::graceful_shutdown gs;
      std::atomic<int> accepted{0};
      // Each handler reads until its client's EOF: the clients below end
      // the connections while the drain runs.
      REQUIRE(gs.spawn([&] {
        for (int i = 0;; ++i) {
          auto s = listener.accept();
          if (!s) break;  // errc::closed: stop accepting
          ++accepted;
          const bool this_one_stubborn = stubborn && i == 0;
          (void)gs.spawn([this_one_stubborn, s = std::move(*s)]() mutable {
            echo(std::move(s), this_one_stubborn);
          });
        }
      }));
      std::vector<tcp_stream> clients;
      for (int i = 0; i < 10; ++i) {
        auto c = tcp_stream::connect(addr);
        REQUIRE(c);
        REQUIRE(c->write_all("hi"));
        char b[2];
        REQUIRE(c->read_exact(b, 2));  // served: the handler exists
        clients.push_back(std::move(*c));
      }
      CHECK(accepted.load() == 10);
      // 1. stop accepting. 2. the clients finish (half-close) while the
      // drain runs. 3. drain for 5 s of (paused) time.
      listener.close();
      auto finisher = weft::spawn([&] {
        for (auto& c : clients) (void)c.shutdown(shutdown_how::write);
        for (auto& c : clients) {
          char b;
          (void)c.read(&b, 1);  // EOF once the server's handler ended
        }
      });
      const auto start = weft::time::clock::now();
      const auto report = gs.shutdown(5s);
      finisher.join();
      CHECK(report.clean == !stubborn);
      CHECK(report.forced == (stubborn ? 1u : 0u));
      CHECK(report.drained == (stubborn ? 10u : 11u));  // handlers + the accept loop
      if (stubborn) CHECK(weft::time::clock::now() - start >= 5s);
      CHECK(gs.in_flight() == 0);
      auto late = tcp_stream::connect(addr);
      REQUIRE_FALSE(late);
      CHECK(late.error() == std::errc::connection_refused);
    });
  }
  leaks.finish();
}
