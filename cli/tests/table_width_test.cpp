// SPDX-License-Identifier: MIT
// CTest: fiber-bench's human table stays within 100 columns for the widest
// realistic rows (every workload, weft and baselines, the slowest peer
// figures of docs/benchmarks.md, --repeat spread, a failed check), and words
// targets as comparisons. Prints the table it checked.
#include <fmt/format.h>

#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "bench_output.hpp"

namespace {

using weft_bench::agg;
using weft_bench::result;

result make(const char* workload, const char* impl, std::size_t threads, std::uint64_t ops,
            double seconds, bool ct = false) {
  result r;
  r.workload = workload;
  r.impl = impl;
  r.threads = threads;
  r.ops = ops;
  r.seconds = seconds;
  r.ok = true;
  // A wide --repeat spread: the slowest run 2.5x the fastest.
  r.spread = true;
  r.repeat = 5;
  r.ns_per_op_min = 0.8 * r.ns_per_op();
  r.ns_per_op_max = 2.0 * r.ns_per_op();
  if (std::string(impl) == "weft" || std::string(impl) == "weft-hook") {
    r.add_tail("flavour", ct ? "current_thread" : "multi_thread");
  } else if (std::string(impl) != "libevent") {
    r.add_tail("stack", "fixedsize_128k");
  }
  return r;
}

std::vector<result> realistic() {
  std::vector<result> v;
  // spawn: Boost shared_work at 1,495 ns; work_stealing spelled out.
  v.push_back(make("spawn", "weft", 2, 1'000'000, 1.5499));
  v.push_back(make("spawn", "boost-work_stealing", 2, 1'000'000, 9.1458));
  v.push_back(make("spawn", "weft", 1, 1'000'000, 0.3, true));
  v.push_back(make("spawn", "boost-round_robin", 1, 1'000'000, 0.256));
  v.push_back(make("yield", "weft", 1, 10'000'000, 0.9, true));
  v.push_back(make("yield", "boost-round_robin", 1, 10'000'000, 0.56));
  for (std::size_t t : {1, 2}) {
    result w = make("pingpong", "weft", t, 1'000'000, 0.5, t == 1);
    w.add("capacity", std::int64_t{1}, agg::param);
    v.push_back(w);
    result b = make("pingpong", "boost-shared_work", t, 1'000'000, 2.708);
    b.add("capacity", std::int64_t{2}, agg::param);
    v.push_back(b);
  }
  result m = make("mpsc", "weft", 2, 4'000'000, 0.3);
  m.add("capacity", std::int64_t{1024}, agg::param);
  v.push_back(m);
  v.push_back(make("select", "weft", 2, 1'000'000, 0.4));
  v.push_back(make("mutex", "weft", 2, 8'000'000, 2.1));
  v.push_back(make("mutex", "boost-work_stealing", 2, 8'000'000, 12.5));
  // skynet: the full tree on weft; shared_work's full tree, 45.2 s and 12.7 GB.
  result s = make("skynet", "weft", 2, 1'111'111, 1.234);
  s.add("max_rss_kb", std::int64_t{250 * 1024}, agg::median_spread);
  v.push_back(s);
  result sb = make("skynet", "boost-shared_work", 2, 1'111'111, 45.2);
  sb.add("max_rss_kb", std::int64_t{13'316'915}, agg::median_spread);
  v.push_back(sb);
  // idle: 8,425 B per parked Boost task.
  for (const char* impl : {"weft", "boost-work_stealing"}) {
    result i = make("idle", impl, 2, 100'000, 12.345);
    i.add("bytes_per_task", std::int64_t{impl[0] == 'w' ? 14'500 : 8'425}, agg::median_spread);
    i.add("rss_parked_kb", std::int64_t{1'234'567});
    i.add("park_s", 10.5, 3);
    i.add("release_s", 1.8, 3);
    v.push_back(i);
  }
  for (const char* impl : {"weft", "boost-work_stealing"}) {
    result c = make("idle_cpu", impl, 2, 0, 3.0);
    c.add("cpu_percent", impl[0] == 'w' ? 12.34 : 199.87, 2, agg::median_spread);
    c.add("cpu_ms", 5996.1, 1);
    v.push_back(c);
  }
  // timers: 100k sleepers, the slowest peer (Tokio: 203 ms / 426 ms).
  for (const char* impl : {"weft", "boost-work_stealing"}) {
    result t = make("timers", impl, 2, 1'000'000, 123.456);
    t.add("lateness_p50_us", 203'456.7, 1, agg::median_spread);
    t.add("lateness_p99_us", 426'789.1, 1, agg::median_spread);
    t.add("early_wakes", std::int64_t{3}, agg::worst);
    t.ok = impl[0] != 'w';  // a FAILED check
    v.push_back(t);
  }
  // echo: 100 connections, 121k round trips/s, a slow p99.
  for (std::size_t t : {0, 1, 2}) {
    for (const char* impl : {"weft", "weft-hook", "libevent"}) {
      result e = make("echo", impl, t == 0 ? 1 : t, 500'000, 4.1322, t == 0);
      e.add("p50_us", 812.3, 1);
      e.add("p99_us", 12'345.6, 1, agg::median_spread);
      e.add("p999_us", 23'456.7, 1);
      e.add("connections", std::int64_t{100}, agg::param);
      e.add("size", std::int64_t{64}, agg::param);
      v.push_back(e);
    }
  }
  // conns: 10,000 threads at 1,234 round trips/s and 123.45 KB each.
  for (std::size_t t : {0, 2}) {
    for (const char* impl : {"weft-hook", "threads"}) {
      result c = make("conns", impl, t == 0 ? 1 : t, 1'000'000, 810.4, t == 0);
      c.add("p50_us", 81'234.5, 1);
      c.add("p99_us", 912'345.6, 1);
      c.add("p999_us", 1'234'567.8, 1);
      c.add("kb_per_conn", 123.45, 2, agg::median_spread);
      c.add("rss_open_kb", std::int64_t{1'234'567});
      c.add("kstack_kb_per_conn", 16.0, 2);
      c.add("connections", std::int64_t{10'000}, agg::param);
      c.add("size", std::int64_t{64}, agg::param);
      v.push_back(c);
    }
  }
  return v;
}

int check(const std::vector<result>& results, const char* what) {
  const std::string table = weft_bench::format_table(results);
  fmt::print("--- {}:{}", what, table);
  std::istringstream in(table);
  std::string line;
  std::size_t widest = 0;
  int bad = 0;
  while (std::getline(in, line)) {
    widest = std::max(widest, line.size());
    if (line.size() > 100) {
      fmt::print(stderr, "table_width_test: {} columns: {}\n", line.size(), line);
      ++bad;
    }
    if (line.find("MISSED") != std::string::npos || line.find("FAIL ") != std::string::npos) {
      fmt::print(stderr, "table_width_test: a target worded as a failure: {}\n", line);
      ++bad;
    }
  }
  fmt::print("--- {}: widest line {} columns\n", what, widest);
  return bad;
}

}  // namespace

int main() {
  std::vector<result> rows = realistic();
  int bad = check(rows, "with --repeat spread");
  for (result& r : rows) {
    r.spread = false;
    r.repeat = 1;
  }
  bad += check(rows, "one run each");
  if (bad != 0) {
    fmt::print(stderr, "table_width_test: FAILED ({} lines)\n", bad);
    return 1;
  }
  fmt::print("table_width_test: ok\n");
  return 0;
}
