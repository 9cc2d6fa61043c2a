// SPDX-License-Identifier: MIT
// Thin wrappers over the Linux futex syscall, used to block plain threads.
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <ctime>

namespace weft::detail {

// futex_wait() blocks while *addr == expected, at most until the absolute
// CLOCK_MONOTONIC time `abs` (nullptr: no limit). Spurious returns happen.
inline void futex_wait(std::atomic<std::uint32_t>* addr, std::uint32_t expected,
                       const timespec* abs) noexcept {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(addr),
            FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, expected, abs, nullptr, FUTEX_BITSET_MATCH_ANY);
}

// futex_wake() wakes up to `n` threads blocked on addr.
inline void futex_wake(std::atomic<std::uint32_t>* addr, int n) noexcept {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(addr), FUTEX_WAKE | FUTEX_PRIVATE_FLAG, n,
            nullptr, nullptr, 0);
}

}  // namespace weft::detail
