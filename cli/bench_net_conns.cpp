// SPDX-License-Identifier: MIT
// fiber-bench conns: threads against hooked fibers. The same
// thread-per-connection echo server (tpc_server.hpp: plain POSIX calls) runs
// with one std::thread per connection (impl=threads, default stacks) and with
// one weft fiber per connection whose calls weft::hook parks (impl=weft-hook),
// at each --connections count. The client is echo's epoll load generator in a
// forked child process: it has its own descriptor table, so N connections
// cost the server N descriptors (not 2N), and its memory is not the server's.
// It keeps every connection open until all are done, so the server's VmRSS
// growth while all are open, over N, is the memory per connection.
#include <fcntl.h>
#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <type_traits>
#include <vector>

#include "bench_common.hpp"
#include "echo_client.hpp"
#include "tpc_server.hpp"
#include "weft/fibers/join_handle.hpp"
#include "weft/fibers/runtime.hpp"
#include "weft/fibers/spawn.hpp"

namespace weft_bench {
namespace {

constexpr std::uint64_t kRoundTrips = 100;
constexpr std::uint64_t kQuickRoundTrips = 20;
constexpr std::uint64_t kSize = 64;
constexpr std::uint64_t kMaxConnections = 100'000;
constexpr std::uint64_t kMaxSize = 1 << 20;
constexpr std::uint64_t kMaxSamples = 100'000'000;
// kSpareDescriptors: what each process needs besides its connections.
constexpr std::uint64_t kSpareDescriptors = 64;
constexpr int kBacklog = 4096;

// client_summary is what the client process sends back through its pipe
// (trivially copyable: one write, one read).
struct client_summary {
  std::uint64_t round_trips = 0;
  std::uint64_t mismatches = 0;
  double seconds = 0;
  std::int64_t p50_ns = 0, p99_ns = 0, p999_ns = 0;
  char error[512] = {};
};
static_assert(std::is_trivially_copyable_v<client_summary>);

// raise_nofile() raises the soft RLIMIT_NOFILE to the hard limit and
// returns the soft limit in force (RLIM_INFINITY as UINT64_MAX).
std::uint64_t raise_nofile() noexcept {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return 0;
  if (lim.rlim_cur != lim.rlim_max) {
    rlimit up = lim;
    up.rlim_cur = lim.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &up) == 0) lim = up;
  }
  return lim.rlim_cur == RLIM_INFINITY ? UINT64_MAX : static_cast<std::uint64_t>(lim.rlim_cur);
}

// default_thread_stack_kb() is the stack a std::thread gets (glibc's
// default: RLIMIT_STACK, 8 MiB on most systems).
std::int64_t default_thread_stack_kb() noexcept {
  pthread_attr_t a;
  std::size_t sz = 0;
  if (::pthread_getattr_default_np(&a) == 0) {
    ::pthread_attr_getstacksize(&a, &sz);
    ::pthread_attr_destroy(&a);
  }
  return static_cast<std::int64_t>(sz / 1024);
}

