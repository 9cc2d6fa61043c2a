// SPDX-License-Identifier: MIT
// The two renderings of runtime_metrics (metrics.hpp): a short text report
// and Prometheus's text exposition format 0.0.4.
#include "weft/fibers/metrics.hpp"

#include <cstdio>
#include <stdexcept>

namespace weft {

namespace {

double seconds(std::chrono::nanoseconds d) { return static_cast<double>(d.count()) / 1e9; }

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string num(std::uint64_t v) { return std::to_string(v); }

// human() is a duration in the unit that suits it: 256 ns, 32.8 us, 4.2 ms.
std::string human(std::int64_t ns) {
  if (ns < 1000) return std::to_string(ns) + " ns";
  if (ns < 1000000) return fixed(static_cast<double>(ns) / 1e3, 1) + " us";
  return fixed(static_cast<double>(ns) / 1e6, 1) + " ms";
}

// prom_double() is a sample value as Prometheus reads it (%.9g keeps
// nanosecond sums exact enough and never prints a locale's comma).
std::string prom_double(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

bool metric_name_ok(std::string_view s) {
  if (s.empty()) return false;
  auto head = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
  };
  if (!head(s[0])) return false;
  for (char c : s)
    if (!head(c) && !(c >= '0' && c <= '9')) return false;
  return true;
}

class prom_writer {
 public:
  explicit prom_writer(std::string_view prefix) : prefix_(prefix) {}

