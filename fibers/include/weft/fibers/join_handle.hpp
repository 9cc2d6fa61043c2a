// SPDX-License-Identifier: MIT
// weft::join_handle<T>: the owner's view of a spawned fiber or blocking job.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "weft/fibers/config.hpp"
#include "weft/fibers/detail/task.hpp"

namespace weft {

// join_error is what join() throws when the task did not return a value.
// For a panicked task the task's own exception is nested: call
// rethrow_nested() (it derives from std::nested_exception), like
// std::future::get would rethrow it.
class join_error : public std::runtime_error, public std::nested_exception {
 public:
  enum class kind { panicked, cancelled };

  // join_error() describes task `id` (`name` may be empty); `cause` is the
  // task's exception described (see what()), empty when cancelled.
  join_error(kind k, std::uint64_t id, const std::string& name, std::string_view cause = {});

  // what() is "weft: task 3 'loader' panicked: std::runtime_error: disk
  // full" (the exception's type and message), or "... was cancelled".

  // is_cancelled() is true when the task was aborted or shut down.
  bool is_cancelled() const noexcept { return kind_ == kind::cancelled; }
  // is_panic() is true when the task threw; the exception is nested.
  bool is_panic() const noexcept { return kind_ == kind::panicked; }
  // task_kind() says which.
  kind task_kind() const noexcept { return kind_; }
  // task_id() is the id of the failed task.
  std::uint64_t task_id() const noexcept { return id_; }

 private:
  kind kind_;
  std::uint64_t id_;
};

// join_handle<T> owns the right to await a task's outcome. Dropping it
// detaches the task (it keeps running). Move-only.
template <class T>
class join_handle {
 public:
  join_handle() noexcept = default;
  explicit join_handle(detail::task_ptr<detail::task<T>> t) noexcept : t_(std::move(t)) {}
  join_handle(join_handle&&) noexcept = default;
  join_handle& operator=(join_handle&& o) noexcept {
    if (this != &o) {
      detach();
      t_ = std::move(o.t_);
    }
    return *this;
  }
  // Dropping a handle detaches the task: an exception it throws is then
  // handled by the runtime's unhandled_exception_policy.
  ~join_handle() { detach(); }

  // join() waits for the task and returns its value.
  // Blocks: parks the calling fiber (or blocks the calling plain thread).
  // Errors: throws join_error (panicked, with the task's exception nested;
  //   or cancelled). Throws weft::cancelled if the *caller* is cancelled
  //   while waiting (the handle stays valid then). std::logic_error when the
  //   handle is empty (default-constructed, moved-from or already joined).
  T join() {
    require();
    t_->join_wait();
    auto t = std::move(t_);
    t->rethrow_outcome();
    return t->take();
  }

  // is_finished() is true once the task has completed (any outcome).
  bool is_finished() const noexcept { return t_ && t_->is_finished(); }

  // abort() cancels the task (docs/design.md section 6): its current or next weft
  // suspension point throws weft::cancelled; join() then reports cancelled.
  // A task that already finished is unaffected.
  void abort() noexcept {
    if (t_) t_->abort();
  }

  // valid() is true while the handle refers to a task that was not joined.
  bool valid() const noexcept { return static_cast<bool>(t_); }

  // id() is the task's runtime-unique id (0 for an empty handle).
  std::uint64_t id() const noexcept { return t_ ? t_->id() : 0; }

  // detach() lets the task run on without a handle (same as destruction).
  // Nobody can observe its outcome any more: an exception it threw or will
  // throw goes to the runtime's unhandled_exception_policy (reported
  // through the log sink by default).
  void detach() noexcept {
    if (t_) {
      t_->drop_handle();
      t_ = {};
    }
  }

  // Internal: the task record.
  detail::task<T>* task() const noexcept { return t_.get(); }

 private:
  void require() const {
    if (!t_) throw std::logic_error("weft::join_handle: empty handle (moved-from or joined)");
  }
  detail::task_ptr<detail::task<T>> t_;
};

}  // namespace weft
