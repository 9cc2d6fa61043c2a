// SPDX-License-Identifier: MIT
// timer_shard: a locked binary min-heap of waiters with deadlines. Each
// worker owns one shard (its fibers insert there); any thread may remove an
// entry or fire a shard: the owner fires it, and so does every parked or
// idle worker (a busy owner never holds its timers hostage), see worker.cpp.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "weft/fibers/detail/waiter.hpp"

namespace weft::detail {

class worker;

class timer_shard {
 public:
  // set_owner() names the worker whose fibers insert here: an insert that
  // makes an earlier next deadline tells the owner's runtime, so a parked
  // worker sleeping past it wakes (runtime_core::earlier_timer).
  void set_owner(worker* w) noexcept { owner_ = w; }
  // insert() arms w.timer for `deadline`.
  void insert(waiter& w, std::int64_t deadline);
  // remove() disarms w.timer if it is still armed in this shard.
  void remove(waiter& w) noexcept;
  // fire_due() wakes (reason timeout) every waiter whose deadline <= now.
  // Returns how many were woken.
  std::size_t fire_due(std::int64_t now) noexcept;
  // next_deadline() is the earliest armed deadline (no_deadline if none).
  // (seq_cst, with publish_next(): a parking worker publishes its deadline
  // and then reads the shards, an inserter publishes and then reads the
  // parked deadlines, so one of them sees the other.)
  std::int64_t next_deadline() const noexcept { return next_.load(std::memory_order_seq_cst); }
  std::size_t size() const noexcept;

 private:
  void sift_up(std::uint32_t i) noexcept;
  void sift_down(std::uint32_t i) noexcept;
  void erase_at(std::uint32_t i) noexcept;
  void publish_next() noexcept {
    next_.store(heap_.empty() ? no_deadline : heap_.front()->timer.deadline,
                std::memory_order_seq_cst);
  }

  mutable spin_lock lock_;
  worker* owner_ = nullptr;
  std::vector<waiter*> heap_;
  std::atomic<std::int64_t> next_{no_deadline};
};

}  // namespace weft::detail
