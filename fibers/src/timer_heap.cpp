// SPDX-License-Identifier: MIT
// timer_shard implementation. Claims happen under the shard lock; the woken
// waiters are resumed after it is released (waiter.hpp protocol).
#include "timer_heap.hpp"

#include <utility>

#include "runtime_core.hpp"

namespace weft::detail {

void timer_shard::sift_up(std::uint32_t i) noexcept {
  waiter* w = heap_[i];
  while (i > 0) {
    std::uint32_t p = (i - 1) / 2;
    if (heap_[p]->timer.deadline <= w->timer.deadline) break;
    heap_[i] = heap_[p];
    heap_[i]->timer.heap_index = i;
    i = p;
  }
  heap_[i] = w;
  w->timer.heap_index = i;
}

void timer_shard::sift_down(std::uint32_t i) noexcept {
  const std::uint32_t n = static_cast<std::uint32_t>(heap_.size());
  waiter* w = heap_[i];
  for (;;) {
    std::uint32_t c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && heap_[c + 1]->timer.deadline < heap_[c]->timer.deadline) ++c;
    if (w->timer.deadline <= heap_[c]->timer.deadline) break;
    heap_[i] = heap_[c];
    heap_[i]->timer.heap_index = i;
    i = c;
  }
  heap_[i] = w;
  w->timer.heap_index = i;
}

void timer_shard::erase_at(std::uint32_t i) noexcept {
  waiter* gone = heap_[i];
  gone->timer.shard = nullptr;
  waiter* last = heap_.back();
  heap_.pop_back();
  if (gone != last) {
    heap_[i] = last;
    last->timer.heap_index = i;
    sift_down(i);
    sift_up(last->timer.heap_index);
  }
}

void timer_shard::insert(waiter& w, std::int64_t deadline) {
  bool earlier;
  {
    spin_guard lk(lock_);
    w.timer.deadline = deadline;
    w.timer.shard = this;
    heap_.push_back(&w);
    sift_up(static_cast<std::uint32_t>(heap_.size() - 1));
    earlier = heap_.front() == &w;
    publish_next();
  }
  // Called on the owner's thread, maybe under a primitive's lock: the owner
  // passes the news on once the parking fiber has switched out.
  if (earlier && owner_) owner_->note_earlier_timer(deadline);
}

void timer_shard::remove(waiter& w) noexcept {
  spin_guard lk(lock_);
  if (w.timer.shard != this) return;
  erase_at(w.timer.heap_index);
  publish_next();
}

std::size_t timer_shard::fire_due(std::int64_t now) noexcept {
  if (next_deadline() > now) return 0;
  std::size_t fired = 0;
  for (;;) {
    // Claim a batch under the lock, resume it outside.
    constexpr int kBatch = 64;
    wake_token tokens[kBatch];
    int n = 0;
    {
      spin_guard lk(lock_);
      while (n < kBatch && !heap_.empty() && heap_.front()->timer.deadline <= now) {
        waiter* w = heap_.front();
        erase_at(0);
        wake_token t = w->claim(wake_reason::timeout);
        if (t) tokens[n++] = std::move(t);
      }
      publish_next();
      if (n == 0) return fired;
    }
    for (int i = 0; i < n; ++i) tokens[i].resume();
    fired += static_cast<std::size_t>(n);
    if (n < kBatch) return fired;
  }
}

std::size_t timer_shard::size() const noexcept {
  spin_guard lk(lock_);
  return heap_.size();
}

}  // namespace weft::detail
