// SPDX-License-Identifier: MIT
// weft::compat::thread, thread::id and this_thread: std::thread's API over a
// weft fiber. Part of weft/compat.hpp; include that, not this file.
#pragma once

#include <chrono>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <ostream>
#include <thread>
#include <type_traits>
#include <utility>

#include "weft/fibers/config.hpp"
#include "weft/fibers/join_handle.hpp"
#include "weft/fibers/runtime.hpp"
#include "weft/fibers/spawn.hpp"
#include "weft/fibers/this_fiber.hpp"
#include "weft/fibers/time.hpp"

namespace weft::compat {

namespace detail {
// require_core() is the caller's runtime, for starting a compat::thread or
// an async() fiber. Errors: weft::no_runtime_error naming `what`.
weft::detail::runtime_core& require_core(const char* what);
}  // namespace detail

// thread runs a function on a new weft fiber, with std::thread's API, so a
// port from std threads can be `namespace sys = weft::compat;`. It differs
// from std::thread where a fiber is not a thread (docs/compat.md):
//   - it needs a running weft runtime: construct it on a fiber (inside
//     runtime::block_on) or a worker; elsewhere the constructor throws
//     weft::no_runtime_error;
//   - the fiber may migrate between worker threads at suspension points
//     (thread_local and std::this_thread::get_id() change under it);
//   - there is no native_handle() (a fiber has no pthread of its own);
//   - an exception escaping the function goes to the runtime's
//     unhandled_exception_policy (report by default, terminate on request:
//     builder::unhandled_exception), as for every weft task nobody can join;
//     std::thread calls std::terminate. A fiber cancelled by runtime
//     shutdown or an abort ends quietly, like a thread that returned.
// Destroying or move-assigning over a joinable thread calls std::terminate,
// as std does. Move-only.
class thread {
 public:
  class id;

  // thread() is a thread object that represents no fiber (not joinable).
  thread() noexcept = default;

  // thread() starts f(args...) on a new fiber of the caller's runtime. `f`
  // and `args` are decay-copied in the caller's context, as std::thread
  // does, and invoked as rvalues on the fiber.
  // Errors: weft::no_runtime_error when the caller is not on a runtime;
  //   std::system_error when no stack can be allocated.
  template <class F, class... Args>
  requires(!std::is_same_v<std::remove_cvref_t<F>, thread>) explicit thread(F&& f, Args&&... args) {
    static_assert(std::is_invocable_v<std::decay_t<F>, std::decay_t<Args>...>,
                  "weft::compat::thread: f(args...) must be invocable on decayed copies");
    weft::detail::runtime_core& core = detail::require_core("weft::compat::thread");
    auto fn = weft::detail::bind_call(std::forward<F>(f), std::forward<Args>(args)...);
    h_ = weft::spawn([fn = std::move(fn)]() mutable { (void)fn(); });
    core_ = &core;
  }

  thread(const thread&) = delete;
  thread& operator=(const thread&) = delete;
  thread(thread&& o) noexcept : h_(std::move(o.h_)), core_(std::exchange(o.core_, nullptr)) {}

  // operator=() takes over `o`'s fiber. Calls std::terminate if *this is
  // joinable, as std does.
  thread& operator=(thread&& o) noexcept {
    if (joinable()) std::terminate();
    h_ = std::move(o.h_);
    core_ = std::exchange(o.core_, nullptr);
    return *this;
  }

  // ~thread() calls std::terminate if the thread is still joinable (neither
  // joined nor detached), as std does.
  ~thread() {
    if (joinable()) std::terminate();
  }

  // joinable() is true while the object represents a fiber not yet joined
  // or detached (even one that has finished). Thread-safety: as std.
  bool joinable() const noexcept { return h_.valid(); }

  // get_id() is the fiber's id, or a default id when not joinable.
  id get_id() const noexcept;

  // native_handle() is not provided: a fiber has no pthread_t.

  // hardware_concurrency() is std::thread::hardware_concurrency(): the
  // number of cores, not the runtime's worker count (code sizing a pool by
  // it still works: fibers are cheap).
  static unsigned int hardware_concurrency() noexcept {
    return std::thread::hardware_concurrency();
  }

  // join() waits for the fiber to finish.
  // Blocks: parks the calling fiber (or blocks the calling plain thread).
  // Errors: std::system_error with std::errc::invalid_argument when not
  //   joinable, resource_deadlock_would_occur when called by the fiber
  //   itself (as std); weft::cancelled when the caller is cancelled while
  //   waiting (the thread stays joinable). Thread-safety: as std.
  void join();

