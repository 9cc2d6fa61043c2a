// SPDX-License-Identifier: MIT
// weft::compat: std's threading names over weft, so a port from std
// threads can be a namespace alias (docs/compat.md):
//
//   namespace sys = weft::compat;   // was: namespace sys = std;
//   sys::thread t([&] { sys::lock_guard... });  // std::lock_guard etc. as before
//
// Everything waits by parking the calling fiber (a plain thread blocks), on
// weft::sync's primitives, never on std's blocking ones. Every wait is a weft
// cancellation point: weft::cancelled passes through it.
//   thread, this_thread::{get_id, yield, sleep_for, sleep_until}  compat_thread.hpp
//   mutex, timed_mutex, recursive_mutex, recursive_timed_mutex,
//   shared_mutex, shared_timed_mutex,
//   condition_variable, condition_variable_any                    compat_mutex.hpp
//   counting_semaphore<N>, binary_semaphore                        compat_semaphore.hpp
//   latch, barrier<CompletionFunction>                             compat_latch.hpp
//   promise, future, shared_future                                 compat_future.hpp
//   packaged_task, async                                           compat_async.hpp
// std's own types are re-used: std::future_error, std::future_errc,
// std::future_status, std::launch, std::cv_status, and the lock guards
// (std::lock_guard, unique_lock, shared_lock, scoped_lock) work unchanged.
// Not provided: native_handle(), the *_at_thread_exit() functions,
// jthread/stop_token, and call_once/once_flag (std::call_once blocks the
// worker of a second caller: use weft::sync::once_cell).
// What differs from std is said at each declaration and in docs/compat.md.
#pragma once

#include <condition_variable>
#include <future>
#include <mutex>
#include <shared_mutex>

#include "weft/fibers/config.hpp"
#include "weft/sync/detail/compat_async.hpp"
#include "weft/sync/detail/compat_future.hpp"
#include "weft/sync/detail/compat_latch.hpp"
#include "weft/sync/detail/compat_mutex.hpp"
#include "weft/sync/detail/compat_semaphore.hpp"
#include "weft/sync/detail/compat_thread.hpp"

namespace weft::compat {

// The std names a port keeps using, also reachable through the alias, so
// `sys::lock_guard` and `sys::future_error` compile after the switch.
using std::adopt_lock;
using std::adopt_lock_t;
using std::cv_status;
using std::defer_lock;
using std::defer_lock_t;
using std::future_errc;
using std::future_error;
using std::future_status;
using std::launch;
using std::lock;
using std::lock_guard;
using std::scoped_lock;
using std::shared_lock;
using std::try_lock;
using std::try_to_lock;
using std::try_to_lock_t;
using std::unique_lock;

}  // namespace weft::compat
