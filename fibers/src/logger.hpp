// SPDX-License-Identifier: MIT
// logger: a runtime's log sink with its per-topic rate limit and the
// unhandled-exception policy, shared (reference-counted) so that a record
// about a task can still be sent after its runtime was destroyed (a
// join_handle dropped late). Private to fibers/src.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "weft/fibers/log.hpp"
#include "weft/fibers/runtime.hpp"

namespace weft::detail {

class logger {
 public:
  // logger() sends to `sink` (empty: records are dropped), at most
  // `per_second` records per topic per second (0: no limit).
  logger(log_callback sink, std::uint32_t per_second, unhandled_exception_policy policy);
  logger(const logger&) = delete;
  logger& operator=(const logger&) = delete;

  void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  // log() rate-limits and sends one record. Never throws; the sink is
  // called with no lock held.
  void log(log_level level, std::string_view topic, std::string_view message) noexcept;

  unhandled_exception_policy policy() const noexcept { return policy_; }

 private:
  ~logger() = default;

  struct bucket {
    std::string topic;
    double tokens = 0;
    std::int64_t refilled_ns = 0;
    std::uint64_t suppressed = 0;
  };

  std::atomic<std::uint32_t> refs_{1};
  const log_callback sink_;
  const std::uint32_t per_second_;
  const unhandled_exception_policy policy_;
  std::mutex lock_;  // guards buckets_
  std::vector<bucket> buckets_;
};

// logger_of() is the logger of the caller's runtime (nullptr off a runtime).
logger* logger_of_current() noexcept;

// describe_exception() is "<type>: <what()>" for a std::exception, the
// type's name otherwise ("int", "my::error").
std::string describe_exception(const std::exception_ptr& e);

}  // namespace weft::detail