  // detach() lets the fiber run on without this object.
  // Errors: std::system_error(invalid_argument) when not joinable.
  void detach();

  // swap() exchanges the fibers of two thread objects.
  void swap(thread& o) noexcept {
    std::swap(h_, o.h_);
    std::swap(core_, o.core_);
  }

 private:
  weft::join_handle<void> h_;
  const weft::detail::runtime_core* core_ = nullptr;
};

// swap() is a.swap(b).
inline void swap(thread& a, thread& b) noexcept { a.swap(b); }

// thread::id identifies a fiber (its runtime and task id, stable across
// migration) or a plain thread (its std::thread::id); the two never compare
// equal. A default id represents no thread. Comparable, hashable
// (std::hash) and streamable ("fiber 12", or the std id for a thread).
class thread::id {
 public:
  id() noexcept = default;

  friend bool operator==(const id& a, const id& b) noexcept {
    return a.core_ == b.core_ && a.fiber_ == b.fiber_ && a.thread_ == b.thread_;
  }
  friend std::strong_ordering operator<=>(const id& a, const id& b) noexcept {
    if (auto c = a.core_ <=> b.core_; c != 0) return c;
    if (auto c = a.fiber_ <=> b.fiber_; c != 0) return c;
    if (a.thread_ == b.thread_) return std::strong_ordering::equal;
    return a.thread_ < b.thread_ ? std::strong_ordering::less : std::strong_ordering::greater;
  }

  template <class CharT, class Traits>
  friend std::basic_ostream<CharT, Traits>& operator<<(std::basic_ostream<CharT, Traits>& os,
                                                       const id& i) {
    if (i.fiber_ != 0) return os << "fiber " << i.fiber_;
    return os << i.thread_;
  }

  // Internal: the hash std::hash<thread::id> returns.
  std::size_t hash() const noexcept {
    std::size_t h = std::hash<std::thread::id>()(thread_);
    h ^= std::hash<std::uint64_t>()(fiber_) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    h ^= std::hash<std::uintptr_t>()(core_) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return h;
  }

  // Internal: the id of fiber `task` of runtime `core`, or of thread `t`.
  id(const void* core, std::uint64_t task) noexcept
      : core_(reinterpret_cast<std::uintptr_t>(core)), fiber_(task) {}
  explicit id(std::thread::id t) noexcept : thread_(t) {}

 private:
  std::uintptr_t core_ = 0;   // the fiber's runtime; 0 for a plain thread
  std::uint64_t fiber_ = 0;   // the fiber's task id; 0 for a plain thread
  std::thread::id thread_{};  // a plain thread's id; default for a fiber
};

inline thread::id thread::get_id() const noexcept { return joinable() ? id(core_, h_.id()) : id(); }

// this_thread: std::this_thread for code that may run on a fiber. On a
// fiber they park only the fiber; on a plain thread they behave like std.
// Each is a weft cancellation point (weft::cancelled passes through).
namespace this_thread {

// get_id() is the calling fiber's id, or the calling plain thread's.
// Stable for a fiber that migrates between workers. Blocks: never.
thread::id get_id() noexcept;

// yield() lets other ready fibers (or threads) run first.
// Errors: weft::cancelled when the fiber was cancelled.
inline void yield() { weft::this_fiber::yield(); }

// sleep_for() suspends the caller for at least `d` (on the runtime clock,
// so a paused test clock moves it). Blocks: parks the fiber, or sleeps the
// plain thread. Errors: weft::cancelled.
template <class Rep, class Period>
void sleep_for(const std::chrono::duration<Rep, Period>& d) {
  weft::time::sleep_for(d);
}

// sleep_until() suspends the caller until `t` (any clock; converted through
// its distance from Clock::now(), so a later system_clock adjustment does
// not move the wake-up). Blocks: as sleep_for(). Errors: weft::cancelled.
template <class Clock, class Duration>
void sleep_until(const std::chrono::time_point<Clock, Duration>& t) {
  weft::time::sleep_until(t);
}

}  // namespace this_thread

}  // namespace weft::compat

template <>
struct std::hash<weft::compat::thread::id> {
  std::size_t operator()(const weft::compat::thread::id& i) const noexcept { return i.hash(); }
};
