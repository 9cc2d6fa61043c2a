// SPDX-License-Identifier: MIT
// What the hook layer (weft::hook, net/hook/) needs from the runtime beyond
// io_source: turning a cancellation into an error return at a C boundary,
// and the builder's file-I/O setting. Internal: do not depend on it.
#pragma once

#include "weft/fibers/cancelled.hpp"
#include "weft/fibers/config.hpp"

namespace weft::detail {

// hooks_apply() is true when a hooked libc call should act for a fiber: a
// weft fiber runs user code on the calling thread (not the runtime's own
// event loop, which calls libc itself: thread_state.hpp, hooks_off).
bool hooks_apply() noexcept;

// defer_cancelled() is called where a weft::cancelled was caught so that it
// never unwinds through C frames (a hooked recv() inside libpq): the same
// cancellation (the fiber's abort, or the expired timeout() scope) is due
// again, and the fiber's next weft suspension point throws it. The caller
// returns an error (ECANCELED / ETIMEDOUT) instead.
void defer_cancelled(const weft::cancelled& c) noexcept;

class task_base;

// thread_hold keeps the calling fiber on its worker thread while it lives:
// a hooked call that parks resumes on the thread it began on. C code keeps
// the addresses of thread-locals across calls (GCC computes errno's
// address once per function, pthread_self() once, OpenSSL its error
// queue), so a C frame must never see its fiber change threads; the fiber
// migrates again at weft's own suspension points (docs/hooks.md).
class thread_hold {
 public:
  thread_hold() noexcept;
  ~thread_hold();
  thread_hold(const thread_hold&) = delete;
  thread_hold& operator=(const thread_hold&) = delete;

 private:
  task_base* t_;
  bool was_ = false;
};

// offload_file_io() is builder::offload_file_io() of the caller's runtime
// (false off a runtime).
bool offload_file_io() noexcept;

// lock_acquired() and lock_released() are called by weft::hook's pthread
// lock hooks (hooks_lock.cpp) after every successful lock and before every
// unlock of a pthread mutex or rwlock (std::mutex, std::shared_mutex, ...):
// on a fiber they count the locks it holds, so that a fiber which suspends
// with one held is reported (docs/diagnostics.md "Common mistakes").
// Anywhere else they do nothing.
void lock_acquired() noexcept;
void lock_released() noexcept;

}  // namespace weft::detail
