// SPDX-License-Identifier: MIT
// wait_label: what a parked fiber waits on, for the fiber dump
// (runtime::dump, docs/diagnostics.md). A wait site puts one on its stack
// right before it parks; the outermost label of a fiber wins (a mutex lock
// says "mutex lock", not the semaphore underneath). Internal: sync/ and net/
// label their waits with it.
#pragma once

#include <cstdint>

#include "weft/fibers/config.hpp"
#include "weft/fibers/detail/waiter.hpp"

namespace weft::detail {

class task_base;

// wait_detail says what wait_label's `value` means.
enum class wait_detail : std::uint8_t {
  none,
  fd_read,   // value: the descriptor
  fd_write,  // value: the descriptor
  fds,       // value: how many descriptors (poll/select)
  task,      // value: the id of the task joined
  branches,  // value: how many select branches
  permits,   // value: how many permits asked for
  signal,    // value: the signal number
};

class wait_label {
 public:
  // wait_label() labels the calling fiber's wait (nothing off a fiber, or
  // when an outer label is in place). `what` must be a string literal.
  wait_label(const char* what, const void* object, std::int64_t deadline_ns = no_deadline,
             wait_detail kind = wait_detail::none, std::int64_t value = 0) noexcept
      : t_(label_wait(what, object, deadline_ns, kind, value)) {}
  ~wait_label() {
    if (t_) unlabel_wait(t_);
  }
  wait_label(const wait_label&) = delete;
  wait_label& operator=(const wait_label&) = delete;

 private:
  static task_base* label_wait(const char* what, const void* object, std::int64_t deadline_ns,
                               wait_detail kind, std::int64_t value) noexcept;
  static void unlabel_wait(task_base* t) noexcept;
  task_base* t_;
};

}  // namespace weft::detail
