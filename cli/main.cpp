// SPDX-License-Identifier: MIT
// fiber-bench: the standard workloads of docs/benchmarks.md on weft, each
// optionally next to the same work on raw Boost.Fiber (--baseline), plus
// `suite`, which runs them all. Exit codes: 0 ok, 1 a check FAILED, 2 bad
// command line, 3 a run could not complete.
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench_common.hpp"

namespace {

using weft_bench::common_options;
using weft_bench::workload;

constexpr int kUsageError = 2;

// add_run_options() adds --baseline-stack, --time-limit, --monitor and --repeat.
void add_run_options(CLI::App& sub, common_options& o) {
  sub.add_option("--baseline-stack", o.baseline_stack,
                 "stacks of the baseline's fibers: pooled (boost::context::"
                 "pooled_fixedsize_stack, 64 KiB, as in docs/benchmarks.md) or fixedsize (Boost's "
                 "default_stack: a 128 KiB malloc per fiber)")
      ->capture_default_str()
      ->check(CLI::IsMember({"pooled", "fixedsize"}));
  sub.add_option("--time-limit", o.time_limit,
                 "seconds one run may take before it is reported as a hang (exit code 3); "
                 "0 = no limit")
      ->capture_default_str()
      ->check(weft_bench::number_in(0, 86400));
  sub.add_option("--monitor", o.monitor,
                 "weft's stall monitor (hand-off of a held worker's fibers, spare workers, "
                 "stall reports; docs/diagnostics.md): on (the builder's default) or off "
                 "(handoff_after(0), stall_report_after(0); results say monitor=off)")
      ->capture_default_str()
      ->check(CLI::IsMember({"on", "off"}));
  sub.add_option("--repeat", o.repeat,
                 "runs of each configuration (alternating weft and its baselines); the line "
                 "reports the median, with ns_per_op_min/_max and repeat=N when N > 1")
      ->capture_default_str()
      ->check(weft_bench::integer_in(1, 1000));
  sub.add_flag("--metrics", o.metrics,
               "after each weft run, print the runtime's metrics (weft::format_metrics: per "
               "worker busy time, fibers run, parks, polls, the poll-time histogram, timers, "
               "reactor, blocking pool, hand-offs; docs/diagnostics.md) on stderr");
  sub.add_option("--diagnostics", o.diagnostics,
                 "weft's diagnostic mode (held-lock and high-water reports; "
                 "docs/diagnostics.md): default (the builder's: off in Release unless "
                 "WEFT_DIAGNOSTICS is set), on or off; results say diagnostics=on|off when given")
      ->capture_default_str()
      ->check(CLI::IsMember({"default", "on", "off"}));
}

// add_common_options() adds the flags every workload subcommand shares.
void add_common_options(CLI::App& sub, const workload& w, common_options& o) {
  const std::string threads_help = fmt::format(
      "worker counts to run, comma-separated (0 = weft's current-thread runtime, 1 thread; "
      "default: {})",
      fmt::join(w.default_threads(), ","));
  sub.add_option("-t,--threads", o.threads, threads_help)
      ->delimiter(',')
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->check(weft_bench::worker_count_in(w.max_threads()));
  sub.add_flag("--json", o.json, "print one JSON object per result instead of key=value lines");
  sub.add_flag("--baseline{shared_work}", o.baseline,
               "also run the same work on raw Boost.Fiber: shared_work (default) or "
               "--baseline=work_stealing on N threads, round_robin on 1 thread")
      ->check(CLI::IsMember({"shared_work", "work_stealing"}));
  if (const char* ref = w.reference_impl()) {
    sub.add_flag("--no-baseline", o.no_reference,
                 std::string("skip the raw ") + ref + " baseline run after each weft run");
  }
  add_run_options(sub, o);
}

// print_table_if() prints the human table on a terminal (never with --json).
void print_table_if(const weft_bench::reporter& rep, bool json) {
  if (!json && ::isatty(STDOUT_FILENO) == 1) rep.print_table(std::cout);
}

// loadavg() is the three load averages, "?" when unavailable.
std::string loadavg() {
  const auto a = weft_bench::load_average();
  return a ? fmt::format("{:.2f} {:.2f} {:.2f}", (*a)[0], (*a)[1], (*a)[2]) : "?";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "fiber-bench: docs/benchmarks.md's standard workloads on weft, optionally next to raw "
      "Boost.Fiber (--baseline).\nOutput: one `workload=... impl=... threads=... ops=... "
      "seconds=... ops_per_sec=... ns_per_op=... check=ok|FAILED ...` line per result (--json: "
      "one JSON object). Exit codes: 0 ok, 1 a check FAILED, 2 bad command line, 3 a run "
      "failed.",
      "fiber-bench"};
  app.set_version_flag("--version", weft_bench::version_text());
  // At most one subcommand; none is reported below. (require_subcommand(1)
  // would report "A subcommand is required" for a mistyped one.)
  app.require_subcommand(0, 1);
  bool top_json = false;
  app.add_flag("--json", top_json, "print JSON objects instead of key=value lines");

