// SPDX-License-Identifier: MIT
// weft::join_set<T>: a set of tasks awaited in completion order.
#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <variant>

#include "weft/fibers/config.hpp"
#include "weft/fibers/detail/task.hpp"
#include "weft/fibers/detail/wait_util.hpp"
#include "weft/fibers/runtime.hpp"

namespace weft {

namespace detail {
// join_set_state is shared by a join_set and its tasks' completion hooks.
class join_set_state final : public completion_listener {
 public:
  void add_ref() noexcept override { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept override {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
  void on_complete(task_base* t) noexcept override {
    spin_guard lk(lock_);
    if (pending_.erase(t) == 0) return;  // already detached from the set
    done_.push_back(t);                  // the reference moves along
    wake_token w = waiters_.wake_one();
    if (limit_ != 0) room_waiters_.wake_all();  // the owner's spawn, if it waits
  }

  // wait_for_room() waits while `limit_` tasks of the set are running
  // (join_set::set_limit). One owner spawns at a time, so the room found
  // is still there when track() follows.
  void wait_for_room() {
    spin_guard lk(lock_);
    while (limit_ != 0 && pending_.size() >= limit_) {
      wait_label label("join_set::spawn (at its limit)", this);
      waiter w;
      wait_list::node n(w);
      (void)park_node(room_waiters_, n, lk, no_deadline);  // a wake-all: nothing to give back
    }
  }

  // track() adds a task (one reference is adopted).
  void track(task_base* t) {
    spin_guard lk(lock_);
    pending_.insert(t);
  }

  void set_limit(std::size_t n) noexcept {
    spin_guard lk(lock_);
    limit_ = n;
    room_waiters_.wake_all();
  }
  std::size_t limit() const noexcept {
    spin_guard lk(lock_);
    return limit_;
  }
  std::size_t running() const noexcept {
    spin_guard lk(lock_);
    return pending_.size();
  }

  // untrack() removes a task that could not be started (drops its reference).
  void untrack(task_base* t) noexcept {
    {
      spin_guard lk(lock_);
      pending_.erase(t);
    }
    t->release();
  }

  // next() waits for a completed task; nullptr when the set is empty.
  task_base* next() {
    spin_guard lk(lock_);
    for (;;) {
      if (!done_.empty()) {
        task_base* t = done_.front();
        done_.pop_front();
        return t;
      }
      if (pending_.empty()) return nullptr;
      wait_label label("join_set::join_next", this);
      waiter w;
      wait_list::node n(w);
      waiters_.push_back(n);
      try {
        w.park(&lk);
      } catch (...) {
        spin_guard g(lock_);
        waiters_.remove(n);
        throw;
      }
      lk.lock();
      waiters_.remove(n);
    }
  }

  // try_next() is next() without waiting.
  task_base* try_next() {
    spin_guard lk(lock_);
    if (done_.empty()) return nullptr;
    task_base* t = done_.front();
    done_.pop_front();
    return t;
  }

  void abort_all() noexcept {
    spin_guard lk(lock_);
    for (task_base* t : pending_) t->abort();
  }

  // detach_all() forgets every task (they keep running, or finish aborted);
  // their handles are dropped outside the lock (a drop may log).
  void detach_all() noexcept {
    std::unordered_set<task_base*> pending;
    std::deque<task_base*> done;
    {
      spin_guard lk(lock_);
      pending.swap(pending_);
      done.swap(done_);
      room_waiters_.wake_all();
    }
    for (task_base* t : pending) {
      t->drop_handle();
      t->release();
    }
    for (task_base* t : done) {
      t->drop_handle();
      t->release();
    }
  }

  std::size_t size() const noexcept {
    spin_guard lk(lock_);
    return pending_.size() + done_.size();
  }

 private:
  ~join_set_state() = default;
  std::atomic<std::uint32_t> refs_{1};
  mutable spin_lock lock_;
  std::unordered_set<task_base*> pending_;
  std::deque<task_base*> done_;
  wait_list waiters_;
  std::size_t limit_ = 0;    // 0: unbounded
  wait_list room_waiters_;  // spawns waiting for a running task to finish
};
}  // namespace detail

// join_set<T> owns a group of tasks returning T and yields their outcomes in
// completion order. Destroying it aborts every task still in it (they are not
// waited for). Thread-safety: one owner at a time, like a container.
template <class T>
class join_set {
 public:
  // value_type is what join_next() yields (std::monostate for void tasks).
  using value_type = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

