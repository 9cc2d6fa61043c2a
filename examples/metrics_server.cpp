// SPDX-License-Identifier: MIT
// metrics_server: a runtime's metrics served over HTTP in Prometheus's text
// format, on weft::net. GET /metrics answers weft::format_prometheus() of
// the serving runtime's handle::metrics() (docs/diagnostics.md "Metrics");
// a little background work (a ticker spawning short fibers, a sleeper per
// connection) keeps the numbers moving. One request per connection
// (Connection: close), which is what Prometheus's scraper handles fine.
//
//   metrics_server [--port P] [--workers N]   serve on 127.0.0.1 until SIGINT/SIGTERM
//   metrics_server --self-test                serve on a free port, scrape itself,
//                                             check the answers, exit 0 when right
// Scrape config: - targets: ['127.0.0.1:9464'] (the default port).
// A bad option or value prints a message and exits with status 64.
#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "weft/fibers.hpp"
#include "weft/net.hpp"
#include "weft/sync.hpp"

using namespace std::chrono_literals;
namespace net = weft::net;

namespace {

constexpr int kUsageError = 64;  // EX_USAGE
constexpr std::size_t kMaxRequest = 8192;

struct options {
  std::uint16_t port = 9464;
  std::size_t workers = 2;
  bool self_test = false;
};

std::string response(std::string_view status, std::string_view type, const std::string& body) {
  std::string r = "HTTP/1.1 ";
  r += status;
  r += "\r\nContent-Type: ";
  r += type;
  r += "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
  r += body;
  return r;
}

// answer() is the reply to one request head (up to its blank line).
std::string answer(std::string_view head, const weft::handle& rt) {
  const auto line_end = head.find("\r\n");
  const std::string_view line = head.substr(0, line_end);
  const auto sp1 = line.find(' ');
  const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.substr(sp2 + 1).rfind("HTTP/1.", 0) != 0)
    return response("400 Bad Request", "text/plain", "bad request line\n");
  const std::string_view method = line.substr(0, sp1);
  std::string_view path = line.substr(sp1 + 1, sp2 - sp1 - 1);
  path = path.substr(0, path.find('?'));
  if (path != "/metrics") return response("404 Not Found", "text/plain", "try /metrics\n");
  if (method != "GET" && method != "HEAD")
    return response("405 Method Not Allowed", "text/plain", "GET /metrics\n");
  std::string body = weft::format_prometheus(rt.metrics());
  std::string r = response("200 OK", "text/plain; version=0.0.4; charset=utf-8", body);
  if (method == "HEAD") r.resize(r.size() - body.size());
  return r;
}

// serve_one() reads one request head (5 s at most) and answers it.
void serve_one(net::tcp_stream s, const weft::handle& rt) {
  std::string head;
  char buf[1024];
  const auto deadline = weft::time::clock::now() + 5s;
  while (head.find("\r\n\r\n") == std::string::npos) {
    if (head.size() > kMaxRequest) {
      (void)s.write_all(response("431 Request Header Fields Too Large", "text/plain", "too long\n"),
                        deadline);
      return;
    }
    auto n = s.read(buf, sizeof buf, deadline);
    if (!n || *n == 0) return;  // the client went away or timed out
    head.append(buf, *n);
  }
  (void)s.write_all(answer(head, rt), deadline);
}

// server runs the accept loop and the background work on the current
// runtime until stop().
class server {
 public:
  explicit server(std::uint16_t port)
      : listener_(net::tcp_listener::bind(net::socket_address::loopback_v4(port)).value()),
        rt_(weft::handle::current()) {
    conns_.set_limit(256);  // bounded: a scrape storm cannot spawn without end
    accept_ = weft::spawn_with({"accept"}, [this] {
      for (;;) {
        auto s = listener_.accept();
        if (!s) break;  // closed by stop()
        conns_.spawn([this, s = std::move(*s)]() mutable { serve_one(std::move(s), rt_); });
        while (conns_.try_join_next()) {
        }
      }
    });
    ticker_ = weft::spawn_with({"ticker"}, [this] {
      while (!stop_.is_cancelled()) {
        weft::spawn([] { weft::this_fiber::yield(); }).join();
        (void)stop_.cancelled_for(10ms);
      }
    });
  }
  server(const server&) = delete;
  server& operator=(const server&) = delete;
  // The fibers use *this: an exception between construction and stop()
  // still stops them first.
  ~server() {
    try {
      stop();
    } catch (...) {
    }
  }
  net::socket_address address() const { return listener_.local_address().value(); }
  // stop() ends the accept loop and the ticker and waits for the
  // connections being served; a second call does nothing.
  void stop() {
    if (stopped_) return;
    stopped_ = true;
    stop_.cancel();
    listener_.close();
    accept_.join();
    ticker_.join();
    while (conns_.join_next()) {
    }
  }

 private:
  net::tcp_listener listener_;
  weft::handle rt_;
  weft::join_set<void> conns_;
  weft::sync::cancellation_token stop_;
  weft::join_handle<void> accept_, ticker_;
  bool stopped_ = false;
};