  void head(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP " + full(name) + " ";
    out_ += help;
    out_ += "\n# TYPE " + full(name) + " ";
    out_ += type;
    out_ += "\n";
  }
  void sample(std::string_view name, const std::string& value, std::string_view labels = {}) {
    out_ += full(name);
    if (!labels.empty()) {
      out_ += "{";
      out_ += labels;
      out_ += "}";
    }
    out_ += " " + value + "\n";
  }
  void one(std::string_view name, std::string_view type, std::string_view help,
           const std::string& value) {
    head(name, type, help);
    sample(name, value);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string full(std::string_view name) const {
    std::string s(prefix_);
    s += "_";
    s += name;
    return s;
  }
  std::string_view prefix_;
  std::string out_;
};

}  // namespace

std::string format_metrics(const runtime_metrics& m) {
  std::string o;
  o += "runtime: " + num(m.workers) + " workers, up " + fixed(seconds(m.uptime), 3) + " s\n";
  o += "fibers: " + num(m.fibers_alive) + " alive, " + num(m.fibers_spawned) + " spawned, " +
       num(m.fibers_run) + " runs\n";
  o += "scheduler: shared queue " + num(m.shared_queue_depth) + ", parks " + num(m.parks) +
       ", polls " + num(m.io_polls) + ", hand-offs " + num(m.handoffs) + ", stalls " +
       num(m.stalls) + ", spare workers started " + num(m.spare_workers) + "\n";
  o += "timers: " + num(m.timers_armed) + " armed\n";
  o += "reactor: " + num(m.io_registered) + " registered, " + num(m.io_registrations) +
       " registrations, " + num(m.io_events) + " events\n";
  o += "blocking pool: " + num(m.blocking_threads) + " threads (" + num(m.blocking_busy) +
       " busy, " + num(m.blocking_idle) + " idle), " + num(m.blocking_queue) + " queued, " +
       num(m.blocking_jobs) + " jobs run\n";
  o += "stacks: " + num(m.stacks_cached) + " cached, " + num(m.stacks_returned) + " returned, " +
       num(m.unguarded_stacks) + " unguarded\n";
  o += "diagnostics: " + num(m.held_lock_waits) + " held-lock waits, " + num(m.high_water_reports) +
       " high-water reports\n";
  for (const worker_metrics& w : m.per_worker) {
    if (w.spare && !w.started) continue;
    const double up = seconds(m.uptime);
    const double busy = seconds(w.busy);
    o += std::string(w.spare ? "spare " : "worker ") + num(w.index) + ": busy " + fixed(busy, 3) +
         " s (" + fixed(up > 0 ? 100.0 * busy / up : 0.0, 1) + "%), runs " + num(w.fibers_run) +
         ", parks " + num(w.parks) + ", polls " + num(w.polls) + ", from shared queue " +
         num(w.shared_taken) + ", timers " + num(w.timers_armed) + ", io " + num(w.io_registered) +
         " registered / " + num(w.io_waiting) + " waiting / " + num(w.io_events) + " events\n";
  }
  const poll_time_histogram& h = m.poll_times;
  if (h.enabled) {
    const std::uint64_t runs = h.runs();
    o += "poll times: " + num(runs) + " runs, mean " +
         human(runs ? h.total.count() / static_cast<std::int64_t>(runs) : 0) + "\n";
    for (std::size_t i = 0; i < poll_time_histogram::bucket_count; ++i) {
      if (h.counts[i] == 0) continue;
      const auto lo = poll_time_histogram::lower_bound(i).count();
      std::string range;
      if (i + 1 == poll_time_histogram::bucket_count) {
        range = ">= " + human(lo);
      } else {
        range =
            "[" + human(lo) + ", " + human(poll_time_histogram::lower_bound(i + 1).count()) + ")";
      }
      o += "  " + range + ": " + num(h.counts[i]) + "\n";
    }
  }
  return o;
}

std::string format_prometheus(const runtime_metrics& m, std::string_view prefix) {
  if (!metric_name_ok(prefix))
    throw std::invalid_argument("weft::format_prometheus: prefix \"" + std::string(prefix) +
                                "\" is not a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)");
  prom_writer p(prefix);
  p.one("workers", "gauge", "Regular worker threads.", num(m.workers));
  p.one("uptime_seconds", "gauge", "Seconds since the runtime was built.",
        prom_double(seconds(m.uptime)));
  p.one("fibers_alive", "gauge", "Spawned fibers not yet finished.", num(m.fibers_alive));
  p.one("fibers_spawned_total", "counter", "Fibers spawned.", num(m.fibers_spawned));
  p.one("fiber_runs_total", "counter", "Switches to a fiber, all workers.", num(m.fibers_run));
  p.one("shared_queue_depth", "gauge", "Fibers waiting in the shared queue.",
        num(m.shared_queue_depth));
  p.one("parks_total", "counter", "Times a worker parked in its event loop.", num(m.parks));
  p.one("io_polls_total", "counter", "Non-blocking event-loop polls.", num(m.io_polls));
  p.one("timers_armed", "gauge", "Sleeps and timeouts armed.", num(m.timers_armed));
  p.one("io_registered", "gauge", "Descriptors registered with an event loop.",
        num(m.io_registered));
  p.one("io_registrations_total", "counter", "Registrations of a descriptor with an event loop.",
        num(m.io_registrations));
  p.one("io_events_total", "counter", "Readiness events delivered.", num(m.io_events));
  p.one("blocking_threads", "gauge", "Live blocking-pool threads.", num(m.blocking_threads));
  p.one("blocking_busy_threads", "gauge", "Blocking-pool threads running a job.",
        num(m.blocking_busy));
  p.one("blocking_idle_threads", "gauge", "Idle blocking-pool threads.", num(m.blocking_idle));
  p.one("blocking_queue_depth", "gauge", "Blocking jobs waiting for a thread.",
        num(m.blocking_queue));
  p.one("blocking_jobs_total", "counter", "Blocking jobs started.", num(m.blocking_jobs));
  p.one("stacks_cached", "gauge", "Warm fiber stacks ready for reuse.", num(m.stacks_cached));
  p.one("stacks_returned_total", "counter", "Fiber stacks given back to the kernel.",
        num(m.stacks_returned));
  p.one("unguarded_stacks", "gauge", "Live fiber stacks without a guard page.",
        num(m.unguarded_stacks));
  p.one("handoffs_total", "counter", "Fibers moved off a stuck worker.", num(m.handoffs));
  p.one("stalls_total", "counter", "Stall reports made.", num(m.stalls));
  p.one("spare_workers_started_total", "counter", "Spare worker threads started.",
        num(m.spare_workers));
  p.one("held_lock_waits_total", "counter", "Fiber suspensions while holding a pthread lock.",
        num(m.held_lock_waits));
  p.one("high_water_reports_total", "counter", "Live-fiber high-water reports made.",
        num(m.high_water_reports));

  struct per {
    const char* name;
    const char* type;
    const char* help;
    std::string (*value)(const worker_metrics&);
  };
  static const per rows[] = {
      {"worker_busy_seconds_total", "counter", "Time the worker was not parked.",
       [](const worker_metrics& w) { return prom_double(seconds(w.busy)); }},
      {"worker_fiber_runs_total", "counter", "Switches to a fiber on the worker.",
       [](const worker_metrics& w) { return num(w.fibers_run); }},
      {"worker_parks_total", "counter", "Times the worker parked in its event loop.",
       [](const worker_metrics& w) { return num(w.parks); }},
      {"worker_polls_total", "counter", "Non-blocking polls of the worker's event loop.",
       [](const worker_metrics& w) { return num(w.polls); }},
      {"worker_shared_taken_total", "counter", "Fibers the worker took from the shared queue.",
       [](const worker_metrics& w) { return num(w.shared_taken); }},
      {"worker_timers_armed", "gauge", "Timers in the worker's timer shard.",
       [](const worker_metrics& w) { return num(w.timers_armed); }},
      {"worker_io_waiting", "gauge", "Fibers waiting on a descriptor of the worker's loop.",
       [](const worker_metrics& w) { return num(w.io_waiting); }},
      {"worker_io_registered", "gauge", "Descriptors registered with the worker's loop.",
       [](const worker_metrics& w) { return num(w.io_registered); }},
      {"worker_io_registrations_total", "counter",
       "Registrations of a descriptor with the worker's loop.",
       [](const worker_metrics& w) { return num(w.io_registrations); }},
      {"worker_io_events_total", "counter", "Readiness events the worker's loop delivered.",
       [](const worker_metrics& w) { return num(w.io_events); }},
  };
  for (const per& r : rows) {
    p.head(r.name, r.type, r.help);
    for (const worker_metrics& w : m.per_worker) {
      if (w.spare && !w.started) continue;
      std::string labels = "worker=\"" + num(w.index) + "\"";
      if (w.spare) labels += ",spare=\"true\"";
      p.sample(r.name, r.value(w), labels);
    }
  }

  const poll_time_histogram& h = m.poll_times;
  if (h.enabled) {
    p.head("poll_time_seconds", "histogram",
           "How long fibers ran before they switched away (builder::poll_time_histogram).");
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i + 1 < poll_time_histogram::bucket_count; ++i) {
      cumulative += h.counts[i];
      const double le = seconds(poll_time_histogram::lower_bound(i + 1));
      p.sample("poll_time_seconds_bucket", num(cumulative), "le=\"" + prom_double(le) + "\"");
    }
    cumulative += h.counts[poll_time_histogram::bucket_count - 1];
    p.sample("poll_time_seconds_bucket", num(cumulative), "le=\"+Inf\"");
    p.sample("poll_time_seconds_sum", prom_double(seconds(h.total)));
    p.sample("poll_time_seconds_count", num(cumulative));
  }
  return p.take();
}

}  // namespace weft
