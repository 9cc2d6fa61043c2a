// SPDX-License-Identifier: MIT
// The one wait/wake mechanism of weft (docs/design.md section 5). Internal to weft:
// sync/ and net/ build every blocking primitive on it; user code should not
// depend on it.
//
// Protocol. A blocking primitive keeps its waiters in a wait_list guarded by
// its own spin_lock. To wait, it links a node for a `waiter` and calls
// park(&lock, deadline): park publishes the waiter, releases the lock and
// suspends the current fiber (or blocks the current plain thread). Any source
// may wake it: the primitive (notify), the deadline (timer) or cancellation
// (abort, shutdown, an expiring timeout()). Exactly one source wins: claim()
// is a compare-and-set done under the lock of the structure where the waiter
// was found; the winner calls token::resume() after releasing that lock.
// A loser gets an empty token. After park() returns, only the parked fiber
// touches the waiter again.
#pragma once

#include <atomic>
#include <boost/fiber/detail/spinlock.hpp>
#include <cstdint>
#include <limits>
#include <mutex>

#include "weft/fibers/config.hpp"

namespace boost::fibers {
class context;
}

namespace weft::detail {

// spin_lock guards the short critical sections of weft's wait structures.
// Never hold one across a suspension point.
using spin_lock = boost::fibers::detail::spinlock;
using spin_guard = boost::fibers::detail::spinlock_lock;

// no_deadline marks a wait without a deadline.
inline constexpr std::int64_t no_deadline = std::numeric_limits<std::int64_t>::max();

// wake_reason says which source woke a waiter.
enum class wake_reason : std::uint32_t {
  waiting = 0,  // not woken yet
  notified,     // the primitive handed over (a value, a permit, a completion)
  timeout,      // the wait's own deadline passed
  cancelled,    // abort, runtime shutdown or an enclosing timeout() scope
};

class timer_shard;

// timer_entry is the waiter's slot in a runtime timer heap (intrusive).
struct timer_entry {
  std::int64_t deadline = no_deadline;
  std::uint32_t heap_index = 0;
  timer_shard* shard = nullptr;  // non-null while linked
};

class waiter;

// wake_token is what a successful claim() returns: resume() makes the waiter
// runnable. It must be called exactly once, after the caller's lock is released.
class [[nodiscard]] wake_token {
 public:
  wake_token() noexcept = default;
  wake_token(wake_token&& o) noexcept
      : ctx_(o.ctx_), futex_(o.futex_), won_(o.won_), detached_(o.detached_) {
    o.ctx_ = nullptr;
    o.futex_ = nullptr;
    o.won_ = false;
    o.detached_ = false;
  }
  wake_token& operator=(wake_token&& o) noexcept {
    std::swap(ctx_, o.ctx_);
    std::swap(futex_, o.futex_);
    std::swap(won_, o.won_);
    std::swap(detached_, o.detached_);
    return *this;
  }
  wake_token(const wake_token&) = delete;
  wake_token& operator=(const wake_token&) = delete;
  ~wake_token() { resume(); }

  // won() is true when this claim was the one that woke the waiter.
  explicit operator bool() const noexcept { return won_; }

  // resume() schedules the woken fiber or wakes the blocked thread.
  void resume() noexcept;

 private:
  friend class waiter;
  boost::fibers::context* ctx_ = nullptr;
  std::atomic<std::uint32_t>* futex_ = nullptr;
  bool won_ = false;
  bool detached_ = false;  // the parked fiber belongs to no worker: run it here
};

class worker;

// waiter parks one fiber (or one plain thread) until one wake source claims it.
class waiter {
 public:
  // waiter() binds to the calling fiber when called on a weft worker, or to
  // the calling thread otherwise.
  waiter() noexcept;
  waiter(const waiter&) = delete;
  waiter& operator=(const waiter&) = delete;
  ~waiter() = default;

  // claim() tries to wake the waiter for `why`. Only the first claim wins.
  // Call it under the lock of the structure the waiter was found in.
  wake_token claim(wake_reason why) noexcept;

  // notify() claims and resumes in one step (for callers holding no lock).
  bool notify(wake_reason why = wake_reason::notified) noexcept {
    wake_token t = claim(why);
    return static_cast<bool>(t);
  }

  // park() suspends until claimed. `outer` (may be null) is released once
  // the waiter is published. A waiter that is already reachable by other
  // sources before park() (a select linked into several lists) may have been
  // claimed already: park() then returns at once, and a cancellation that is
  // due stays pending for the next suspension point, so a hand-off that won
  // is never discarded. `deadline_ns` is on the runtime clock
  // (weft::time::clock). Returns notified or timeout.
  // Throws: weft::cancelled when the fiber is cancelled while waiting or
  //   was cancelled before (delivered once), unless `cancellable` is false.
  wake_reason park(spin_guard* outer, std::int64_t deadline_ns = no_deadline,
                   bool cancellable = true);

