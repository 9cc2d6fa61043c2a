// SPDX-License-Identifier: MIT
// weft::sync::once_cell<T>: a value initialised once, by exactly one of the
// fibers or threads that race for it (Tokio's OnceCell).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

#include "weft/fibers/config.hpp"
#include "weft/fibers/result.hpp"
#include "weft/fibers/time.hpp"
#include "weft/sync/detail/deadline.hpp"
#include "weft/sync/detail/once_core.hpp"

namespace weft::sync {

// once_cell<T> holds at most one T, set once and then only read. Concurrent
// get_or_init() calls run exactly one initializer; the others park until it
// finishes. If the initializer throws (or its fiber is cancelled) the cell
// stays empty and the next waiting caller runs its own initializer. A
// waiter aborted after it was woken but before it ran throws
// weft::cancelled and runs no initializer (docs/sync/cancellation.md).
// The value is shared: accessors hand out const access. Non-movable.
template <class T>
class once_cell {
 public:
  // once_cell() is empty.
  once_cell() noexcept = default;
  once_cell(const once_cell&) = delete;
  once_cell& operator=(const once_cell&) = delete;
  // ~once_cell() destroys the value if there is one. No caller may wait.
  ~once_cell() {
    if (core_.ready()) ptr()->~T();
  }

  // get() is the value, or nullptr while the cell is empty or initialising.
  // Blocks: never. Thread-safety: any fiber or thread.
  const T* get() const noexcept { return core_.ready() ? ptr() : nullptr; }

  // initialized() is get() != nullptr.
  bool initialized() const noexcept { return core_.ready(); }

  // get_or_init() returns the value, running `f()` to make it if the cell is
  // empty and no other caller is initialising it.
  // Blocks: parks the fiber (or blocks the plain thread) while another
  //   caller's initializer runs; f itself may suspend.
  // Errors: what f throws (the cell stays empty; a waiter retries);
  //   weft::cancelled when cancelled while waiting or inside f.
  // Thread-safety: any fiber or thread.
  template <class F>
  const T& get_or_init(F&& f) {
    if (const T* v = get()) return *v;
    (void)init_until(weft::detail::no_deadline, std::forward<F>(f));
    return *ptr();
  }

  // get_or_init_for() is get_or_init() that stops waiting for another
  // caller's initializer after `d` (errc::timeout). The deadline does not
  // bound `f` itself: wrap f in weft::time::timeout() for that. Any
  // std::chrono duration; one too long to represent means no deadline.
  // Errors: errc::timeout; what f throws; weft::cancelled.
  template <class Rep, class Period, class F>
  [[nodiscard]] result<const T*> get_or_init_for(std::chrono::duration<Rep, Period> d, F&& f) {
    return init_until(detail::deadline_after(d), std::forward<F>(f));
  }

  // get_or_init_until() is get_or_init_for() with a deadline `t` of any
  // clock (time_point::max() means none).
  template <class Clock, class Duration, class F>
  [[nodiscard]] result<const T*> get_or_init_until(
      const std::chrono::time_point<Clock, Duration>& t, F&& f) {
    return init_until(detail::deadline_at(t), std::forward<F>(f));
  }

  // set() stores T(std::forward<U>(v)) if the cell is empty and nobody is
  // initialising it; false otherwise, and then `v` is not moved from.
  // Blocks: never. Errors: what T's constructor throws (the cell stays empty).
  template <class U>
  [[nodiscard]] bool set(U&& v) {
    if (!core_.try_begin()) return false;
    commit_guard g{core_};
    ::new (static_cast<void*>(storage_)) T(std::forward<U>(v));
    g.done = true;
    core_.finish();
    return true;
  }

 private:
  // commit_guard abandons the initialisation unless it completed.
  struct commit_guard {
    detail::once_core& core;
    bool done = false;
    ~commit_guard() {
      if (!done) core.abandon();
    }
  };

  template <class F>
  result<const T*> init_until(std::int64_t deadline_ns, F&& f) {
    switch (core_.begin(deadline_ns)) {
      case detail::once_core::begin_status::ready:
        return ptr();
      case detail::once_core::begin_status::timeout:
        return make_error_code(errc::timeout);
      case detail::once_core::begin_status::initialize:
        break;
    }
    commit_guard g{core_};
    ::new (static_cast<void*>(storage_)) T(std::invoke(std::forward<F>(f)));
    g.done = true;
    core_.finish();
    return ptr();
  }

  T* ptr() noexcept { return std::launder(reinterpret_cast<T*>(storage_)); }
  const T* ptr() const noexcept { return std::launder(reinterpret_cast<const T*>(storage_)); }

  detail::once_core core_;
  alignas(T) unsigned char storage_[sizeof(T)];
};

}  // namespace weft::sync
