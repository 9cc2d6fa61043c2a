// SPDX-License-Identifier: MIT
// The one way a hooked call waits (docs/hooks.md "How a hooked call
// runs"): try the non-blocking syscall, and on EAGAIN park the fiber on the
// reactor (a plain thread: poll(2)) until the descriptor is ready, the
// program's SO_RCVTIMEO/SO_SNDTIMEO passes, the descriptor is closed, or
// the fiber is cancelled; errno is written last, on whatever thread the
// call ends on. No exception leaves these functions.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>

#include "fd_table.hpp"

namespace weft::hook::detail {

using weft::detail::io_dir;

// op_ref is a non-owning reference to a callable returning ssize_t (no
// allocation per call, unlike std::function).
class op_ref {
 public:
  template <class F>
  op_ref(F& f) noexcept  // NOLINT: implicit by design, like function_ref
      : obj_(&f), call_([](void* o) -> ssize_t { return (*static_cast<F*>(o))(); }) {}
  ssize_t operator()() const { return call_(obj_); }

 private:
  void* obj_;
  ssize_t (*call_)(void*);
};

// get_errno()/set_errno() read and write errno through a fresh
// __errno_location() call each time (out of line): a fiber may resume on
// another thread, and the compiler may otherwise keep errno's address (a
// const function's result) across the switch.
int get_errno() noexcept;
void set_errno(int e) noexcept;

// on_fiber() is true on a weft fiber: one thread-local read.
bool on_fiber() noexcept;

// now_ns() is the caller's runtime clock (steady time off a runtime).
std::int64_t now_ns() noexcept;

// call_mode says how a call on one descriptor runs.
enum class call_mode {
  direct,     // straight to libc (untracked, the user's O_NONBLOCK, a file)
  offload,    // a file on a fiber with builder::offload_file_io: the pool
  wait_then,  // unmanaged pollable descriptor on a fiber: wait, then call
  emulate,    // managed: non-blocking syscall, wait on EAGAIN, retry
};

// call_ctx is the per-call view of one descriptor.
struct call_ctx {
  int fd;
  bool fiber;
  fd_ref ref;
  call_mode mode;
};

// open_call() prepares a call on `fd` (tracking it when on a fiber).
call_ctx open_call(int fd) noexcept;

// deadline_for() is the deadline of a wait in `d` from the program's
// SO_RCVTIMEO/SO_SNDTIMEO (no deadline when unset).
std::int64_t deadline_for(const call_ctx& c, io_dir d) noexcept;

// wait_ready() waits once for an edge of `d` after `snap`. Returns 0 to
// retry, or the errno the call fails with: EAGAIN (SO_*TIMEO expired),
// EBADF (closed meanwhile), ECANCELED (the fiber was aborted), ETIMEDOUT
// (an enclosing weft::time::timeout expired), ENOMEM (reactor failure).
// A cancellation is deferred to the fiber's next weft suspension point.
int wait_ready(call_ctx& c, io_dir d, std::uint32_t snap, std::int64_t deadline) noexcept;

// run_io() performs `op` (the real, non-blocking syscall; returns -1 with
// errno on failure) on `c` in direction `d`, waiting as the mode says.
// Returns op's result; on -1 errno holds the error.
// `stream_want` (a read of a stream socket that consumes what it reads, on
// a fiber: not MSG_PEEK, MSG_OOB, ...): the bytes asked for. A shorter read means the
// socket's buffer was drained, so the next read parks at once instead of
// paying a syscall for EAGAIN, as weft::net's reads do (an edge always
// follows new data, EOF or an error; a hang-up is sticky).
ssize_t run_io(call_ctx& c, io_dir d, op_ref op, std::size_t stream_want = 0) noexcept;

// stream_want() is what a read of `n` bytes with `flags` on `c` passes as
// run_io()'s stream_want: n for a consuming read of a managed stream socket
// on a fiber, else 0.
std::size_t stream_want(const call_ctx& c, std::size_t n, int flags) noexcept;

// run_on_pool() runs `f` on the runtime's blocking pool and waits for it
// without blocking the worker. With `cancellable`, an abort or expired
// timeout() ends the wait early (returning ECANCELED / ETIMEDOUT, the
// cancellation deferred; `f` still runs to completion on its thread and
// must own everything it touches); otherwise the wait ignores
// cancellation (for `f` writing into the caller's buffers). Returns 0
// when `f` ran. Runs `f` inline when there is no pool to run it on.
int run_on_pool(std::function<void()> f, bool cancellable) noexcept;

// cancel_errno() maps a caught weft::cancelled (rethrown inside) to the
// errno a hooked call returns, deferring the cancellation.
int cancel_errno() noexcept;

}  // namespace weft::hook::detail
