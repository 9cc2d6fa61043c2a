// SPDX-License-Identifier: MIT
// weft::net Unix-domain sockets.
#include "weft/net/unix.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include "weft/net/error.hpp"

namespace weft::net {

namespace {
// socket_pair() wraps socketpair(2) into two handles.
weft::result<std::pair<detail::socket_handle, detail::socket_handle>> socket_pair(int type) {
  int fds[2];
  if (::socketpair(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0)
    return detail::errno_code(errno);
  try {
    detail::socket_handle a(fds[0]);
    try {
      detail::socket_handle b(fds[1]);
      return std::pair<detail::socket_handle, detail::socket_handle>(std::move(a), std::move(b));
    } catch (...) {
      ::close(fds[1]);
      throw;
    }
  } catch (...) {
    ::close(fds[0]);
    return detail::errno_code(ENOMEM);
  }
}
}  // namespace

weft::result<unix_stream> unix_stream::connect(const socket_address& addr, time::instant deadline) {
  if (!addr.is_unix()) return make_error_code(errc::bad_address);
  auto h = detail::socket_handle::open(AF_UNIX, SOCK_STREAM);
  if (!h) return h.error();
  if (auto r = h->connect_to(addr, deadline); !r) return r.error();
  return unix_stream(std::move(*h));
}

weft::result<unix_stream> unix_stream::connect(std::string_view path, time::instant deadline) {
  auto a = socket_address::unix_path(path);
  if (!a) return a.error();
  return connect(*a, deadline);
}

weft::result<std::pair<unix_stream, unix_stream>> unix_stream::pair() {
  auto p = socket_pair(SOCK_STREAM);
  if (!p) return p.error();
  return std::pair<unix_stream, unix_stream>(unix_stream(std::move(p->first)),
                                             unix_stream(std::move(p->second)));
}

weft::result<unix_listener> unix_listener::bind(const socket_address& addr, int backlog) {
  if (!addr.is_unix()) return make_error_code(errc::bad_address);
  if (backlog <= 0) return std::make_error_code(std::errc::invalid_argument);
  auto h = detail::socket_handle::open(AF_UNIX, SOCK_STREAM);
  if (!h) return h.error();
  if (auto r = h->bind_to(addr); !r) return r.error();
  if (::listen(h->fd(), backlog) != 0) return detail::errno_code(errno);
  return unix_listener(std::move(*h));
}

weft::result<unix_listener> unix_listener::bind(std::string_view path, int backlog) {
  auto a = socket_address::unix_path(path);
  if (!a) return a.error();
  return bind(*a, backlog);
}

weft::result<unix_stream> unix_listener::accept(time::instant deadline) {
  auto h = h_.accept_from(nullptr, deadline);
  if (!h) return h.error();
  return unix_stream(std::move(*h));
}

weft::result<unix_datagram> unix_datagram::bind(const socket_address& addr) {
  if (!addr.is_unix()) return make_error_code(errc::bad_address);
  auto h = detail::socket_handle::open(AF_UNIX, SOCK_DGRAM);
  if (!h) return h.error();
  if (auto r = h->bind_to(addr); !r) return r.error();
  return unix_datagram(std::move(*h));
}

weft::result<unix_datagram> unix_datagram::bind(std::string_view path) {
  auto a = socket_address::unix_path(path);
  if (!a) return a.error();
  return bind(*a);
}

weft::result<unix_datagram> unix_datagram::unbound() {
  auto h = detail::socket_handle::open(AF_UNIX, SOCK_DGRAM);
  if (!h) return h.error();
  return unix_datagram(std::move(*h));
}

weft::result<std::pair<unix_datagram, unix_datagram>> unix_datagram::pair() {
  auto p = socket_pair(SOCK_DGRAM);
  if (!p) return p.error();
  return std::pair<unix_datagram, unix_datagram>(unix_datagram(std::move(p->first)),
                                                 unix_datagram(std::move(p->second)));
}

}  // namespace weft::net
