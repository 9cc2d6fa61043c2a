// SPDX-License-Identifier: MIT
// blocking_pool: threads for spawn_blocking. Threads start on demand up to a
// limit and retire after a keep-alive without work.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>

#include "weft/fibers/detail/task.hpp"

namespace weft::detail {

class runtime_core;

class blocking_pool {
 public:
  // blocking_pool() makes the pool of `owner`: its threads run with that
  // runtime as their context (weft::spawn, spawn_blocking and
  // handle::current() work inside a job).
  blocking_pool(runtime_core& owner, std::size_t max_threads, std::chrono::milliseconds keep_alive,
                std::string name);
  ~blocking_pool();

  // submit() queues `t` (one reference passed in) to run on a pool thread.
  // Throws: std::system_error if no thread exists and none can be started.
  void submit(task_base* t);
  // shutdown() cancels queued jobs and waits for running ones and their
  // threads until `deadline` (steady ns; no_deadline waits for good).
  // Returns false when jobs still ran at the deadline: their threads go on
  // alone, and the pool (inside its leaked runtime) must outlive them.
  bool shutdown(std::int64_t deadline) noexcept;
  // running() appends the jobs running now to `out` (for reports).
  template <class F>
  void for_each_running(F&& f) const {
    std::lock_guard<std::mutex> lk(lock_);
    for (task_base* t = running_; t; t = t->reg_next_) f(*t);
  }
  // in_flight() is the number of queued or running jobs.
  std::uint64_t in_flight() const noexcept { return in_flight_.load(std::memory_order_acquire); }

  // stats() is one consistent snapshot, for runtime_metrics.
  struct stats_t {
    std::size_t threads, idle, queued;
    std::uint64_t started;  // jobs started so far
  };
  stats_t stats() const;

 private:
  void run() noexcept;

  runtime_core& owner_;
  const std::size_t max_;
  const std::chrono::milliseconds keep_alive_;
  const std::string name_;
  mutable std::mutex lock_;
  std::condition_variable cv_;
  std::condition_variable exited_;
  std::deque<task_base*> queue_;
  task_base* running_ = nullptr;  // jobs running now, linked by reg_prev_/reg_next_
  std::size_t threads_ = 0;
  std::size_t idle_ = 0;
  std::uint64_t started_ = 0;
  bool shutdown_ = false;
  std::atomic<std::uint64_t> in_flight_{0};
};

}  // namespace weft::detail
