// SPDX-License-Identifier: MIT
// Tests of weft::net TCP (tcp.hpp, stream.hpp): echo with byte-exact data,
// partial reads/writes, EOF, reset, half-close, timeouts, refused
// connections, cancellation and close of parked fibers, no fd leaked.
#include "weft/net/tcp.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "net/net_test_support.hpp"
#include "weft/net/error.hpp"

using namespace std::chrono_literals;
using weft::net::shutdown_how;
using weft::net::socket_address;
using weft::net::tcp_listener;
using weft::net::tcp_stream;
using weft_test::failures;

namespace {
// pattern() is a payload whose bytes depend on their offset and `seed`.
std::string pattern(std::size_t n, std::uint32_t seed) {
  std::string s(n, '\0');
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& c : s) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  return s;
}

// read_to_end() reads until EOF (or an error, recorded in `f`).
std::string read_to_end(tcp_stream& s, failures& f, std::size_t chunk = 4096) {
  std::string in;
  std::vector<char> buf(chunk);
  for (;;) {
    auto n = s.read(buf.data(), buf.size());
    if (!NET_EXPECT(f, n)) break;
    if (*n == 0) break;
    in.append(buf.data(), *n);
  }
  return in;
}

// echo_until_eof() echoes what it reads until the peer shuts down its
// write side, then shuts down its own.
void echo_until_eof(tcp_stream s, failures& f) {
  char buf[4096];
  for (;;) {
    auto n = s.read(buf, sizeof buf);
    if (!NET_EXPECT(f, n)) return;
    if (*n == 0) break;
    if (!NET_EXPECT(f, s.write_all(buf, *n))) return;
  }
  NET_EXPECT(f, s.shutdown(shutdown_how::write));
}

// connected_pair() returns both ends of a loopback TCP connection.
std::pair<tcp_stream, tcp_stream> connected_pair() {
  auto l = weft_test::loopback_listener();
  auto c = tcp_stream::connect(weft_test::address_of(l));
  REQUIRE(c);
  auto s = l.accept();
  REQUIRE(s);
  return {std::move(*c), std::move(*s)};
}
}  // namespace

TEST_CASE("tcp: 10,000 connections echo their data byte for byte", "[net][tcp]") {
  const int workers = GENERATE(0, 4);
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  failures f;
  constexpr int kConnections = 10000;
  constexpr int kConcurrent = 64;
  std::size_t expect = 0;
  for (int i = 0; i < kConnections; ++i) expect += 100 + static_cast<std::size_t>(i % 1900);
  {
    auto rt = weft_test::make_runtime(workers);
    const std::size_t echoed = rt.block_on([&] {
      auto listener = weft_test::loopback_listener();
      const auto addr = weft_test::address_of(listener);
      auto server = weft::spawn([&] {
        weft::join_set<void> conns;
        for (int i = 0; i < kConnections; ++i) {
          auto s = listener.accept();
          if (!NET_EXPECT(f, s)) return;
          conns.spawn([&f, s = std::move(*s)]() mutable { echo_until_eof(std::move(s), f); });
          while (conns.try_join_next()) {
          }
        }
        while (conns.join_next()) {
        }
      });
      std::atomic<std::size_t> total{0};
      std::atomic<int> next{0};
      std::vector<weft::join_handle<void>> clients;
      for (int c = 0; c < kConcurrent; ++c) {
        clients.push_back(weft::spawn([&] {
          for (int i = next.fetch_add(1); i < kConnections; i = next.fetch_add(1)) {
            auto s = tcp_stream::connect(addr);
            if (!NET_EXPECT(f, s)) return;
            const std::string out = pattern(100 + static_cast<std::size_t>(i % 1900), i);
            if (!NET_EXPECT(f, s->write_all(out))) return;
            if (!NET_EXPECT(f, s->shutdown(shutdown_how::write))) return;
            const std::string in = read_to_end(*s, f);
            NET_EXPECT(f, in == out);
            total.fetch_add(in.size());
          }
        }));
      }
      for (auto& h : clients) h.join();
      server.join();
      return total.load();
    });
    CHECK(echoed == expect);
  }
  NET_NO_FAILURES(f);
  leaks.finish();
}

TEST_CASE("tcp: a large payload crosses in partial reads and writes intact", "[net][tcp]") {
  weft_test::run_checked(WEFT_RUNTIME_FLAVOURS(), [&](failures& f) {
    auto [a, b] = connected_pair();
    // Small kernel buffers force many partial writes.
    REQUIRE(a.is_open());
    REQUIRE(::setsockopt(a.native_handle(), SOL_SOCKET, SO_SNDBUF, &(const int&)8192,
                         sizeof(int)) == 0);
    const std::string payload = pattern(8 << 20, 7);
    auto writer = weft::spawn([&] {
      NET_EXPECT(f, a.write_all(payload));
      NET_EXPECT(f, a.shutdown(shutdown_how::write));
    });
    // The reader takes odd-sized bites.
    const std::string got = read_to_end(b, f, 1237);
    writer.join();
    CHECK(got.size() == payload.size());
    CHECK(got == payload);
  });
}

