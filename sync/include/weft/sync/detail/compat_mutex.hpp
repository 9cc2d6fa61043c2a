// SPDX-License-Identifier: MIT
// weft::compat's mutexes and condition variables: std's names over
// weft::sync's locks, so they park fibers instead of blocking workers.
// Part of weft/compat.hpp; include that, not this file.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <system_error>

#include "weft/fibers/config.hpp"
#include "weft/fibers/detail/task.hpp"
#include "weft/sync/condition_variable.hpp"
#include "weft/sync/detail/cv_core.hpp"
#include "weft/sync/mutex.hpp"
#include "weft/sync/rwlock.hpp"

namespace weft::compat {

// mutex is weft::sync::mutex (FIFO-fair, parks fibers; see mutex.hpp). It
// has std::mutex's lock/try_lock/unlock plus the timed forms; its
// constructor is not constexpr, so a namespace-scope mutex is initialised
// dynamically (not before other translation units' static initialisers).
// std::lock_guard, std::unique_lock and std::scoped_lock work with it.
using mutex = weft::sync::mutex;

// timed_mutex is a mutex with std::timed_mutex's name (its own type, so
// overloads on mutex and timed_mutex stay distinct).
class timed_mutex : public weft::sync::mutex {
 public:
  timed_mutex() = default;
};

// shared_mutex is weft::sync::rwlock under std::shared_mutex's name (FIFO:
// readers arriving after a queued writer wait behind it). std::shared_lock
// works with it. It also has the timed forms.
class shared_mutex : public weft::sync::rwlock {
 public:
  shared_mutex() = default;
};

// shared_timed_mutex is shared_mutex with std::shared_timed_mutex's name.
class shared_timed_mutex : public weft::sync::rwlock {
 public:
  shared_timed_mutex() = default;
};

// condition_variable is weft::sync::condition_variable: it waits with a
// std::unique_lock<compat::mutex>, as std's waits with unique_lock<std::mutex>.
// No native_handle() and no notify_all_at_thread_exit().
using condition_variable = weft::sync::condition_variable;

// condition_variable_any is weft::sync::condition_variable_any: any
// lockable (the compat mutexes, std::shared_lock<compat::shared_mutex>).
// No std::stop_token overloads.
using condition_variable_any = weft::sync::condition_variable_any;

namespace detail {

// owner_token() identifies the calling fiber (its task record's cancel
// context) or plain thread (its thread-local one): one word, unique among
// the live fibers of every runtime and the live threads. Task ids are not
// enough: each runtime numbers its fibers from 1.
inline const void* owner_token() noexcept { return &weft::detail::current_cancel_context(); }

// recursive_core is the recursive lock behind recursive_mutex and
// recursive_timed_mutex: a weft::sync::mutex, its owner and the depth.
// Only the owner writes owner_ and depth_; another caller reads owner_ only
// to see that it is not itself, so relaxed order is enough (a fiber that
// migrates sees its own writes: the hand-off between workers synchronises).
class recursive_core {
 public:
  recursive_core() = default;
  recursive_core(const recursive_core&) = delete;
  recursive_core& operator=(const recursive_core&) = delete;

  void lock() {
    if (reenter()) return;
    m_.lock();
    take();
  }
  bool try_lock() noexcept {
    if (reenter()) return true;
    if (!m_.try_lock()) return false;
    take();
    return true;
  }
  template <class Rep, class Period>
  bool try_lock_for(const std::chrono::duration<Rep, Period>& d) {
    if (reenter()) return true;
    if (!m_.try_lock_for(d)) return false;
    take();
    return true;
  }
  template <class Clock, class Duration>
  bool try_lock_until(const std::chrono::time_point<Clock, Duration>& t) {
    if (reenter()) return true;
    if (!m_.try_lock_until(t)) return false;
    take();
    return true;
  }
  void unlock() {
    if (owner_.load(std::memory_order_relaxed) != owner_token()) {
      throw std::system_error(std::make_error_code(std::errc::operation_not_permitted),
                              "weft::compat::recursive_mutex::unlock: caller is not the owner");
    }
    if (--depth_ == 0) {
      owner_.store(nullptr, std::memory_order_relaxed);
      m_.unlock();
    }
  }
  // lock_uncancellable() is lock() without a cancellation point (a
  // condition variable re-locking while a cancellation unwinds).
  void lock_uncancellable() {
    if (reenter()) return;
    weft::sync::detail::relock_access::lock(m_);
    take();
  }

 private:
  bool reenter() noexcept {
    if (owner_.load(std::memory_order_relaxed) != owner_token()) return false;
    ++depth_;
    return true;
  }
  void take() noexcept {
    owner_.store(owner_token(), std::memory_order_relaxed);
    depth_ = 1;
  }

  weft::sync::mutex m_;
  std::atomic<const void*> owner_{nullptr};
  std::size_t depth_ = 0;  // written by the owner only
};

}  // namespace detail

// recursive_mutex may be locked again by the fiber (or plain thread) that
// holds it; each lock() needs its unlock(). The owner is the calling fiber,
// not its worker thread: two fibers on one worker do not share ownership
// (a std::recursive_mutex would let them both in). FIFO-fair like mutex.
// Non-movable.
class recursive_mutex {
 public:
  recursive_mutex() = default;
  recursive_mutex(const recursive_mutex&) = delete;
  recursive_mutex& operator=(const recursive_mutex&) = delete;

  // lock() takes the mutex, or adds a level when the caller holds it.
  // Blocks: parks the fiber (or blocks the plain thread) while another
  // holds it. Errors: weft::cancelled (the caller then holds no new level).
  // Thread-safety: any fiber or thread.
  void lock() { core_.lock(); }

  // try_lock() is lock() that never waits; false when another holds it.
  bool try_lock() noexcept { return core_.try_lock(); }

  // unlock() drops one level; the last one releases the mutex to the
  // next waiter. Blocks: never. Errors: std::system_error with
  // std::errc::operation_not_permitted when the caller is not the owner
  // (undefined behaviour with std).
  void unlock() { core_.unlock(); }

 private:
  friend struct weft::sync::detail::relock_access;
  void lock_uncancellable() { core_.lock_uncancellable(); }
  detail::recursive_core core_;
};

// recursive_timed_mutex is recursive_mutex with try_lock_for/try_lock_until.
// Non-movable.
class recursive_timed_mutex {
 public:
  recursive_timed_mutex() = default;
  recursive_timed_mutex(const recursive_timed_mutex&) = delete;
  recursive_timed_mutex& operator=(const recursive_timed_mutex&) = delete;

  // lock() is recursive_mutex::lock().
  void lock() { core_.lock(); }
  // try_lock() is recursive_mutex::try_lock().
  bool try_lock() noexcept { return core_.try_lock(); }

  // try_lock_for() is lock() giving up after `d` (runtime clock): false on
  // timeout. Errors: weft::cancelled.
  template <class Rep, class Period>
  bool try_lock_for(const std::chrono::duration<Rep, Period>& d) {
    return core_.try_lock_for(d);
  }

  // try_lock_until() is lock() giving up at `t` (any clock).
  // Errors: weft::cancelled.
  template <class Clock, class Duration>
  bool try_lock_until(const std::chrono::time_point<Clock, Duration>& t) {
    return core_.try_lock_until(t);
  }

  // unlock() is recursive_mutex::unlock().
  void unlock() { core_.unlock(); }

 private:
  friend struct weft::sync::detail::relock_access;
  void lock_uncancellable() { core_.lock_uncancellable(); }
  detail::recursive_core core_;
};

}  // namespace weft::compat
