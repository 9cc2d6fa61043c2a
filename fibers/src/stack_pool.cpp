// SPDX-License-Identifier: MIT
// stack_pool implementation.
//
// Each guarded stack is one mapping whose lowest `guard_` bytes are
// mprotect'ed PROT_NONE: two kernel VMAs. The guard costs address space
// only (no memory, no extra mapping), so it is large by default: a frame
// smaller than the guard cannot jump it. vm.max_map_count (65530 by
// default) would cap a process at ~32k such stacks, so past a budget
// derived from it new stacks come without a guard (counted in
// runtime_metrics::unguarded_stacks; see docs/scheduler.md).
//
// Freed stacks are cached, never written to (no free-list link inside the
// stack), so reuse costs no page fault. The caches are bounded: a worker
// keeps up to worker_max_, the shared cache up to shared_max_, together at
// most the builder's max_cached_stacks. A stack released above the bound
// joins `excess_`; every kTrimBatch of them are unmapped together, sorted
// by address so that stacks mapped one after another (mmap places them
// side by side) go in one munmap per run: unmapping costs a TLB shootdown
// across the workers (~100 us here), paid per run, not per stack.
#include "stack_pool.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <system_error>

namespace weft::detail {

namespace {
constexpr std::size_t kWorkerCacheMax = 256;
constexpr std::size_t kBatch = 32;       // shared -> worker refill
constexpr std::size_t kTrimBatch = 128;  // excess stacks unmapped together

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

std::size_t round_up(std::size_t n, std::size_t p) noexcept { return (n + p - 1) / p * p; }
}  // namespace

stack_pool::stack_pool(std::size_t usable, std::size_t guard, std::size_t max_cached,
                       std::size_t workers) {
  const std::size_t p = page_size();
  usable = round_up(usable, p);
  guard_ = guard ? round_up(guard, p) : 0;
  size_ = usable + guard_;
  // Leave a quarter of the map budget (and at least 8192 entries) to the
  // rest of the process; each guarded stack takes two entries.
  const std::size_t maps = read_max_map_count();
  const std::size_t reserve = std::max<std::size_t>(8192, maps / 4);
  guard_budget_ = maps > reserve ? (maps - reserve) / 2 : 0;
  // Split the bound: each worker up to kWorkerCacheMax (its share of the
  // bound at most), the rest shared.
  worker_max_ = std::min(kWorkerCacheMax, max_cached / (workers + 1));
  shared_max_ = max_cached - worker_max_ * workers;
  try {
    excess_.reserve(kTrimBatch);
  } catch (...) {
  }
}

stack_pool::~stack_pool() {
  std::vector<stack> all;
  all.swap(shared_);
  all.insert(all.end(), excess_.begin(), excess_.end());
  all.insert(all.end(), cold_.begin(), cold_.end());
  excess_.clear();
  cold_.clear();
  for (const stack& s : all) {
    ::munmap(s.base, s.size);
  }
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

void stack_pool::account_gone(const stack& s) noexcept {
  if (s.guard) {
    guarded_live_.fetch_sub(1, std::memory_order_relaxed);
  } else if (guard_ != 0) {
    unguarded_.fetch_sub(1, std::memory_order_relaxed);
  }
  returned_.fetch_add(1, std::memory_order_relaxed);
}

void stack_pool::unmap_batch(std::vector<stack>& v) noexcept {
  std::sort(v.begin(), v.end(), [](const stack& a, const stack& b) { return a.base < b.base; });
  std::vector<stack> failed;
  for (std::size_t i = 0; i < v.size();) {
    char* lo = static_cast<char*>(v[i].base);
    char* hi = lo + v[i].size;
    std::size_t j = i + 1;
    while (j < v.size() && v[j].base == hi) hi += v[j++].size;
    if (::munmap(lo, static_cast<std::size_t>(hi - lo)) == 0) {
      for (std::size_t k = i; k < j; ++k) account_gone(v[k]);
    } else {
      // ENOMEM: unmapping part of a merged mapping would split it past
      // vm.max_map_count. Give the pages back and keep the address range
      // for reuse instead (its next use faults its pages in again).
      for (std::size_t k = i; k < j; ++k) {
        const stack& s = v[k];
        ::madvise(static_cast<char*>(s.base) + s.guard, s.size - s.guard, MADV_DONTNEED);
        try {
          failed.push_back(s);
        } catch (...) {
        }
      }
    }
    i = j;
  }
  v.clear();
  if (!failed.empty()) {
    std::lock_guard<std::mutex> lk(lock_);
    try {
      cold_.insert(cold_.end(), failed.begin(), failed.end());
    } catch (...) {
    }
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
        for (std::size_t i = 0; i < kBatch && !shared_.empty() && cache->free.size() < worker_max_;
             ++i) {
          cache->free.push_back(shared_.back());
          shared_.pop_back();
        }
      }
      cached_.fetch_sub(1, std::memory_order_relaxed);
      return s;
    }
    if (!excess_.empty()) {  // about to be unmapped: reuse it instead
      stack s = excess_.back();
      excess_.pop_back();
      cached_.fetch_sub(1, std::memory_order_relaxed);
      return s;
    }
    if (!cold_.empty()) {
      stack s = cold_.back();
      cold_.pop_back();
      return s;
    }
  }
  return map_new();
}