TEST_CASE("tcp: one fiber reads while another writes the same stream", "[net][tcp]") {
  weft_test::run_checked(WEFT_RUNTIME_FLAVOURS(), [&](failures& f) {
    auto [a, b] = connected_pair();
    auto echo = weft::spawn([&, s = std::move(b)]() mutable { echo_until_eof(std::move(s), f); });
    const std::string payload = pattern(2 << 20, 3);
    // A reader and a writer on `a` at the same time: the echo comes back
    // while the rest is still being written (more than the buffers hold).
    auto reader = weft::spawn([&] { return read_to_end(a, f); });
    auto writer = weft::spawn([&] {
      NET_EXPECT(f, a.write_all(payload));
      NET_EXPECT(f, a.shutdown(shutdown_how::write));
    });
    writer.join();
    CHECK(reader.join() == payload);
    echo.join();
  });
}

TEST_CASE("tcp: EOF, half-close and read_exact at the end", "[net][tcp]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  rt.block_on([] {
    auto [a, b] = connected_pair();
    REQUIRE(a.write_all("hello"));
    REQUIRE(a.shutdown(shutdown_how::write));  // half-close: b reads EOF...
    char buf[16];
    REQUIRE(b.read_exact(buf, 5));
    CHECK(std::string(buf, 5) == "hello");
    auto eof = b.read(buf, sizeof buf);
    REQUIRE(eof);
    CHECK(*eof == 0);
    // ...but can still write back to a, which still reads.
    REQUIRE(b.write_all("back"));
    REQUIRE(b.shutdown(shutdown_how::write));
    auto back = b.read_exact(buf, 1);
    REQUIRE_FALSE(back);
    CHECK(back.error() == weft::net::errc::eof);
    char in[8];
    auto n = a.read_exact(in, 4);
    REQUIRE(n);
    CHECK(std::string(in, 4) == "back");
    auto short_read = a.read_exact(in, 1);
    REQUIRE_FALSE(short_read);
    CHECK(short_read.error() == weft::net::errc::eof);
    CHECK(short_read.error().message() == "end of stream");
  });
}

TEST_CASE("tcp: EOF right behind the last bytes is still read after a short read", "[net][tcp]") {
  // A short read lets the next read park without a syscall (the buffer was
  // drained), unless the peer hung up: the FIN arrives with the data in
  // one readiness edge, and no later edge would announce the EOF.
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers, /*paused=*/true);
  rt.block_on([] {
    auto [a, b] = connected_pair();
    auto first = weft::spawn([&] {
      char buf[16];
      auto n = b.read(buf, sizeof buf);  // parks: registered, then one edge
      return n ? *n : 999;
    });
    REQUIRE(weft_test::spin_until([&] { return weft_test::in_weft_wait(first); }));
    REQUIRE(a.write_all("hello"));
    REQUIRE(a.shutdown(shutdown_how::write));
    CHECK(first.join() == 5);  // short: fewer than 16
    char buf[16];
    auto eof = b.read(buf, sizeof buf, weft::time::clock::now() + 30s);
    REQUIRE(eof);  // not errc::timeout
    CHECK(*eof == 0);
  });
}

TEST_CASE("tcp: a peer reset is reported as connection_reset", "[net][tcp]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  rt.block_on([] {
    auto [a, b] = connected_pair();
    REQUIRE(b.write_all("x"));  // unread data in a: close sends a RST
    const linger lg{1, 0};
    REQUIRE(::setsockopt(a.native_handle(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0);
    a.close();
    char buf[8];
    auto r = b.read(buf, sizeof buf);
    REQUIRE_FALSE(r);
    CHECK(r.error() == std::errc::connection_reset);
    auto w = b.write_all("more");
    REQUIRE_FALSE(w);
    CHECK((w.error() == std::errc::broken_pipe || w.error() == std::errc::connection_reset));
  });
}

TEST_CASE("tcp: shutdown after the peer's reset is ok or connection_reset (issue 9)",
          "[net][tcp][regression]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  rt.block_on([] {
    for (bool read_first : {false, true}) {
      auto [a, b] = connected_pair();
      REQUIRE(b.write_all("x"));  // unread data in a: close sends a RST
      const linger lg{1, 0};
      REQUIRE(::setsockopt(a.native_handle(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0);
      a.close();
      if (read_first) {
        char buf[8];
        auto r = b.read(buf, sizeof buf);  // takes the pending reset
        CHECK_FALSE(r);
      } else {
        // Wait until the reset arrived (readable), without consuming it.
        REQUIRE(weft::this_fiber::wait_readable(b.native_handle()));
      }
      for (auto how : {shutdown_how::write, shutdown_how::both}) {
        auto s = b.shutdown(how);
        INFO("read first " << read_first << ": " << (s ? std::string("ok") : s.error().message()));
        CHECK((s || s.error() == std::errc::connection_reset));
      }
    }
  });
}

