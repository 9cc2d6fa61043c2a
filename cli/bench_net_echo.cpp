// SPDX-License-Identifier: MIT
// fiber-bench echo: TCP echo on 127.0.0.1, a weft::net server (one fiber per
// connection) next to a raw-libevent server and, with --hooked, a
// thread-per-connection server of plain POSIX calls on fibers through
// weft::hook (tpc_server.hpp), all driven by the same single-threaded epoll
// client in its own std::thread: 100 connections x 5,000 round trips of 64
// bytes. `--server-only` serves until SIGINT/SIGTERM.
#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include "bench_common.hpp"
#include "echo_client.hpp"
#include "echo_libevent_server.hpp"
#include "tpc_server.hpp"
#include "weft/fibers/join_handle.hpp"
#include "weft/fibers/join_set.hpp"
#include "weft/fibers/runtime.hpp"
#include "weft/fibers/spawn.hpp"
#include "weft/fibers/time.hpp"
#include "weft/net.hpp"

namespace weft_bench {
namespace {

constexpr std::uint64_t kRoundTrips = 5'000;
constexpr std::uint64_t kQuickRoundTrips = 1'000;
constexpr std::size_t kConnections = 100;
constexpr std::size_t kSize = 64;
// kReadBuffer is the most one read takes, as in the libevent server.
constexpr std::size_t kReadBuffer = 16 * 1024;
// kMaxSamples bounds connections x round trips: one 8-byte latency each.
constexpr std::uint64_t kMaxSamples = 100'000'000;
constexpr int kServerOnlyThreads = 2;
constexpr std::uint64_t kMaxConnections = 10'000;
constexpr std::uint64_t kMaxSize = 1 << 20;
// kSpareDescriptors: what the runtimes, the servers and stdio need besides
// the connections.
constexpr std::uint64_t kSpareDescriptors = 64;
// kBacklog: the hooked server's listen(2) backlog (the kernel caps it at
// net.core.somaxconn), as weft::net's listener asks for.
constexpr int kBacklog = 4096;

// serve_connection() echoes whatever arrives until EOF or an error.
void serve_connection(weft::net::tcp_stream s) {
  static_cast<void>(s.set_nodelay(true));
  unsigned char buf[kReadBuffer];
  for (;;) {
    const auto n = s.read(buf, sizeof buf, weft::time::instant::max());
    if (!n || *n == 0) return;
    if (!s.write_all(buf, *n, weft::time::instant::max())) return;
  }
}

// reap() joins the finished connection fibers (all of them when `wait`).
// A fiber aborted at shutdown, or one that threw, has nothing to report.
void reap(weft::join_set<void>& conns, bool wait) {
  for (;;) {
    try {
      if (!(wait ? conns.join_next() : conns.try_join_next())) return;
    } catch (const weft::join_error&) {
    }
  }
}

// shared_listener is the listener of a serve() loop, shared with the thread
// that stops it (the benchmark's client, --server-only's signal thread):
// whichever of the two lets go last destroys it.
using shared_listener = std::shared_ptr<weft::net::tcp_listener>;

// stop_serving() ends a serve() loop from any thread: it closes the
// listener, which wakes accept() with errc::closed wherever it is parked,
// also in its back-off while the process is out of descriptors (EMFILE).
// A wake-up connection cannot do that: at EMFILE it cannot be opened (this
// process is the one out of descriptors), and even if it were, accepting it
// would fail with EMFILE again and accept() would go back to its back-off.
void stop_serving(const shared_listener& l) noexcept { l->close(); }

// serve() accepts connections and runs one fiber each until stop_serving()
// closes the listener. It then aborts the connection fibers still running
// (a benchmark's client has closed its sockets by then; --server-only may
// leave clients connected) and joins them all.
void serve(weft::net::tcp_listener& listener) {
  weft::join_set<void> conns;
  for (;;) {
    auto s = listener.accept(weft::time::instant::max());
    if (!s) {
      if (s.error() == weft::errc::closed) break;
      // ECONNABORTED and the like (accept() itself backs off when out of
      // descriptors): the listener is fine; do not spin regardless.
      weft::time::sleep(std::chrono::milliseconds(10));
      continue;
    }
    conns.spawn(serve_connection, std::move(*s));
    reap(conns, false);
  }
  // Returns once the closing thread has finished closing (close() is
  // idempotent and the later calls wait for the first).
  listener.close();
  conns.abort_all();
  reap(conns, true);
}

// bind_listener() listens on 127.0.0.1:port.
// Errors: std::system_error naming the address (e.g. a port in use).
shared_listener bind_listener(std::uint16_t port) {
  const std::string where = fmt::format("127.0.0.1:{}", port);
  auto addr = weft::net::socket_address::parse(where);
  if (!addr) throw std::system_error(addr.error(), "cannot parse " + where);
  auto l = weft::net::tcp_listener::bind(*addr);
  if (!l) throw std::system_error(l.error(), "cannot listen on " + where);
  return std::make_shared<weft::net::tcp_listener>(std::move(*l));
}

// bound_port() is the port a listener got.
std::uint16_t bound_port(const weft::net::tcp_listener& l) {
  auto a = l.local_address();
  if (!a) throw std::system_error(a.error(), "local_address");
  return a->port();
}

class echo_workload final : public workload {
 public:
  const char* name() const noexcept override { return "echo"; }
  const char* about() const noexcept override {
    return "TCP echo on 127.0.0.1: a weft::net server with --threads workers, then a raw "
           "libevent server with as many event_base threads, each driven by one "
           "single-threaded epoll client: --connections connections x --round-trips round trips "
           "of --size bytes (default: 1 worker, then 2; docs/benchmarks.md target >= 0.95x "
           "libevent's round trips/s, p99 <= libevent's). --hooked adds a thread-per-connection "
           "server of plain POSIX calls on fibers through weft::hook (target >= 0.9x weft::net's "
           "round trips/s). --server-only serves until SIGINT/SIGTERM";
  }
  std::vector<int> default_threads() const override { return {1, 2}; }
  const char* reference_impl() const noexcept override { return "libevent"; }

