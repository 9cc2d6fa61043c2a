// SPDX-License-Identifier: MIT
// The shared state behind a spawned fiber or blocking job and its join_handle.
// Internal to weft; needed by the join_handle/spawn templates.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <new>
#include <optional>
#include <source_location>
#include <string>
#include <type_traits>
#include <utility>

#include "weft/fibers/config.hpp"
#include "weft/fibers/detail/wait_label.hpp"
#include "weft/fibers/detail/waiter.hpp"

namespace weft::detail {

class runtime_core;
class task_base;
class logger;

// cancel_scope is one active timeout() on a fiber or thread: every weft wait
// inside it ends at `deadline_ns` at the latest, by throwing cancelled{this}.
struct cancel_scope {
  std::int64_t deadline_ns = no_deadline;
  cancel_scope* parent = nullptr;
  bool fired = false;  // delivered once; later waits ignore it
};

// cancel_context is what a wait consults: the enclosing scopes and, on a
// weft fiber, the task (whose abort cancels it).
struct cancel_context {
  cancel_scope* scopes = nullptr;
  task_base* task = nullptr;

  // earliest_deadline() is the smallest deadline of the unfired scopes.
  std::int64_t earliest_deadline() const noexcept {
    std::int64_t d = no_deadline;
    for (const cancel_scope* s = scopes; s; s = s->parent) {
      if (!s->fired && s->deadline_ns < d) d = s->deadline_ns;
    }
    return d;
  }
};

// current_cancel_context() is the calling fiber's (or plain thread's) context.
cancel_context& current_cancel_context() noexcept;

// completion_listener hears when a task completes (join_set uses it).
class completion_listener {
 public:
  virtual void on_complete(task_base* t) noexcept = 0;
  virtual void add_ref() noexcept = 0;
  virtual void release() noexcept = 0;

 protected:
  ~completion_listener() = default;
};

// outcome says how a task ended.
enum class outcome : std::uint8_t { pending, value, exception, cancelled };

// task_base is the type-erased, reference-counted task record.
class task_base {
 public:
  // Task records come from per-thread size-class caches (task_alloc.cpp):
  // a spawn then costs no malloc and no page fault once warm.
  static void* operator new(std::size_t size);
  static void operator delete(void* p, std::size_t size) noexcept;

  task_base(const task_base&) = delete;
  task_base& operator=(const task_base&) = delete;

  void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  // is_finished() is true once the task has an outcome.
  bool is_finished() const noexcept { return done_.load(std::memory_order_acquire); }

  // abort() requests cancellation (docs/design.md section 6); it wakes the task
  // if it is parked in a weft wait. A task that has not started never runs.
  void abort() noexcept;

  // join_wait() blocks the caller until the task has finished.
  // Throws: weft::cancelled if the *calling* fiber is cancelled meanwhile.
  void join_wait();

  // link_joiner() links `n` to be woken when the task finishes (a select
  // waiting on a join handle); returns false, linking nothing, when it has
  // finished already.
  bool link_joiner(wait_list::node& n) noexcept;
  // unlink_joiner() unlinks `n` if still linked; returns whether the
  // completion fired through it.
  bool unlink_joiner(wait_list::node& n) noexcept;

  // rethrow_outcome() throws join_error for panicked/cancelled tasks.
  void rethrow_outcome() const;

  // drop_handle() says the owner gave the task up without joining it (a
  // join_handle dropped or detached, a join_set destroyed): an exception it
  // threw or will throw can never be observed, so the runtime's
  // unhandled-exception policy applies (once).
  void drop_handle() noexcept;

  // set_listener() installs the join_set listener (before the task starts).
  void set_listener(completion_listener* l) noexcept;

  std::uint64_t id() const noexcept { return id_; }
  const std::string& name() const noexcept { return name_ ? *name_ : empty_name(); }
  // set_name() names the task (before it starts); an unnamed task costs one
  // pointer, not a std::string, in every task record.
  void set_name(std::string n) {
    if (!n.empty()) name_ = std::make_unique<std::string>(std::move(n));
  }
  outcome result_kind() const noexcept { return outcome_; }
  // site() is where the task was spawned (file "" and line 0 when the spawn
  // call could not record it: a spawn with arguments, see spawn.hpp).
  const std::source_location& site() const noexcept { return site_; }
  void set_site(const std::source_location& s) noexcept { site_ = s; }
  static const std::string& empty_name() noexcept {
    static const std::string empty;
    return empty;
  }

  // Internal: run by the runtime on the task's fiber / blocking thread.
  void execute() noexcept;
  // Internal: finish a task that never ran (cancelled before start, shutdown).
  void finish_cancelled() noexcept;

  // (seq_cst: pairs with the registration of current_waiter_, Dekker-style.)
  bool cancel_requested() const noexcept {
    return cancel_requested_.load(std::memory_order_seq_cst);
  }
  // take_cancel() returns true once per requested cancellation (delivery).
  bool take_cancel() noexcept {
    return cancel_requested() && !cancel_delivered_.exchange(true, std::memory_order_acq_rel);
  }
  bool cancel_delivered() const noexcept {
    return cancel_delivered_.load(std::memory_order_acquire);
  }
  // set_pinned() pins or unpins the task while it runs (the hook layer
  // holds a fiber on its thread during a hooked call: hook_support.hpp);
  // returns the previous setting. Call only from the task itself.
  bool set_pinned(bool on) noexcept { return std::exchange(pinned_, on); }
  // redeliver_cancel() makes a delivered abort due again, so the task's
  // next weft suspension point throws it once more (the hook layer turns a
  // cancellation into an error return at a C boundary: detail/hook_support.hpp).
  void redeliver_cancel() noexcept {
    if (cancel_requested()) cancel_delivered_.store(false, std::memory_order_release);
  }

