// SPDX-License-Identifier: MIT
// Tests of weft::net::resolve (dns.hpp) and connect("host:port"): numeric
// hosts, localhost, unknown names, bad input, deadlines, and that a lookup
// does not hold a worker.
#include "weft/net/dns.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>

#include "net/net_test_support.hpp"
#include "weft/net/error.hpp"
#include "weft/net/tcp.hpp"
#include "weft/sync/oneshot.hpp"

using namespace std::chrono_literals;
using weft::net::socket_address;

namespace {
// hosts_file_has_localhost() is true when /etc/hosts names localhost.
bool hosts_file_has_localhost() {
  std::ifstream hosts("/etc/hosts");
  std::string line;
  while (std::getline(hosts, line)) {
    const auto hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    std::istringstream words(line);
    std::string w;
    words >> w;  // the address
    while (words >> w) {
      if (w == "localhost") return true;
    }
  }
  return false;
}
}  // namespace

TEST_CASE("dns: numeric hosts need no lookup and bad input is bad_address", "[net][dns]") {
  auto v4 = weft::net::resolve("127.0.0.1:80");
  REQUIRE(v4);
  REQUIRE(v4->size() == 1);
  CHECK(v4->front() == socket_address::loopback_v4(80));
  auto v6 = weft::net::resolve("[::1]:81");
  REQUIRE(v6);
  CHECK(v6->front() == socket_address::loopback_v6(81));
  auto v6_host = weft::net::resolve("::1", 82);
  REQUIRE(v6_host);
  CHECK(v6_host->front() == socket_address::loopback_v6(82));
  for (const char* bad : {"localhost", "localhost:", "localhost:70000", ":80", "[::1]"}) {
    INFO(bad);
    auto r = weft::net::resolve(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error() == weft::net::errc::bad_address);
  }
}

TEST_CASE("dns: localhost resolves on a fiber and connect tries its addresses", "[net][dns]") {
  weft_test::run_checked(WEFT_RUNTIME_FLAVOURS(), [&](weft_test::failures&) {
    auto l = weft_test::loopback_listener();
    const auto port = weft_test::address_of(l).port();
    auto addrs = weft::net::resolve("localhost", port);
    if (!addrs && !hosts_file_has_localhost()) {
      // A bare chroot (debootstrap minbase) has no /etc/hosts and no
      // resolver that knows localhost: nothing to resolve against.
      WARN("no /etc/hosts entry for localhost here: " << addrs.error().message());
      return;
    }
    REQUIRE(addrs);
    REQUIRE_FALSE(addrs->empty());
    bool has_v4_loopback = false;
    for (const auto& a : *addrs) {
      CHECK(a.port() == port);
      has_v4_loopback = has_v4_loopback || a == socket_address::loopback_v4(port);
    }
    CHECK(has_v4_loopback);
    // connect("localhost:port") reaches the IPv4 listener even when ::1
    // comes first and is refused.
    auto c = weft::net::tcp_stream::connect("localhost:" + std::to_string(port));
    REQUIRE(c);
    auto s = l.accept();
    REQUIRE(s);
    REQUIRE(c->write_all("via dns"));
    char buf[7];
    REQUIRE(s->read_exact(buf, 7));
    CHECK(std::string(buf, 7) == "via dns");
  });
}

TEST_CASE("dns: an unknown name is host_not_found (or dns_failure when offline)", "[net][dns]") {
  auto rt = weft_test::make_runtime(1);
  rt.block_on([] {
    // .invalid never resolves (RFC 6761); with no resolver reachable the
    // lookup fails instead: either way an error, never an address.
    auto r = weft::net::resolve("no-such-host.invalid", 80, weft::time::clock::now() + 20s);
    REQUIRE_FALSE(r);
    const bool expected = r.error() == weft::net::errc::host_not_found ||
                          r.error() == weft::net::errc::dns_failure ||
                          r.error() == weft::errc::timeout;
    INFO(r.error().message());
    CHECK(expected);
    auto c =
        weft::net::tcp_stream::connect("no-such-host.invalid:80", weft::time::clock::now() + 20s);
    REQUIRE_FALSE(c);
  });
}

TEST_CASE("dns: a lookup that cannot finish by its deadline times out", "[net][dns]") {
  // One blocking thread, held busy: the lookup queues behind it and its
  // deadline passes first, deterministically.
  auto rt = weft::builder::multi_thread().worker_threads(1).max_blocking_threads(1).build();
  rt.block_on([] {
    auto [tx, rx] = weft::sync::oneshot::channel<int>();
    auto busy = weft::spawn_blocking([rx = std::move(rx)]() mutable { (void)rx.recv(); });
    auto r = weft::net::resolve("localhost", 80, weft::time::clock::now() + 50ms);
    REQUIRE_FALSE(r);
    CHECK(r.error() == weft::errc::timeout);
    (void)tx.send(1);
    busy.join();
  });
}
