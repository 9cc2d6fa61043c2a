// SPDX-License-Identifier: MIT
// weft::net TCP: tcp_listener and tcp_stream, blocking-style on fibers.
#pragma once

#include <chrono>
#include <string_view>

#include "weft/fibers/config.hpp"
#include "weft/fibers/result.hpp"
#include "weft/fibers/time.hpp"
#include "weft/net/address.hpp"
#include "weft/net/socket_base.hpp"
#include "weft/net/stream.hpp"

namespace weft::net {

// tcp_stream is a connected TCP socket (see weft::net::stream for reading
// and writing).
class tcp_stream : public stream {
 public:
  tcp_stream() noexcept = default;

  // connect() opens a connection to `addr`.
  // Errors: std::errc::connection_refused, network_unreachable, ...;
  //   weft::errc::timeout at `deadline`. Throws: weft::cancelled.
  [[nodiscard]] static weft::result<tcp_stream> connect(
      const socket_address& addr, time::instant deadline = time::instant::max());

  // connect() resolves "host:port" (or "[v6]:port") and tries each address
  // in turn until one connects; the error is the last address's.
  // Errors: weft::net::errc::bad_address, host_not_found, ...; as above.
  [[nodiscard]] static weft::result<tcp_stream> connect(
      std::string_view host_port, time::instant deadline = time::instant::max());

  // set_nodelay() turns Nagle's algorithm off (true) or on.
  [[nodiscard]] weft::result<void> set_nodelay(bool on);
  [[nodiscard]] weft::result<bool> nodelay() const;

  // set_keepalive() turns TCP keep-alive probes on or off; a non-zero `idle`
  // also sets how long the connection idles before the first probe.
  [[nodiscard]] weft::result<void> set_keepalive(
      bool on, std::chrono::seconds idle = std::chrono::seconds(0));
  [[nodiscard]] weft::result<bool> keepalive() const;

 private:
  friend class tcp_listener;
  explicit tcp_stream(detail::socket_handle h) noexcept : stream(std::move(h)) {}
};

// tcp_listener accepts TCP connections.
class tcp_listener : public socket_base {
 public:
  tcp_listener() noexcept = default;

  // bind() creates a listener on `addr` (port 0 picks a free port) with
  // SO_REUSEADDR and a `backlog`-long accept queue.
  // Errors: std::errc::address_in_use, permission_denied, ...
  [[nodiscard]] static weft::result<tcp_listener> bind(const socket_address& addr,
                                                       int backlog = 1024);

  // accept() waits for the next connection. When the process or system is
  // out of file descriptors (EMFILE/ENFILE/ENOBUFS/ENOMEM) it backs off
  // (10 ms doubling to 1 s, woken early by a new connection or close())
  // instead of spinning, and keeps accepting once descriptors free up.
  // Errors: weft::errc::timeout at `deadline`; weft::errc::closed once
  //   close() ran (also while parked). Throws: weft::cancelled.
  [[nodiscard]] weft::result<tcp_stream> accept(time::instant deadline = time::instant::max());
  // accept() with the peer's address.
  [[nodiscard]] weft::result<tcp_stream> accept(socket_address& peer,
                                                time::instant deadline = time::instant::max());

  // close() (socket_base) stops listening; a parked accept() gets errc::closed.

 private:
  explicit tcp_listener(detail::socket_handle h) noexcept : socket_base(std::move(h)) {}
};

}  // namespace weft::net