  // The task's lock guards joiners_ and listener_.
  spin_lock lock_;
  // current_waiter_ is the waiter the task is parked in, for abort(). An
  // aborter counts itself in aborters_, takes the pointer with exchange()
  // and claims; a parked fiber that finds the pointer taken when it
  // unregisters waits for aborters_ to drop to zero before its waiter dies
  // (waiter.cpp). No lock: parking costs two atomic exchanges, not two locks.
  std::atomic<waiter*> current_waiter_{nullptr};
  std::atomic<std::uint32_t> aborters_{0};
  cancel_context cancel_ctx_;
  runtime_core* core_ = nullptr;
  std::unique_ptr<std::string> name_;
  std::source_location site_{};
  std::uint64_t id_ = 0;
  bool pinned_ = false;
  bool blocking_ = false;
  // Pthread locks the fiber holds (counted by weft::hook's lock hooks,
  // hook_support.hpp) and whether its suspension with one held was
  // reported (waiter.cpp). Touched only by the fiber itself.
  bool held_lock_reported_ = false;
  std::uint32_t locks_held_ = 0;
  // Stack bounds for stack-overflow reports (fibers only).
  void* guard_lo_ = nullptr;
  std::size_t guard_len_ = 0;
  std::size_t stack_size_ = 0;
  // Intrusive link in the runtime's live-task registry.
  task_base* reg_prev_ = nullptr;
  task_base* reg_next_ = nullptr;
  std::uint32_t reg_shard_ = 0;
  // Intrusive link in a join_set's completed queue.
  task_base* set_next_ = nullptr;
  // Scheduling hints (runtime internal): the fiber's Boost context, and the
  // worker whose local run queue holds it right now (nullptr otherwise).
  void* ctx_ = nullptr;
  std::atomic<void*> queued_on_{nullptr};
  // What the task waits on (wait_label.hpp) and where it runs, for
  // runtime::dump: written by the task (and its worker), read by a dump on
  // any thread, all relaxed: a dump is a snapshot.
  std::atomic<const char*> wait_what_{nullptr};
  std::atomic<const void*> wait_obj_{nullptr};
  std::atomic<std::int64_t> wait_since_{0};
  std::atomic<std::int64_t> wait_deadline_{0};
  std::atomic<std::int64_t> wait_value_{0};
  std::atomic<std::uint8_t> wait_kind_{0};
  std::atomic<std::uint32_t> running_on_{0};  // worker index + 1 while it runs
  bool started() const noexcept { return started_.load(std::memory_order_acquire); }

 protected:
  task_base() noexcept = default;
  virtual ~task_base();
  // run() invokes the user's function and stores its value.
  virtual void run() = 0;
  // drop_fn() destroys the function without running it.
  virtual void drop_fn() noexcept = 0;

 private:
  void complete(outcome o, std::exception_ptr e) noexcept;
  void report_orphan() noexcept;

  // orphan_ bits: kHandleDropped (drop_handle) and kFailed (ended with an
  // exception under a policy other than ignore); whoever sets the second
  // bit reports. failure_log_ holds the runtime's logger from the failure
  // on, so a handle dropped after the runtime died still reports.
  static constexpr std::uint8_t kHandleDropped = 1, kFailed = 2;
  std::atomic<std::uint8_t> orphan_{0};
  logger* failure_log_ = nullptr;

  std::atomic<std::uint32_t> refs_{1};
  std::atomic<bool> done_{false};
  std::atomic<bool> cancel_requested_{false};
  std::atomic<bool> cancel_delivered_{false};
  std::atomic<bool> started_{false};
  outcome outcome_ = outcome::pending;
  std::exception_ptr exception_;
  wait_list joiners_;
  completion_listener* listener_ = nullptr;
};

// task<T> adds the value slot.
template <class T>
class task : public task_base {
 public:
  using value_type = T;

  // take() moves the value out (after a successful join).
  T take() {
    if constexpr (!std::is_void_v<T>) {
      return std::move(*value_);
    }
  }

 protected:
  using stored = std::conditional_t<std::is_void_v<T>, bool, T>;
  std::optional<stored> value_;
};

// task_impl<T, F> owns the callable until it has run.
template <class T, class F>
class task_impl final : public task<T> {
 public:
  explicit task_impl(F&& f) : fn_(std::move(f)) {}

 private:
  void run() override {
    struct drop {
      std::optional<F>& fn;
      ~drop() { fn.reset(); }
    } guard{fn_};
    if constexpr (std::is_void_v<T>) {
      std::move (*fn_)();
      this->value_.emplace(true);
    } else {
      this->value_.emplace(std::move(*fn_)());
    }
  }
  void drop_fn() noexcept override { fn_.reset(); }

  std::optional<F> fn_;
};

// task_ptr is an owning, reference-counted pointer to a task.
template <class Task>
class task_ptr {
 public:
  task_ptr() noexcept = default;
  explicit task_ptr(Task* t) noexcept : t_(t) {}  // adopts one reference
  task_ptr(const task_ptr& o) noexcept : t_(o.t_) {
    if (t_) t_->add_ref();
  }
  task_ptr(task_ptr&& o) noexcept : t_(std::exchange(o.t_, nullptr)) {}
  task_ptr& operator=(task_ptr o) noexcept {
    std::swap(t_, o.t_);
    return *this;
  }
  ~task_ptr() {
    if (t_) t_->release();
  }
  Task* get() const noexcept { return t_; }
  Task* operator->() const noexcept { return t_; }
  explicit operator bool() const noexcept { return t_ != nullptr; }
  Task* release() noexcept { return std::exchange(t_, nullptr); }

 private:
  Task* t_ = nullptr;
};

}  // namespace weft::detail
