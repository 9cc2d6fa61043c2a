// SPDX-License-Identifier: MIT
// io_source: one file descriptor's registration with the reactor, and the
// readiness cache sockets park on. Internal to weft (net/ builds on it).
//
// Protocol (docs/design.md section 7). A socket operation is bracketed by
// begin()/end(). It reads snapshot(dir), tries the non-blocking syscall, and
// on EAGAIN calls wait(dir, snapshot, deadline). wait() registers the fd
// once, edge-triggered, for both directions on the calling worker's event
// loop (no epoll_ctl per operation afterwards); each readiness edge bumps a
// per-direction sequence number under the lock and wakes that direction's
// waiters. wait() parks only if no edge arrived since the snapshot, so an
// edge between the syscall and the park is never lost. close() wakes every
// waiter with errc::closed and returns once no operation is inside the fd,
// so the caller may close(2) it without another fiber touching a reused fd.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "weft/fibers/config.hpp"
#include "weft/fibers/detail/waiter.hpp"
#include "weft/fibers/result.hpp"

struct event;

namespace weft::detail {

class runtime_core;
class worker;
class io_source;

// io_dir is a direction of readiness.
enum class io_dir : std::uint8_t { read = 0, write = 1 };

// io_interest is one (source, direction) of a wait_any(), with the
// direction's snapshot() taken before the caller's non-blocking check.
struct io_interest {
  io_source* src;
  io_dir dir;
  std::uint32_t snap;
};

// wait_any() waits until any of items[0, n) sees a readiness edge after its
// snapshot, or is closed: poll(2) over many sources, for the hook layer.
// One waiter is linked into every source's list (the select pattern), so
// the first edge wins. Returns {} to look again (the caller re-checks with
// a non-blocking poll), errc::timeout at `deadline_ns`. Each source must
// be inside an operation (begin()) of the caller.
// Blocks: parks the fiber; a weft fiber only (EINVAL elsewhere).
// Throws: weft::cancelled.
result<void> wait_any(io_interest* items, std::size_t n, std::int64_t deadline_ns);

class io_source {
 public:
  // io_source(fd) watches `fd` (non-blocking; not owned: the caller closes it).
  explicit io_source(int fd) noexcept : fd_(fd) {}
  io_source(const io_source&) = delete;
  io_source& operator=(const io_source&) = delete;
  // ~io_source() closes the registration (see close()).
  ~io_source();

  int fd() const noexcept { return fd_; }

  // begin() enters one operation; false once closed (then do not call end()).
  bool begin() noexcept {
    if (ops_.fetch_add(1, std::memory_order_acquire) & kClosed) {
      end();
      return false;
    }
    return true;
  }
  // end() leaves an operation begun by begin().
  void end() noexcept {
    if (ops_.fetch_sub(1, std::memory_order_acq_rel) == kClosed + 1) last_out();
  }
  bool closed() const noexcept { return ops_.load(std::memory_order_acquire) & kClosed; }

  // snapshot() is the readiness sequence of `d`; read it before the syscall.
  std::uint32_t snapshot(io_dir d) const noexcept {
    const std::uint64_t s = seq_.load(std::memory_order_acquire);
    return d == io_dir::read ? static_cast<std::uint32_t>(s >> 32) : static_cast<std::uint32_t>(s);
  }

  // note_drained() records that a stream read with snapshot `snap` returned
  // fewer bytes than asked (and more than 0): the socket's buffer was empty
  // right after it. known_drained() is true while no edge came since, so
  // the next read can park at once instead of paying a syscall for EAGAIN
  // (an edge always follows new data, EOF or an error).
  void note_drained(io_dir d, std::uint32_t snap) noexcept {
    drained_[static_cast<int>(d)].store((std::uint64_t{snap} << 1) | 1, std::memory_order_relaxed);
  }
  // Never true once the peer hung up or an error was seen (sticky: after
  // the last data, EOF or the error is still to be read, and no further
  // edge will announce it).
  bool known_drained(io_dir d, std::uint32_t snap) const noexcept {
    return drained_[static_cast<int>(d)].load(std::memory_order_relaxed) ==
               ((std::uint64_t{snap} << 1) | 1) &&
           !hup_.load(std::memory_order_acquire);
  }

  // wait() waits for the next readiness edge of `d` after `snap` (the
  // syscall said EAGAIN). Returns {} to retry the syscall.
  // Blocks: parks the fiber; on a plain thread, poll(2) in slices.
  // Errors: weft::errc::timeout at `deadline_ns` (runtime clock),
  //   weft::errc::closed once close() ran, ENOMEM if libevent fails.
  // Throws: weft::cancelled (abort, shutdown, an expired timeout() scope).
  result<void> wait(io_dir d, std::uint32_t snap, std::int64_t deadline_ns);

  // foreign_registration() is true when the source is registered with a
  // runtime other than the caller's (an fd that outlived the runtime that
  // first waited on it): its edges would never reach the caller.
  bool foreign_registration() noexcept;

  // close() marks the source closed, wakes every waiter (errc::closed), waits
  // until every begun operation has ended, then deregisters. Returns true
  // for the call that closed it; later calls return false at once.
  // Must not be called inside an operation begun on this source.
  bool close() noexcept;

 private:
  static constexpr std::uint32_t kClosed = 1u << 31;
  friend result<void> wait_any(io_interest* items, std::size_t n, std::int64_t deadline_ns);
  static void on_event(int fd, short what, void* arg);
  result<void> wait_thread(io_dir d, std::int64_t deadline_ns);
  result<void> ensure_registered();
  void last_out() noexcept;
  void wake(unsigned dirs) noexcept;  // bit 0 read, bit 1 write

  int fd_;
  std::atomic<std::uint32_t> ops_{0};           // kClosed | operations inside
  std::atomic<std::uint64_t> seq_{0};           // read edges << 32 | write edges
  std::atomic<std::uint64_t> drained_[2] = {};  // snapshot << 1 | 1, see note_drained()
  std::atomic<bool> hup_{false};                // the reactor saw EPOLLRDHUP/HUP/ERR
  worker* owner_ = nullptr;  // the worker whose event loop holds the registration
  spin_lock lock_;                              // guards the lists and registration
  wait_list waiters_[2];
  wait_list closers_;
  event* ev_ = nullptr;
  std::shared_ptr<runtime_core> keep_;  // keeps the owning event_base alive
  bool close_done_ = false;             // guarded by lock_
};

// io_op brackets one operation: `ok()` is false when the source was closed.
class io_op {
 public:
  explicit io_op(io_source& s) noexcept : s_(s), ok_(s.begin()) {}
  ~io_op() {
    if (ok_) s_.end();
  }
  io_op(const io_op&) = delete;
  io_op& operator=(const io_op&) = delete;
  bool ok() const noexcept { return ok_; }

 private:
  io_source& s_;
  bool ok_;
};

}  // namespace weft::detail