TEST_CASE("tcp: read and accept time out at their deadline on the paused clock", "[net][tcp]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers, /*paused=*/true);
  rt.block_on([] {
    auto [a, b] = connected_pair();
    const auto start = weft::time::clock::now();
    char buf[8];
    auto r = b.read(buf, sizeof buf, start + 30s);
    REQUIRE_FALSE(r);
    CHECK(r.error() == weft::errc::timeout);
    CHECK(r.error() == std::errc::timed_out);
    CHECK(weft::time::clock::now() - start >= 30s);
    // The stream is still usable after a timeout.
    REQUIRE(a.write_all("ok"));
    REQUIRE(b.read_exact(buf, 2));
    CHECK(std::string(buf, 2) == "ok");

    auto l = weft_test::loopback_listener();
    auto acc = l.accept(weft::time::clock::now() + 5s);
    REQUIRE_FALSE(acc);
    CHECK(acc.error() == weft::errc::timeout);
  });
}

TEST_CASE("tcp: connecting to a closed port is refused and bad input is an error", "[net][tcp]") {
  weft_test::run_checked(WEFT_RUNTIME_FLAVOURS(), [&](failures&) {
    socket_address addr;
    {
      auto l = weft_test::loopback_listener();
      addr = weft_test::address_of(l);
    }  // closed: nobody listens on addr now
    auto c = tcp_stream::connect(addr);
    REQUIRE_FALSE(c);
    CHECK(c.error() == std::errc::connection_refused);
    CHECK_THROWS_AS(c.value(), std::system_error);

    auto in_use = tcp_listener::bind(socket_address::loopback_v4(0));
    REQUIRE(in_use);
    auto again = tcp_listener::bind(weft_test::address_of(*in_use));
    REQUIRE_FALSE(again);
    CHECK(again.error() == std::errc::address_in_use);

    CHECK(tcp_listener::bind(socket_address::loopback_v4(0), 0).error() ==
          std::errc::invalid_argument);
    CHECK(tcp_stream::connect(socket_address()).error() == weft::net::errc::bad_address);
    CHECK(tcp_stream::connect("127.0.0.1").error() == weft::net::errc::bad_address);
    CHECK(tcp_stream::connect("127.0.0.1:99999").error() == weft::net::errc::bad_address);
  });
}

