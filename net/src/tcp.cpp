// SPDX-License-Identifier: MIT
// weft::net TCP: listener and stream.
#include "weft/net/tcp.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include "weft/net/dns.hpp"
#include "weft/net/error.hpp"

namespace weft::net {

weft::result<tcp_stream> tcp_stream::connect(const socket_address& addr, time::instant deadline) {
  if (!addr.is_ip()) return make_error_code(errc::bad_address);
  auto h = detail::socket_handle::open(addr.family(), SOCK_STREAM, IPPROTO_TCP);
  if (!h) return h.error();
  if (auto r = h->connect_to(addr, deadline); !r) return r.error();
  return tcp_stream(std::move(*h));
}

weft::result<tcp_stream> tcp_stream::connect(std::string_view host_port, time::instant deadline) {
  auto addrs = resolve(host_port, deadline);
  if (!addrs) return addrs.error();
  std::error_code last = make_error_code(errc::no_addresses);
  for (const socket_address& a : *addrs) {
    auto s = connect(a, deadline);
    if (s) return s;
    last = s.error();
    if (last == weft::errc::timeout) break;  // the deadline covers every attempt
  }
  return last;
}

weft::result<void> tcp_stream::set_nodelay(bool on) {
  return h_.set_option(IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0);
}

weft::result<bool> tcp_stream::nodelay() const {
  auto v = h_.get_option(IPPROTO_TCP, TCP_NODELAY);
  if (!v) return {boost::system::in_place_error, v.error()};
  return *v != 0;
}

weft::result<void> tcp_stream::set_keepalive(bool on, std::chrono::seconds idle) {
  if (idle.count() < 0 || idle.count() > 32767)
    return std::make_error_code(std::errc::invalid_argument);
  if (auto r = h_.set_option(SOL_SOCKET, SO_KEEPALIVE, on ? 1 : 0); !r) return r;
  if (on && idle.count() > 0)
    return h_.set_option(IPPROTO_TCP, TCP_KEEPIDLE, static_cast<int>(idle.count()));
  return {};
}

weft::result<bool> tcp_stream::keepalive() const {
  auto v = h_.get_option(SOL_SOCKET, SO_KEEPALIVE);
  if (!v) return {boost::system::in_place_error, v.error()};
  return *v != 0;
}

weft::result<tcp_listener> tcp_listener::bind(const socket_address& addr, int backlog) {
  if (!addr.is_ip()) return make_error_code(errc::bad_address);
  if (backlog <= 0) return std::make_error_code(std::errc::invalid_argument);
  auto h = detail::socket_handle::open(addr.family(), SOCK_STREAM, IPPROTO_TCP);
  if (!h) return h.error();
  if (auto r = h->set_option(SOL_SOCKET, SO_REUSEADDR, 1); !r) return r.error();
  if (auto r = h->bind_to(addr); !r) return r.error();
  if (::listen(h->fd(), backlog) != 0) return detail::errno_code(errno);
  return tcp_listener(std::move(*h));
}

weft::result<tcp_stream> tcp_listener::accept(time::instant deadline) {
  auto h = h_.accept_from(nullptr, deadline);
  if (!h) return h.error();
  return tcp_stream(std::move(*h));
}

weft::result<tcp_stream> tcp_listener::accept(socket_address& peer, time::instant deadline) {
  auto h = h_.accept_from(&peer, deadline);
  if (!h) return h.error();
  return tcp_stream(std::move(*h));
}

}  // namespace weft::net
