// SPDX-License-Identifier: MIT
// weft::net::udp_socket: UDP on fibers (see weft::net::datagram).
#pragma once

#include "weft/fibers/config.hpp"
#include "weft/fibers/result.hpp"
#include "weft/net/address.hpp"
#include "weft/net/datagram.hpp"

namespace weft::net {

class udp_socket : public datagram {
 public:
  udp_socket() noexcept = default;

  // bind() creates a UDP socket bound to `addr` (port 0 picks a free port).
  // Errors: std::errc::address_in_use, ...; weft::net::errc::bad_address
  //   for a non-IP address.
  [[nodiscard]] static weft::result<udp_socket> bind(const socket_address& addr);

  // set_broadcast() allows sending to broadcast addresses.
  [[nodiscard]] weft::result<void> set_broadcast(bool on);

 private:
  explicit udp_socket(detail::socket_handle h) noexcept : datagram(std::move(h)) {}
};

}  // namespace weft::net
