// SPDX-License-Identifier: MIT
// weft::net::datagram: send/receive of whole messages over a socket_handle.
#include "weft/net/datagram.hpp"

namespace weft::net {

weft::result<std::size_t> datagram::send_to(const void* buf, std::size_t n,
                                            const socket_address& to, time::instant deadline) {
  return h_.io(detail::io_dir::write, deadline,
               [&](int fd) { return ::sendto(fd, buf, n, MSG_NOSIGNAL, to.data(), to.size()); });
}

weft::result<std::size_t> datagram::recv_from(void* buf, std::size_t n, socket_address& from,
                                              time::instant deadline) {
  socket_address a;
  socklen_t len = 0;
  auto r = h_.io(detail::io_dir::read, deadline, [&](int fd) {
    len = socket_address::capacity();
    return ::recvfrom(fd, buf, n, 0, a.data(), &len);
  });
  if (r) {
    if (len == 0) {
      // An unbound AF_UNIX sender has no name: the kernel reports none.
      a.data()->sa_family = AF_UNIX;
      len = sizeof(sa_family_t);
    }
    a.resize(len);
    from = a;
  }
  return r;
}

weft::result<void> datagram::connect(const socket_address& peer) {
  if (!h_.is_open()) return make_error_code(weft::errc::closed);
  // A datagram connect never waits: it only records the peer.
  if (::connect(h_.fd(), peer.data(), peer.size()) != 0) return detail::errno_code(errno);
  return {};
}

weft::result<std::size_t> datagram::send(const void* buf, std::size_t n, time::instant deadline) {
  return h_.io(detail::io_dir::write, deadline,
               [&](int fd) { return ::send(fd, buf, n, MSG_NOSIGNAL); });
}

weft::result<std::size_t> datagram::recv(void* buf, std::size_t n, time::instant deadline) {
  return h_.io(detail::io_dir::read, deadline, [&](int fd) { return ::recv(fd, buf, n, 0); });
}

}  // namespace weft::net
