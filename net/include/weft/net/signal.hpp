// SPDX-License-Identifier: MIT
// weft::net::signal_stream: POSIX signals as a stream a fiber (or thread)
// waits on, delivered through the runtime's libevent loop (Tokio's
// tokio::signal::unix::Signal), plus ctrl_c() and the select branch
// on_signal(). Semantics and the ownership rule: docs/net/signals.md.
//
//   auto sig = weft::net::signal_stream::open(SIGTERM).value();
//   weft::sync::select(weft::net::on_signal(sig, [&] { stop = true; }),
//                      weft::sync::on_recv(jobs, [&](job j) { run(j); }));
#pragma once

#include <chrono>

#include "weft/fibers/config.hpp"
#include "weft/fibers/detail/signal.hpp"
#include "weft/fibers/result.hpp"
#include "weft/fibers/time.hpp"
#include "weft/sync/detail/deadline.hpp"
#include "weft/sync/detail/select_branch.hpp"
#include "weft/sync/select.hpp"

namespace weft::net {

// signal_stream receives the deliveries of one signal number. While at
// least one stream for a signal exists, that signal's default action
// (terminate, for SIGINT/SIGTERM/SIGHUP/SIGUSR1...) never runs; the last
// stream to go restores the disposition found by the first.
// Thread-safety: distinct streams may be used anywhere at once; one stream
// is used by one fiber or thread at a time (like a receiver). Move-only.
class signal_stream {
 public:
  // open() starts listening to `signum`; deliveries before open() are not
  // seen. The signal is delivered through a worker's event loop of the
  // caller's runtime (or of the runtime already delivering signals, see
  // docs/net/signals.md); open() works on plain threads while some runtime
  // exists.
  // Errors: std::errc::invalid_argument for a number out of range, SIGKILL,
  //   SIGSTOP, the fault signals (SIGSEGV, SIGBUS, SIGILL, SIGFPE) and
  //   glibc's reserved real-time signals. Throws weft::no_runtime_error
  //   when no runtime exists at all.
  [[nodiscard]] static result<signal_stream> open(int signum);

  signal_stream(signal_stream&&) noexcept = default;
  signal_stream& operator=(signal_stream&&) noexcept = default;
  signal_stream(const signal_stream&) = delete;
  signal_stream& operator=(const signal_stream&) = delete;
  ~signal_stream() = default;

  // signum() is the signal number (0 for a moved-from stream).
  int signum() const noexcept { return l_.signum(); }

  // recv() waits for the next delivery after open() or after the previous
  // recv(). Deliveries that arrived since then coalesce into one: a recv()
  // after a delivery nobody waited for returns at once, and only once.
  // Blocks: parks the fiber (or blocks the plain thread) until a delivery
  //   or `deadline` (runtime clock: a paused clock applies).
  // Errors: errc::timeout at the deadline; errc::closed when no runtime is
  //   left to deliver signals (they were all shut down). Throws
  //   weft::cancelled when the waiting fiber is cancelled (nothing is
  //   taken then).
  // Select: see on_signal().
  [[nodiscard]] result<void> recv(time::instant deadline = time::instant::max());

  // recv_for() is recv() with a deadline `d` from now.
  template <class Rep, class Period>
  [[nodiscard]] result<void> recv_for(std::chrono::duration<Rep, Period> d) {
    return l_.wait(sync::detail::deadline_after(d));
  }

  // try_recv() takes a pending delivery without waiting.
  // Errors: errc::empty when none arrived since the last one taken;
  //   errc::closed as for recv().
  [[nodiscard]] result<void> try_recv() noexcept;

  // Select (internal): used by on_signal().
  sync::detail::poll select_try() noexcept;
  sync::detail::poll select_arm(sync::detail::waiter& w, sync::detail::wait_list::node& n) noexcept;
  bool select_disarm(sync::detail::wait_list::node& n, bool give_back = false) noexcept {
    return l_.disarm(n, give_back);
  }

 private:
  explicit signal_stream(weft::detail::signal_listener l) noexcept : l_(std::move(l)) {}
  weft::detail::signal_listener l_;
};

// ctrl_c() waits for the next SIGINT from now (Tokio's ctrl_c): a
// one-shot signal_stream. A SIGINT before the call is not seen; keep a
// signal_stream open instead when none may be missed.
// Blocks, Errors: as signal_stream::open() and recv().
[[nodiscard]] result<void> ctrl_c(time::instant deadline = time::instant::max());

// on_signal() is a select branch completing on the next delivery of `s`;
// `f()` runs when chosen. Disabled when no runtime is left to deliver
// signals (errc::closed of recv()).
// Select: a branch not chosen takes nothing: the delivery stays pending
//   for the next recv()/select (cancel safe).
template <class F>
auto on_signal(signal_stream& s, F f) {
  return sync::detail::signal_branch<signal_stream, F>(s, std::move(f));
}

}  // namespace weft::net
