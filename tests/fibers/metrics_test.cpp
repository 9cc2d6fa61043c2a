// SPDX-License-Identifier: MIT
// runtime_metrics (metrics.hpp, docs/diagnostics.md "Metrics"): the
// counters count what ran, the per-worker shares add up to the totals, the
// gauges see what is parked right now, the poll-time histogram counts every
// run, and both renderings are well formed (Prometheus's text format is
// parsed line by line here).
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <future>
#include <map>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "weft/fibers.hpp"

using namespace std::chrono_literals;

namespace {

weft::runtime_metrics run_yielders(weft::runtime& rt, int fibers, int rounds) {
  return rt.block_on([=] {
    std::vector<weft::join_handle<void>> hs;
    for (int i = 0; i < fibers; ++i) {
      hs.push_back(weft::spawn([rounds] {
        for (int r = 0; r < rounds; ++r) weft::this_fiber::yield();
      }));
    }
    for (auto& h : hs) h.join();
    return weft::handle::current().metrics();
  });
}

// prom_sample is one parsed sample line: name, labels text, value.
struct prom_sample {
  std::string name, labels;
  double value;
};

// parse_prometheus() checks the exposition text line by line and returns
// its samples; every sample's family must have had HELP and TYPE first.
std::vector<prom_sample> parse_prometheus(const std::string& text) {
  static const std::regex help(R"(^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+$)");
  static const std::regex type(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram)$)");
  static const std::regex sample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"]*",?)*\})? ([-+0-9.eE]+|\+Inf)$)");
  std::map<std::string, std::string> types;
  std::string last_help;
  std::vector<prom_sample> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_match(line, m, help)) {
      last_help = m[1];
    } else if (std::regex_match(line, m, type)) {
      REQUIRE(m[1] == last_help);
      REQUIRE(types.count(m[1]) == 0);  // one TYPE per family
      types[m[1]] = m[2];
    } else {
      INFO(line);
      REQUIRE(std::regex_match(line, m, sample));
      std::string name = m[1];
      std::string family = name;
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        const std::string s(suffix);
        if (family.size() > s.size() &&
            family.compare(family.size() - s.size(), s.size(), s) == 0 &&
            types.count(family.substr(0, family.size() - s.size())) != 0) {
          family = family.substr(0, family.size() - s.size());
        }
      }
      REQUIRE(types.count(family) == 1);
      const std::string labels = m[2];
      const std::string v = m[4];
      out.push_back({name, labels, v == "+Inf" ? 1e300 : std::stod(v)});
    }
  }
  return out;
}

double value_of(const std::vector<prom_sample>& s, const std::string& name,
                const std::string& labels = "") {
  for (const auto& x : s)
    if (x.name == name && x.labels == labels) return x.value;
  FAIL("no sample " << name << labels);
  return 0;
}

}  // namespace

TEST_CASE("metrics: fibers run and per-worker shares add up to the totals", "[fibers][metrics]") {
  auto rt = weft::builder::multi_thread().worker_threads(2).build();
  const weft::runtime_metrics m = run_yielders(rt, 100, 10);
  CHECK(m.workers == 2);
  CHECK(m.fibers_spawned >= 101);  // the 100 and the block_on body
  CHECK(m.fibers_run >= 100);      // each fiber ran at least once
  CHECK(m.fibers_alive >= 1);      // the body taking the snapshot
  REQUIRE(m.per_worker.size() >= 2);
  std::uint64_t runs = 0, parks = 0, polls = 0;
  for (const auto& w : m.per_worker) {
    runs += w.fibers_run;
    parks += w.parks;
    polls += w.polls;
  }
  CHECK(runs == m.fibers_run);
  CHECK(parks == m.parks);
  CHECK(polls == m.io_polls);
  CHECK(m.per_worker[0].index == 0);
  CHECK(m.per_worker[1].index == 1);
  CHECK(m.uptime > 0ns);
  CHECK(m.per_worker[0].busy + m.per_worker[1].busy > 0ns);
  CHECK_FALSE(m.poll_times.enabled);  // off unless asked for
  CHECK(m.poll_times.runs() == 0);
}

TEST_CASE("metrics: the poll-time histogram counts every run of a fiber", "[fibers][metrics]") {
  const bool current = GENERATE(true, false);
  INFO((current ? "current-thread" : "multi-thread"));
  auto b = current ? weft::builder::current_thread() : weft::builder::multi_thread();
  if (!current) b.worker_threads(2);
  auto rt = b.poll_time_histogram(true).build();
  const weft::runtime_metrics m = rt.block_on([] {
    // One fiber that runs 2 ms straight before it switches away.
    weft::spawn([] {
      const auto end = std::chrono::steady_clock::now() + 2ms;
      while (std::chrono::steady_clock::now() < end) {
      }
    }).join();
    std::vector<weft::join_handle<void>> hs;
    for (int i = 0; i < 50; ++i) {
      hs.push_back(weft::spawn([] {
        for (int r = 0; r < 20; ++r) weft::this_fiber::yield();
      }));
    }
    for (auto& h : hs) h.join();
    return weft::handle::current().metrics();
  });
  const auto& h = m.poll_times;
  REQUIRE(h.enabled);
  // Every switch away from a fiber that ran is one histogram entry: at
  // least one per fiber.
  CHECK(h.runs() >= 51);
  CHECK(h.runs() <= m.fibers_run);
  // The 2 ms run lands in the bucket holding 2 ms or a longer one.
  const std::size_t two_ms = weft::poll_time_histogram::bucket_of(2'000'000);
  std::uint64_t long_runs = 0;
  for (std::size_t i = two_ms; i < weft::poll_time_histogram::bucket_count; ++i)
    long_runs += h.counts[i];
  CHECK(long_runs >= 1);
  CHECK(h.total >= 2ms);
}

