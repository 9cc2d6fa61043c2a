// SPDX-License-Identifier: MIT
// echo_server: a TCP echo server in plain blocking style. An accept loop,
// one fiber per connection doing read()/write_all(), and a graceful
// shutdown on SIGINT/SIGTERM: stop accepting, tell the connections to
// finish (their read side is shut down, so a read returns EOF after what
// the client already sent), drain with a deadline, report clean or forced.
//
//   echo_server [--port P] [--workers N]   serve until SIGINT or SIGTERM
//   echo_server --self-test                serve, drive 200 clients, SIGTERM
//                                          itself, check a clean shutdown
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "weft/fibers.hpp"
#include "weft/net.hpp"
#include "weft/sync.hpp"

using namespace std::chrono_literals;
namespace net = weft::net;

namespace {

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

// serve_connection() echoes until EOF or an error. Plain blocking style.
void serve_connection(net::tcp_stream s, connections& conns) {
  if (!conns.add(&s)) (void)s.shutdown(net::shutdown_how::read);
  (void)s.set_nodelay(true);
  char buf[16 * 1024];
  for (;;) {
    auto n = s.read(buf, sizeof buf);
    if (!n || *n == 0) break;  // EOF, reset, ...
    if (!s.write_all(buf, *n)) break;
  }
  conns.remove(&s);
}

// serve() runs the server until SIGINT/SIGTERM; returns the shutdown report.
net::shutdown_report serve(net::tcp_listener& listener, const std::function<void()>& ready) {
  auto sigint = net::signal_stream::open(SIGINT).value();
  auto sigterm = net::signal_stream::open(SIGTERM).value();
  net::graceful_shutdown shutdown;
  connections conns;
  // The accept loop: one fiber per connection, tracked for the drain.
  shutdown
      .spawn([&] {
        for (;;) {
          auto s = listener.accept();
          if (!s) break;  // closed: we are shutting down
          if (!shutdown.spawn(
                  [&conns, s = std::move(*s)]() mutable { serve_connection(std::move(s), conns); }))
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
  conns.finish_all();            // 2. connections finish what they have and end
  return shutdown.shutdown(5s);  // 3. cancel the token, drain, abort the rest
}

int run_server(std::uint16_t port, std::size_t workers) {
  auto rt = weft::builder::multi_thread().worker_threads(workers).thread_name("echo").build();
  return rt.block_on([&] {
    auto listener = net::tcp_listener::bind(net::socket_address::loopback_v4(port));
    if (!listener) {
      std::fprintf(stderr, "echo_server: cannot listen on 127.0.0.1:%u: %s\n", port,
                   listener.error().message().c_str());
      return 1;
    }
    auto report = serve(*listener, [&] {
      std::printf("echo_server: listening on %s\n",
                  listener->local_address().value().to_string().c_str());
      std::fflush(stdout);
    });
    std::printf("echo_server: shutdown %s (%zu drained, %zu forced)\n",
                report.clean ? "clean" : "forced", report.drained, report.forced);
    return report.clean ? 0 : 2;
  });
}

// self_test(): the server on 2 workers, 200 client fibers each echoing 50
// messages, 20 more connections left open and idle, then SIGTERM to
// ourselves: the open connections must end cleanly within the deadline.
int self_test() {
  auto rt = weft::builder::multi_thread().worker_threads(2).build();
  return rt.block_on([] {
    auto listener = net::tcp_listener::bind(net::socket_address::loopback_v4(0)).value();
    const auto addr = listener.local_address().value();
    weft::sync::notify up;
    auto server = weft::spawn([&] { return serve(listener, [&] { up.notify_one(); }); });
    up.notified();
    std::atomic<int> bad{0};
    std::vector<weft::join_handle<void>> clients;
    for (int c = 0; c < 200; ++c) {
      clients.push_back(weft::spawn([&, c] {
        auto s = net::tcp_stream::connect(addr);
        if (!s) return (void)++bad;
        for (int i = 0; i < 50; ++i) {
          const std::string msg = "client " + std::to_string(c) + " message " + std::to_string(i);
          std::string back(msg.size(), '\0');
          if (!s->write_all(msg) || !s->read_exact(back.data(), back.size()) || back != msg) ++bad;
        }
      }));
    }
    for (auto& h : clients) h.join();
    // Idle connections, open while the signal arrives: each has one
    // echoed message, so it certainly was accepted and is being served.
    std::vector<net::tcp_stream> idle;
    for (int i = 0; i < 20; ++i) {
      auto s = net::tcp_stream::connect(addr).value();
      char c = 'x';
      if (!s.write_all(&c, 1) || !s.read_exact(&c, 1)) ++bad;
      idle.push_back(std::move(s));
    }
    ::kill(::getpid(), SIGTERM);
    const net::shutdown_report report = server.join();
    // The server ended the idle connections: each reads EOF.
    for (auto& s : idle) {
      char c;
      auto n = s.read(&c, 1, weft::time::clock::now() + 5s);
      if (!n || *n != 0) ++bad;
    }
    std::printf("echo_server: self-test: %d errors, shutdown %s (%zu drained, %zu forced)\n",
                bad.load(), report.clean ? "clean" : "forced", report.drained, report.forced);
    return bad.load() == 0 && report.clean && report.forced == 0 && report.drained >= 21 ? 0 : 1;
  });
}

}  // namespace

int main(int argc, char** argv) {
  std::uint16_t port = 7000;
  std::size_t workers = 2;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--self-test") return self_test();
    if ((a == "--port" || a == "--workers") && i + 1 < argc) {
      char* end = nullptr;
      const unsigned long v = std::strtoul(argv[++i], &end, 10);
      if (*end != '\0' || (a == "--port" && v > 65535) ||
          (a == "--workers" && (v < 1 || v > 256))) {
        std::fprintf(stderr, "echo_server: bad value for %s: %s\n", a.c_str(), argv[i]);
        return 64;
      }
      (a == "--port" ? static_cast<void>(port = static_cast<std::uint16_t>(v))
                     : static_cast<void>(workers = v));
      continue;
    }
    std::fprintf(stderr, "usage: echo_server [--port P] [--workers N] | --self-test\n");
    return 64;
  }
  return run_server(port, workers);
}
