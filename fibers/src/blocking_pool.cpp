// SPDX-License-Identifier: MIT
// blocking_pool implementation. Pool threads are detached; shutdown() waits
// for their count to reach zero so no thread outlives the pool.
#include "blocking_pool.hpp"

#include <pthread.h>

#include <system_error>
#include <thread>

namespace weft::detail {

blocking_pool::blocking_pool(std::size_t max_threads, std::chrono::milliseconds keep_alive,
                             std::string name)
    : max_(max_threads), keep_alive_(keep_alive), name_(std::move(name)) {}

blocking_pool::~blocking_pool() { shutdown(); }

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
  std::unique_lock<std::mutex> lk(lock_);
  for (;;) {
    while (!queue_.empty()) {
      task_base* t = queue_.front();
      queue_.pop_front();
      lk.unlock();
      t->execute();
      t->release();
      in_flight_.fetch_sub(1, std::memory_order_acq_rel);
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

void blocking_pool::shutdown() noexcept {
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
  exited_.wait(lk, [&] { return threads_ == 0; });
}

std::size_t blocking_pool::threads() const {
  std::lock_guard<std::mutex> lk(lock_);
  return threads_;
}
std::size_t blocking_pool::idle() const {
  std::lock_guard<std::mutex> lk(lock_);
  return idle_;
}
std::size_t blocking_pool::queued() const {
  std::lock_guard<std::mutex> lk(lock_);
  return queue_.size();
}

}  // namespace weft::detail
