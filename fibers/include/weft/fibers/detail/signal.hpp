// SPDX-License-Identifier: MIT
// The process-wide signal hub: POSIX signals delivered through one runtime's
// libevent loop and counted per signal number. Internal to weft: net/'s
// weft::net::signal_stream is the public face; do not depend on it.
//
// Ownership rule (libevent lets one event_base own signals at a time): the
// first runtime that listens "hosts" every signal event, on its worker 0's
// event_base, until its last listener goes or it shuts down. Listeners from
// other runtimes or plain threads share the host's events. When the host
// shuts down while listeners remain, the events move to another live
// runtime; with none left, waits report errc::closed (deliveries are still
// counted and the default action still never runs while a listener exists).
#pragma once

#include <cstdint>

#include "weft/fibers/config.hpp"
#include "weft/fibers/detail/waiter.hpp"
#include "weft/fibers/result.hpp"

namespace weft::detail {

class runtime_core;

// signal_poll is the outcome of a non-blocking look at a signal_listener.
enum class signal_poll {
  pending,  // no new delivery (armed: the node is linked)
  ready,    // a new delivery was taken
  closed,   // no runtime is left to deliver signals
};

// signal_listenable() is true for a signal number a listener may take:
// 1..NSIG-1, not SIGKILL/SIGSTOP (cannot be caught), not SIGSEGV, SIGBUS,
// SIGILL, SIGFPE (faults: catching them hides crashes and weft's stack
// overflow reports) and not glibc's reserved real-time signals.
bool signal_listenable(int signum) noexcept;

// signal_listener is one registration for one signal number. While at least
// one exists for a signal, that signal's default action never runs; each
// delivery is counted and wakes every waiting listener.
// Thread-safety: distinct listeners may be used from any fibers/threads at
// once; one listener is used by one caller at a time (like a receiver).
class signal_listener {
 public:
  // signal_listener() is an empty listener (the moved-from state): its
  // waits report closed.
  signal_listener() noexcept = default;

  // open() registers a listener for `signum`. Deliveries that happened
  // before open() are not seen.
  // Errors: std::errc::invalid_argument when !signal_listenable(signum);
  //   another std::error_code when libevent cannot register the event.
  //   Throws weft::no_runtime_error when no runtime exists to deliver the
  //   signal (the caller's runtime is preferred, then the current host, then
  //   any live runtime).
  [[nodiscard]] static result<signal_listener> open(int signum);

  signal_listener(signal_listener&& o) noexcept;
  signal_listener& operator=(signal_listener&& o) noexcept;
  signal_listener(const signal_listener&) = delete;
  signal_listener& operator=(const signal_listener&) = delete;
  // ~signal_listener() unregisters; the last listener of a signal restores
  // the disposition that was in place before the first one.
  ~signal_listener();

  // signum() is the signal number (0 for an empty listener).
  int signum() const noexcept { return signum_; }

  // wait() returns once a delivery newer than the last one taken exists,
  // and takes it (all deliveries since then coalesce into one).
  // Blocks: parks the fiber (or the plain thread) until a delivery or
  //   `deadline_ns` (runtime clock ns).
  // Errors: errc::timeout; errc::closed when no runtime is left to deliver
  //   signals; throws weft::cancelled (nothing is taken then).
  [[nodiscard]] result<void> wait(std::int64_t deadline_ns);

  // try_take() takes a new delivery without waiting.
  signal_poll try_take() noexcept;

  // arm()/disarm(): the select protocol (sync/detail/select_branch.hpp).
  // arm() takes a delivery through a claim of `w` (ready), reports closed,
  // or links `n`. disarm() unlinks `n`; true when a delivery completed
  // through it (the delivery is then taken). With `give_back` (the select's
  // fiber was aborted after the branch fired: docs/sync/cancellation.md)
  // nothing is taken and it returns false: the delivery stays pending.
  signal_poll arm(waiter& w, wait_list::node& n) noexcept;
  bool disarm(wait_list::node& n, bool give_back = false) noexcept;

 private:
  explicit signal_listener(int signum, std::uint64_t seen) noexcept
      : signum_(signum), seen_(seen) {}
  void close() noexcept;

  int signum_ = 0;
  std::uint64_t seen_ = 0;  // the delivery count taken last
};

// signal_hub_runtime_started()/signal_hub_runtime_stopping() tell the hub
// which runtimes may host signal events. Stopping moves the events off a
// host that shuts down (before its event_bases go away). Called by
// runtime_core only.
void signal_hub_runtime_started(runtime_core& core) noexcept;
void signal_hub_runtime_stopping(runtime_core& core) noexcept;

}  // namespace weft::detail