TEST_CASE("tcp: aborting fibers parked in accept, read and write closes nothing", "[net][tcp]") {
  weft_test::run_checked(WEFT_RUNTIME_FLAVOURS(), [&](failures&) {
    auto l = weft_test::loopback_listener();
    auto [a, b] = connected_pair();
    // Fill a's send buffer so a writer parks.
    int small = 4096;
    REQUIRE(::setsockopt(a.native_handle(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small) == 0);
    REQUIRE(::setsockopt(b.native_handle(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small) == 0);
    const std::string big = pattern(16 << 20, 1);
    auto acceptor = weft::spawn([&] { return l.accept().has_value(); });
    // The reader and the writer share stream a: b never writes, and b
    // does not read, so both park.
    auto reader = weft::spawn([&] {
      char c;
      return a.read(&c, 1).has_value();
    });
    auto writer = weft::spawn([&] { return a.write_all(big).has_value(); });
    REQUIRE(weft_test::spin_until([&] {
      return weft_test::in_weft_wait(acceptor) && weft_test::in_weft_wait(reader) &&
             weft_test::in_weft_wait(writer);
    }));
    acceptor.abort();
    reader.abort();
    writer.abort();
    CHECK(weft_test::outcome_of([&] { acceptor.join(); }) == "cancelled");
    CHECK(weft_test::outcome_of([&] { reader.join(); }) == "cancelled");
    CHECK(weft_test::outcome_of([&] { writer.join(); }) == "cancelled");
    // Everything is still open and works.
    REQUIRE(l.is_open());
    REQUIRE(a.is_open());
    REQUIRE(b.is_open());
    auto c = tcp_stream::connect(weft_test::address_of(l));
    REQUIRE(c);
    auto s = l.accept();
    REQUIRE(s);
    REQUIRE(c->write_all("ping"));
    char buf[4];
    REQUIRE(s->read_exact(buf, 4));
    CHECK(std::string(buf, 4) == "ping");
    // a still carries data both ways: b drains what the aborted writer
    // queued, then a reply reaches a.
    REQUIRE(b.write_all("pong"));
    REQUIRE(a.read_exact(buf, 4));
    CHECK(std::string(buf, 4) == "pong");
  });
}

TEST_CASE("tcp: close() wakes fibers parked in accept and read with errc::closed", "[net][tcp]") {
  weft_test::run_checked(WEFT_RUNTIME_FLAVOURS(), [&](failures&) {
    auto l = weft_test::loopback_listener();
    auto [a, b] = connected_pair();
    auto acceptor = weft::spawn([&] { return l.accept().error(); });
    auto reader = weft::spawn([&] {
      char c;
      return b.read(&c, 1).error();
    });
    REQUIRE(weft_test::spin_until(
        [&] { return weft_test::in_weft_wait(acceptor) && weft_test::in_weft_wait(reader); }));
    l.close();
    b.close();
    CHECK(acceptor.join() == weft::errc::closed);
    CHECK(reader.join() == weft::errc::closed);
    CHECK_FALSE(l.is_open());
    CHECK(b.native_handle() == -1);
    char c;
    CHECK(b.read(&c, 1).error() == weft::errc::closed);
    CHECK(l.accept().error() == weft::errc::closed);
    // The peer of the closed stream sees EOF.
    auto eof = a.read(&c, 1);
    REQUIRE(eof);
    CHECK(*eof == 0);
  });
}

TEST_CASE("tcp: read_line splits lines, keeps the rest buffered and bounds the length",
          "[net][tcp]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  rt.block_on([] {
    auto [a, b] = connected_pair();
    REQUIRE(a.write_all("first\nsecond\n\nraw"));
    std::string line;
    auto n = b.read_line(line);
    REQUIRE(n);
    CHECK(line == "first");
    CHECK(*n == 6);
    REQUIRE(b.read_line(line));
    CHECK(line == "second");
    REQUIRE(b.read_line(line));
    CHECK(line.empty());
    char buf[3];
    REQUIRE(b.read_exact(buf, 3));  // read() first drains what read_line buffered
    CHECK(std::string(buf, 3) == "raw");

    REQUIRE(a.write_all(std::string(100, 'x') + "\nlast"));
    auto too_long = b.read_line(line, 50);
    REQUIRE_FALSE(too_long);
    CHECK(too_long.error() == weft::net::errc::line_too_long);
    auto fits = b.read_line(line, 101);  // 100 bytes + '\n'
    REQUIRE(fits);
    CHECK(line == std::string(100, 'x'));
    REQUIRE(a.shutdown(shutdown_how::write));
    REQUIRE(b.read_line(line));
    CHECK(line == "last");  // the last line needs no '\n'
    auto end = b.read_line(line);
    REQUIRE_FALSE(end);
    CHECK(end.error() == weft::net::errc::eof);
  });
}

TEST_CASE("tcp: options and addresses", "[net][tcp]") {
  auto rt = weft_test::make_runtime(1);
  rt.block_on([] {
    auto l = weft_test::loopback_listener();
    socket_address peer;
    auto c = tcp_stream::connect(weft_test::address_of(l));
    REQUIRE(c);
    auto s = l.accept(peer);
    REQUIRE(s);
    CHECK(peer == c->local_address().value());
    CHECK(s->peer_address().value() == c->local_address().value());
    CHECK(c->peer_address().value() == weft_test::address_of(l));
    CHECK(peer.to_string().rfind("127.0.0.1:", 0) == 0);
    REQUIRE(c->set_nodelay(true));
    CHECK(c->nodelay().value());
    REQUIRE(c->set_nodelay(false));
    CHECK_FALSE(c->nodelay().value());
    REQUIRE(c->set_keepalive(true, 30s));
    CHECK(c->keepalive().value());
    CHECK(c->set_keepalive(true, -1s).error() == std::errc::invalid_argument);
    c->close();
    CHECK(c->set_nodelay(true).error() == weft::errc::closed);
  });
}

TEST_CASE("tcp: streams work from plain threads, blocking only that thread", "[net][tcp]") {
  weft_test::leak_check leaks;
  {
    auto l = weft_test::loopback_listener();
    const auto addr = weft_test::address_of(l);
    std::thread server([&] {
      auto s = l.accept();
      if (s) {
        char buf[5];
        if (s->read_exact(buf, 5)) (void)s->write_all(buf, 5);
      }
    });
    auto c = tcp_stream::connect(addr);
    REQUIRE(c);
    char buf[8];
    auto early = c->read(buf, sizeof buf, weft::time::clock::now() + 20ms);
    REQUIRE_FALSE(early);
    CHECK(early.error() == weft::errc::timeout);
    REQUIRE(c->write_all("hello"));
    REQUIRE(c->read_exact(buf, 5));
    CHECK(std::string(buf, 5) == "hello");
    server.join();
  }
  leaks.finish();
}
