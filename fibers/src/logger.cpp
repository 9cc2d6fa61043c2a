// SPDX-License-Identifier: MIT
// The runtime log sink: rate limiting, the default stderr sink, and
// describing an exception for reports.
#include "logger.hpp"

#include <cxxabi.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <exception>
#include <memory>
#include <typeinfo>

#include "clock.hpp"
#include "runtime_core.hpp"
#include "weft/fibers/cancelled.hpp"

namespace weft {

std::string_view log_level_name(log_level l) noexcept {
  switch (l) {
    case log_level::debug:
      return "debug";
    case log_level::info:
      return "info";
    case log_level::warn:
      return "warn";
    case log_level::error:
      return "error";
  }
  return "?";
}

void stderr_log_sink(const log_record& r) noexcept {
  try {
    std::string line = "weft: ";
    line += log_level_name(r.level);
    line += ": ";
    line += r.topic;
    line += ": ";
    line += r.message;
    if (r.suppressed != 0) {
      line += " (";
      line += std::to_string(r.suppressed);
      line += " similar records suppressed)";
    }
    line += '\n';
    [[maybe_unused]] auto n = ::syscall(SYS_write, 2, line.data(), line.size());
  } catch (...) {
  }
}

namespace detail {

logger::logger(log_callback sink, std::uint32_t per_second, unhandled_exception_policy policy)
    : sink_(std::move(sink)), per_second_(per_second), policy_(policy) {}

void logger::log(log_level level, std::string_view topic, std::string_view message) noexcept {
  if (!sink_) return;
  std::uint64_t suppressed = 0;
  if (per_second_ != 0) {
    // A token bucket per topic: per_second_ tokens a second, a burst of as
    // many. A dropped record is counted and announced with the next one.
    std::lock_guard<std::mutex> lk(lock_);
    const std::int64_t now = steady_ns();
    bucket* b = nullptr;
    for (auto& x : buckets_) {
      if (x.topic == topic) b = &x;
    }
    try {
      if (!b) {
        buckets_.push_back(bucket{std::string(topic), double(per_second_), now, 0});
        b = &buckets_.back();
      }
    } catch (...) {
      return;
    }
    b->tokens = std::min<double>(per_second_,
                                 b->tokens + double(now - b->refilled_ns) * 1e-9 * per_second_);
    b->refilled_ns = now;
    if (b->tokens < 1) {
      ++b->suppressed;
      return;
    }
    b->tokens -= 1;
    suppressed = std::exchange(b->suppressed, 0);
  }
  try {
    sink_(log_record{level, topic, message, suppressed});
  } catch (...) {
  }
}

logger* logger_of_current() noexcept {
  runtime_core* c = current_core();
  return c ? c->log : nullptr;
}

std::string describe_exception(const std::exception_ptr& e) {
  if (!e) return "no exception";
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    std::string s;
    int status = 0;
    std::unique_ptr<char, void (*)(void*)> name(
        abi::__cxa_demangle(typeid(x).name(), nullptr, nullptr, &status), std::free);
    s = status == 0 && name ? name.get() : typeid(x).name();
    s += ": ";
    s += x.what();
    return s;
  } catch (...) {
    const std::type_info* t = abi::__cxa_current_exception_type();
    if (!t) return "an exception of unknown type";
    int status = 0;
    std::unique_ptr<char, void (*)(void*)> name(
        abi::__cxa_demangle(t->name(), nullptr, nullptr, &status), std::free);
    return std::string("an exception of type ") + (status == 0 && name ? name.get() : t->name());
  }
}

void report(log_level level, std::string_view topic, std::string_view message) noexcept {
  if (logger* l = logger_of_current()) {
    l->log(level, topic, message);
  } else {
    stderr_log_sink(log_record{level, topic, message, 0});
  }
}

}  // namespace detail
}  // namespace weft
