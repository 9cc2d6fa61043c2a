// SPDX-License-Identifier: MIT
// weft::sync::cancellation_token: a shareable "stop" signal with child
// tokens (cancelling a parent cancels its children, not the other way) and
// a guard that cancels on scope exit. Tokio's CancellationToken.
#pragma once

#include <chrono>
#include <memory>

#include "weft/fibers/config.hpp"
#include "weft/fibers/result.hpp"
#include "weft/fibers/time.hpp"
#include "weft/sync/detail/deadline.hpp"
#include "weft/sync/detail/select_branch.hpp"

namespace weft::sync {

namespace detail {
class token_state;
}

class cancellation_drop_guard;

// cancellation_token is a cheap, copyable handle; copies share one state.
// Thread-safety: every member may be called from any fiber or thread.
class cancellation_token {
 public:
  // cancellation_token() creates a new, uncancelled root token.
  cancellation_token();

  // child_token() creates a token cancelled when this one is (or by its own
  // cancel(), which does not affect this one). A child of a cancelled token
  // starts cancelled.
  [[nodiscard]] cancellation_token child_token() const;

  // cancel() cancels this token and all its descendants; wakes every fiber
  // or thread waiting in cancelled(). Idempotent.
  void cancel() const noexcept;

  // is_cancelled() says whether cancel() reached this token.
  [[nodiscard]] bool is_cancelled() const noexcept;

  // cancelled() waits until the token is cancelled.
  // Blocks: parks the fiber (or blocks the plain thread).
  // Errors: throws weft::cancelled when the *waiting fiber* is aborted.
  // Select: see on_cancelled(); nothing is consumed by a lost branch.
  void cancelled() const;

  // cancelled_for()/cancelled_until() add errc::timeout. Any std::chrono
  // duration or time point; one too far to represent means no deadline.
  template <class Rep, class Period>
  [[nodiscard]] result<void> cancelled_for(std::chrono::duration<Rep, Period> d) const {
    return wait(detail::deadline_after(d));
  }
  template <class Clock, class Duration>
  [[nodiscard]] result<void> cancelled_until(
      const std::chrono::time_point<Clock, Duration>& t) const {
    return wait(detail::deadline_at(t));
  }

  // drop_guard() returns a guard that cancels this token when destroyed
  // (unless disarmed): tie the token's life to a scope.
  [[nodiscard]] cancellation_drop_guard drop_guard() const;

  // Select (internal): used by on_cancelled().
  detail::poll select_try() const noexcept;
  detail::poll select_arm(detail::waiter& w, detail::wait_list::node& n) const noexcept;
  bool select_disarm(detail::wait_list::node& n, bool give_back = false) const noexcept;

 private:
  explicit cancellation_token(std::shared_ptr<detail::token_state> s) noexcept : s_(std::move(s)) {}
  result<void> wait(std::int64_t deadline_ns) const;

  std::shared_ptr<detail::token_state> s_;
};

// cancellation_drop_guard cancels its token on destruction. Move-only.
class cancellation_drop_guard {
 public:
  explicit cancellation_drop_guard(cancellation_token t) noexcept
      : t_(std::move(t)), armed_(true) {}
  cancellation_drop_guard(cancellation_drop_guard&& o) noexcept
      : t_(o.t_), armed_(std::exchange(o.armed_, false)) {}
  cancellation_drop_guard(const cancellation_drop_guard&) = delete;
  cancellation_drop_guard& operator=(const cancellation_drop_guard&) = delete;
  ~cancellation_drop_guard() {
    if (armed_) t_.cancel();
  }

  // disarm() keeps the token alive uncancelled and returns it.
  cancellation_token disarm() noexcept {
    armed_ = false;
    return t_;
  }

 private:
  cancellation_token t_;
  bool armed_;
};

}  // namespace weft::sync
