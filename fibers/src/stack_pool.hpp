// SPDX-License-Identifier: MIT
// Fiber stacks: mmap'ed, lazily committed, guard page below, kept warm for
// reuse in a per-worker cache backed by a shared one (DESIGN.md section 11).
#pragma once

#include <atomic>
#include <cstddef>
#include <mutex>
#include <vector>

namespace weft::detail {

// stack is one fiber stack: [base, base + size) with the guard page (if any)
// at [base, base + guard).
struct stack {
  void* base = nullptr;
  std::size_t size = 0;   // including the guard page
  std::size_t guard = 0;  // 0 when unguarded
  void* top() const noexcept { return static_cast<char*>(base) + size; }
};

// stack_cache is a worker's private cache (no lock; owner thread only).
struct stack_cache {
  std::vector<stack> free;
};

class stack_pool {
 public:
  // stack_pool() configures stacks of `usable` bytes (rounded to pages).
  stack_pool(std::size_t usable, bool guard);
  ~stack_pool();
  stack_pool(const stack_pool&) = delete;
  stack_pool& operator=(const stack_pool&) = delete;

  // allocate() returns a stack, from `cache` (may be null) first.
  // Throws: std::system_error when mmap fails.
  stack allocate(stack_cache* cache);
  // release() returns a stack to `cache` (may be null) or the shared pool.
  void release(stack_cache* cache, const stack& s) noexcept;
  // drain() moves a worker cache back into the shared pool.
  void drain(stack_cache& cache) noexcept;

  std::size_t usable_size() const noexcept { return size_ - guard_; }
  std::uint64_t cached() const noexcept { return cached_.load(std::memory_order_relaxed); }
  std::uint64_t unguarded() const noexcept { return unguarded_.load(std::memory_order_relaxed); }

 private:
  stack map_new();
  void unmap(const stack& s) noexcept;

  std::size_t size_;          // mapping size
  std::size_t guard_;         // guard bytes (0 when off)
  std::size_t guard_budget_;  // guarded stacks allowed alive (vm.max_map_count)
  std::atomic<std::size_t> guarded_live_{0};
  std::atomic<std::uint64_t> cached_{0};
  std::atomic<std::uint64_t> unguarded_{0};
  std::mutex lock_;
  std::vector<stack> shared_;
};

}  // namespace weft::detail
