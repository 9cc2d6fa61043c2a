// SPDX-License-Identifier: MIT
// weft::cancelled: the exception a cancelled fiber sees at its suspension point.
#pragma once

#include "weft/fibers/config.hpp"

namespace weft {

namespace detail {
struct cancel_scope;
}

// cancelled is thrown at a weft suspension point (sleep, join, channel, lock,
// I/O wait, yield, check_cancelled) of a fiber that was aborted, whose runtime
// is shutting down, or whose enclosing timeout() expired.
//
// It deliberately does not derive from std::exception, so legacy
// `catch (const std::exception&)` blocks do not swallow it. Let it propagate:
// a fiber that catches cancelled and carries on is a bug (it will not be
// cancelled again: cancellation is delivered once, so that destructors run
// during unwinding can still lock, join and wait).
class cancelled {
 public:
  // what() returns a short description for logs.
  const char* what() const noexcept {
    return scope_ ? "weft: timeout elapsed" : "weft: fiber cancelled";
  }

  // from_timeout() is true when a timeout() deadline, not an abort, caused it.
  bool from_timeout() const noexcept { return scope_ != nullptr; }

  // Internal: which timeout() scope expired (nullptr for abort/shutdown).
  explicit cancelled(const detail::cancel_scope* scope = nullptr) noexcept : scope_(scope) {}
  const detail::cancel_scope* scope() const noexcept { return scope_; }

 private:
  const detail::cancel_scope* scope_;
};

}  // namespace weft