void stack_pool::release(stack_cache* cache, const stack& s) noexcept {
  if (cache && cache->free.size() < worker_max_) {
    try {
      cache->free.push_back(s);
      cached_.fetch_add(1, std::memory_order_relaxed);
      return;
    } catch (...) {
    }
  }
  std::vector<stack> batch;
  {
    std::lock_guard<std::mutex> lk(lock_);
    try {
      if (cache && worker_max_ != 0 && cache->free.size() >= worker_max_) {
        // Hand half of the worker cache over so other workers can reuse it.
        while (cache->free.size() > worker_max_ / 2 && shared_.size() < shared_max_) {
          shared_.push_back(cache->free.back());
          cache->free.pop_back();
        }
      }
      if (shared_.size() < shared_max_) {
        shared_.push_back(s);
        cached_.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      excess_.push_back(s);
      cached_.fetch_add(1, std::memory_order_relaxed);
      if (excess_.size() < kTrimBatch) return;
      batch.swap(excess_);
      excess_.reserve(kTrimBatch);
    } catch (...) {
    }
  }
  if (batch.empty()) {
    // Could not record it anywhere (no memory): unmap it alone.
    std::vector<stack> one;
    try {
      one.push_back(s);
    } catch (...) {
      ::munmap(s.base, s.size);
      account_gone(s);
      return;
    }
    cached_.fetch_add(1, std::memory_order_relaxed);
    batch.swap(one);
  }
  cached_.fetch_sub(batch.size(), std::memory_order_relaxed);
  unmap_batch(batch);
}

void stack_pool::drain(stack_cache& cache) noexcept {
  std::vector<stack> batch;
  {
    std::lock_guard<std::mutex> lk(lock_);
    for (const stack& s : cache.free) {
      try {
        if (shared_.size() < shared_max_) {
          shared_.push_back(s);
        } else {
          batch.push_back(s);
        }
        continue;
      } catch (...) {
      }
      ::munmap(s.base, s.size);
      cached_.fetch_sub(1, std::memory_order_relaxed);
      account_gone(s);
    }
  }
  cache.free.clear();
  cached_.fetch_sub(batch.size(), std::memory_order_relaxed);
  unmap_batch(batch);
}

std::size_t stack_pool::trim() noexcept {
  trim_epoch_.fetch_add(1, std::memory_order_relaxed);
  std::vector<stack> batch;
  {
    std::lock_guard<std::mutex> lk(lock_);
    batch.swap(shared_);
    try {
      batch.insert(batch.end(), excess_.begin(), excess_.end());
      excess_.clear();
    } catch (...) {
    }
  }
  const std::size_t n = batch.size();
  cached_.fetch_sub(n, std::memory_order_relaxed);
  unmap_batch(batch);
  return n;
}

std::size_t stack_pool::trim_cache(stack_cache& cache) noexcept {
  cache.trim_seen = trim_epoch_.load(std::memory_order_relaxed);
  std::vector<stack> batch;
  batch.swap(cache.free);
  const std::size_t n = batch.size();
  cached_.fetch_sub(n, std::memory_order_relaxed);
  unmap_batch(batch);
  return n;
}

}  // namespace weft::detail
