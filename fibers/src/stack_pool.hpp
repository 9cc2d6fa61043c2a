// SPDX-License-Identifier: MIT
// Fiber stacks: mmap'ed, lazily committed, a PROT_NONE guard region below,
// kept warm for reuse in a per-worker cache backed by a shared one, up to
// a bound; what is above the bound goes back to the kernel in coalesced
// batches (docs/design.md section 10; docs/scheduler.md "Stacks").
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

namespace weft::detail {

// stack is one fiber stack: [base, base + size) with the guard region (if
// any) at [base, base + guard).
struct stack {
  void* base = nullptr;
  std::size_t size = 0;   // including the guard region
  std::size_t guard = 0;  // 0 when unguarded
  void* top() const noexcept { return static_cast<char*>(base) + size; }
};

// stack_cache is a worker's private cache (no lock; owner thread only).
struct stack_cache {
  std::vector<stack> free;
  std::uint64_t trim_seen = 0;  // the pool's trim epoch this cache has honoured
};

class stack_pool {
 public:
  // stack_pool() configures stacks of `usable` bytes and a guard region of
  // `guard` bytes below each (both rounded up to pages; 0: no guard), and
  // keeps at most `max_cached` freed stacks warm across `workers` worker
  // caches and the shared one.
  stack_pool(std::size_t usable, std::size_t guard, std::size_t max_cached, std::size_t workers);
  ~stack_pool();
  stack_pool(const stack_pool&) = delete;
  stack_pool& operator=(const stack_pool&) = delete;

  // allocate() returns a stack, from `cache` (may be null) first.
  // Throws: std::system_error when mmap fails.
  stack allocate(stack_cache* cache);
  // release() returns a stack to `cache` (may be null) or the shared pool;
  // past the bound it is returned to the kernel (in batches).
  void release(stack_cache* cache, const stack& s) noexcept;
  // drain() moves a worker cache back into the shared pool (bounded).
  void drain(stack_cache& cache) noexcept;

  // trim() returns the shared cache and the pending batch to the kernel now
  // and asks every worker to return its own cache (trim_due()); returns
  // how many stacks it unmapped itself.
  std::size_t trim() noexcept;
  // trim_due() is true when `cache` has a trim() to honour; trim_cache()
  // (owner thread) returns the whole cache to the kernel.
  bool trim_due(const stack_cache& cache) const noexcept {
    return cache.trim_seen != trim_epoch_.load(std::memory_order_relaxed);
  }
  std::size_t trim_cache(stack_cache& cache) noexcept;

  std::size_t usable_size() const noexcept { return size_ - guard_; }
  std::size_t guard_size() const noexcept { return guard_; }
  std::uint64_t cached() const noexcept { return cached_.load(std::memory_order_relaxed); }
  std::uint64_t unguarded() const noexcept { return unguarded_.load(std::memory_order_relaxed); }
  std::uint64_t returned() const noexcept { return returned_.load(std::memory_order_relaxed); }

 private:
  stack map_new();
  // unmap_batch() unmaps `v` (sorting it), one munmap per run of adjacent
  // stacks: one TLB shootdown per run instead of one per stack.
  void unmap_batch(std::vector<stack>& v) noexcept;
  void account_gone(const stack& s) noexcept;

  std::size_t size_;          // mapping size
  std::size_t guard_;         // guard bytes (0 when off)
  std::size_t guard_budget_;  // guarded stacks allowed alive (vm.max_map_count)
  std::size_t worker_max_;    // per-worker cache bound
  std::size_t shared_max_;    // shared cache bound
  std::atomic<std::size_t> guarded_live_{0};
  std::atomic<std::uint64_t> cached_{0};
  std::atomic<std::uint64_t> unguarded_{0};
  std::atomic<std::uint64_t> returned_{0};
  std::atomic<std::uint64_t> trim_epoch_{0};
  std::mutex lock_;
  std::vector<stack> shared_;  // guarded by lock_
  std::vector<stack> excess_;  // guarded by lock_: above the bound, awaiting unmap_batch
  std::vector<stack> cold_;    // guarded by lock_: kept mapped (pages dropped) when munmap failed
};

}  // namespace weft::detail
