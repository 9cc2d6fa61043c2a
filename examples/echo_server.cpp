// SPDX-License-Identifier: MIT
// echo_server: a TCP echo server in plain blocking style. An accept loop,
// one fiber per connection doing read()/write_all(), an idle timeout, a
// connection cap, and a graceful shutdown on SIGINT/SIGTERM: stop
// accepting, tell the connections to finish (their read side is shut down,
// so a read returns EOF after what the client already sent), drain with a
// deadline, report clean or forced.
//
//   echo_server [options]              serve on 127.0.0.1 until SIGINT or SIGTERM
//   echo_server [options] --self-test [shutdown|idle-timeout|max-connections]
//                                      serve, drive clients, SIGTERM itself and
//                                      check the outcome (shutdown by default)
// Options:
//   --port P               port to listen on (0-65535, default 7000; 0: any)
//   --workers N            worker threads (1-256, default 2)
//   --idle-timeout D       close a connection that sent nothing for D, or
//                          whose echo could not be written for D. D is an
//                          integer with a unit: 500ms, 30s, 5m, 1h (a bare
//                          number is milliseconds); 1ms to 24h. Default: none.
//   --max-connections N    serve at most N connections at once (1-1000000,
//                          default: no cap). At the cap the server stops
//                          accepting until a connection closes; it does not
//                          accept and close. A waiting client stays in the
//                          kernel's listen backlog (its connect succeeds, its
//                          bytes wait), and once the backlog is full new
//                          connects are held back by TCP itself (SYN
//                          retries). Accepting and closing at once would
//                          instead end every client above the cap with EOF
//                          or a reset, which clients tend to retry at once,
//                          spending an accept and a descriptor per attempt.
//                          Tokio's mini-redis pauses the same way (a
//                          semaphore permit before each accept).
//   --help                 print this summary
// A bad option or value prints a message and exits with status 64.
//
// The self-tests run with the options given: `--self-test idle-timeout`
// needs --idle-timeout (at most 10s) and checks that silent connections are
// closed and a talking one is not; `--self-test max-connections` needs
// --max-connections (at most 64) and checks that the connection above the
// cap is served only once another one closed.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "weft/fibers.hpp"
#include "weft/net.hpp"
#include "weft/sync.hpp"

using namespace std::chrono_literals;
namespace net = weft::net;

namespace {

constexpr int kUsageError = 64;  // EX_USAGE

// options holds the command line.
struct options {
  std::uint16_t port = 7000;
  std::size_t workers = 2;
  std::optional<std::chrono::milliseconds> idle_timeout;  // none: never
  std::size_t max_connections = 0;                        // 0: no cap
  std::optional<std::string> self_test;                   // which self-test
};

// server_stats counts what the server did, for the report and the tests.
struct server_stats {
  std::atomic<std::size_t> open{0};         // connections being served now
  std::atomic<std::size_t> peak{0};         // most connections served at once
  std::atomic<std::size_t> idle_closed{0};  // closed by the idle timeout
};

// connections remembers the open streams so shutdown can end their reads.
class connections {
 public:
  // add() registers `s`; false when shutdown already began (the caller
  // ends its read side itself).
  bool add(net::tcp_stream* s) {
    std::lock_guard<weft::sync::mutex> g(m_);
    if (closing_) return false;
    open_.insert(s);
    return true;
  }
  void remove(net::tcp_stream* s) {
    std::lock_guard<weft::sync::mutex> g(m_);
    open_.erase(s);
  }
  // finish_all() shuts down every open stream's read side: each handler
  // reads EOF once it has echoed what already arrived, and returns.
  void finish_all() {
    std::lock_guard<weft::sync::mutex> g(m_);
    closing_ = true;
    for (net::tcp_stream* s : open_) (void)s->shutdown(net::shutdown_how::read);
  }