TEST_CASE("metrics: histogram buckets have the documented bounds", "[fibers][metrics]") {
  using H = weft::poll_time_histogram;
  CHECK(H::bucket_of(0) == 0);
  CHECK(H::bucket_of(255) == 0);
  CHECK(H::bucket_of(256) == 1);
  CHECK(H::bucket_of(511) == 1);
  CHECK(H::bucket_of(512) == 2);
  CHECK(H::bucket_of(-5) == 0);
  CHECK(H::bucket_of(std::int64_t{1} << 40) == H::bucket_count - 1);
  for (std::size_t i = 1; i < H::bucket_count; ++i) {
    CHECK(H::bucket_of(H::lower_bound(i).count()) == i);
    CHECK(H::bucket_of(H::lower_bound(i).count() - 1) == i - 1);
  }
  CHECK(H::lower_bound(H::bucket_count - 1).count() == std::int64_t{1} << 26);
}

TEST_CASE("metrics: gauges see parked timers and busy blocking threads", "[fibers][metrics]") {
  auto rt = weft::builder::multi_thread().worker_threads(2).build();
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> job_running{false};
  const auto [during, after] = rt.block_on([&] {
    auto sleeper = weft::spawn([] { weft::time::sleep(1h); });
    auto job = weft::spawn_blocking([&] {
      job_running = true;
      released.wait();
    });
    // Wait (by yielding, at most 10 s) until both are in place.
    weft::runtime_metrics d;
    const auto give_up = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < give_up) {
      d = weft::handle::current().metrics();
      if (d.timers_armed >= 1 && d.blocking_busy >= 1) break;
      weft::this_fiber::yield();
    }
    sleeper.abort();
    release.set_value();
    job.join();
    try {
      sleeper.join();
    } catch (const weft::join_error&) {
    }
    return std::make_pair(d, weft::handle::current().metrics());
  });
  CHECK(during.timers_armed >= 1);
  CHECK(during.blocking_busy == 1);
  CHECK(during.blocking_threads >= 1);
  CHECK(after.blocking_jobs >= 1);
  CHECK(after.timers_armed == 0);
  std::uint64_t timers = 0;
  for (const auto& w : during.per_worker) timers += w.timers_armed;
  CHECK(timers == during.timers_armed);
}

TEST_CASE("metrics: the Prometheus rendering is well formed and matches the snapshot",
          "[fibers][metrics]") {
  auto rt = weft::builder::multi_thread().worker_threads(2).poll_time_histogram(true).build();
  const weft::runtime_metrics m = run_yielders(rt, 20, 5);
  const std::string text = weft::format_prometheus(m);
  const auto samples = parse_prometheus(text);
  CHECK(value_of(samples, "weft_workers") == 2);
  CHECK(value_of(samples, "weft_fibers_spawned_total") == static_cast<double>(m.fibers_spawned));
  CHECK(value_of(samples, "weft_fiber_runs_total") == static_cast<double>(m.fibers_run));
  CHECK(value_of(samples, "weft_worker_fiber_runs_total", "{worker=\"1\"}") ==
        static_cast<double>(m.per_worker[1].fibers_run));
  // The histogram: cumulative buckets, +Inf equal to _count.
  double prev = 0;
  int buckets = 0;
  for (const auto& s : samples) {
    if (s.name != "weft_poll_time_seconds_bucket") continue;
    CHECK(s.value >= prev);
    prev = s.value;
    ++buckets;
  }
  CHECK(buckets == static_cast<int>(weft::poll_time_histogram::bucket_count));
  CHECK(value_of(samples, "weft_poll_time_seconds_bucket", "{le=\"+Inf\"}") ==
        value_of(samples, "weft_poll_time_seconds_count"));
  CHECK(value_of(samples, "weft_poll_time_seconds_count") ==
        static_cast<double>(m.poll_times.runs()));

  // Another prefix renames every family; the text report names the parts.
  const auto other = parse_prometheus(weft::format_prometheus(m, "svc:rt"));
  CHECK(value_of(other, "svc:rt_workers") == 2);
  const std::string report = weft::format_metrics(m);
  CHECK(report.find("runtime: 2 workers") != std::string::npos);
  CHECK(report.find("worker 1: busy") != std::string::npos);
  CHECK(report.find("poll times: ") != std::string::npos);
}

TEST_CASE("metrics: a prefix that is not a metric name is refused", "[fibers][metrics]") {
  const weft::runtime_metrics m;
  for (const char* bad : {"", "9lives", "a-b", "with space", "weft{x}"}) {
    INFO(bad);
    CHECK_THROWS_AS(weft::format_prometheus(m, bad), std::invalid_argument);
  }
  CHECK_THROWS_WITH(weft::format_prometheus(m, "a-b"), Catch::Contains("a-b"));
  CHECK_NOTHROW(weft::format_prometheus(m, "_ok:1"));
  // An empty snapshot renders without a histogram (it was not enabled).
  CHECK(weft::format_prometheus(m).find("poll_time") == std::string::npos);
}
