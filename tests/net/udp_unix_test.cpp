// SPDX-License-Identifier: MIT
// Tests of weft::net UDP and Unix-domain sockets (udp.hpp, unix.hpp,
// datagram.hpp): datagram boundaries and senders, connected peers,
// timeouts, close and abort of parked fibers, stream echo over Unix
// sockets, errors, no fd leaked.
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "net/net_test_support.hpp"
#include "weft/net/error.hpp"
#include "weft/net/udp.hpp"
#include "weft/net/unix.hpp"

using namespace std::chrono_literals;
using weft::net::socket_address;
using weft::net::udp_socket;
using weft::net::unix_datagram;
using weft::net::unix_listener;
using weft::net::unix_stream;
using weft_test::failures;

namespace {
udp_socket loopback_udp() {
  auto s = udp_socket::bind(socket_address::loopback_v4(0));
  REQUIRE(s);
  return std::move(*s);
}

// unique_abstract() is a fresh name in Linux's abstract namespace.
std::string unique_abstract(const char* what) {
  static std::atomic<int> n{0};
  return "@weft-test-" + std::to_string(::getpid()) + "-" + what + "-" + std::to_string(n++);
}
}  // namespace

TEST_CASE("udp: datagrams keep their boundaries and their sender", "[net][udp]") {
  weft_test::run_checked(WEFT_RUNTIME_FLAVOURS(), [&](failures& f) {
    auto server = loopback_udp();
    auto client = loopback_udp();
    const auto saddr = server.local_address().value();
    constexpr int kMessages = 200;
    // The server echoes each datagram to its sender, upper-cased.
    auto echo = weft::spawn([&] {
      char buf[256];
      for (int i = 0; i < kMessages; ++i) {
        socket_address from;
        auto n = server.recv_from(buf, sizeof buf, from);
        if (!NET_EXPECT(f, n)) return;
        NET_EXPECT(f, from == client.local_address().value());
        for (std::size_t k = 0; k < *n; ++k) buf[k] = static_cast<char>(std::toupper(buf[k]));
        NET_EXPECT(f, server.send_to(buf, *n, from));
      }
    });
    for (int i = 0; i < kMessages; ++i) {
      const std::string msg = "message " + std::to_string(i) + std::string(i % 50, 'x');
      REQUIRE(client.send_to(msg.data(), msg.size(), saddr));
      char buf[256];
      socket_address from;
      auto n = client.recv_from(buf, sizeof buf, from);
      REQUIRE(n);
      CHECK(from == saddr);
      std::string up = msg;
      for (auto& c : up) c = static_cast<char>(std::toupper(c));
      CHECK(std::string(buf, *n) == up);
    }
    echo.join();
  });
}

TEST_CASE("udp: connected sockets, truncation, timeouts and refused peers", "[net][udp]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers, /*paused=*/true);
  rt.block_on([] {
    auto a = loopback_udp();
    auto b = loopback_udp();
    char buf[4];
    // Not connected: send() has no destination.
    auto no_peer = a.send("x", 1);
    REQUIRE_FALSE(no_peer);
    CHECK(no_peer.error() == std::errc::destination_address_required);
    REQUIRE(a.connect(b.local_address().value()));
    REQUIRE(b.connect(a.local_address().value()));
    CHECK(a.peer_address().value() == b.local_address().value());
    REQUIRE(a.send("0123456789", 10));
    auto n = b.recv(buf, sizeof buf);  // the rest of the datagram is dropped
    REQUIRE(n);
    CHECK(*n == 4);
    CHECK(std::string(buf, 4) == "0123");
    auto none = b.recv(buf, sizeof buf, weft::time::clock::now() + 10s);
    REQUIRE_FALSE(none);
    CHECK(none.error() == weft::errc::timeout);
    // A connected peer whose port closed: the kernel reports a refusal.
    b.close();
    REQUIRE(a.send("ping", 4));
    auto refused = a.recv(buf, sizeof buf, weft::time::clock::now() + 10s);
    REQUIRE_FALSE(refused);
    CHECK(refused.error() == std::errc::connection_refused);
    CHECK(udp_socket::bind(socket_address()).error() == weft::net::errc::bad_address);
  });
}

TEST_CASE("udp: close wakes a parked receiver, abort leaves the socket usable", "[net][udp]") {
  weft_test::run_checked(WEFT_RUNTIME_FLAVOURS(), [&](failures&) {
    auto a = loopback_udp();
    auto b = loopback_udp();
    auto aborted = weft::spawn([&] {
      char c;
      socket_address from;
      return a.recv_from(&c, 1, from).has_value();
    });
    REQUIRE(weft_test::spin_until([&] { return weft_test::in_weft_wait(aborted); }));
    aborted.abort();
    CHECK(weft_test::outcome_of([&] { aborted.join(); }) == "cancelled");
    REQUIRE(b.send_to("hi", 2, a.local_address().value()));
    char buf[2];
    socket_address from;
    REQUIRE(a.recv_from(buf, 2, from));  // nothing was lost to the aborted fiber
    CHECK(std::string(buf, 2) == "hi");

    auto closed = weft::spawn([&] {
      char c;
      socket_address from2;
      return a.recv_from(&c, 1, from2).error();
    });
    REQUIRE(weft_test::spin_until([&] { return weft_test::in_weft_wait(closed); }));
    a.close();
    CHECK(closed.join() == weft::errc::closed);
  });
}

