// SPDX-License-Identifier: MIT
// weft::runtime_metrics: a runtime's counters, read from code
// (handle::metrics()), and two renderings of them: a short text report and
// Prometheus's text exposition format. docs/diagnostics.md "Metrics".
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "weft/fibers/config.hpp"

namespace weft {

// poll_time_histogram counts how long fibers ran before they switched away
// (Tokio's poll-time histogram), over every worker. Bucket 0 holds runs
// shorter than 256 ns, bucket i (1 <= i < 19) runs in [2^(i+7), 2^(i+8)) ns,
// the last one runs of 2^26 ns (67 ms) and more. Off unless
// builder::poll_time_histogram(true): it reads the clock at every switch.
struct poll_time_histogram {
  static constexpr std::size_t bucket_count = 20;
  bool enabled = false;
  std::array<std::uint64_t, bucket_count> counts{};
  std::chrono::nanoseconds total{0};  // the sum of every counted run
  // lower_bound() is where bucket i starts (0 for bucket 0).
  static constexpr std::chrono::nanoseconds lower_bound(std::size_t i) noexcept {
    return std::chrono::nanoseconds(i == 0 ? 0 : std::int64_t{1} << (i + 7));
  }
  // bucket_of() is the bucket a run of `ns` nanoseconds falls in.
  static constexpr std::size_t bucket_of(std::int64_t ns) noexcept {
    std::size_t b = 0;
    for (std::uint64_t v = ns > 0 ? static_cast<std::uint64_t>(ns) >> 8 : 0; v != 0; v >>= 1) ++b;
    return b < bucket_count ? b : bucket_count - 1;
  }
  std::uint64_t runs() const noexcept {
    std::uint64_t n = 0;
    for (auto c : counts) n += c;
    return n;
  }
};

// worker_metrics is one worker thread's share. Counters count since the
// runtime started; gauges ("now") are read when the snapshot is taken.
struct worker_metrics {
  std::size_t index = 0;
  bool spare = false;                  // a spare worker (builder::max_spare_workers)
  bool started = false;                // has a thread (a spare only once the monitor started it)
  std::chrono::nanoseconds busy{0};    // time its thread was not parked in the event loop
  std::uint64_t fibers_run = 0;        // switches to a fiber from another context
  std::uint64_t parks = 0;             // times it parked in its event loop
  std::uint64_t polls = 0;             // non-blocking polls of its event loop
  std::uint64_t shared_taken = 0;      // fibers it took from the shared queue
  std::uint64_t timers_armed = 0;      // now: timers in its timer shard
  std::uint64_t io_waiting = 0;        // now: fibers waiting on a descriptor of its loop
  std::uint64_t io_registered = 0;     // now: descriptors registered with its loop
  std::uint64_t io_registrations = 0;  // descriptors ever registered with its loop
  std::uint64_t io_events = 0;         // readiness events its loop delivered
};

// runtime_metrics is a snapshot of a runtime's counters (handle::metrics()).
// The sums are over every worker; per_worker has the details.
struct runtime_metrics {
  std::size_t workers = 0;                 // regular worker threads
  std::chrono::nanoseconds uptime{0};      // since the runtime was built
  std::uint64_t fibers_alive = 0;          // spawned tasks not yet finished
  std::uint64_t fibers_spawned = 0;        // total fibers spawned
  std::uint64_t fibers_run = 0;            // switches to a fiber, all workers (a yield
                                           // that finds nothing else to run is none)
  std::uint64_t blocking_threads = 0;      // live blocking-pool threads
  std::uint64_t blocking_idle = 0;         // of which idle
  std::uint64_t blocking_busy = 0;         // of which running a job
  std::uint64_t blocking_queue = 0;        // blocking jobs waiting for a thread
  std::uint64_t blocking_jobs = 0;         // blocking jobs started so far
  std::uint64_t shared_queue_depth = 0;    // fibers waiting in the shared queue
  std::uint64_t io_polls = 0;              // non-blocking event-loop polls
  std::uint64_t parks = 0;                 // times a worker parked in the event loop
  std::uint64_t timers_armed = 0;          // now: sleeps and timeouts armed
  std::uint64_t io_registered = 0;         // now: descriptors registered with a loop
  std::uint64_t io_registrations = 0;      // descriptors ever registered
  std::uint64_t io_events = 0;             // readiness events delivered
  std::uint64_t stacks_cached = 0;         // warm stacks ready for reuse (bounded)
  std::uint64_t stacks_returned = 0;       // stacks given back to the kernel so far
  std::uint64_t unguarded_stacks = 0;      // now: live stacks without a guard page
  std::uint64_t handoffs = 0;              // fibers moved off a stuck worker (docs/diagnostics.md)
  std::uint64_t stalls = 0;                // stall reports made
  std::uint64_t spare_workers = 0;         // spare worker threads started
  std::uint64_t held_lock_waits = 0;       // suspensions while holding a pthread lock (weft::hook)
  std::uint64_t high_water_reports = 0;    // live-fiber high-water reports made
  std::vector<worker_metrics> per_worker;  // regular workers, then spares
  poll_time_histogram poll_times;
};

// format_metrics() renders `m` as a short human-readable report (what
// `fiber-bench --metrics` prints).
std::string format_metrics(const runtime_metrics& m);

// format_prometheus() renders `m` in Prometheus's text exposition format
// (version 0.0.4), every name starting with `prefix` ("weft" gives
// weft_fibers_alive, weft_worker_busy_seconds_total{worker="0"}, ...).
// Serve it with Content-Type "text/plain; version=0.0.4" (examples/
// metrics_server.cpp). Errors: std::invalid_argument when `prefix` is not
// a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*).
std::string format_prometheus(const runtime_metrics& m, std::string_view prefix = "weft");

}  // namespace weft
