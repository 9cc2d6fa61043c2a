// SPDX-License-Identifier: MIT
// fiber-bench's human table: one row per result with the ratio against the
// baseline run beside it, then weft's targets (docs/benchmarks.md) stated as
// comparisons with the peers' figures. At most kWidth columns.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "bench_output.hpp"

namespace weft_bench {

namespace {

constexpr std::size_t kWidth = 100;

bool is_baseline(const result& r) {
  return r.impl.rfind("boost-", 0) == 0 || r.impl == "libevent" || r.impl == "threads";
}

// is_weft() is a weft run: weft's own API (impl=weft) or blocking code on
// weft fibers through weft::hook (impl=weft-hook).
bool is_weft(const result& r) { return r.impl == "weft" || r.impl == "weft-hook"; }

// same_param() is true when `a` and `b` have the same value of parameter
// `key` (conns' connections), or neither has it.
bool same_param(const result& a, const result& b, const char* key) {
  const field* x = a.find(key);
  const field* y = b.find(key);
  if (!x || !y) return !x && !y;
  return x->number() == y->number();
}

bool current_thread(const result& r) {
  const field* f = r.find("flavour");
  return f && f->s == "current_thread";
}

// impl_cell() is the impl column: raw Boost.Fiber baselines by algorithm
// name alone, weft's current-thread runtime as "weft (ct)".
std::string impl_cell(const result& r) {
  if (r.impl.rfind("boost-", 0) == 0) return r.impl.substr(6);
  if (is_weft(r) && current_thread(r)) return r.impl + " (ct)";
  return r.impl;
}

// where() names a weft run's runtime for the targets: "2 workers",
// "1 worker", "current-thread".
std::string where(const result& r) {
  if (current_thread(r)) return "current-thread";
  return fmt::format("{} worker{}", r.threads, r.threads == 1 ? "" : "s");
}

std::string duration_us(double us) {
  if (!std::isfinite(us)) return "?";
  if (us < 1000) return fmt::format("{:.0f} us", us);
  const double ms = us / 1000;
  if (ms < 10) return fmt::format("{:.2f} ms", ms);
  if (ms < 1000) return fmt::format("{:.0f} ms", ms);
  return fmt::format("{:.1f} s", ms / 1000);
}

std::string memory_kb(double kb) {
  const double mb = kb / 1024;
  if (!std::isfinite(mb)) return "?";
  if (mb < 10) return fmt::format("{:.1f} MB", mb);
  if (mb < 10 * 1024) return fmt::format("{:.0f} MB", mb);
  return fmt::format("{:.1f} GB", mb / 1024);
}

// figure_of() is the workload's own headline figure where ns/op is not the
// whole story ("" otherwise).
std::string figure_of(const result& r) {
  if (r.workload == "skynet") {
    return fmt::format("{:.2f} s, {}", r.seconds, memory_kb(r.num("max_rss_kb")));
  }
  if (r.workload == "idle") return fmt::format("{:.0f} B/task", r.num("bytes_per_task"));
  if (r.workload == "idle_cpu") return fmt::format("{:.2f}% CPU", r.num("cpu_percent"));
  if (r.workload == "timers") {
    return fmt::format("p50 {}, p99 {}", duration_us(r.num("lateness_p50_us")),
                       duration_us(r.num("lateness_p99_us")));
  }
  if (r.workload == "echo") {
    return fmt::format("{:.0f}k rt/s, p99 {}", r.ops_per_sec() / 1000,
                       duration_us(r.num("p99_us")));
  }
  if (r.workload == "conns") {
    const double kb = r.num("kb_per_conn"), n = r.num("connections");
    const std::string conns = n >= 1000 ? fmt::format("{:g}k", n / 1000) : fmt::format("{:g}", n);
    return fmt::format("{} conns, {:.0f}k rt/s, {:.{}f} KB/conn", conns, r.ops_per_sec() / 1000, kb,
                       kb >= 100 ? 0 : 1);
  }
  return "";
}

// ratio_of() is baseline / weft of the headline figure (bytes per task for
// idle, ns per op otherwise): > 1 means weft is ahead. idle_cpu has none
// (weft's figure is ~0): the figure column shows both.
std::string ratio_of(const result& w, const result& b) {
  if (w.workload == "idle_cpu") return "";
  const bool idle = w.workload == "idle";
  const double bw = idle ? b.num("bytes_per_task") : b.ns_per_op();
  const double ww = idle ? w.num("bytes_per_task") : w.ns_per_op();
  if (!(ww > 0) || !(bw > 0)) return "";
  return fmt::format("{:.2f}x", bw / ww);
}

// spread_of() is (slowest - fastest) / median ns/op over the runs, in %.
std::string spread_of(const result& r) {
  const double m = r.ns_per_op();
  if (r.repeat < 2 || !(m > 0)) return "";
  return fmt::format("{:.1f}%", 100 * (r.ns_per_op_max - r.ns_per_op_min) / m);
}

// ns_target is a per-op target of docs/benchmarks.md: at most `factor`
// times a peer's figure.
struct ns_target {
  const char* workload;
  bool multi;  // 2+ workers (else one thread)
  const char* peer;
  double peer_ns;
  double factor;
};

constexpr ns_target kNsTargets[] = {
    {"spawn", true, "Tokio", 594, 0.8}, {"spawn", false, "Tokio", 193, 0.9},
    {"yield", false, "Go", 60, 1},      {"pingpong", false, "Go", 236, 1},
    {"pingpong", true, "Go", 257, 1},   {"mpsc", true, "Go", 51, 1},
};

// targets_of() states how a weft run compares with its docs/benchmarks.md
// targets, one line each (none when the workload has no target): a ratio
// to the peer's figure and the target ratio, never a pass/fail verdict
// (the figures come from another machine; `check` is the verdict). `net`
// is the impl=weft run before an echo weft-hook run.
std::vector<std::string> targets_of(const result& r, const result* base, const result* net) {
  std::vector<std::string> out;
  const std::string at = fmt::format("{}, {}: ", r.workload, where(r));
  if (r.impl == "weft-hook") {
    if (r.workload == "echo" && net && net->ops_per_sec() > 0) {
      out.push_back(at + fmt::format("weft-hook {:.2f}x weft::net's round trips/s (target >= 0.9x)",
                                     r.ops_per_sec() / net->ops_per_sec()));
    }
    // conns' targets are stated at 10,000 connections.
    if (r.workload == "conns" && r.num("connections") >= 10'000 && base &&
        base->ops_per_sec() > 0 && base->num("kb_per_conn") > 0) {
      const std::string c =
          fmt::format("conns, {}, {:.0f} connections: ", where(r), r.num("connections"));
      out.push_back(c + fmt::format("{:.2f}x the threads' round trips/s (target >= 2x)",
                                    r.ops_per_sec() / base->ops_per_sec()));
      out.push_back(c + fmt::format("{:.2f}x their KB per connection (target <= 0.5x)",
                                    r.num("kb_per_conn") / base->num("kb_per_conn")));
    }
    return out;
  }
  for (const ns_target& t : kNsTargets) {
    if (r.workload != t.workload || (r.threads >= 2) != t.multi || !(r.ns_per_op() > 0)) continue;
    out.push_back(at + fmt::format("{:.2f}x {}'s {:g} ns/op (target <= {:g}x)",
                                   r.ns_per_op() / t.peer_ns, t.peer, t.peer_ns, t.factor));
  }
  if (r.workload == "skynet" && r.ops == 1'111'111) {
    out.push_back(at + fmt::format("{:.2f} s, {:.2f}x Tokio's 0.88 s (target <= 1x)", r.seconds,
                                   r.seconds / 0.88));
    const double mb = r.num("max_rss_kb") / 1024;
    out.push_back(at + fmt::format("{:.0f} MB, {:.2f}x Go's 94 MB (target <= 1x)", mb, mb / 94));
  }
  if (r.workload == "idle") {
    const double b = r.num("bytes_per_task");
    out.push_back(at + fmt::format("{:.0f} B/task, {:.2f}x the target of 4500 (Go 2814, Tokio 224)",
                                   b, b / 4500));
  }
  if (r.workload == "idle_cpu") {
    out.push_back(at + fmt::format("{:.2f}% of one core (target ~0%)", r.num("cpu_percent")));
  }
  if (r.workload == "echo") {
    if (!base || base->impl != "libevent" || !(base->ops_per_sec() > 0)) {
      out.push_back(at + "no libevent run beside it (target >= 0.95x its round trips/s)");
    } else {
      out.push_back(at + fmt::format("{:.2f}x libevent's round trips/s (target >= 0.95x)",
                                     r.ops_per_sec() / base->ops_per_sec()));
      const double p99 = r.num("p99_us"), bp99 = base->num("p99_us");
      if (bp99 > 0) {
        out.push_back(at + fmt::format("p99 {:.2f}x libevent's (target <= 1x)", p99 / bp99));
      }
    }
  }
  return out;
}

}  // namespace

std::string format_table(const std::vector<result>& results) {
  std::vector<std::string> head = {"workload", "impl",  "thr",       "ns/op",
                                   "spread",   "check", "base/weft", "figure"};
  std::vector<bool> right = {false, false, true, true, true, false, true, false};
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> targets;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const result& r = results[i];
    std::string ratio;
    if (is_weft(r)) {
      const result* base = nullptr;
      for (std::size_t j = i + 1; j < results.size(); ++j) {
        const result& b = results[j];
        if (b.impl == r.impl && b.workload == r.workload) break;
        if (b.workload == r.workload && b.threads == r.threads && is_baseline(b) &&
            same_param(r, b, "connections")) {
          base = &b;
          ratio = ratio_of(r, b);
          break;
        }
      }
      // The weft::net run an echo weft-hook run follows.
      const result* net = nullptr;
      for (std::size_t j = i; r.impl == "weft-hook" && j-- > 0;) {
        const result& n = results[j];
        if (n.workload != r.workload) break;
        if (n.impl == "weft" && n.threads == r.threads) {
          net = &n;
          break;
        }
      }
      for (std::string& t : targets_of(r, base, net)) targets.push_back(std::move(t));
    }
    rows.push_back({r.workload, impl_cell(r), fmt::format("{}", r.threads),
                    r.ops == 0 ? "-" : fmt::format("{:.1f}", r.ns_per_op()), spread_of(r),
                    r.ok ? "ok" : "FAILED", ratio, figure_of(r)});
  }
  // The notes below need to know what is shown before columns go.
  const auto filled = [&rows](std::size_t c) {
    return std::any_of(rows.begin(), rows.end(), [c](const auto& row) { return !row[c].empty(); });
  };
  const bool any_spread = filled(4), any_ratio = filled(6);
  // spread, base/weft and figure are left out when no row has one.
  for (std::size_t c : {7, 6, 4}) {
    if (!filled(c)) {
      head.erase(head.begin() + static_cast<std::ptrdiff_t>(c));
      right.erase(right.begin() + static_cast<std::ptrdiff_t>(c));
      for (auto& row : rows) row.erase(row.begin() + static_cast<std::ptrdiff_t>(c));
    }
  }
  std::vector<std::size_t> w(head.size());
  for (std::size_t c = 0; c < head.size(); ++c) {
    w[c] = head[c].size();
    for (const auto& row : rows) w[c] = std::max(w[c], row[c].size());
  }
  std::string out = "\n";
  const auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      const std::string pad(w[c] - cells[c].size(), ' ');
      s += right[c] ? pad + cells[c] : cells[c] + pad;
      if (c + 1 < cells.size()) s += "  ";
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    out += s + '\n';
  };
  line(head);
  std::size_t total = 0;
  for (std::size_t c = 0; c < w.size(); ++c) total += w[c] + (c + 1 < w.size() ? 2 : 0);
  out += std::string(std::min(total, kWidth), '-') + '\n';
  for (const auto& row : rows) line(row);
  // Notes for what the table shows, one line each.
  const auto any = [&](auto pred) { return std::any_of(results.begin(), results.end(), pred); };
  if (any_ratio) {
    out +=
        "base/weft: the baseline's ns/op (B/task for idle) over weft's: > 1 means weft is "
        "ahead.\n";
  }
  if (any([](const result& r) { return r.impl.rfind("boost-", 0) == 0; })) {
    out += "round_robin, shared_work, work_stealing: raw Boost.Fiber (--baseline).\n";
  }
  if (any([](const result& r) { return r.impl == "libevent"; })) {
    out += "libevent: echo on raw libevent, beside each weft run.\n";
  }
  if (any([](const result& r) { return r.impl == "weft-hook"; })) {
    out +=
        "weft-hook: thread-per-connection code (plain POSIX calls) on weft fibers, weft::hook.\n";
  }
  if (any([](const result& r) { return r.impl == "threads"; })) {
    out += "threads: the same code on one std::thread per connection.\n";
  }
  if (any([](const result& r) { return is_weft(r) && current_thread(r); }))
    out += "weft (ct): weft's current-thread runtime (--threads 0).\n";
  if (any_spread) out += "spread: (slowest - fastest) / median ns/op over the --repeat runs.\n";
  if (!targets.empty()) {
    out +=
        "\nweft's targets (docs/benchmarks.md; the peers' figures come from a comparable 2-core\n"
        "machine, so a ratio here is a comparison, not a verdict):\n";
    for (const std::string& t : targets) out += "  " + t + '\n';
  }
  return out;
}

}  // namespace weft_bench
