// SPDX-License-Identifier: MIT
// weft::net::datagram: the message socket shared by udp_socket and
// unix_datagram. Calls that wait park only the calling fiber (a plain thread
// blocks), take an optional deadline and are cancellation points; close()
// wakes parked fibers with weft::errc::closed.
#pragma once

#include <cstddef>

#include "weft/fibers/config.hpp"
#include "weft/fibers/result.hpp"
#include "weft/fibers/time.hpp"
#include "weft/net/address.hpp"
#include "weft/net/detail/socket_handle.hpp"
#include "weft/net/socket_base.hpp"

namespace weft::net {

class datagram : public socket_base {
 public:
  datagram() noexcept = default;
  datagram(datagram&&) noexcept = default;
  datagram& operator=(datagram&&) noexcept = default;

  // send_to() sends one datagram of `n` bytes to `to`.
  // Errors: std::errc::message_size (too big for the socket), the errno;
  //   weft::errc::timeout, weft::errc::closed. Throws: weft::cancelled.
  [[nodiscard]] weft::result<std::size_t> send_to(const void* buf, std::size_t n,
                                                  const socket_address& to,
                                                  time::instant deadline = time::instant::max());

  // recv_from() waits for one datagram, copies up to `n` bytes of it into
  // `buf` (the rest of a longer datagram is discarded, as with recvfrom(2))
  // and stores the sender in `from`. Returns the bytes copied.
  [[nodiscard]] weft::result<std::size_t> recv_from(void* buf, std::size_t n, socket_address& from,
                                                    time::instant deadline = time::instant::max());

  // connect() sets the default peer: send()/recv() use it, and datagrams
  // from other addresses are no longer received.
  [[nodiscard]] weft::result<void> connect(const socket_address& peer);

  // send()/recv(): send_to()/recv_from() with the connected peer.
  // Errors: std::errc::destination_address_required / not_connected when
  //   not connected; std::errc::connection_refused when the peer's port is
  //   closed (reported by a later call, as the kernel learns it).
  [[nodiscard]] weft::result<std::size_t> send(const void* buf, std::size_t n,
                                               time::instant deadline = time::instant::max());
  [[nodiscard]] weft::result<std::size_t> recv(void* buf, std::size_t n,
                                               time::instant deadline = time::instant::max());

  // peer_address() is the connected peer's address (getpeername).
  [[nodiscard]] weft::result<socket_address> peer_address() const { return h_.peer_address(); }

 protected:
  explicit datagram(detail::socket_handle h) noexcept : socket_base(std::move(h)) {}
};

}  // namespace weft::net
