// SPDX-License-Identifier: MIT
// The runtime's log sink: where weft reports what it cannot return to a
// caller (an exception nobody will join, fibers that keep shutdown waiting,
// accept backing off at EMFILE). Set one on the builder; stderr by default.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "weft/fibers/config.hpp"

namespace weft {

// log_level orders log records by severity.
enum class log_level : std::uint8_t { debug, info, warn, error };

// log_level_name() is "debug", "info", "warn" or "error".
std::string_view log_level_name(log_level l) noexcept;

// log_record is one report of the runtime. Its views are valid only during
// the sink call: copy what you keep.
struct log_record {
  log_level level = log_level::info;
  // topic names the kind of report ("unhandled_exception", "shutdown",
  // "accept", ...); rate limiting is per topic.
  std::string_view topic;
  // message is one line of text, without a trailing newline.
  std::string_view message;
  // suppressed is how many records of this topic the rate limit dropped
  // since the last one that went through.
  std::uint64_t suppressed = 0;
};

// log_callback receives log records. It may be called from any thread
// (worker threads, blocking-pool threads, the thread destroying the
// runtime), concurrently, and with no weft lock held; it must not block for
// long. An exception it throws is swallowed.
using log_callback = std::function<void(const log_record&)>;

// stderr_log_sink() is the default sink: one line per record on stderr,
// "weft: warn: shutdown: ...", written with a single write(2).
void stderr_log_sink(const log_record& r) noexcept;

namespace detail {
// report() sends a record to the log sink of the caller's runtime (a
// worker or blocking-pool thread of it), or to stderr_log_sink off any
// runtime. Internal to weft: sync/ and net/ report through it.
void report(log_level level, std::string_view topic, std::string_view message) noexcept;
}  // namespace detail

}  // namespace weft
