// SPDX-License-Identifier: MIT
// The hook layer's per-descriptor table (docs/hooks.md "The user's view of
// a descriptor"): what the program asked for (its own O_NONBLOCK, its
// SO_RCVTIMEO / SO_SNDTIMEO), what the descriptor is, and the reactor
// registration fibers park on. A descriptor enters the table when a fiber
// creates or first uses it; close(), dup2(), dup3() and close_range()
// retire the entry *before* the number can be reused, waking every fiber
// parked on it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>

#include "weft/fibers/detail/io_source.hpp"
#include "weft/fibers/detail/waiter.hpp"

namespace weft::hook::detail {

// fd_kind says how the hooks treat a descriptor.
enum class fd_kind : std::uint8_t {
  stream_socket,  // SOCK_STREAM / SOCK_SEQPACKET: partial writes are continued
  dgram_socket,   // datagrams: one call, one message
  pipe,           // pipes, FIFOs: partial writes are continued
  pollable,       // eventfd, timerfd, signalfd, epoll, inotify, ... (anonymous inodes)
  file,           // regular files, directories, block and character devices:
                  // the reactor cannot poll them (offload_file_io)
};

// description_view is the program's O_NONBLOCK of one kernel file
// description, shared by the descriptors dup() made of it (as the kernel's
// flag is): F_SETFL on one is seen by the others. Reference-counted.
struct description_view {
  explicit description_view(bool nb) noexcept : nonblock(nb) {}
  std::atomic<int> refs{1};
  std::atomic<bool> nonblock;
};

// fd_state is one tracked descriptor.
struct fd_state {
  // fd_state() makes a fresh view, or shares `view` (a dup) when given.
  fd_state(int fd, fd_kind k, bool is_managed, bool nonblock,
           description_view* view = nullptr) noexcept
      : src(fd), kind(k), managed(is_managed), view_(view) {
    if (view_) {
      view_->refs.fetch_add(1, std::memory_order_relaxed);
    } else {
      view_ = new (std::nothrow) description_view(nonblock);
      if (!view_) view_ = &fallback_;  // out of memory: an unshared view
    }
  }
  ~fd_state() {
    if (view_ != &fallback_ && view_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      delete view_;
    }
  }
  fd_state(const fd_state&) = delete;
  fd_state& operator=(const fd_state&) = delete;

  // user_nonblock() is the program's view of O_NONBLOCK.
  bool user_nonblock() const noexcept { return view_->nonblock.load(std::memory_order_relaxed); }
  void set_user_nonblock(bool on) noexcept { view_->nonblock.store(on, std::memory_order_relaxed); }
  description_view* view() const noexcept { return view_ == &fallback_ ? nullptr : view_; }

  weft::detail::io_source src;
  const fd_kind kind;
  // managed: weft set O_NONBLOCK on the kernel file description, and the
  // hooks emulate what the program expects (its view is user_nonblock()).
  // Unmanaged pollable descriptors (a pipe on fd 0-2, shared with other
  // processes) keep their flags: a fiber waits for readiness, then calls.
  const bool managed;
  std::atomic<std::int64_t> rcv_timeout_ns{0};  // 0: none (SO_RCVTIMEO)
  std::atomic<std::int64_t> snd_timeout_ns{0};  // 0: none (SO_SNDTIMEO)

  bool pollable() const noexcept { return kind != fd_kind::file; }
  bool is_socket() const noexcept {
    return kind == fd_kind::stream_socket || kind == fd_kind::dgram_socket;
  }
  bool streamy() const noexcept { return kind == fd_kind::stream_socket || kind == fd_kind::pipe; }

 private:
  description_view* view_;
  description_view fallback_{false};
};

// fd_ref holds one operation on a tracked descriptor: while it lives the
// entry is not freed, and close() of the descriptor waits for it to end
// (so the number is not reused under the operation). Empty when the
// descriptor is not tracked (or was retired meanwhile).
class fd_ref {
 public:
  fd_ref() noexcept = default;
  explicit fd_ref(fd_state* s) noexcept : s_(s) {}
  fd_ref(fd_ref&& o) noexcept : s_(o.s_) { o.s_ = nullptr; }
  fd_ref& operator=(fd_ref&& o) noexcept {
    reset();
    s_ = o.s_;
    o.s_ = nullptr;
    return *this;
  }
  fd_ref(const fd_ref&) = delete;
  fd_ref& operator=(const fd_ref&) = delete;
  ~fd_ref() { reset(); }

  explicit operator bool() const noexcept { return s_ != nullptr; }
  fd_state* operator->() const noexcept { return s_; }
  fd_state& operator*() const noexcept { return *s_; }
  void reset() noexcept {
    if (s_) s_->src.end();
    s_ = nullptr;
  }

 private:
  fd_state* s_ = nullptr;
};

// kMaxTracked: descriptors at or above it are never tracked (their calls
// go straight to libc, blocking the worker).
inline constexpr int kMaxTracked = 1 << 20;

// any_tracked() is false until the first descriptor is tracked: a plain
// thread's hook then costs no table lookup.
bool any_tracked() noexcept;

// tracked_count() is the number of live entries.
std::size_t tracked_count() noexcept;

// drop_closed() retires the entries of descriptors that are closed (a close
// the hooks did not see). A scan of the whole table: for diagnostics.
void drop_closed() noexcept;

// find() is the tracked entry of `fd` (empty if none).
fd_ref find(int fd) noexcept;

// find_or_track() is find(), tracking an untracked descriptor first (one
// fstat and, for a pollable one, F_GETFL/F_SETFL to make the kernel
// description non-blocking). Called on fibers only.
fd_ref find_or_track(int fd) noexcept;

// track_new() records a descriptor the hooks just created on a fiber with
// O_NONBLOCK set in the kernel; `user_nonblock` is what the program asked
// for. Replaces a stale entry of the same number.
void track_new(int fd, fd_kind k, bool user_nonblock) noexcept;

// track_dup() records `to` as a duplicate of tracked `from` (same file
// description: same kind and managed flag, the same shared user view).
void track_dup(const fd_state& from, int to) noexcept;

// clone_state() makes an entry for `to` like `from` (its view shared), not
// installed yet; install_state() installs it, replacing (and retiring) what
// the slot held. The caller must hold no fd_ref on `to` when installing.
fd_state* clone_state(const fd_state& from, int to) noexcept;
void install_state(int fd, fd_state* s) noexcept;

// retire() removes the entry of `fd`: parked operations wake with EBADF,
// and it returns once no operation is inside. Call before close(2).
void retire(int fd) noexcept;

// retire_range() retires every tracked descriptor in [first, last]
// (close_range(2)).
void retire_range(unsigned first, unsigned last) noexcept;

}  // namespace weft::hook::detail
