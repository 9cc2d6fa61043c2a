// SPDX-License-Identifier: MIT
// blocking_pool implementation. Pool threads are detached; shutdown() waits
// for their count to reach zero so no thread outlives the pool.
#include "blocking_pool.hpp"

#include <pthread.h>

#include <system_error>
#include <thread>

#include "clock.hpp"
#include "runtime_core.hpp"
#include "thread_state.hpp"

namespace weft::detail {

blocking_pool::blocking_pool(runtime_core& owner, std::size_t max_threads,
                             std::chrono::milliseconds keep_alive, std::string name)
    : owner_(owner), max_(max_threads), keep_alive_(keep_alive), name_(std::move(name)) {}

blocking_pool::~blocking_pool() { shutdown(no_deadline); }

void blocking_pool::submit(task_base* t) {
  std::unique_lock<std::mutex> lk(lock_);
  if (shutdown_) {
    lk.unlock();
    t->finish_cancelled();
    t->release();
    return;
  }
  queue_.push_back(t);
  in_flight_.fetch_add(1, std::memory_order_acq_rel);
  // idle_ counts threads waiting for work right now; start a thread when
  // there are more queued jobs than idle threads to take them.
  if (idle_ > 0) cv_.notify_one();
  if (queue_.size() > idle_ && threads_ < max_) {
    try {
      std::thread th([this] { run(); });
      th.detach();
      ++threads_;
    } catch (...) {
      if (threads_ == 0) {
        queue_.pop_back();
        in_flight_.fetch_sub(1, std::memory_order_acq_rel);
        throw;
      }
      // Other threads exist: the job waits for one of them.
    }
  }
}

void blocking_pool::run() noexcept {
  {
    std::string n = name_.substr(0, 11) + "-blk";
    ::pthread_setname_np(::pthread_self(), n.c_str());
  }
  // The job runs in its runtime's context (Tokio's spawn_blocking does
  // too): code moved here on the porting path still reaches the runtime.
  tls().blocking = &owner_;
  std::unique_lock<std::mutex> lk(lock_);
  for (;;) {
    while (!queue_.empty()) {
      task_base* t = queue_.front();
      queue_.pop_front();
      t->reg_prev_ = nullptr;
      t->reg_next_ = running_;
      if (running_) running_->reg_prev_ = t;
      running_ = t;
      ++started_;
      lk.unlock();
      t->execute();
      lk.lock();
      (t->reg_prev_ ? t->reg_prev_->reg_next_ : running_) = t->reg_next_;
      if (t->reg_next_) t->reg_next_->reg_prev_ = t->reg_prev_;
      lk.unlock();
      t->release();
      if (in_flight_.fetch_sub(1, std::memory_order_acq_rel) == 1) owner_.blocking_idle();
      lk.lock();
    }
    if (shutdown_) break;
    ++idle_;
    const bool work = cv_.wait_for(lk, keep_alive_, [&] { return !queue_.empty() || shutdown_; });
    --idle_;
    if (!work) break;  // idle for the whole keep-alive: retire
  }
  if (--threads_ == 0) exited_.notify_all();
}

bool blocking_pool::shutdown(std::int64_t deadline) noexcept {
  std::unique_lock<std::mutex> lk(lock_);
  shutdown_ = true;
  std::deque<task_base*> dropped;
  dropped.swap(queue_);
  cv_.notify_all();
  lk.unlock();
  for (task_base* t : dropped) {
    t->finish_cancelled();
    t->release();
    in_flight_.fetch_sub(1, std::memory_order_acq_rel);
  }
  lk.lock();
  if (deadline == no_deadline) {
    exited_.wait(lk, [&] { return threads_ == 0; });
    return true;
  }
  // A steady-clock wait: the deadline is steady ns (CLOCK_MONOTONIC).
  const auto until = std::chrono::steady_clock::time_point(std::chrono::nanoseconds(deadline));
  return exited_.wait_until(lk, until, [&] { return threads_ == 0; });
}

blocking_pool::stats_t blocking_pool::stats() const {
  std::lock_guard<std::mutex> lk(lock_);
  return {threads_, idle_, queue_.size(), started_};
}

}  // namespace weft::detail