 private:
  weft::sync::mutex m_;
  std::set<net::tcp_stream*> open_;
  bool closing_ = false;
};

// note_open() counts a connection being served and keeps the peak.
void note_open(server_stats& stats) {
  const std::size_t now_open = ++stats.open;
  std::size_t peak = stats.peak.load();
  while (now_open > peak && !stats.peak.compare_exchange_weak(peak, now_open)) {
  }
}

// serve_connection() echoes until EOF, an error or the idle timeout: each
// read and each write gets `idle` to make progress. Plain blocking style.
void serve_connection(net::tcp_stream s, connections& conns, server_stats& stats,
                      std::optional<std::chrono::milliseconds> idle) {
  note_open(stats);
  if (!conns.add(&s)) (void)s.shutdown(net::shutdown_how::read);
  (void)s.set_nodelay(true);
  auto deadline = [&] {
    return idle ? weft::time::clock::now() + *idle : weft::time::instant::max();
  };
  char buf[16 * 1024];
  for (;;) {
    auto n = s.read(buf, sizeof buf, deadline());
    if (!n && n.error() == weft::errc::timeout) ++stats.idle_closed;
    if (!n || *n == 0) break;  // EOF, reset, idle, ...
    auto w = s.write_all(buf, *n, deadline());
    if (!w && w.error() == weft::errc::timeout) ++stats.idle_closed;
    if (!w) break;
  }
  conns.remove(&s);
  --stats.open;
}  // the stream closes here

// serve() runs the server until SIGINT/SIGTERM; returns the shutdown report.
net::shutdown_report serve(net::tcp_listener& listener, const options& opt, server_stats& stats,
                           const std::function<void()>& ready) {
  auto sigint = net::signal_stream::open(SIGINT).value();
  auto sigterm = net::signal_stream::open(SIGTERM).value();
  net::graceful_shutdown shutdown;
  connections conns;
  // cap holds one permit per connection the server may serve at once.
  std::optional<weft::sync::semaphore> cap;
  if (opt.max_connections > 0) cap.emplace(opt.max_connections);
  // The accept loop: one fiber per connection, tracked for the drain. At
  // the cap it waits for a permit before it accepts again.
  shutdown
      .spawn([&] {
        for (;;) {
          weft::sync::semaphore_permit permit;
          if (cap) {
            auto p = cap->acquire();
            if (!p) break;  // closed: we are shutting down
            permit = std::move(*p);
          }
          auto s = listener.accept();
          if (!s) break;  // closed: we are shutting down
          if (!shutdown.spawn([&, s = std::move(*s), permit = std::move(permit)]() mutable {
                // The permit goes back once the stream is closed, not when
                // the task is reaped later.
                weft::sync::semaphore_permit held = std::move(permit);
                serve_connection(std::move(s), conns, stats, opt.idle_timeout);
              }))
            break;
        }
      })
      .value();
  ready();
  int which = 0;
  weft::sync::select(net::on_signal(sigint, [&] { which = SIGINT; }),
                     net::on_signal(sigterm, [&] { which = SIGTERM; }));
  std::printf("echo_server: %s: stop accepting, finish connections, drain for up to 5s\n",
              which == SIGINT ? "SIGINT" : "SIGTERM");
  listener.close();              // 1. stop accepting (the accept loop ends)
  if (cap) cap->close();         //    also when it waits at the cap
  conns.finish_all();            // 2. connections finish what they have and end
  return shutdown.shutdown(5s);  // 3. cancel the token, drain, abort the rest
}

// report_text() says how the shutdown went and how many connections idled out.
std::string report_text(const net::shutdown_report& report, const server_stats& stats) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "shutdown %s (%zu drained, %zu forced), %zu closed idle",
                report.clean ? "clean" : "forced", report.drained, report.forced,
                stats.idle_closed.load());
  return buf;
}

int run_server(const options& opt) {
  auto rt = weft::builder::multi_thread().worker_threads(opt.workers).thread_name("echo").build();
  return rt.block_on([&] {
    auto listener = net::tcp_listener::bind(net::socket_address::loopback_v4(opt.port));
    if (!listener) {
      std::fprintf(stderr, "echo_server: cannot listen on 127.0.0.1:%u: %s\n", opt.port,
                   listener.error().message().c_str());
      return 1;
    }
    server_stats stats;
    auto report = serve(*listener, opt, stats, [&] {
      std::printf("echo_server: listening on %s\n",
                  listener->local_address().value().to_string().c_str());
      std::fflush(stdout);
    });
    std::printf("echo_server: %s\n", report_text(report, stats).c_str());
    return report.clean ? 0 : 2;
  });
}

// ---------------------------------------------------------------------------
// Self-tests. Each starts the server in this process on 127.0.0.1:0, drives
// it with client fibers, then SIGTERMs itself and checks a clean shutdown.
// No assertion depends on the machine being fast: timing is only checked
// as a lower bound, and a check that needs a client to keep pace is skipped
// (said so) when the client did not.

