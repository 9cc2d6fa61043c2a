// SPDX-License-Identifier: MIT
// once_core: the state machine behind once_cell<T> (empty -> running ->
// ready, or back to empty when the initializer fails), parking callers on
// the one waiter while an initializer runs. Internal: do not depend on it.
#pragma once

#include <atomic>
#include <cstdint>

#include "weft/fibers/config.hpp"
#include "weft/fibers/detail/waiter.hpp"

namespace weft::sync::detail {

// once_core serialises initialisation of one value.
class once_core {
 public:
  // begin_status says what the caller of begin() must do.
  enum class begin_status {
    ready,       // the value is there: read it
    initialize,  // the caller won: run the initializer, then finish()/abandon()
    timeout,     // another initializer was still running at the deadline
  };

  once_core() noexcept = default;
  once_core(const once_core&) = delete;
  once_core& operator=(const once_core&) = delete;

  // ready() is true once the value was published (acquire ordering).
  bool ready() const noexcept { return state_.load(std::memory_order_acquire) == kReady; }

  // begin() claims the right to initialise, or waits while another caller
  // holds it. Blocks: parks while an initializer runs. Errors: throws
  // weft::cancelled (the caller then holds nothing).
  begin_status begin(std::int64_t deadline_ns = weft::detail::no_deadline);

  // try_begin() claims the right to initialise if nobody has it; never blocks.
  bool try_begin() noexcept;

  // finish() publishes the value and wakes every waiter.
  void finish() noexcept;

  // abandon() gives the right to initialise up (the initializer threw or was
  // cancelled) and wakes the waiters so that one of them tries again.
  void abandon() noexcept;

 private:
  static constexpr std::uint8_t kEmpty = 0, kRunning = 1, kReady = 2;
  void set_and_wake(std::uint8_t s) noexcept;

  weft::detail::spin_lock lock_;
  weft::detail::wait_list waiters_;          // guarded by lock_
  std::atomic<std::uint8_t> state_{kEmpty};  // written under lock_
};

}  // namespace weft::sync::detail
