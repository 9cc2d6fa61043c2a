// SPDX-License-Identifier: MIT
// wake_batch collects the wake tokens a hand-off won under a primitive's
// spin_lock so they can be resumed after the lock is released.
#pragma once

#include <cstddef>
#include <utility>

#include "weft/fibers/detail/waiter.hpp"

namespace weft::sync::detail {

// wake_batch holds up to kInline tokens; resume_all() (or the destructor)
// resumes them. A token beyond kInline is resumed at once, under the
// caller's lock, as wait_list::wake_all() does: resume() only queues the
// fiber (it never switches), so that costs latency, not correctness.
class wake_batch {
 public:
  static constexpr std::size_t kInline = 32;

  wake_batch() noexcept = default;
  wake_batch(const wake_batch&) = delete;
  wake_batch& operator=(const wake_batch&) = delete;
  ~wake_batch() { resume_all(); }

  // push() keeps a won token for later.
  void push(weft::detail::wake_token t) noexcept {
    if (n_ == kInline) {
      t.resume();
      return;
    }
    tokens_[n_++] = std::move(t);
  }

  // resume_all() resumes every kept token; call it after unlocking.
  void resume_all() noexcept {
    for (std::size_t i = 0; i < n_; ++i) tokens_[i].resume();
    n_ = 0;
  }

 private:
  weft::detail::wake_token tokens_[kInline];
  std::size_t n_ = 0;
};

}  // namespace weft::sync::detail
