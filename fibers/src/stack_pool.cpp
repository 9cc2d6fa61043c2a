// SPDX-License-Identifier: MIT
// stack_pool implementation.
//
// Each guarded stack is its own mapping plus an mprotect'ed guard page: two
// kernel VMAs. vm.max_map_count (65530 by default) would cap a process at
// ~32k such stacks, so past a budget derived from it new stacks come
// without a guard page (counted in runtime_metrics::unguarded_stacks; see
// docs/scheduler.md). Freed stacks are cached, never written to (no free-list
// link inside the stack), so reuse costs no page fault.
#include "stack_pool.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <limits>
#include <system_error>

namespace weft::detail {

namespace {
constexpr std::size_t kWorkerCacheMax = 256;
constexpr std::size_t kBatch = 32;
// The shared cache keeps every freed stack until the runtime is destroyed:
// unmapping one costs a TLB shootdown across the workers (~100 us here),
// and releasing 50k parked fibers with a cap of 8192 took 9.6 s. A runtime
// therefore keeps the stacks of its peak fiber count (their touched pages).
constexpr std::size_t kSharedMax = std::numeric_limits<std::size_t>::max();

std::size_t page_size() noexcept {
  static const std::size_t p = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return p;
}

std::size_t read_max_map_count() noexcept {
  std::size_t v = 65530;
  if (FILE* f = std::fopen("/proc/sys/vm/max_map_count", "r")) {
    unsigned long x = 0;
    if (std::fscanf(f, "%lu", &x) == 1 && x > 0) v = x;
    std::fclose(f);
  }
  return v;
}
}  // namespace

stack_pool::stack_pool(std::size_t usable, bool guard) {
  const std::size_t p = page_size();
  usable = (usable + p - 1) / p * p;
  guard_ = guard ? p : 0;
  size_ = usable + guard_;
  // Leave a quarter of the map budget (and at least 8192 entries) to the
  // rest of the process; each guarded stack takes two entries.
  const std::size_t maps = read_max_map_count();
  const std::size_t reserve = std::max<std::size_t>(8192, maps / 4);
  guard_budget_ = maps > reserve ? (maps - reserve) / 2 : 0;
}

stack_pool::~stack_pool() {
  for (const stack& s : shared_) unmap(s);
}

stack stack_pool::map_new() {
  bool guarded = guard_ != 0;
  if (guarded && guarded_live_.fetch_add(1, std::memory_order_relaxed) >= guard_budget_) {
    guarded_live_.fetch_sub(1, std::memory_order_relaxed);
    guarded = false;
  }
  const std::size_t len = guarded ? size_ : size_ - guard_;
  void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (p == MAP_FAILED) {
    if (guarded) guarded_live_.fetch_sub(1, std::memory_order_relaxed);
    throw std::system_error(errno, std::generic_category(), "weft: cannot map a fiber stack");
  }
  stack s{p, len, 0};
  if (guarded) {
    if (::mprotect(p, guard_, PROT_NONE) == 0) {
      s.guard = guard_;
    } else {
      guarded_live_.fetch_sub(1, std::memory_order_relaxed);
      unguarded_.fetch_add(1, std::memory_order_relaxed);
    }
  } else if (guard_ != 0) {
    unguarded_.fetch_add(1, std::memory_order_relaxed);
  }
  return s;
}

void stack_pool::unmap(const stack& s) noexcept {
  ::munmap(s.base, s.size);
  if (s.guard) {
    guarded_live_.fetch_sub(1, std::memory_order_relaxed);
  } else if (guard_ != 0) {
    unguarded_.fetch_sub(1, std::memory_order_relaxed);
  }
}

stack stack_pool::allocate(stack_cache* cache) {
  if (cache && !cache->free.empty()) {
    stack s = cache->free.back();
    cache->free.pop_back();
    cached_.fetch_sub(1, std::memory_order_relaxed);
    return s;
  }
  {
    std::lock_guard<std::mutex> lk(lock_);
    if (!shared_.empty()) {
      stack s = shared_.back();
      shared_.pop_back();
      if (cache) {
        for (std::size_t i = 0; i < kBatch && !shared_.empty(); ++i) {
          cache->free.push_back(shared_.back());
          shared_.pop_back();
        }
      }
      cached_.fetch_sub(1, std::memory_order_relaxed);
      return s;
    }
  }
  return map_new();
}

void stack_pool::release(stack_cache* cache, const stack& s) noexcept {
  if (cache && cache->free.size() < kWorkerCacheMax) {
    try {
      cache->free.push_back(s);
      cached_.fetch_add(1, std::memory_order_relaxed);
      return;
    } catch (...) {
    }
  }
  std::lock_guard<std::mutex> lk(lock_);
  try {
    if (cache && cache->free.size() >= kWorkerCacheMax) {
      // Hand half of the worker cache over so other workers can reuse it.
      while (cache->free.size() > kWorkerCacheMax / 2 && shared_.size() < kSharedMax) {
        shared_.push_back(cache->free.back());
        cache->free.pop_back();
      }
    }
    if (shared_.size() < kSharedMax) {
      shared_.push_back(s);
      cached_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
  } catch (...) {
  }
  unmap(s);
}

void stack_pool::drain(stack_cache& cache) noexcept {
  std::lock_guard<std::mutex> lk(lock_);
  for (const stack& s : cache.free) {
    if (shared_.size() < kSharedMax) {
      try {
        shared_.push_back(s);
        continue;
      } catch (...) {
      }
    }
    cached_.fetch_sub(1, std::memory_order_relaxed);
    unmap(s);
  }
  cache.free.clear();
}

}  // namespace weft::detail