// test_server runs serve() on its own fiber for a self-test.
class test_server {
 public:
  explicit test_server(const options& opt)
      : listener_(net::tcp_listener::bind(net::socket_address::loopback_v4(0)).value()),
        addr_(listener_.local_address().value()),
        server_(weft::spawn(
            [this, opt] { return serve(listener_, opt, stats_, [this] { up_.notify_one(); }); })) {
    up_.notified();
  }
  const net::socket_address& address() const { return addr_; }
  const server_stats& stats() const { return stats_; }
  // stop() SIGTERMs the process and returns the shutdown report.
  net::shutdown_report stop() {
    ::kill(::getpid(), SIGTERM);
    return server_.join();
  }

 private:
  net::tcp_listener listener_;
  net::socket_address addr_;
  server_stats stats_;
  weft::sync::notify up_;  // a member: notify_one() may still run when notified() returns
  weft::join_handle<net::shutdown_report> server_;
};

// echo_once() sends `msg` and reads it back by `deadline`.
bool echo_once(net::tcp_stream& s, const std::string& msg,
               weft::time::instant deadline = weft::time::clock::now() + 10s) {
  std::string back(msg.size(), '\0');
  return s.write_all(msg, deadline) && s.read_exact(back.data(), back.size(), deadline) &&
         back == msg;
}

// closed_by_peer() waits (up to `limit`) for the server to end `s`: EOF or
// a reset, not a timeout and not data.
bool closed_by_peer(net::tcp_stream& s, std::chrono::seconds limit) {
  char c;
  auto n = s.read(&c, 1, weft::time::clock::now() + limit);
  return n ? *n == 0 : n.error() == std::errc::connection_reset;
}

bool check(bool ok, const char* what) {
  if (!ok) std::printf("echo_server: self-test FAILED: %s\n", what);
  return ok;
}

bool shutdown_clean(const net::shutdown_report& report, std::size_t min_drained) {
  return check(report.clean && report.forced == 0 && report.drained >= min_drained,
               "the shutdown was clean and drained every connection");
}

// self_test_shutdown(): 200 client fibers each echoing 50 messages, 20 more
// connections left open and idle, then SIGTERM to ourselves: the open
// connections must end cleanly within the deadline.
int self_test_shutdown(const options& opt) {
  auto rt = weft::builder::multi_thread().worker_threads(2).build();
  return rt.block_on([&] {
    test_server server(opt);
    std::atomic<int> bad{0};
    std::vector<weft::join_handle<void>> clients;
    for (int c = 0; c < 200; ++c) {
      clients.push_back(weft::spawn([&, c] {
        auto s = net::tcp_stream::connect(server.address());
        if (!s) return (void)++bad;
        for (int i = 0; i < 50; ++i) {
          if (!echo_once(*s, "client " + std::to_string(c) + " message " + std::to_string(i)))
            ++bad;
        }
      }));
    }
    for (auto& h : clients) h.join();
    // Idle connections, open while the signal arrives: each has one
    // echoed message, so it certainly was accepted and is being served.
    std::vector<net::tcp_stream> idle;
    for (int i = 0; i < 20; ++i) {
      auto s = net::tcp_stream::connect(server.address()).value();
      if (!echo_once(s, "x")) ++bad;
      idle.push_back(std::move(s));
    }
    const net::shutdown_report report = server.stop();
    // The server ended the idle connections: each reads EOF.
    for (auto& s : idle) {
      if (!closed_by_peer(s, 5s)) ++bad;
    }
    std::printf("echo_server: self-test shutdown: %d errors, %s\n", bad.load(),
                report_text(report, server.stats()).c_str());
    return check(bad.load() == 0, "every client was echoed and then ended") &&
                   shutdown_clean(report, 21)
               ? 0
               : 1;
  });
}

