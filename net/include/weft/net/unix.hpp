// SPDX-License-Identifier: MIT
// weft::net Unix-domain sockets: unix_listener, unix_stream (see
// weft::net::stream) and unix_datagram (see weft::net::datagram).
// Addresses come from socket_address::unix_path(): a filesystem path, or
// Linux's abstract namespace when it starts with '@'. A listener does not
// unlink its path when closed (as with bind(2)); remove it yourself.
#pragma once

#include <string_view>
#include <utility>

#include "weft/fibers/config.hpp"
#include "weft/fibers/result.hpp"
#include "weft/fibers/time.hpp"
#include "weft/net/address.hpp"
#include "weft/net/datagram.hpp"
#include "weft/net/socket_base.hpp"
#include "weft/net/stream.hpp"

namespace weft::net {

class unix_stream : public stream {
 public:
  unix_stream() noexcept = default;

  // connect() connects to a listening Unix socket.
  // Errors: std::errc::no_such_file_or_directory (no such path),
  //   connection_refused (nobody listens), weft::errc::timeout, ...
  [[nodiscard]] static weft::result<unix_stream> connect(
      const socket_address& addr, time::instant deadline = time::instant::max());
  [[nodiscard]] static weft::result<unix_stream> connect(
      std::string_view path, time::instant deadline = time::instant::max());

  // pair() returns two connected streams (socketpair(2)).
  [[nodiscard]] static weft::result<std::pair<unix_stream, unix_stream>> pair();

 private:
  friend class unix_listener;
  explicit unix_stream(detail::socket_handle h) noexcept : stream(std::move(h)) {}
};

class unix_listener : public socket_base {
 public:
  unix_listener() noexcept = default;

  // bind() listens on `addr` / `path`.
  // Errors: std::errc::address_in_use (the path exists), ...
  [[nodiscard]] static weft::result<unix_listener> bind(const socket_address& addr,
                                                        int backlog = 1024);
  [[nodiscard]] static weft::result<unix_listener> bind(std::string_view path, int backlog = 1024);

  // accept() waits for the next connection (same back-off, errors and
  // cancellation as tcp_listener::accept).
  [[nodiscard]] weft::result<unix_stream> accept(time::instant deadline = time::instant::max());

 private:
  explicit unix_listener(detail::socket_handle h) noexcept : socket_base(std::move(h)) {}
};

class unix_datagram : public datagram {
 public:
  unix_datagram() noexcept = default;

  // bind() creates a datagram socket bound to `addr` / `path`.
  [[nodiscard]] static weft::result<unix_datagram> bind(const socket_address& addr);
  [[nodiscard]] static weft::result<unix_datagram> bind(std::string_view path);
  // unbound() creates one with no address (it can send, and receive replies
  // only once connected).
  [[nodiscard]] static weft::result<unix_datagram> unbound();
  // pair() returns two connected datagram sockets.
  [[nodiscard]] static weft::result<std::pair<unix_datagram, unix_datagram>> pair();

 private:
  explicit unix_datagram(detail::socket_handle h) noexcept : datagram(std::move(h)) {}
};

}  // namespace weft::net