  void add_options(CLI::App& sub) override {
    CLI::Option* server_only =
        sub.add_flag("--server-only", server_only_,
                     fmt::format("run only the weft server (one --threads value, default {}) until "
                                 "SIGINT or SIGTERM, for an external client; prints `listening on "
                                 "127.0.0.1:PORT`",
                                 kServerOnlyThreads));
    // The client's flags mean nothing to --server-only: say so rather than
    // ignore them.
    sub.add_option("-c,--connections", connections_, "client connections, all open at once")
        ->capture_default_str()
        ->check(integer_in(1, kMaxConnections))
        ->excludes(server_only);
    sub.add_option("-n,--round-trips,--count", round_trips_, "round trips per connection")
        ->capture_default_str()
        ->check(integer_in(1, kMaxSamples))
        ->excludes(server_only);
    sub.add_option("--size", size_, "bytes per message")
        ->capture_default_str()
        ->check(integer_in(1, kMaxSize))
        ->excludes(server_only);
    sub.add_flag("--hooked", hooked_,
                 "also run the thread-per-connection server (socket/bind/listen/accept/recv/send, "
                 "weft::spawn per connection, the calls parked by weft::hook; impl=weft-hook) "
                 "after each weft::net run, before libevent's")
        ->excludes(server_only);
    sub.add_option("--port", port_, "--server-only: the port (0: any free port)")
        ->capture_default_str()
        ->check(integer_in(0, 65535))
        ->needs(server_only);
    sub.callback([this] {
      if (server_only_) return;
      if (hooked_ && !hook_linked()) {
        throw CLI::ValidationError(
            "--hooked", "this fiber-bench is built without weft::hook (use fiber-bench-hook)");
      }
      if (connections_ * round_trips_ > kMaxSamples) {
        throw CLI::ValidationError(
            "--connections x --round-trips",
            fmt::format("{} x {} = {} round trips; at most {} (each keeps its latency)",
                        connections_, round_trips_, connections_ * round_trips_, kMaxSamples));
      }
      // Client and server share this process: each connection costs two
      // descriptors. Without them the run would fail half-way (EMFILE).
      rlimit lim{};
      const std::uint64_t need = 2 * connections_ + kSpareDescriptors;
      if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY &&
          need > lim.rlim_cur) {
        throw CLI::ValidationError(
            "--connections",
            fmt::format("{} connections need about {} file descriptors (both ends are in this "
                        "process), but the limit is {}: lower --connections or raise `ulimit -n`",
                        connections_, need, static_cast<std::uint64_t>(lim.rlim_cur)));
      }
    });
  }
  void set_quick() override { round_trips_ = kQuickRoundTrips; }

