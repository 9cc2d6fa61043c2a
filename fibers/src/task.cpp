// SPDX-License-Identifier: MIT
// task_base: running a task, its completion, abort and join.
#include <exception>
#include <string>

#include "logger.hpp"
#include "runtime_core.hpp"
#include "weft/fibers/cancelled.hpp"
#include "weft/fibers/join_handle.hpp"

namespace weft {

namespace {
std::string task_label(std::uint64_t id, const std::string& name) {
  std::string s = "task ";
  s += std::to_string(id);
  if (!name.empty()) {
    s += " '";
    s += name;
    s += "'";
  }
  return s;
}

std::string describe(join_error::kind k, std::uint64_t id, const std::string& name,
                     std::string_view cause) {
  std::string s = "weft: " + task_label(id, name);
  if (k == join_error::kind::cancelled) {
    s += " was cancelled";
  } else if (cause.empty()) {
    s += " panicked (threw an exception)";
  } else {
    s += " panicked: ";
    s += cause;
  }
  return s;
}
}  // namespace

join_error::join_error(kind k, std::uint64_t id, const std::string& name, std::string_view cause)
    : std::runtime_error(describe(k, id, name, cause)), kind_(k), id_(id) {}

namespace detail {

task_base::~task_base() {
  if (failure_log_) failure_log_->release();
}

void task_base::execute() noexcept {
  started_.store(true, std::memory_order_release);
  if (cancel_requested()) {
    cancel_delivered_.store(true, std::memory_order_release);
    drop_fn();
    complete(outcome::cancelled, nullptr);
    return;
  }
  try {
    run();
    complete(outcome::value, nullptr);
  } catch (const cancelled&) {
    complete(outcome::cancelled, nullptr);
  } catch (...) {
    complete(outcome::exception, std::current_exception());
  }
}

void task_base::finish_cancelled() noexcept {
  cancel_requested_.store(true, std::memory_order_release);
  cancel_delivered_.store(true, std::memory_order_release);
  drop_fn();
  complete(outcome::cancelled, nullptr);
}

void task_base::complete(outcome o, std::exception_ptr e) noexcept {
  outcome_ = o;
  exception_ = std::move(e);
  // A failure the policy cares about holds the logger from now on (the
  // runtime is alive here: this runs on its worker or pool thread).
  const bool watch_failure = o == outcome::exception && core_ &&
                             core_->log->policy() != unhandled_exception_policy::ignore;
  if (watch_failure) {
    failure_log_ = core_->log;
    failure_log_->add_ref();
  }
  completion_listener* l;
  {
    spin_guard lk(lock_);
    done_.store(true, std::memory_order_release);
    joiners_.wake_all();
    l = std::exchange(listener_, nullptr);
  }
  if (l) {
    l->on_complete(this);
    l->release();
  }
  // Before unregistering: a shutdown waiting for this task may destroy
  // the runtime as soon as it is gone from the registry.
  if (watch_failure && (orphan_.fetch_or(kFailed, std::memory_order_acq_rel) & kHandleDropped)) {
    report_orphan();
  }
  if (core_ && !blocking_) {
    runtime_core& core = *core_;
    core.unregister_task(this);
    note_task_finished(core);
  }
}

void task_base::drop_handle() noexcept {
  if (orphan_.fetch_or(kHandleDropped, std::memory_order_acq_rel) & kFailed) report_orphan();
}

void task_base::report_orphan() noexcept {
  logger* l = failure_log_;
  if (!l) return;
  try {
    std::string m = task_label(id_, name());
    m += blocking_ ? " (a blocking job)" : "";
    m += " ended with an exception that no join can observe (its handle was dropped or "
         "detached): ";
    m += describe_exception(exception_);
    l->log(log_level::error, "unhandled_exception", m);
  } catch (...) {
  }
  if (l->policy() == unhandled_exception_policy::terminate) std::terminate();
}

void task_base::abort() noexcept {
  cancel_requested_.store(true, std::memory_order_seq_cst);
  aborters_.fetch_add(1, std::memory_order_seq_cst);
  wake_token t;
  if (waiter* w = current_waiter_.exchange(nullptr, std::memory_order_seq_cst)) {
    t = w->claim(wake_reason::cancelled);
  }
  aborters_.fetch_sub(1, std::memory_order_release);
  t.resume();  // touches the fiber's context only, never the waiter
}

void task_base::set_listener(completion_listener* l) noexcept {
  l->add_ref();
  spin_guard lk(lock_);
  listener_ = l;
}

void task_base::join_wait() {
  if (is_finished()) return;  // the common case in batches: no lock at all
  if (!started()) promote_for_join(this);
  wait_label label("join", this, no_deadline, wait_detail::task, static_cast<std::int64_t>(id_));
  spin_guard lk(lock_);
  while (!done_.load(std::memory_order_acquire)) {
    waiter w;
    wait_list::node n(w);
    joiners_.push_back(n);
    try {
      w.park(&lk);
    } catch (...) {
      spin_guard g(lock_);
      joiners_.remove(n);
      throw;
    }
    lk.lock();
    joiners_.remove(n);
  }
}

bool task_base::link_joiner(wait_list::node& n) noexcept {
  spin_guard lk(lock_);
  if (done_.load(std::memory_order_acquire)) return false;
  n.fired = false;
  joiners_.push_back(n);
  return true;
}

bool task_base::unlink_joiner(wait_list::node& n) noexcept {
  spin_guard lk(lock_);
  joiners_.remove(n);
  return n.fired;
}

void task_base::rethrow_outcome() const {
  switch (outcome_) {
    case outcome::value:
      return;
    case outcome::cancelled:
      throw join_error(join_error::kind::cancelled, id_, name());
    case outcome::exception:
      try {
        std::rethrow_exception(exception_);
      } catch (...) {
        throw join_error(join_error::kind::panicked, id_, name(), describe_exception(exception_));
      }
    case outcome::pending:
      break;
  }
  throw std::logic_error("weft: task outcome read before completion");
}

void rethrow_original(const task_base& t) {
  if (t.result_kind() == outcome::exception) {
    try {
      t.rethrow_outcome();
    } catch (const join_error& e) {
      e.rethrow_nested();
    }
  }
  t.rethrow_outcome();
}

}  // namespace detail
}  // namespace weft