TEST_CASE("unix: a stream listener echoes many connections", "[net][unix]") {
  weft_test::run_checked(WEFT_RUNTIME_FLAVOURS(), [&](failures& f) {
    // A filesystem path this time (abstract names are tested below).
    char dir[] = "/tmp/weft-unix-XXXXXX";
    REQUIRE(::mkdtemp(dir) != nullptr);
    const std::string path = std::string(dir) + "/echo.sock";
    auto l = unix_listener::bind(path);
    REQUIRE(l);
    CHECK(l->local_address().value().to_string() == path);
    constexpr int kConns = 100;
    auto server = weft::spawn([&] {
      weft::join_set<void> conns;
      for (int i = 0; i < kConns; ++i) {
        auto s = l->accept();
        if (!NET_EXPECT(f, s)) return;
        conns.spawn([&f, s = std::move(*s)]() mutable {
          std::string line;
          while (true) {
            auto n = s.read_line(line);
            if (!n) {
              NET_EXPECT(f, n.error() == weft::net::errc::eof);
              break;
            }
            NET_EXPECT(f, s.write_all(line + "!\n"));
          }
        });
      }
      while (conns.join_next()) {
      }
    });
    std::vector<weft::join_handle<void>> clients;
    for (int c = 0; c < kConns; ++c) {
      clients.push_back(weft::spawn([&, c] {
        auto s = unix_stream::connect(path);
        if (!NET_EXPECT(f, s)) return;
        for (int i = 0; i < 10; ++i) {
          const std::string msg = std::to_string(c) + ":" + std::to_string(i);
          NET_EXPECT(f, s->write_all(msg + "\n"));
          std::string back;
          NET_EXPECT(f, s->read_line(back));
          NET_EXPECT(f, back == msg + "!");
        }
      }));
    }
    for (auto& h : clients) h.join();
    server.join();
    l->close();
    ::unlink(path.c_str());
    ::rmdir(dir);
  });
}

TEST_CASE("unix: pairs, abstract names, datagrams and errors", "[net][unix]") {
  weft_test::run_checked(WEFT_RUNTIME_FLAVOURS(), [&](failures&) {
    auto p = unix_stream::pair();
    REQUIRE(p);
    REQUIRE(p->first.write_all("pair"));
    char buf[8];
    REQUIRE(p->second.read_exact(buf, 4));
    CHECK(std::string(buf, 4) == "pair");

    const std::string name = unique_abstract("dgram");
    auto server = unix_datagram::bind(name);
    REQUIRE(server);
    CHECK(server->local_address().value().to_string() == name);
    auto client = unix_datagram::bind(unique_abstract("client"));
    REQUIRE(client);
    REQUIRE(client->send_to("one", 3, server->local_address().value()));
    REQUIRE(client->send_to("two!", 4, server->local_address().value()));
    socket_address from;
    auto n = server->recv_from(buf, sizeof buf, from);
    REQUIRE(n);
    CHECK(std::string(buf, *n) == "one");
    CHECK(from == client->local_address().value());
    n = server->recv_from(buf, sizeof buf, from);
    REQUIRE(n);
    CHECK(std::string(buf, *n) == "two!");

    auto dp = unix_datagram::pair();
    REQUIRE(dp);
    REQUIRE(dp->first.send("d", 1));
    REQUIRE(dp->second.recv(buf, 1));
    auto unbound = unix_datagram::unbound();
    REQUIRE(unbound);
    REQUIRE(unbound->send_to("u", 1, server->local_address().value()));
    REQUIRE(server->recv_from(buf, 1, from));
    CHECK(from.to_string() == "(unnamed)");

    auto missing = unix_stream::connect("/nonexistent/weft.sock");
    REQUIRE_FALSE(missing);
    CHECK(missing.error() == std::errc::no_such_file_or_directory);
    auto nobody = unix_stream::connect(unique_abstract("nobody"));
    REQUIRE_FALSE(nobody);
    CHECK(nobody.error() == std::errc::connection_refused);
    CHECK(unix_listener::bind(std::string(200, 'x')).error() == std::errc::filename_too_long);
    CHECK(unix_listener::bind("").error() == std::errc::invalid_argument);
    CHECK(unix_listener::bind(socket_address::loopback_v4(1)).error() ==
          weft::net::errc::bad_address);
    const std::string taken = unique_abstract("taken");
    auto first = unix_listener::bind(taken);
    REQUIRE(first);
    CHECK(unix_listener::bind(taken).error() == std::errc::address_in_use);
  });
}

TEST_CASE("address: parse and format", "[net][address]") {
  auto a = socket_address::parse("127.0.0.1:8080");
  REQUIRE(a);
  CHECK(a->port() == 8080);
  CHECK(a->to_string() == "127.0.0.1:8080");
  CHECK(*a == socket_address::loopback_v4(8080));
  auto b = socket_address::parse("[::1]:443");
  REQUIRE(b);
  CHECK(b->family() == AF_INET6);
  CHECK(b->to_string() == "[::1]:443");
  CHECK(*b == socket_address::loopback_v6(443));
  CHECK(b->with_port(1).port() == 1);
  for (const char* bad : {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "1.2.3:80", "[::1]80",
                          "[::1:80", "host:80", "127.0.0.1:-1", "127.0.0.1:8a"}) {
    INFO(bad);
    auto r = socket_address::parse(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error() == weft::net::errc::bad_address);
    CHECK(r.error().message() == "malformed socket address");
  }
  CHECK(socket_address().to_string().empty());
  CHECK(socket_address::any_v4(0).to_string() == "0.0.0.0:0");
}