  result run_weft(int threads) override {
    const echo_load_config cfg = load_config(0);
    weft::runtime rt = make_runtime(threads);
    echo_load_result load;
    std::thread client;
    try {
      rt.block_on([&] {
        const shared_listener listener = bind_listener(0);
        const std::uint16_t port = bound_port(*listener);
        client = std::thread([&cfg, &load, listener, port] {
          echo_load_config c = cfg;
          c.port = port;
          load = run_echo_load(c);
          stop_serving(listener);
        });
        serve(*listener);
      });
    } catch (...) {
      if (client.joinable()) client.join();
      throw;
    }
    client.join();
    return finish(weft_result(name(), threads), load);
  }

  std::vector<std::string> peer_impls() const override {
    if (hooked_) return {"weft-hook"};
    return {};
  }

  // run_peer() runs the thread-per-connection server on `threads` workers:
  // the listener is opened on a fiber (so socket() is hooked too) and
  // closed once the client thread, which stops it, has ended.
  result run_peer(std::size_t, int threads) override {
    const echo_load_config cfg = load_config(0);
    weft::runtime rt = make_runtime(threads);
    echo_load_result load;
    tpc_stats st;
    std::thread client;
    int lfd = -1;
    const auto close_listener = [&] {
      if (client.joinable()) client.join();
      if (lfd >= 0) ::close(lfd);
    };
    try {
      rt.block_on([&] {
        lfd = tpc_listen(0, kBacklog);
        const std::uint16_t port = tpc_port(lfd);
        client = std::thread([&cfg, &load, fd = lfd, port] {
          echo_load_config c = cfg;
          c.port = port;
          load = run_echo_load(c);
          tpc_stop(fd);
        });
        serve_tpc(lfd, st, [&st](int fd) { return weft::spawn([fd, &st] { tpc_echo(fd, st); }); });
      });
    } catch (...) {
      close_listener();
      throw;
    }
    close_listener();
    result r = weft_result(name(), threads);
    r.impl = "weft-hook";
    // A server failure fails the check, reported beside the client's own.
    if (!st.error.empty())
      load.error += (load.error.empty() ? "server: " : "; server: ") + st.error;
    return finish(std::move(r), load);
  }

  // run_reference() runs the raw-libevent server with max(threads, 1)
  // event_base threads against the same client.
  result run_reference(int threads) override {
    auto server = libevent_echo_server::start(threads);
    echo_load_result load;
    std::thread client([&] { load = run_echo_load(load_config(server->port())); });
    client.join();
    server->stop();
    result r;
    r.workload = name();
    r.impl = reference_impl();
    r.threads = weft_threads(threads);
    return finish(std::move(r), load);
  }

  result run_boost(boost_algo, std::size_t) override {
    throw baseline_unavailable(
        "raw Boost.Fiber has no sockets: echo's baseline is the raw-libevent server, run by "
        "default (--no-baseline skips it)");
  }

