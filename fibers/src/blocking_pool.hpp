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

class blocking_pool {
 public:
  blocking_pool(std::size_t max_threads, std::chrono::milliseconds keep_alive, std::string name);
  ~blocking_pool();

  // submit() queues `t` (one reference passed in) to run on a pool thread.
  // Throws: std::system_error if no thread exists and none can be started.
  void submit(task_base* t);
  // shutdown() cancels queued jobs and waits for running ones and threads.
  void shutdown() noexcept;
  // in_flight() is the number of queued or running jobs.
  std::uint64_t in_flight() const noexcept { return in_flight_.load(std::memory_order_acquire); }

  std::size_t threads() const;
  std::size_t idle() const;
  std::size_t queued() const;

 private:
  void run() noexcept;

  const std::size_t max_;
  const std::chrono::milliseconds keep_alive_;
  const std::string name_;
  mutable std::mutex lock_;
  std::condition_variable cv_;
  std::condition_variable exited_;
  std::deque<task_base*> queue_;
  std::size_t threads_ = 0;
  std::size_t idle_ = 0;
  bool shutdown_ = false;
  std::atomic<std::uint64_t> in_flight_{0};
};

}  // namespace weft::detail
