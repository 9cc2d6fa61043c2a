// SPDX-License-Identifier: MIT
// Stack-overflow reporting for fibers (see stack_overflow.cpp).
#pragma once

namespace weft::detail {

// install_overflow_handler() installs the process-wide SIGSEGV handler once.
void install_overflow_handler() noexcept;

// alt_signal_stack gives the calling thread an alternate signal stack for
// as long as it lives (a worker thread's lifetime).
class alt_signal_stack {
 public:
  alt_signal_stack() noexcept;
  ~alt_signal_stack();
  alt_signal_stack(const alt_signal_stack&) = delete;
  alt_signal_stack& operator=(const alt_signal_stack&) = delete;

 private:
  void* mem_ = nullptr;
};

}  // namespace weft::detail