// self_test_idle_timeout(): with --idle-timeout T, 10 connections that never
// send and 10 that send once and then fall silent are each closed by the
// server, no earlier than T after their last byte; a connection that sends
// every T/5 for 3T stays open.
int self_test_idle_timeout(const options& opt) {
  const auto idle = *opt.idle_timeout;
  auto rt = weft::builder::multi_thread().worker_threads(2).build();
  return rt.block_on([&] {
    test_server server(opt);
    std::atomic<int> not_closed{0}, too_early{0}, bad{0};
    std::vector<weft::join_handle<void>> clients;
    for (int c = 0; c < 20; ++c) {
      clients.push_back(weft::spawn([&, c] {
        // The server's idle clock starts after `start`: at its accept, or
        // after it echoed the one message.
        auto start = weft::time::clock::now();
        auto s = net::tcp_stream::connect(server.address());
        if (!s) return (void)++bad;
        if (c % 2 == 1) {
          start = weft::time::clock::now();
          if (!echo_once(*s, "one message, then silence")) return (void)++bad;
        }
        if (!closed_by_peer(*s, 30s)) return (void)++not_closed;
        if (weft::time::clock::now() - start < idle * 9 / 10) ++too_early;
      }));
    }
    // The talking client: its gaps stay far below T unless the machine
    // stalls it, in which case its verdict is skipped.
    bool talker_ok = true, talker_kept_pace = true;
    auto talker = weft::spawn([&] {
      auto s = net::tcp_stream::connect(server.address());
      if (!s) return (void)(talker_ok = false);
      auto last = weft::time::clock::now();
      for (int i = 0; i < 15 && talker_ok; ++i) {
        weft::time::sleep(idle / 5);
        const auto now = weft::time::clock::now();
        if (now - last >= idle / 2) talker_kept_pace = false;
        last = now;
        talker_ok = echo_once(*s, "still here " + std::to_string(i), now + idle * 10);
      }
    });
    for (auto& h : clients) h.join();
    talker.join();
    const std::size_t idle_closed = server.stats().idle_closed.load();
    const net::shutdown_report report = server.stop();
    std::printf(
        "echo_server: self-test idle-timeout (%lld ms): %d not closed, %d closed early, %d "
        "errors, talker %s; %s\n",
        static_cast<long long>(idle.count()), not_closed.load(), too_early.load(), bad.load(),
        !talker_kept_pace ? "stalled by the machine (not checked)"
                          : (talker_ok ? "kept open" : "CLOSED"),
        report_text(report, server.stats()).c_str());
    bool ok = check(bad.load() == 0, "every client connected and was echoed");
    ok = check(not_closed.load() == 0, "every silent connection was closed by the server") && ok;
    ok = check(too_early.load() == 0, "no silent connection was closed before the timeout") && ok;
    ok = check(idle_closed >= 20, "the server counted each silent connection as idle") && ok;
    ok = check(talker_ok || !talker_kept_pace, "a talking connection stays open") && ok;
    return ok && shutdown_clean(report, 0) ? 0 : 1;
  });
}

// self_test_max_connections(): with --max-connections N, N connections are
// served, the next one is connected but not served while they are open, and
// is served as soon as one of them closes; at no time are more than N served.
int self_test_max_connections(const options& opt) {
  const std::size_t cap = opt.max_connections;
  auto rt = weft::builder::multi_thread().worker_threads(2).build();
  return rt.block_on([&] {
    test_server server(opt);
    bool ok = true;
    std::vector<net::tcp_stream> served;
    for (std::size_t i = 0; i < cap; ++i) {
      auto s = net::tcp_stream::connect(server.address());
      ok = check(s && echo_once(*s, "served " + std::to_string(i)),
                 "the connections up to the cap are served") &&
           ok;
      if (s) served.push_back(std::move(*s));
    }
    // Above the cap: connect succeeds (the kernel's backlog), no echo.
    auto extra = net::tcp_stream::connect(server.address());
    ok = check(extra.has_value(), "the connection above the cap connects (listen backlog)") && ok;
    if (extra) {
      ok = check(extra->write_all("waiting").has_value(), "it can send while waiting") && ok;
      char buf[7];
      auto r = extra->read(buf, sizeof buf, weft::time::clock::now() + 300ms);
      ok = check(!r && r.error() == weft::errc::timeout,
                 "the connection above the cap is not served while the cap is reached") &&
           ok;
      ok = check(server.stats().open.load() == cap, "the server serves exactly the cap") && ok;
      // One of the N closes: the waiting one is accepted and gets its echo.
      if (!served.empty()) served.erase(served.begin());
      ok = check(extra->read_exact(buf, sizeof buf, weft::time::clock::now() + 10s).has_value() &&
                     std::string_view(buf, sizeof buf) == "waiting",
                 "the waiting connection is served once another one closed") &&
           ok;
    }
    ok = check(server.stats().peak.load() <= cap, "never more than the cap served at once") && ok;
    const net::shutdown_report report = server.stop();
    std::printf("echo_server: self-test max-connections (%zu): peak %zu served at once; %s\n", cap,
                server.stats().peak.load(), report_text(report, server.stats()).c_str());
    return ok && shutdown_clean(report, served.size() + 1) ? 0 : 1;
  });
}

// ---------------------------------------------------------------------------
// Command line.

void usage(std::FILE* to) {
  std::fprintf(to,
               "usage: echo_server [--port P] [--workers N] [--idle-timeout D] "
               "[--max-connections N]\n"
               "                   [--self-test [shutdown|idle-timeout|max-connections]]\n"
               "  D: an integer with a unit, 500ms 30s 5m 1h (bare: ms), 1ms to 24h\n");
}

