// SPDX-License-Identifier: MIT
// select_core: poll, arm, park once, disarm (protocol in detail/select_branch.hpp).
#include <bit>
#include <cstdint>
#include <stdexcept>

#include "weft/fibers/cancelled.hpp"
#include "weft/fibers/detail/wait_label.hpp"
#include "weft/sync/detail/select_branch.hpp"

namespace weft::sync::detail {

namespace {

// next_random() is a per-thread xorshift for the fair start position. It is
// read without suspending, so a fiber migrating between calls is harmless.
std::uint64_t next_random() noexcept {
  thread_local std::uint64_t state =
      0x9e3779b97f4a7c15ULL ^ reinterpret_cast<std::uintptr_t>(&state);
  std::uint64_t x = state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  state = x;
  return x;
}

constexpr std::uint64_t bit(std::size_t i) noexcept { return std::uint64_t{1} << i; }

// disarm_all() unlinks every armed branch; returns the one that fired (npos
// if none). With `give_back` the one that fired passes its hand-off on.
std::size_t disarm_all(branch* const* b, std::uint64_t armed, bool give_back = false) noexcept {
  std::size_t fired = npos;
  while (armed) {
    const auto i = static_cast<std::size_t>(std::countr_zero(armed));
    armed &= armed - 1;
    if (b[i]->disarm(give_back) && fired == npos) fired = i;
  }
  return fired;
}

}  // namespace

std::size_t select_core(branch* const* b, std::size_t n, bool biased) {
  if (n > 64) throw std::invalid_argument("weft::sync::select: at most 64 branches");
  if (n == 0) return npos;
  for (;;) {
    const std::size_t start = biased ? 0 : static_cast<std::size_t>(next_random() % n);
    std::uint64_t enabled = 0;
    std::int64_t deadline = no_deadline;
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t i = (start + k) % n;
      switch (b[i]->try_now()) {
        case poll::ready:
          return i;
        case poll::pending:
          enabled |= bit(i);
          deadline = std::min(deadline, b[i]->deadline());
          break;
        case poll::disabled:
          break;
      }
    }
    if (!enabled) return npos;

    waiter w;
    std::uint64_t armed = 0;
    std::size_t winner = npos;
    for (std::size_t k = 0; k < n && winner == npos; ++k) {
      const std::size_t i = (start + k) % n;
      if (!(enabled & bit(i))) continue;
      switch (b[i]->arm(w)) {
        case poll::ready:
          winner = i;
          break;
        case poll::pending:
          armed |= bit(i);
          break;
        case poll::disabled:
          enabled &= ~bit(i);
          break;
      }
      if (w.reason() != wake_reason::waiting) break;  // another branch already won
    }
    if (winner == npos && !armed && w.reason() == wake_reason::waiting) {
      return npos;  // every branch turned disabled while arming
    }

    wake_reason why = wake_reason::notified;
    if (winner == npos) {
      weft::detail::wait_label label("select", b, deadline, weft::detail::wait_detail::branches,
                                     static_cast<std::int64_t>(n));
      try {
        why = w.park(nullptr, deadline);
      } catch (...) {
        // Cancelled: the cancellation won the claim, so nothing fired.
        (void)disarm_all(b, armed);
        throw;
      }
      if (w.take_late_cancel()) {
        // The hand-off rule (docs/sync/cancellation.md): a branch was handed
        // its operation but the abort came before this fiber ran.
        (void)disarm_all(b, armed, /*give_back=*/true);
        throw weft::cancelled();
      }
    }
    const std::size_t fired = disarm_all(b, armed);
    if (winner != npos) return winner;
    if (fired != npos) return fired;
    if (why == wake_reason::timeout) {
      // The earliest deadline among the armed timer branches, in poll order.
      std::size_t best = npos;
      for (std::size_t k = 0; k < n; ++k) {
        const std::size_t i = (start + k) % n;
        if ((armed & bit(i)) && b[i]->deadline() != no_deadline &&
            (best == npos || b[i]->deadline() < b[best]->deadline())) {
          best = i;
        }
      }
      if (best != npos) return best;
    }
    // Woken without a completed hand-off (a self-claim that found nobody to
    // hand to, a cancellation delivered earlier): poll again.
  }
}

}  // namespace weft::sync::detail