// fetch() sends `request` to `addr` and returns the whole reply.
std::string fetch(const net::socket_address& addr, const std::string& request) {
  auto s = net::tcp_stream::connect(addr, weft::time::clock::now() + 5s);
  if (!s) return {};
  if (!s->write_all(request)) return {};
  std::string reply;
  char buf[4096];
  for (;;) {
    auto n = s->read(buf, sizeof buf, weft::time::clock::now() + 5s);
    if (!n || *n == 0) break;
    reply.append(buf, *n);
  }
  return reply;
}

bool check(bool ok, const char* what) {
  std::printf("metrics_server: %s: %s\n", ok ? "ok" : "FAILED", what);
  return ok;
}

int self_test() {
  auto rt = weft::builder::multi_thread().worker_threads(2).poll_time_histogram(true).build();
  return rt.block_on([] {
    server srv(0);
    const auto addr = srv.address();
    weft::time::sleep(30ms);  // let the ticker run a few times
    const std::string ok = fetch(addr, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    const std::string again = fetch(addr, "GET /metrics?x=1 HTTP/1.0\r\n\r\n");
    const std::string missing = fetch(addr, "GET /nope HTTP/1.1\r\n\r\n");
    const std::string post = fetch(addr, "POST /metrics HTTP/1.1\r\n\r\n");
    const std::string junk = fetch(addr, "hello\r\n\r\n");
    const std::string head = fetch(addr, "HEAD /metrics HTTP/1.1\r\n\r\n");
    srv.stop();
    bool good = check(ok.rfind("HTTP/1.1 200 OK\r\n", 0) == 0, "GET /metrics answers 200");
    good = check(ok.find("Content-Type: text/plain; version=0.0.4") != std::string::npos,
                 "with Prometheus's content type") &&
           good;
    good = check(ok.find("# TYPE weft_fibers_alive gauge\n") != std::string::npos &&
                     ok.find("weft_worker_busy_seconds_total{worker=\"1\"} ") != std::string::npos,
                 "the body has the runtime's gauges and per-worker counters") &&
           good;
    good = check(ok.find("weft_poll_time_seconds_bucket{le=\"+Inf\"} ") != std::string::npos,
                 "and the poll-time histogram") &&
           good;
    good = check(again.rfind("HTTP/1.1 200 OK\r\n", 0) == 0, "a query string is ignored") && good;
    good = check(missing.rfind("HTTP/1.1 404 ", 0) == 0, "another path answers 404") && good;
    good = check(post.rfind("HTTP/1.1 405 ", 0) == 0, "another method answers 405") && good;
    good = check(junk.rfind("HTTP/1.1 400 ", 0) == 0, "a malformed request answers 400") && good;
    good =
        check(head.rfind("HTTP/1.1 200 OK\r\n", 0) == 0 && head.find("# TYPE") == std::string::npos,
              "HEAD answers the headers alone") &&
        good;
    return good ? 0 : 1;
  });
}

int run(const options& opt) {
  auto rt = weft::builder::multi_thread()
                .worker_threads(opt.workers)
                .thread_name("metrics")
                .poll_time_histogram(true)
                .build();
  return rt.block_on([&] {
    auto sigint = net::signal_stream::open(SIGINT).value();
    auto sigterm = net::signal_stream::open(SIGTERM).value();
    std::optional<server> srv;
    try {
      srv.emplace(opt.port);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "metrics_server: cannot listen on 127.0.0.1:%u: %s\n", opt.port,
                   e.what());
      return 1;
    }
    std::printf("metrics_server: serving http://%s/metrics (SIGINT or SIGTERM stops)\n",
                srv->address().to_string().c_str());
    std::fflush(stdout);
    weft::sync::select(net::on_signal(sigint, [] {}), net::on_signal(sigterm, [] {}));
    srv->stop();
    std::printf("metrics_server: stopped\n");
    return 0;
  });
}

template <class T>
bool parse_number(std::string_view s, T lo, T hi, T& out) {
  T v{};
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < lo || v > hi) return false;
  out = v;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--self-test") {
      opt.self_test = true;
    } else if (a == "--port" && has_value) {
      if (!parse_number<std::uint16_t>(argv[++i], 0, 65535, opt.port)) {
        std::fprintf(stderr, "metrics_server: --port: '%s' is not a port (0-65535)\n", argv[i]);
        return kUsageError;
      }
    } else if (a == "--workers" && has_value) {
      if (!parse_number<std::size_t>(argv[++i], 1, 256, opt.workers)) {
        std::fprintf(stderr, "metrics_server: --workers: '%s' is not in 1-256\n", argv[i]);
        return kUsageError;
      }
    } else if (a == "--help") {
      std::printf("usage: metrics_server [--port P] [--workers N] | --self-test\n");
      return 0;
    } else {
      std::fprintf(stderr, "metrics_server: unknown option or missing value: %s\n", argv[i]);
      return kUsageError;
    }
  }
  return opt.self_test ? self_test() : run(opt);
}