  std::vector<std::unique_ptr<workload>> workloads;
  workloads.push_back(weft_bench::make_spawn_workload());
  workloads.push_back(weft_bench::make_yield_workload());
  workloads.push_back(weft_bench::make_pingpong_workload());
  workloads.push_back(weft_bench::make_mpsc_workload());
  workloads.push_back(weft_bench::make_select_workload());
  workloads.push_back(weft_bench::make_mutex_workload());
  workloads.push_back(weft_bench::make_skynet_workload());
  workloads.push_back(weft_bench::make_idle_workload());
  // idle_cpu before timers: the suite runs them in this order, the robust
  // measurements first.
  workloads.push_back(weft_bench::make_idle_cpu_workload());
  workloads.push_back(weft_bench::make_timers_workload());
  workloads.push_back(weft_bench::make_echo_workload());
  workloads.push_back(weft_bench::make_conns_workload());

  std::vector<common_options> opts(workloads.size());
  std::vector<CLI::App*> subs;
  for (std::size_t i = 0; i < workloads.size(); ++i) {
    CLI::App* sub = app.add_subcommand(workloads[i]->name(), workloads[i]->about());
    add_common_options(*sub, *workloads[i], opts[i]);
    workloads[i]->add_options(*sub);
    subs.push_back(sub);
  }

  // suite: every workload at its docs/benchmarks.md worker counts.
  CLI::App* suite = app.add_subcommand(
      "suite",
      "run every workload (spawn and pingpong on 2 workers and 1 thread, yield on 1 thread, "
      "mpsc, select, mutex, skynet, idle, idle_cpu and timers on 2 workers, echo on 1 and 2) "
      "with raw Boost.Fiber baselines (select has none; echo's is raw libevent), then print a "
      "table (on stdout when it is a terminal, else "
      "on stderr, so the result lines stay machine-readable)");
  bool quick = false, no_baseline = false, suite_json = false;
  std::string suite_baseline = "shared_work";
  suite->add_flag("--quick", quick,
                  "reduced counts (~20-60 s on 2 cores): spawn 500000, yield 5000000, pingpong "
                  "200000, mpsc 4x250000, select 250000, mutex 8x100000, skynet baseline 10000 "
                  "leaves, idle 20000, timers 20000, echo 100x1000; --time-limit 60");
  suite->add_flag("--json", suite_json, "print one JSON object per result");
  suite->add_flag("--no-baseline", no_baseline, "run weft only (also no libevent for echo)");
  suite
      ->add_flag("--baseline{shared_work}", suite_baseline,
                 "baseline scheduler for multi-thread runs: shared_work (default) or "
                 "work_stealing (Boost allows one work_stealing pool per process: later "
                 "multi-thread baselines are skipped)")
      ->check(CLI::IsMember({"shared_work", "work_stealing"}));
  common_options suite_opts;
  add_run_options(*suite, suite_opts);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : kUsageError;
  }

  if (suite->parsed()) {
    const bool json = top_json || suite_json;
    weft_bench::reporter rep(json);
    rep.begin({weft_bench::command_line(argc, argv)});
    common_options o = suite_opts;
    o.json = json;
    o.baseline = no_baseline ? "" : suite_baseline;
    o.no_reference = no_baseline;
    if (quick && suite->count("--time-limit") == 0) o.time_limit = 60;
    weft_bench::set_monitor(o.monitor == "on");
    weft_bench::set_metrics(o.metrics);
    weft_bench::set_diagnostics(o.diagnostics);
    const std::string load = loadavg();
    const auto t0 = weft_bench::steady::now();
    const auto summary = [&] {
      const bool tty = ::isatty(STDOUT_FILENO) == 1;
      rep.print_table(tty ? std::cout : std::cerr);
      fmt::print(stderr, "fiber-bench suite{}: {:.1f} s; load average before: {}\n",
                 quick ? " --quick" : "", weft_bench::seconds_since(t0), load);
    };
    weft_bench::set_hang_handler(summary);
    for (auto& w : workloads) {
      if (!w->in_suite()) continue;
      if (quick) w->set_quick();
      weft_bench::run_workload(*w, o, rep);
    }
    summary();
    return rep.exit_code();
  }

  if (app.get_subcommands().empty()) {
    std::cerr
        << "fiber-bench: a subcommand is required (spawn, yield, pingpong, mpsc, select, "
           "mutex, skynet, idle, timers, idle_cpu, echo, conns, suite)\nRun with --help for more "
           "information.\n";
    return kUsageError;
  }
  for (std::size_t i = 0; i < workloads.size(); ++i) {
    if (!subs[i]->parsed()) continue;
    common_options& o = opts[i];
    o.json = o.json || top_json;
    weft_bench::set_monitor(o.monitor == "on");
    weft_bench::set_metrics(o.metrics);
    weft_bench::set_diagnostics(o.diagnostics);
    if (const std::optional<int> rc = workloads[i]->run_standalone(o)) return *rc;
    weft_bench::reporter rep(o.json);
    rep.begin({weft_bench::command_line(argc, argv)});
    weft_bench::set_hang_handler([&] { print_table_if(rep, o.json); });
    weft_bench::run_workload(*workloads[i], o, rep);
    print_table_if(rep, o.json);
    return rep.exit_code();
  }
  return kUsageError;
}
