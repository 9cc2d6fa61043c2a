// SPDX-License-Identifier: MIT
// Shared test fixture: build a runtime of each flavour/worker count (Tokio's
// rt_common, marl's TEST_P), and check that nothing is left behind: no live
// fibers when the test body ends and no file descriptor leaked. Also the
// small synchronisation helpers tests use instead of sleeping.
#pragma once

#include <dirent.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstddef>
#include <string>
#include <thread>
#include <utility>

#include "weft/fibers.hpp"

// WEFT_TEST_LSAN_DISABLER, as a statement, keeps LeakSanitizer from
// reporting what the scope allocates: for a runtime core that is leaked on
// purpose (a shutdown that gave up on stuck tasks).
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define WEFT_TEST_LSAN_DISABLER __lsan::ScopedDisabler lsan_off
#else
#define WEFT_TEST_LSAN_DISABLER
#endif

namespace weft_test {

// open_fds() counts the process's open file descriptors.
inline std::size_t open_fds() {
  std::size_t n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (::readdir(d)) ++n;
    ::closedir(d);
  }
  return n;
}

// make_runtime() builds a runtime: 0 workers means the current-thread
// flavour, otherwise a multi-thread runtime with that many workers.
inline weft::runtime make_runtime(int workers, bool paused = false) {
  auto b = workers == 0
               ? weft::builder::current_thread()
               : weft::builder::multi_thread().worker_threads(static_cast<std::size_t>(workers));
  b.thread_name("weft-test").start_paused(paused);
  return b.build();
}

// flavour_name() describes a GENERATE'd worker count in test output.
inline std::string flavour_name(int workers) {
  return workers == 0 ? "current_thread" : "multi_thread(" + std::to_string(workers) + ")";
}

// leak_check verifies at scope exit that the runtime has no live fiber and
// that the fd count is back to where it started.
class leak_check {
 public:
  leak_check() : fds_(open_fds()) {}
  // finish() must be called after the runtime was destroyed.
  void finish() const { CHECK(open_fds() == fds_); }

 private:
  std::size_t fds_;
};

// thread_id() is the calling kernel thread's id. Use it, not
// std::this_thread::get_id(), to see a fiber change threads: get_id() is
// pthread_self(), which glibc declares __attribute__((const)), so the
// compiler may reuse a value read before a suspension point after it.
inline long thread_id() noexcept { return static_cast<long>(::syscall(SYS_gettid)); }

// spin_until() polls `pred` until it holds, yielding between polls: the
// fiber yields to other fibers (weft::this_fiber::yield), a plain thread to
// other threads. It gives up after `limit` of real time and returns false,
// so a broken runtime fails the test instead of hanging it. Never a
// substitute for sleeping: it waits for a condition, not for time.
template <class Pred>
bool spin_until(Pred&& pred, std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  const auto give_up = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    weft::this_fiber::yield();
  }
  return true;
}

// in_weft_wait() is true while the task behind `h` is inside a cancellable
// weft wait (sleep, join, readiness, ...): its waiter is registered for
// abort. Reads runtime internals (task_base::current_waiter_); use it to
// know that a fiber really is parked, never as a sleep.
template <class T>
bool in_weft_wait(const weft::join_handle<T>& h) {
  weft::detail::task_base* t = h.task();
  if (!t) return false;
  return t->current_waiter_.load() != nullptr;
}

// on_destroy adds one to a counter when it is destroyed: put one on a
// fiber's stack to observe that the stack unwound.
class on_destroy {
 public:
  explicit on_destroy(std::atomic<int>& counter) noexcept : counter_(counter) {}
  on_destroy(const on_destroy&) = delete;
  on_destroy& operator=(const on_destroy&) = delete;
  ~on_destroy() { counter_.fetch_add(1, std::memory_order_acq_rel); }

 private:
  std::atomic<int>& counter_;
};

// pipe_fds owns both ends of a pipe(2) and closes them.
class pipe_fds {
 public:
  pipe_fds() {
    if (::pipe(fds_) != 0) fds_[0] = fds_[1] = -1;
  }
  pipe_fds(const pipe_fds&) = delete;
  pipe_fds& operator=(const pipe_fds&) = delete;
  ~pipe_fds() {
    close_read();
    close_write();
  }
  bool ok() const noexcept { return fds_[0] >= 0 && fds_[1] >= 0; }
  int read_end() const noexcept { return fds_[0]; }
  int write_end() const noexcept { return fds_[1]; }
  void close_read() noexcept {
    if (fds_[0] >= 0) ::close(std::exchange(fds_[0], -1));
  }
  void close_write() noexcept {
    if (fds_[1] >= 0) ::close(std::exchange(fds_[1], -1));
  }

 private:
  int fds_[2];
};

// outcome_of() runs `f` and says how it ended, for checks made after a
// fiber finished: "value", "cancelled" (join_error::is_cancelled), "panic"
// (join_error::is_panic) or "other".
template <class F>
std::string outcome_of(F&& f) {
  try {
    std::forward<F>(f)();
    return "value";
  } catch (const weft::join_error& e) {
    return e.is_cancelled() ? "cancelled" : e.is_panic() ? "panic" : "join_error?";
  } catch (...) {
    return "other";
  }
}

}  // namespace weft_test

// WEFT_RUNTIME_FLAVOURS yields the worker counts every runtime test runs at:
// the current-thread flavour, 1 worker and 4 workers.
#define WEFT_RUNTIME_FLAVOURS() GENERATE(0, 1, 4)
