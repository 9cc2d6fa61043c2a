// SPDX-License-Identifier: MIT
// batch_semaphore: FIFO permit hand-off over the one waiter (protocol in
// weft/fibers/detail/waiter.hpp, fairness in detail/batch_semaphore.hpp).
//
// Each queued acquire links a wait_list::node whose `count` is the number of
// permits it still needs and whose `value` points at the number it asked
// for, so requested - count is what was already assigned to it. Assigning
// part of a request needs no claim (the waiter stays queued); completing one
// does: the releaser claims the waiter first and hands over only if the
// claim won. A waiter whose claim was lost (timeout, cancellation) is
// unlinked by the releaser and its assigned permits flow on to the next
// waiters; if the waiter itself gets back first, it unlinks itself and
// releases what it had been assigned. Either way no permit is lost. A
// waiter whose request was completed but whose fiber was aborted before it
// ran releases the whole request the same way (docs/sync/cancellation.md).
#include "weft/sync/detail/batch_semaphore.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "wake_batch.hpp"
#include "weft/fibers/detail/wait_label.hpp"
#include "weft/sync/detail/deadline.hpp"

namespace weft::sync::detail {

using weft::detail::no_deadline;
using weft::detail::spin_guard;
using weft::detail::wait_list;
using weft::detail::waiter;
using weft::detail::wake_reason;

namespace {

std::size_t requested_of(const wait_list::node& n) noexcept {
  return *static_cast<const std::size_t*>(n.value);
}

void check_count(std::size_t n) {
  if (n > batch_semaphore::max_permits) {
    throw std::invalid_argument("weft::sync: more permits requested than a semaphore can hold");
  }
}

}  // namespace

batch_semaphore::batch_semaphore(std::size_t permits, const char* one, const char* many)
    : permits_(permits),
      label_one_(one),
      label_many_(many),
      // A lock's label says which lock; a semaphore's says how many permits.
      show_permits_(std::strcmp(one, "semaphore acquire") == 0) {
  check_count(permits);
}

acquire_status batch_semaphore::try_acquire(std::size_t n) {
  check_count(n);
  spin_guard lk(lock_);
  if (closed_) return acquire_status::closed;
  // No barging: while a waiter is queued permits_ is 0 (see the invariant).
  if (permits_ < n) return acquire_status::empty;
  permits_ -= n;
  return acquire_status::acquired;
}

acquire_status batch_semaphore::acquire(std::size_t n, std::int64_t deadline_ns, bool cancellable) {
  check_count(n);
  const std::int64_t now = deadline_ns == no_deadline ? 0 : now_ns();
  std::size_t requested = n;
  for (;;) {
    spin_guard lk(lock_);
    if (closed_) return acquire_status::closed;
    if (permits_ >= n) {
      permits_ -= n;
      return acquire_status::acquired;
    }
    if (deadline_ns != no_deadline && deadline_ns <= now) return acquire_status::timeout;

    // Queue with whatever is available now assigned to us (the queue was
    // empty, or permits_ would be 0).
    waiter w;
    wait_list::node node(w);
    node.value = &requested;
    node.count = n - permits_;
    permits_ = 0;

    wake_reason why;
    try {
      weft::detail::wait_label label(
          n == 1 ? label_one_ : label_many_, this, deadline_ns,
          show_permits_ ? weft::detail::wait_detail::permits : weft::detail::wait_detail::none,
          static_cast<std::int64_t>(n));
      // No give-back hook: this catch block returns the hand-off.
      why = park_node(waiters_, node, lk, deadline_ns, cancellable);
    } catch (...) {
      // Cancelled. Either the cancellation won the claim (nobody completed
      // our request) or release() completed it but the fiber was aborted
      // before it ran (node.count is 0: the hand-off rule,
      // docs/sync/cancellation.md). Either way every permit assigned to us
      // goes on to the next waiters.
      wake_batch wakes;
      if (const std::size_t assigned = requested - node.count) release_locked(assigned, wakes);
      lk.unlock();
      throw;
    }
    if (node.count == 0) return acquire_status::acquired;  // handed over by release()
    wake_batch wakes;
    if (const std::size_t assigned = requested - node.count) release_locked(assigned, wakes);
    const bool closed = closed_;
    lk.unlock();
    wakes.resume_all();
    if (closed) return acquire_status::closed;
    if (why == wake_reason::timeout) return acquire_status::timeout;
    // A wake without a hand-off (a cancellation delivered earlier): queue again.
  }
}

void batch_semaphore::release_locked(std::size_t n, wake_batch& wakes) noexcept {
  std::size_t avail = n;
  while (avail != 0 && !waiters_.empty()) {
    wait_list::node& head = *waiters_.front();
    const std::size_t requested = requested_of(head);
    if (head.w->reason() != wake_reason::waiting) {
      // Timed out or cancelled, not back yet: take its permits back now.
      waiters_.remove(head);
      avail += requested - head.count;
      head.count = requested;
      continue;
    }
    const std::size_t take = std::min<std::size_t>(avail, head.count);
    head.count -= take;
    avail -= take;
    if (head.count != 0) break;  // the head keeps its share and waits for more
    waiters_.remove(head);
    if (weft::detail::wake_token t = head.w->claim(wake_reason::notified)) {
      head.fired = true;
      wakes.add(std::move(t));
    } else {
      avail += requested;  // lost the claim: nothing was handed over
      head.count = requested;
    }
  }
  permits_ += avail;
}

void batch_semaphore::release(std::size_t n) noexcept {
  if (n == 0) return;
  wake_batch wakes;
  spin_guard lk(lock_);
  release_locked(n, wakes);
  lk.unlock();
  wakes.resume_all();
}

void batch_semaphore::add_permits(std::size_t n) {
  if (n == 0) return;
  wake_batch wakes;
  spin_guard lk(lock_);
  if (n > max_permits - permits_) {
    throw std::invalid_argument("weft::sync: add_permits() would exceed max_permits");
  }
  release_locked(n, wakes);
  lk.unlock();
  wakes.resume_all();
}

void batch_semaphore::close() noexcept {
  wake_batch wakes;
  spin_guard lk(lock_);
  closed_ = true;
  while (wait_list::node* n = waiters_.front()) {
    waiters_.remove(*n);
    if (weft::detail::wake_token t = n->w->claim(wake_reason::notified)) {
      n->fired = true;
      wakes.add(std::move(t));  // the waiter releases its partial share itself
    } else {
      permits_ += requested_of(*n) - n->count;
      n->count = requested_of(*n);
    }
  }
  lk.unlock();
  wakes.resume_all();
}

bool batch_semaphore::is_closed() const noexcept {
  spin_guard lk(lock_);
  return closed_;
}

std::size_t batch_semaphore::available_permits() const noexcept {
  spin_guard lk(lock_);
  return permits_;
}

std::size_t batch_semaphore::waiter_count() const noexcept {
  spin_guard lk(lock_);
  return waiters_.size();
}

}  // namespace weft::sync::detail
