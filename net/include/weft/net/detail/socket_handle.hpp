// SPDX-License-Identifier: MIT
// socket_handle: the owned fd + reactor registration every weft::net socket
// is built on, and the retry-on-EAGAIN loop of its operations. Internal.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <cerrno>
#include <cstddef>
#include <memory>
#include <system_error>

#include "weft/fibers/config.hpp"
#include "weft/fibers/detail/io_source.hpp"
#include "weft/fibers/result.hpp"
#include "weft/fibers/time.hpp"
#include "weft/net/address.hpp"

namespace weft::net::detail {

using weft::detail::io_dir;

// to_ns() turns a deadline into the reactor's runtime-clock nanoseconds.
// instant::max() is no deadline; a point before the clock's epoch
// (instant::min()) has passed already.
inline std::int64_t to_ns(time::instant deadline) noexcept {
  return weft::detail::deadline_at(deadline);
}

// errno_code() is the current errno as a generic std::error_code.
inline std::error_code errno_code(int e) noexcept { return {e, std::generic_category()}; }

class socket_handle {
 public:
  socket_handle() noexcept = default;
  // socket_handle(fd) takes ownership of a non-blocking, close-on-exec fd.
  // Throws: std::bad_alloc.
  explicit socket_handle(int fd) : src_(std::make_unique<weft::detail::io_source>(fd)) {}
  socket_handle(socket_handle&&) noexcept = default;
  socket_handle& operator=(socket_handle&& o) noexcept {
    if (this != &o) {
      close();
      src_ = std::move(o.src_);
    }
    return *this;
  }
  ~socket_handle() { close(); }

  // open() creates a non-blocking, close-on-exec socket.
  static weft::result<socket_handle> open(int family, int type, int protocol = 0);

  bool is_open() const noexcept { return src_ && !src_->closed(); }
  // fd() is the descriptor (-1 when not open).
  int fd() const noexcept { return is_open() ? src_->fd() : -1; }

  // close() wakes every fiber parked on the socket with errc::closed, waits
  // for operations inside it to leave, then closes the fd. Idempotent.
  void close() noexcept;

  // io() runs `syscall(fd)` (returning ssize_t, -1 + errno on failure)
  // until it does not say EAGAIN, parking on readiness of `d` in between.
  // Errors: the errno; weft::errc::timeout; weft::errc::closed.
  // Throws: weft::cancelled.
  // `stream_want` (stream reads only): the bytes asked for; a shorter read
  // means the buffer was drained, so the next read parks without first
  // paying a syscall for EAGAIN (one syscall less per echo round trip).
  template <class F>
  weft::result<std::size_t> io(io_dir d, time::instant deadline, F&& syscall,
                               std::size_t stream_want = 0) {
    if (!src_) return make_error_code(weft::errc::closed);
    weft::detail::io_op op(*src_);
    if (!op.ok()) return make_error_code(weft::errc::closed);
    for (;;) {
      const std::uint32_t snap = src_->snapshot(d);
      if (stream_want != 0 && src_->known_drained(d, snap)) {
        if (auto r = src_->wait(d, snap, to_ns(deadline)); !r) return r.error();
        continue;
      }
      const ssize_t n = syscall(src_->fd());
      if (n > 0 && static_cast<std::size_t>(n) < stream_want) src_->note_drained(d, snap);
      if (n >= 0) return static_cast<std::size_t>(n);
      const int e = errno;
      if (e == EINTR) continue;
      if (e != EAGAIN && e != EWOULDBLOCK) return errno_code(e);
      if (auto r = src_->wait(d, snap, to_ns(deadline)); !r) return r.error();
    }
  }

  // local_address()/peer_address(): getsockname/getpeername.
  weft::result<socket_address> local_address() const;
  weft::result<socket_address> peer_address() const;

  // set_option()/get_option(): setsockopt/getsockopt of an int option.
  weft::result<void> set_option(int level, int name, int value) const;
  weft::result<int> get_option(int level, int name) const;

  // bind_to() binds (SO_REUSEADDR for listeners is the caller's choice).
  weft::result<void> bind_to(const socket_address& a) const;
  // accept_from() accepts one connection (see tcp_listener::accept for the
  // EMFILE back-off), filling `peer` when not null.
  weft::result<socket_handle> accept_from(socket_address* peer, time::instant deadline);
  // connect_to() connects, parking until the handshake ends or the deadline.
  weft::result<void> connect_to(const socket_address& a, time::instant deadline);

 private:
  std::unique_ptr<weft::detail::io_source> src_;
};

}  // namespace weft::net::detail
