// SPDX-License-Identifier: MIT
// monitor: the thread that watches a multi-thread runtime's workers (Go's
// sysmon). A worker that has not switched fibers for handoff_after loses
// its queued fibers to the other workers; one stuck for stall_report_after
// is reported (task, name, spawn site, how long) and reported again when it
// comes back; when every worker is held in a blocking system call (or in
// block_in_place) and work is waiting, a spare worker thread starts (at
// most max_spare_workers). docs/diagnostics.md.
// Private to fibers/src.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace weft::detail {

class runtime_core;
class worker;

// heavy_fence_available() is true when membarrier(2) works here: the
// monitor needs it to take a stuck worker's queues (handoff.cpp).
bool heavy_fence_available() noexcept;

class monitor {
 public:
  struct settings {
    std::int64_t handoff_ns = 0;  // 0: no hand-off
    std::int64_t report_ns = 0;   // 0: no stall reports
    int dump_signal = 0;          // 0: none (builder::dump_signal)
  };

  monitor(runtime_core& core, settings s);
  ~monitor();  // stop()
  monitor(const monitor&) = delete;
  monitor& operator=(const monitor&) = delete;

  void start();
  // stop() ends the thread (idempotent). Spare workers it started keep
  // running until the runtime stops them.
  void stop() noexcept;
  // poke() makes the monitor look at once (block_in_place began).
  void poke() noexcept;

 private:
  // watch is what the monitor remembers about one worker.
  struct watch {
    std::uint64_t switches = 0;
    std::int64_t since = 0;  // steady ns when `switches` was first seen
    bool reported = false;   // a stall report went out for this episode
    std::string who;         // the reported task, for the "back" record
  };

  void run();
  // look() examines every live worker once; returns true when each of them
  // is parked (nothing can stall until one wakes).
  bool look(std::int64_t now);
  void report_stall(const worker& w, std::int64_t held_ns, std::size_t moved, watch& st);
  void report_back(const worker& w, std::int64_t held_ns, const watch& st) noexcept;
  void start_spare() noexcept;
  // serve_dump_signal() logs runtime::dump() once per delivery seen.
  void serve_dump_signal() noexcept;

  runtime_core& core_;
  const settings s_;
  const std::int64_t tick_ns_;
  std::vector<watch> watch_;
  std::thread thread_;
  std::mutex m_;
  std::condition_variable cv_;
  bool stop_ = false;   // guarded by m_
  bool poked_ = false;  // guarded by m_
  bool signal_installed_ = false;
  bool disabled_ = false;  // no membarrier: the thread serves the dump signal only
  std::uint64_t dumps_seen_ = 0;
};

}  // namespace weft::detail
