// SPDX-License-Identifier: MIT
// The README's code samples, compiled and run (like Tokio's doc tests). When
// the README changes, change this file with it.
#include <csignal>
#include <catch2/catch.hpp>
#include <chrono>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "weft/fibers.hpp"
#include "weft/net.hpp"
#include "weft/sync.hpp"

using namespace std::chrono_literals;

namespace {
int load_all() { return 7; }
int uses_thread_locals() {
  thread_local int n = 0;
  return ++n;
}
int read_big_file() { return 3; }
int fetch(int i) { return i * i; }
int slow_call() {
  weft::time::sleep(1s);
  return 1;
}
}  // namespace

TEST_CASE("readme: quick start sums 1000 fibers", "[readme]") {
  weft::runtime rt = weft::builder::multi_thread().worker_threads(2).build();
  int sum = rt.block_on([] {
    std::vector<weft::join_handle<int>> hs;
    for (int i = 0; i < 1000; ++i) hs.push_back(weft::spawn([i] { return i; }));
    int s = 0;
    for (auto& h : hs) s += h.join();  // parks this fiber, not the thread
    return s;
  });
  CHECK(sum == 499500);
}

TEST_CASE("readme: runtime builder and handle", "[readme]") {
  auto rt = weft::builder::multi_thread()
                .worker_threads(4)
                .thread_name("svc")
                .stack_size(256 * 1024)
                .max_blocking_threads(64)
                .build();
  int v = rt.block_on([] { return 42; });
  weft::handle h = rt.get_handle();
  CHECK(v == 42);
  CHECK(h.block_on([] { return 1; }) == 1);
}

TEST_CASE("readme: tasks, join_set, time", "[readme]") {
  auto rt = weft::builder::current_thread().start_paused(true).build();
  const std::string out = rt.block_on([] {
    std::string o;
    weft::join_handle<int> h = weft::spawn([](int x) { return x * 2; }, 21);
    auto named = weft::spawn_with({.name = "loader"}, load_all);
    auto local = weft::spawn_pinned(uses_thread_locals);
    auto blk = weft::spawn_blocking(read_big_file);
    o += std::to_string(h.join()) + ",";
    o += std::to_string(named.join() + local.join() + blk.join()) + ",";

    weft::join_set<int> set;
    for (int i = 0; i < 10; ++i) set.spawn(fetch, i);
    int total = 0;
    while (auto v = set.join_next()) total += *v;
    o += std::to_string(total) + ",";

    weft::time::sleep(10ms);
    weft::time::sleep_until(weft::time::clock::now() + 1s);
    weft::result<int> r = weft::time::timeout(50ms, [] { return slow_call(); });
    if (!r && r.error() == weft::errc::timeout) o += "elapsed,";
    auto iv = weft::time::make_interval(100ms, weft::time::missed_tick_behavior::skip);
    for (int i = 0; i < 3; ++i) iv.tick();
    o += "ticked";
    return o;
  });
  CHECK(out == "42,11,285,elapsed,ticked");
}

TEST_CASE("readme: channels and select", "[readme]") {
  auto rt = weft::builder::multi_thread().worker_threads(2).build();
  struct outcome {
    int sum = 0;
    std::string reply;
    std::size_t chosen = 9;
  };
  auto o = rt.block_on([] {
    namespace mpsc = weft::sync::mpsc;
    auto [tx, rx] = mpsc::channel<int>(64);          // bounded: send parks while full
    weft::spawn([tx]() mutable {                     // copy a sender per producer
      for (int i = 0; i < 100; ++i) (void)tx.send(i);  // send_result: value back on failure
    }).detach();
    tx = {};                                         // drop ours: rx ends when all are gone
    int sum = 0;
    for (int v : rx) sum += v;                       // recv() until closed and drained

    auto [reply_tx, reply_rx] = weft::sync::oneshot::channel<std::string>();
    (void)reply_tx.send("done");
    weft::result<std::string> reply = reply_rx.recv_for(1s);   // errc::timeout / closed

    weft::sync::cancellation_token stop;             // child_token(), cancel(), cancelled()
    auto [jobs_tx, jobs] = mpsc::channel<int>(8);
    (void)jobs_tx.send(7);
    using namespace weft::sync;
    std::size_t chosen = select(                     // exactly one branch runs
        on_recv(jobs, [&](int j) { sum += j; }),     // a receive not chosen takes nothing
        on_cancelled(stop, [] {}),
        on_sleep(100ms, [] {}));                     // select_biased(...) checks in order
    return outcome{sum, reply ? *reply : "", chosen};
  });
  CHECK(o.sum == 4950 + 7);
  CHECK(o.reply == "done");
  CHECK(o.chosen == 0);
}

TEST_CASE("readme: locks keep the std shapes", "[readme]") {
  auto rt = weft::builder::current_thread().build();
  auto got = rt.block_on([] {
    weft::sync::mutex m;                             // lock/try_lock/unlock: std::lock_guard,
    { std::unique_lock lk(m); /* may suspend here */ }   // unique_lock, scoped_lock all work
    weft::sync::condition_variable cv;               // for std::unique_lock<weft::sync::mutex>
    weft::sync::semaphore slots(2);
    if (auto permit = slots.acquire_for(1s)) { /* released when permit dies */ }
    weft::sync::rwlock rw;                           // writers are not starved by readers
    { std::shared_lock rd(rw); }
    weft::sync::once_cell<std::string> config;
    const std::string& c = config.get_or_init([] { return std::string("loaded"); });
    cv.notify_all();
    return c + (slots.available_permits() == 2 ? "" : "?");
  });
  CHECK(got == "loaded");
}

TEST_CASE("readme: sockets, DNS, signals", "[readme]") {
  auto rt = weft::builder::multi_thread().worker_threads(2).build();
  struct outcome {
    std::string echoed;
    std::error_code timed_out;
    bool resolved = false;
    bool signal_opened = false;
  };
  auto o = rt.block_on([] {
    namespace net = weft::net;
    auto listener = net::tcp_listener::bind(net::socket_address::loopback_v4(0)).value();
    auto addr = listener.local_address().value();        // port 0 picked a free port
    auto server = weft::spawn([&] {                       // accept loop: a fiber per connection
      while (auto conn = listener.accept()) {             // errc::closed once closed
        weft::spawn([s = std::move(*conn)]() mutable {
          std::string line;
          while (s.read_line(line, 1024)) (void)s.write_all(line + "\n");   // EOF ends it
        }).detach();
      }
    });
    auto client = net::tcp_stream::connect(addr, weft::time::clock::now() + 1s).value();
    (void)client.write_all("hello\n");
    std::string echoed;
    (void)client.read_line(echoed);                       // "hello"
    char buf[64];
    auto r = client.read(buf, sizeof buf, weft::time::clock::now() + 10ms);
    listener.close();                                     // stop accepting
    server.join();
    auto addrs = net::resolve("localhost", 80);           // getaddrinfo on the blocking pool
    auto sigterm = net::signal_stream::open(SIGTERM).value();   // usable in select: on_signal
    // A bare chroot without /etc/hosts cannot resolve localhost: then a
    // weft.net DNS error is the right answer too.
    const bool dns_answered =
        addrs.has_value() || addrs.error().category() == net::error_category();
    return outcome{echoed, r ? std::error_code() : r.error(), dns_answered,
                   sigterm.signum() == SIGTERM};
  });
  CHECK(o.echoed == "hello");
  CHECK(o.timed_out == weft::errc::timeout);
  CHECK(o.resolved);
  CHECK(o.signal_opened);
}