// parse_uint() reads a whole decimal number (no sign, no spaces) in [lo, hi].
std::optional<std::uint64_t> parse_uint(std::string_view s, std::uint64_t lo, std::uint64_t hi) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size() || v < lo || v > hi) {
    return std::nullopt;
  }
  return v;
}

// parse_duration() reads "<integer>[ms|s|m|h]" (bare: ms) in [1ms, 24h].
std::optional<std::chrono::milliseconds> parse_duration(std::string_view s) {
  constexpr std::uint64_t kMaxMs = 24ull * 3600 * 1000;
  const std::size_t digits = std::min(s.find_first_not_of("0123456789"), s.size());
  const std::string_view unit = s.substr(digits);
  std::uint64_t scale = 0;
  if (unit.empty() || unit == "ms") scale = 1;
  if (unit == "s") scale = 1000;
  if (unit == "m") scale = 60 * 1000;
  if (unit == "h") scale = 3600 * 1000;
  if (scale == 0) return std::nullopt;
  const auto n = parse_uint(s.substr(0, digits), 1, kMaxMs / scale);
  if (!n) return std::nullopt;
  return std::chrono::milliseconds(*n * scale);
}

// parse_args() fills `opt`; on a bad command line it prints why and returns
// the exit status to use (0 for --help).
std::optional<int> parse_args(int argc, char** argv, options& opt) {
  auto bad = [](std::string_view flag, std::string_view value, const char* expected) {
    std::fprintf(stderr, "echo_server: bad value for %.*s: '%.*s' (expected %s)\n",
                 static_cast<int>(flag.size()), flag.data(), static_cast<int>(value.size()),
                 value.data(), expected);
    usage(stderr);
    return kUsageError;
  };
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    }
    if (a == "--self-test") {
      opt.self_test = "shutdown";
      if (i + 1 < argc && argv[i + 1][0] != '-') opt.self_test = argv[++i];
      if (*opt.self_test != "shutdown" && *opt.self_test != "idle-timeout" &&
          *opt.self_test != "max-connections") {
        return bad(a, *opt.self_test, "shutdown, idle-timeout or max-connections");
      }
      continue;
    }
    if (a != "--port" && a != "--workers" && a != "--idle-timeout" && a != "--max-connections") {
      std::fprintf(stderr, "echo_server: unknown option '%.*s'\n", static_cast<int>(a.size()),
                   a.data());
      usage(stderr);
      return kUsageError;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "echo_server: %.*s needs a value\n", static_cast<int>(a.size()),
                   a.data());
      usage(stderr);
      return kUsageError;
    }
    const std::string_view v = argv[++i];
    if (a == "--port") {
      auto n = parse_uint(v, 0, 65535);
      if (!n) return bad(a, v, "a port, 0 to 65535");
      opt.port = static_cast<std::uint16_t>(*n);
    } else if (a == "--workers") {
      auto n = parse_uint(v, 1, 256);
      if (!n) return bad(a, v, "1 to 256 threads");
      opt.workers = static_cast<std::size_t>(*n);
    } else if (a == "--idle-timeout") {
      opt.idle_timeout = parse_duration(v);
      if (!opt.idle_timeout) return bad(a, v, "a duration from 1ms to 24h, e.g. 500ms, 30s, 5m");
    } else {
      auto n = parse_uint(v, 1, 1'000'000);
      if (!n) return bad(a, v, "1 to 1000000 connections");
      opt.max_connections = static_cast<std::size_t>(*n);
    }
  }
  if (opt.self_test == "idle-timeout" && (!opt.idle_timeout || *opt.idle_timeout > 10s)) {
    std::fprintf(stderr,
                 "echo_server: --self-test idle-timeout needs --idle-timeout of at most 10s\n");
    return kUsageError;
  }
  if (opt.self_test == "max-connections" &&
      (opt.max_connections == 0 || opt.max_connections > 64)) {
    std::fprintf(
        stderr, "echo_server: --self-test max-connections needs --max-connections of at most 64\n");
    return kUsageError;
  }
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  options opt;
  if (auto status = parse_args(argc, argv, opt)) return *status;
  if (opt.self_test == "shutdown") return self_test_shutdown(opt);
  if (opt.self_test == "idle-timeout") return self_test_idle_timeout(opt);
  if (opt.self_test == "max-connections") return self_test_max_connections(opt);
  return run_server(opt);
}