  std::optional<int> run_standalone(const common_options& o) override {
    if (!server_only_) return std::nullopt;
    if (o.threads.size() > 1) {
      fmt::print(stderr, "fiber-bench echo: --server-only takes one --threads value\n");
      return 2;
    }
    return serve_until_signal(o.threads.empty() ? kServerOnlyThreads : o.threads[0]);
  }

 private:
  echo_load_config load_config(std::uint16_t port) const {
    echo_load_config c;
    c.port = port;
    c.connections = static_cast<std::size_t>(connections_);
    c.round_trips = round_trips_;
    c.size = static_cast<std::size_t>(size_);
    return c;
  }

  result finish(result r, echo_load_result& load) const {
    const std::uint64_t expected = connections_ * round_trips_;
    r.ops = load.round_trips;
    r.seconds = load.seconds;
    r.ok = load.error.empty() && load.mismatches == 0 && load.round_trips == expected;
    if (!load.error.empty()) {
      fmt::print(stderr, "fiber-bench echo: {}: {} ({} of {} round trips done)\n", r.impl,
                 load.error, load.round_trips, expected);
    }
    if (load.mismatches != 0) {
      fmt::print(stderr, "fiber-bench echo: {}: {} echoes differed from the message sent\n", r.impl,
                 load.mismatches);
    }
    const auto us = [&](double p) {
      return load.latency_ns.empty() ? 0.0
                                     : static_cast<double>(percentile(load.latency_ns, p)) / 1000.0;
    };
    r.add("p50_us", us(50), 1);
    r.add("p99_us", us(99), 1, agg::median_spread);
    r.add("p999_us", us(99.9), 1);
    r.add("connections", static_cast<std::int64_t>(connections_), agg::param);
    r.add("size", static_cast<std::int64_t>(size_), agg::param);
    return r;
  }

  // serve_until_signal() is --server-only: the weft server on --port until
  // SIGINT or SIGTERM. Returns the exit code.
  int serve_until_signal(int threads) {
    // Block both signals in this thread before the runtime starts, so that
    // every worker inherits the mask and only `waiter` receives them
    // (sigwait). They stay blocked until the process exits: a second ^C
    // during shutdown changes nothing.
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

    std::atomic<bool> failed{false};
    std::thread waiter;
    int rc = 0;
    try {
      weft::runtime rt = make_runtime(threads);
      try {
        rt.block_on([&] {
          const shared_listener listener = bind_listener(static_cast<std::uint16_t>(port_));
          const std::uint16_t port = bound_port(*listener);
          fmt::print("listening on 127.0.0.1:{}\n", port);
          std::fflush(stdout);
          waiter = std::thread([&sigs, &failed, listener] {
            int sig = 0;
            sigwait(&sigs, &sig);
            if (!failed.load()) {
              fmt::print(stderr, "fiber-bench echo: {}: stopping\n",
                         sig == SIGINT ? "SIGINT" : "SIGTERM");
            }
            stop_serving(listener);
          });
          serve(*listener);
        });
      } catch (...) {
        if (waiter.joinable()) {
          failed.store(true);
          pthread_kill(waiter.native_handle(), SIGTERM);  // ends its sigwait
          waiter.join();
        }
        throw;
      }
      waiter.join();
    } catch (const std::system_error& e) {
      fmt::print(stderr, "fiber-bench echo: {}\n", e.what());
      rc = 3;
    } catch (const std::exception& e) {
      fmt::print(stderr, "fiber-bench echo: server error: {}\n", e.what());
      rc = 3;
    }
    return rc;
  }

  std::uint64_t connections_ = kConnections;
  std::uint64_t round_trips_ = kRoundTrips;
  std::uint64_t size_ = kSize;
  bool server_only_ = false;
  bool hooked_ = false;
  std::uint64_t port_ = 0;
};

}  // namespace

std::unique_ptr<workload> make_echo_workload() { return std::make_unique<echo_workload>(); }

}  // namespace weft_bench