  // take_late_cancel() applies the hand-off rule (docs/sync/cancellation.md).
  // The parked fiber calls it after park() returned for another source's
  // wake-up: it is true when the fiber's abort (join_handle::abort, a
  // join_set's, runtime shutdown) was requested and not delivered yet, i.e.
  // it arrived after the wake-up was handed to this waiter but before the
  // fiber ran. The cancellation is then marked delivered: the caller gives
  // what it was handed back to the next waiter and throws weft::cancelled.
  // Always false for a plain thread. An expired timeout() scope does not
  // count: as with Tokio's timeout(), the completed operation wins there.
  bool take_late_cancel() noexcept;

  // reason() is the wake reason (waiting until claimed).
  wake_reason reason() const noexcept {
    return static_cast<wake_reason>(state_.load(std::memory_order_acquire));
  }

  // is_fiber() is true when the waiter parks a fiber, false for a plain thread.
  bool is_fiber() const noexcept { return ctx_ != nullptr; }

  // Internal: the timer heap slot used while the waiter has a deadline.
  timer_entry timer;

 private:
  wake_reason park_fiber(spin_guard* outer, std::int64_t deadline_ns);
  wake_reason park_thread(spin_guard* outer, std::int64_t deadline_ns);

  friend class worker;
  std::atomic<std::uint32_t> state_{0};
  spin_lock splk_;
  bool parked_ = false;    // guarded by splk_: the fiber has switched out
  bool detached_ = false;  // guarded by splk_: parked and detached from its worker
  boost::fibers::context* ctx_;
};

// wait_list is an intrusive FIFO of wait nodes; the owner's spin_lock guards it.
class wait_list {
 public:
  // node links one waiter into a wait_list. `value` is free for the
  // primitive's use (a pointer to a slot, a requested permit count, ...).
  struct node {
    explicit node(waiter& who) noexcept : w(&who) {}
    waiter* w;
    node* prev = nullptr;
    node* next = nullptr;
    bool linked = false;
    // fired is set (under the owner's lock) when a wake_one()/wake_all() of
    // this list, or a primitive's own hand-off, claimed the waiter through
    // this node. A select registered in several lists reads it, under the
    // same lock, to learn which branch won.
    bool fired = false;
    // chosen is set with fired by wake_one(): this waiter alone was handed
    // the wake-up, so a waiter aborted before it ran passes it on (the
    // hand-off rule, docs/sync/cancellation.md); a wake_all() leaves it false.
    bool chosen = false;
    void* value = nullptr;
    std::uintptr_t count = 0;
  };

  bool empty() const noexcept { return head_ == nullptr; }
  node* front() const noexcept { return head_; }
  std::size_t size() const noexcept { return size_; }

  // push_back() appends `n` (the owner's lock is held).
  void push_back(node& n) noexcept {
    n.prev = tail_;
    n.next = nullptr;
    if (tail_) {
      tail_->next = &n;
    } else {
      head_ = &n;
    }
    tail_ = &n;
    n.linked = true;
    ++size_;
  }

  // remove() unlinks `n` if it is linked; returns whether it was.
  bool remove(node& n) noexcept {
    if (!n.linked) return false;
    (n.prev ? n.prev->next : head_) = n.next;
    (n.next ? n.next->prev : tail_) = n.prev;
    n.prev = n.next = nullptr;
    n.linked = false;
    --size_;
    return true;
  }

  // wake_one() unlinks waiters from the front until one is claimed for
  // `why`; returns its token (empty when nobody could be woken). Nodes whose
  // waiter was already claimed by another source are unlinked and skipped.
  wake_token wake_one(wake_reason why = wake_reason::notified) noexcept {
    while (node* n = head_) {
      remove(*n);
      wake_token t = n->w->claim(why);
      if (t) {
        n->fired = true;
        n->chosen = true;
        return t;
      }
    }
    return {};
  }

  // wake_all() claims and resumes every waiter (under the caller's lock);
  // returns how many were woken.
  std::size_t wake_all(wake_reason why = wake_reason::notified) noexcept {
    std::size_t woken = 0;
    while (node* n = head_) {
      remove(*n);
      wake_token t = n->w->claim(why);
      if (t) {
        n->fired = true;
        ++woken;
      }
    }
    return woken;
  }

 private:
  node* head_ = nullptr;
  node* tail_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace weft::detail
