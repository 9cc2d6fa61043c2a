// SPDX-License-Identifier: MIT
// weft::net::udp_socket.
#include "weft/net/udp.hpp"

#include <netinet/in.h>

#include "weft/net/error.hpp"

namespace weft::net {

weft::result<udp_socket> udp_socket::bind(const socket_address& addr) {
  if (!addr.is_ip()) return make_error_code(errc::bad_address);
  auto h = detail::socket_handle::open(addr.family(), SOCK_DGRAM, IPPROTO_UDP);
  if (!h) return h.error();
  if (auto r = h->bind_to(addr); !r) return r.error();
  return udp_socket(std::move(*h));
}

weft::result<void> udp_socket::set_broadcast(bool on) {
  return h_.set_option(SOL_SOCKET, SO_BROADCAST, on ? 1 : 0);
}

}  // namespace weft::net
