// SPDX-License-Identifier: MIT
// Helpers every weft wait structure shares on top of the waiter: wake
// tokens resumed after the lock is released (wake_batch), claiming a whole
// list (claim_all) and one park step (park_node). Internal: sync/ and the
// reactor and signal parts of fibers/ build on them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>
#include <vector>

#include "weft/fibers/cancelled.hpp"
#include "weft/fibers/config.hpp"
#include "weft/fibers/detail/wait_label.hpp"
#include "weft/fibers/detail/waiter.hpp"

namespace weft::detail {

// wake_batch holds the tokens of waiters claimed under a lock. Declare it
// before the lock guard: its destructor (after the guard's) resumes them.
// The inline slots are raw storage, so an empty batch (the common unlock
// with nobody waiting) costs nothing to build or destroy. The one wake_batch
// of weft: sync/, the reactor (io_source) and the signal hub use it.
class wake_batch {
 public:
  wake_batch() noexcept {}
  wake_batch(const wake_batch&) = delete;
  wake_batch& operator=(const wake_batch&) = delete;
  ~wake_batch() { resume_all(); }

  // add() keeps a won token for later. If the overflow vector cannot grow,
  // the token resumes at once in its own destructor (still correct, only
  // under the caller's lock).
  void add(wake_token&& t) noexcept {
    if (!t) return;
    if (n_ < kInline) {
      ::new (static_cast<void*>(slot(n_))) wake_token(std::move(t));
      ++n_;
      return;
    }
    try {
      overflow_.push_back(std::move(t));
    } catch (...) {
    }
  }

  // resume_all() resumes every kept token (call with no lock held).
  void resume_all() noexcept {
    for (std::size_t i = 0; i < n_; ++i) {
      slot(i)->resume();
      slot(i)->~wake_token();
    }
    n_ = 0;
    if (!overflow_.empty()) {
      for (auto& t : overflow_) t.resume();
      overflow_.clear();
    }
  }

 private:
  static constexpr std::size_t kInline = 16;
  wake_token* slot(std::size_t i) noexcept {
    return std::launder(reinterpret_cast<wake_token*>(storage_ + i * sizeof(wake_token)));
  }

  alignas(wake_token) unsigned char storage_[kInline * sizeof(wake_token)];
  std::size_t n_ = 0;
  std::vector<wake_token> overflow_;
};

// claim_all() unlinks every node of `list` and claims its waiter for
// notified, under the list owner's lock. `fire` sets node.fired on the
// claims that won: pass true only when each of those waiters really has its
// operation ready (a message, a change), false for a close wake-up that
// only asks the waiter to look again.
inline void claim_all(wait_list& list, wake_batch& batch, bool fire) noexcept {
  while (wait_list::node* n = list.front()) {
    list.remove(*n);
    wake_token t = n->w->claim(wake_reason::notified);
    if (t) {
      if (fire) n->fired = true;
      batch.add(std::move(t));
    }
  }
}

// no_give_back is park_node()'s hook for a wait whose wake-up hands over
// nothing another waiter could use: a wake-all (every waiter was woken
// anyway) or a "look again" wake-up (the item stays in the structure).
struct no_give_back {
  void operator()(wake_batch&) const noexcept {}
};

// park_node() waits once with the caller's node `n` (bound to a waiter of
// the caller's, with n.value set for a hand-off): links it into `list`,
// parks (releasing `lk`), then re-locks and unlinks it. The caller reads
// n.fired and re-checks its condition. Returns notified or timeout.
// Blocks: parks the fiber (or the plain thread) until woken or `deadline_ns`.
// Errors: weft::cancelled, with `lk` held again and the node unlinked:
//   - when the cancellation won the claim: the caller's state is exactly as
//     before the wait (a cancelled waiter was never handed anything);
//   - when another source woke the waiter but the fiber's abort arrived
//     before it ran (the hand-off rule, docs/sync/cancellation.md): if the
//     wake-up came through `n` (n.fired), `give_back(batch)` first runs
//     under `lk` to pass what was handed over on to the next waiter (the
//     wake-ups it adds to `batch` are resumed before the throw). A caller
//     whose catch block already returns the hand-off (batch_semaphore) may
//     pass no_give_back.
//   With `cancellable` false the wait ignores cancellation (waiter::park).
template <class GiveBack = no_give_back>
wake_reason park_node(wait_list& list, wait_list::node& n, spin_guard& lk, std::int64_t deadline_ns,
                      bool cancellable = true, GiveBack&& give_back = GiveBack{}) {
  n.fired = false;
  n.chosen = false;
  list.push_back(n);
  wake_reason r;
  try {
    r = n.w->park(&lk, deadline_ns, cancellable);
  } catch (...) {
    if (!lk.owns_lock()) lk.lock();
    list.remove(n);
    throw;
  }
  lk.lock();
  list.remove(n);
  if (cancellable && n.w->take_late_cancel()) {
    if (n.fired) {
      wake_batch batch;  // resumed under `lk`: still correct, and rare
      give_back(batch);
    }
    throw weft::cancelled();
  }
  return r;
}

// park_on() is park_node() with a fresh waiter and node, for waits that
// need no give-back hook (see no_give_back).
inline wake_reason park_on(wait_list& list, spin_guard& lk, std::int64_t deadline_ns,
                           bool cancellable = true) {
  waiter w;
  wait_list::node n(w);
  return park_node(list, n, lk, deadline_ns, cancellable);
}

}  // namespace weft::detail
