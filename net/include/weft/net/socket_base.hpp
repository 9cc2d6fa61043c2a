// SPDX-License-Identifier: MIT
// weft::net::socket_base: what every weft::net socket has in common (its
// descriptor, local address and close()). A base class only; the socket
// types (tcp_stream, tcp_listener, udp_socket, unix_*) derive from it.
#pragma once

#include <utility>

#include "weft/fibers/config.hpp"
#include "weft/fibers/result.hpp"
#include "weft/net/address.hpp"
#include "weft/net/detail/socket_handle.hpp"

namespace weft::net {

class socket_base {
 public:
  // local_address() is the address the socket is bound to (getsockname).
  [[nodiscard]] weft::result<socket_address> local_address() const { return h_.local_address(); }

  // close() closes the socket now: fibers or threads parked on it get
  // weft::errc::closed; it returns once no call is inside the socket, then
  // the descriptor is closed. Idempotent; the destructor also closes.
  void close() noexcept { h_.close(); }
  bool is_open() const noexcept { return h_.is_open(); }
  // native_handle() is the descriptor (-1 once closed), for setsockopt and
  // the like; do not close it or make it blocking.
  int native_handle() const noexcept { return h_.fd(); }

 protected:
  socket_base() noexcept = default;
  explicit socket_base(detail::socket_handle h) noexcept : h_(std::move(h)) {}
  socket_base(socket_base&&) noexcept = default;
  socket_base& operator=(socket_base&&) noexcept = default;
  ~socket_base() = default;

  detail::socket_handle h_;
};

}  // namespace weft::net
