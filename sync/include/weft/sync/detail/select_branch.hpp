// SPDX-License-Identifier: MIT
// The protocol between select() and the primitives it waits on. Internal:
// do not depend on it outside weft.
//
// A select branch is one operation (receive, send, notified, cancelled,
// joined, a deadline). select() polls every branch once without blocking;
// if none completes it creates ONE waiter and "arms" each branch, which links
// a wait node for that waiter into the primitive's wait list under the
// primitive's lock. Whoever completes an operation for a waiter (a sender
// handing a value to a parked receiver, notify_one, cancel, a finishing
// task) must first win waiter::claim() under the primitive's lock, and only
// then perform the hand-off and set node.fired. Because only one claim wins,
// exactly one branch completes; a branch that lost never moved a value.
// A branch that finds its operation ready while arming claims the waiter for
// itself first (claim_self) and completes only if that claim won.
#pragma once

#include <cstddef>
#include <cstdint>

#include "weft/fibers/config.hpp"
#include "weft/fibers/detail/waiter.hpp"

namespace weft::sync::detail {

using weft::detail::no_deadline;
using weft::detail::spin_guard;
using weft::detail::spin_lock;
using weft::detail::wait_list;
using weft::detail::waiter;
using weft::detail::wake_reason;
using weft::detail::wake_token;

// poll is the state of one operation.
enum class poll {
  pending,   // cannot complete now (armed: linked, or the waiter was claimed)
  ready,     // completed (the value moved, the permit taken, ...)
  disabled,  // can never complete (closed channel): the branch is skipped
};

// claim_self() claims `w` for the caller's own completion, under the
// primitive's lock. False when another branch already woke `w`: then the
// caller must not complete anything.
inline bool claim_self(waiter& w) noexcept {
  wake_token t = w.claim(wake_reason::notified);
  return static_cast<bool>(t);  // w has not parked yet: resume() is a no-op
}

// branch is one select branch, type-erased.
class branch {
 public:
  // try_now() attempts the operation without waiting.
  virtual poll try_now() = 0;
  // arm() re-checks under the primitive's lock: completes through
  // claim_self(w) (ready), reports disabled, or links a node for `w`.
  virtual poll arm(waiter& w) = 0;
  // disarm() unlinks the node; true when the operation completed through it.
  // With `give_back` (the select's fiber was aborted after this branch was
  // handed its operation but before it ran: docs/sync/cancellation.md) the
  // operation is not completed: what was handed over passes on to the next
  // waiter (a wake-up re-delivered, a message returned) and it returns false.
  virtual bool disarm(bool give_back) noexcept = 0;
  // deadline() is the branch's deadline (timer branches), runtime clock ns.
  virtual std::int64_t deadline() const noexcept { return no_deadline; }
  // run() calls the user's handler once the branch was chosen.
  virtual void run() = 0;

 protected:
  ~branch() = default;
};

// npos is select_core()'s "every branch is disabled".
inline constexpr std::size_t npos = static_cast<std::size_t>(-1);

// select_core() runs the protocol over `n` branches (n <= 64) and returns
// the index of the one that completed, or npos when all are disabled.
// `biased` polls in order; otherwise from a random start (fairness).
// Blocks: parks the fiber (or thread). Throws weft::cancelled.
std::size_t select_core(branch* const* branches, std::size_t n, bool biased);

}  // namespace weft::sync::detail