  join_set() : state_(new detail::join_set_state) {}
  explicit join_set(handle h) : join_set() { h_ = std::move(h); }
  join_set(const join_set&) = delete;
  join_set& operator=(const join_set&) = delete;
  join_set(join_set&& o) noexcept : state_(std::exchange(o.state_, nullptr)), h_(std::move(o.h_)) {}
  ~join_set() {
    if (state_) {
      state_->abort_all();
      state_->detach_all();
      state_->release();
    }
  }

  // spawn() starts f(args...) on the set's runtime (the one given at
  // construction, else the current one) and adds it to the set. spawn(f)
  // records the call's site, as weft::spawn does.
  // Blocks: with a limit set (set_limit), parks the caller while that many
  //   of the set's tasks are still running, until one finishes.
  // Errors: no_runtime_error without a runtime; weft::cancelled if the
  //   caller is cancelled while waiting for room (f is not started).
  template <class F>
  void spawn(F&& f, std::source_location site = std::source_location::current()) {
    spawn_impl(site, std::forward<F>(f));
  }
  template <class F, detail::not_site A0, class... A>
  void spawn(F&& f, A0&& a0, A&&... a) {
    spawn_impl(std::source_location{}, std::forward<F>(f), std::forward<A0>(a0),
               std::forward<A>(a)...);
  }

 private:
  template <class F, class... A>
  void spawn_impl(const std::source_location& site, F&& f, A&&... a) {
    detail::runtime_core& core = h_ ? h_->core() : detail::require_current_core();
    auto fn = detail::bind_call(std::forward<F>(f), std::forward<A>(a)...);
    static_assert(std::is_same_v<detail::call_result_t<decltype(fn)>, T>,
                  "join_set<T>::spawn: the function must return T");
    state_->wait_for_room();
    auto* t = new detail::task_impl<T, decltype(fn)>(std::move(fn));
    t->set_site(site);
    t->set_listener(state_);
    t->add_ref();  // the set's reference
    state_->track(t);
    try {
      detail::submit(core, t, detail::spawn_kind::fiber);
    } catch (...) {
      state_->untrack(t);
      throw;
    }
  }

 public:
  // join_next() waits for the next task to complete and returns its value;
  // an empty optional when the set is empty.
  // Blocks: parks the calling fiber (or thread).
  // Errors: throws join_error for a panicked or aborted task (the task is
  //   removed from the set; call join_next() again for the others).
  //   weft::cancelled if the caller is cancelled while waiting.
  std::optional<value_type> join_next() { return take(state_->next()); }

  // try_join_next() is join_next() without waiting: empty when no task has
  // completed yet.
  std::optional<value_type> try_join_next() { return take(state_->try_next()); }

  // set_limit() bounds how many of the set's tasks run at once (0, the
  // default: no bound): spawn() waits for one to finish when `n` are
  // running. Finished tasks waiting to be joined do not count. This is the
  // fix for unbounded spawning (docs/diagnostics.md "Common mistakes"):
  //   weft::join_set<void> set;
  //   set.set_limit(64);
  //   for (auto& c : conns) set.spawn([&c] { serve(c); });  // at most 64 at once
  // Lowering the limit never stops tasks already running.
  void set_limit(std::size_t n) noexcept { state_->set_limit(n); }
  std::size_t limit() const noexcept { return state_->limit(); }
  // running() is the number of the set's tasks not yet finished.
  std::size_t running() const noexcept { return state_->running(); }

  // abort_all() aborts every task in the set; they stay in it until joined.
  void abort_all() noexcept { state_->abort_all(); }

  // size() is the number of tasks in the set (running or completed, not yet
  // joined).
  std::size_t size() const noexcept { return state_->size(); }
  // empty() is size() == 0.
  bool empty() const noexcept { return size() == 0; }

 private:
  std::optional<value_type> take(detail::task_base* raw) {
    if (!raw) return std::nullopt;
    detail::task_ptr<detail::task<T>> t(static_cast<detail::task<T>*>(raw));
    t->rethrow_outcome();
    if constexpr (std::is_void_v<T>) {
      return std::monostate{};
    } else {
      return t->take();
    }
  }

  detail::join_set_state* state_;
  std::optional<handle> h_;
};

}  // namespace weft