// write_all() writes n bytes to a pipe.
bool write_all(int fd, const void* p, std::size_t n) noexcept {
  const char* c = static_cast<const char*>(p);
  while (n > 0) {
    const ssize_t k = ::write(fd, c, n);
    if (k < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    c += k;
    n -= static_cast<std::size_t>(k);
  }
  return true;
}

// read_all() reads up to n bytes (fewer at EOF); returns the count read.
std::size_t read_all(int fd, void* p, std::size_t n) noexcept {
  char* c = static_cast<char*>(p);
  std::size_t got = 0;
  while (got < n) {
    const ssize_t k = ::read(fd, c + got, n - got);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break;
    got += static_cast<std::size_t>(k);
  }
  return got;
}

// run_client() is the child process: the load, its summary into `out`, exit.
[[noreturn]] void run_client(const echo_load_config& cfg, int out) noexcept {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // no orphan if the benchmark dies
  client_summary s;
  try {
    echo_load_result r = run_echo_load(cfg);
    s.round_trips = r.round_trips;
    s.mismatches = r.mismatches;
    s.seconds = r.seconds;
    if (!r.latency_ns.empty()) {
      s.p50_ns = percentile(r.latency_ns, 50);
      s.p99_ns = percentile(r.latency_ns, 99);
      s.p999_ns = percentile(r.latency_ns, 99.9);
    }
    std::snprintf(s.error, sizeof s.error, "%s", r.error.c_str());
  } catch (const std::exception& e) {
    std::snprintf(s.error, sizeof s.error, "client: %s", e.what());
  }
  _exit(write_all(out, &s, sizeof s) ? 0 : 1);
}

class conns_workload final : public workload {
 public:
  const char* name() const noexcept override { return "conns"; }
  const char* about() const noexcept override {
    return "threads vs hooked fibers: one thread-per-connection echo server (plain POSIX "
           "accept/recv/send) run with a std::thread per connection (impl=threads, default 8 MiB "
           "stacks) and with a weft fiber per connection through weft::hook (impl=weft-hook), at "
           "each --connections count; the client (echo's epoll load generator) runs in a forked "
           "child and keeps every connection open until all are done. Reports round trips/s and "
           "the server's RSS growth per open connection (docs/benchmarks.md target at 10,000: "
           "fibers >= 2x the threads' round trips/s and <= half their KB per connection)";
  }
  std::vector<int> default_threads() const override { return {2}; }
  const char* reference_impl() const noexcept override { return "threads"; }
  bool in_suite() const noexcept override { return false; }

  void add_options(CLI::App& sub) override {
    sub.add_option("-c,--connections", connections_,
                   "connection counts to run, comma-separated (each: every connection open at "
                   "once, on one thread or fiber each)")
        ->delimiter(',')
        ->expected(1)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
        ->check(integer_in(1, kMaxConnections))
        ->default_str("1000,10000");
    sub.add_option("-n,--round-trips,--count", round_trips_, "round trips per connection")
        ->capture_default_str()
        ->check(integer_in(1, kMaxSamples));
    sub.add_option("--size", size_, "bytes per message")
        ->capture_default_str()
        ->check(integer_in(1, kMaxSize));
    sub.callback([this] {
      if (connections_.empty()) connections_ = {1000, 10000};
      // Both processes hold one end of every connection: each needs N
      // descriptors and some spare, within the hard limit (raised to).
      rlimit lim{};
      const std::uint64_t most = *std::max_element(connections_.begin(), connections_.end());
      if (most * round_trips_ > kMaxSamples) {
        throw CLI::ValidationError(
            "--connections x --round-trips",
            fmt::format("{} x {} = {} round trips; at most {} (each keeps its latency)", most,
                        round_trips_, most * round_trips_, kMaxSamples));
      }
      const std::uint64_t need = most + kSpareDescriptors;
      if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_max != RLIM_INFINITY &&
          need > lim.rlim_max) {
        throw CLI::ValidationError(
            "--connections",
            fmt::format("{} connections need about {} file descriptors in the server (the client "
                        "is another process), but the hard limit is {}: lower --connections or "
                        "raise `ulimit -Hn`",
                        most, need, static_cast<std::uint64_t>(lim.rlim_max)));
      }
      if (!hook_linked()) {
        throw CLI::ValidationError(
            "conns", "this fiber-bench is built without weft::hook (use fiber-bench-hook)");
      }
    });
  }
  void set_quick() override { round_trips_ = kQuickRoundTrips; }

  std::size_t sweep_size() const override { return connections_.empty() ? 2 : connections_.size(); }
  void select_sweep(std::size_t i) override {
    if (connections_.empty()) connections_ = {1000, 10000};
    current_ = connections_[i];
  }
  std::string sweep_label() const override { return fmt::format("connections={}", current_); }

  result run_weft(int threads) override { return run(true, threads); }
  result run_reference(int threads) override { return run(false, threads); }
  result run_boost(boost_algo, std::size_t) override {
    throw baseline_unavailable(
        "raw Boost.Fiber has no sockets: conns' baseline is one std::thread per connection, run "
        "by default (--no-baseline skips it)");
  }

 private:
  // run() is one measurement: fibers (weft-hook) or threads.
  result run(bool fibers, int threads) {
    raise_nofile();
    echo_load_config cfg;
    cfg.connections = static_cast<std::size_t>(current_);
    cfg.round_trips = round_trips_;
    cfg.size = static_cast<std::size_t>(size_);
    cfg.close_at_end = true;

    tpc_stats st;
    st.sample_at = cfg.connections;
    const int lfd = tpc_listen(0, kBacklog);
    cfg.port = tpc_port(lfd);
    int pfd[2];
    if (::pipe2(pfd, O_CLOEXEC) != 0) {
      const int e = errno;
      ::close(lfd);
      throw std::system_error(e, std::generic_category(), "pipe2");
    }
    // The client forks before the server starts any thread or runtime: the
    // child is a copy of a process whose only other thread is the
    // progress watchdog (asleep on its condition variable).
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t pid = ::fork();
    if (pid < 0) {
      const int e = errno;
      ::close(lfd);
      ::close(pfd[0]);
      ::close(pfd[1]);
      throw std::system_error(e, std::generic_category(), "fork");
    }
    if (pid == 0) {
      ::close(pfd[0]);
      ::close(lfd);
      run_client(cfg, pfd[1]);
    }
    ::close(pfd[1]);

    std::unique_ptr<weft::runtime> rt;
    if (fibers) rt = std::make_unique<weft::runtime>(make_runtime(threads));
    trim_heap();
    const std::int64_t rss_before = rss_kb();
    const std::int64_t kstack_before = kernel_stack_kb();
    // The server's CPU (this process: the client is another one), from the
    // first accept to the last join: thread or fiber creation included.
    const double cpu_before = cpu_seconds();

    std::exception_ptr server_error;
    std::thread acceptor([&] {
      try {
        if (fibers) {
          rt->block_on([&] {
            serve_tpc(lfd, st,
                      [&st](int fd) { return weft::spawn([fd, &st] { tpc_echo(fd, st); }); });
          });
        } else {
          serve_tpc(lfd, st, [&st](int fd) { return std::thread(tpc_echo, fd, std::ref(st)); });
        }
      } catch (...) {
        server_error = std::current_exception();
      }
    });
    client_summary cs;
    const bool got = read_all(pfd[0], &cs, sizeof cs) == sizeof cs;
    int status = 0;
    ::waitpid(pid, &status, 0);
    ::close(pfd[0]);
    tpc_stop(lfd);
    acceptor.join();
    const double cpu_s = cpu_seconds() - cpu_before;
    ::close(lfd);
    rt.reset();
    if (server_error) std::rethrow_exception(server_error);

    result r;
    if (fibers) {
      r = weft_result(name(), threads);
      r.impl = "weft-hook";
    } else {
      r.workload = name();
      r.impl = reference_impl();
      r.threads = weft_threads(threads);
    }
    std::string error;
    if (!got) {
      error = fmt::format("the client process ended without a result (status {:#x})", status);
    } else if (cs.error[0] != '\0') {
      error = cs.error;
    }
    {
      std::lock_guard<std::mutex> lk(st.m);
      if (!st.error.empty()) error = error.empty() ? st.error : error + "; server: " + st.error;
    }
    const std::int64_t rss_open = st.rss_open_kb.load();
    const std::int64_t kstack_open = st.kstack_open_kb.load();
    const std::uint64_t expected = cfg.connections * cfg.round_trips;
    r.ops = cs.round_trips;
    r.seconds = cs.seconds;
    r.ok = error.empty() && cs.mismatches == 0 && cs.round_trips == expected && rss_open > 0;
    if (!error.empty()) {
      fmt::print(stderr, "fiber-bench conns: {} connections={}: {} ({} of {} round trips done)\n",
                 r.impl, current_, error, cs.round_trips, expected);
    }
    if (cs.mismatches != 0) {
      fmt::print(stderr, "fiber-bench conns: {}: {} echoes differed from the message sent\n",
                 r.impl, cs.mismatches);
    }
    const double n = static_cast<double>(cfg.connections);
    r.add("p50_us", static_cast<double>(cs.p50_ns) / 1000.0, 1);
    r.add("p99_us", static_cast<double>(cs.p99_ns) / 1000.0, 1);
    r.add("p999_us", static_cast<double>(cs.p999_ns) / 1000.0, 1);
    r.add("kb_per_conn", rss_open > 0 ? static_cast<double>(rss_open - rss_before) / n : 0.0, 2,
          agg::median_spread);
    r.add("rss_open_kb", rss_open);
    r.add("kstack_kb_per_conn",
          kstack_open >= 0 && kstack_before >= 0
              ? static_cast<double>(kstack_open - kstack_before) / n
              : 0.0,
          2);
    r.add("server_cpu_us_per_rt",
          cs.round_trips > 0 ? cpu_s * 1e6 / static_cast<double>(cs.round_trips) : 0.0, 2);
    r.add("connections", static_cast<std::int64_t>(current_), agg::param);
    r.add("size", static_cast<std::int64_t>(size_), agg::param);
    if (!fibers) r.add_tail("stack", fmt::format("{}k", default_thread_stack_kb()));
    return r;
  }

  std::vector<std::uint64_t> connections_;
  std::uint64_t current_ = 1000;
  std::uint64_t round_trips_ = kRoundTrips;
  std::uint64_t size_ = kSize;
};

}  // namespace

std::unique_ptr<workload> make_conns_workload() { return std::make_unique<conns_workload>(); }

}  // namespace weft_bench
