// SPDX-License-Identifier: MIT
// weft::net::socket_address: an IPv4, IPv6 or Unix-domain socket address.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>

#include "weft/fibers/config.hpp"
#include "weft/fibers/result.hpp"

namespace weft::net {

// socket_address holds one sockaddr (IPv4, IPv6 or AF_UNIX) by value.
// A default-constructed address is empty (family() == AF_UNSPEC).
class socket_address {
 public:
  socket_address() noexcept;

  // parse() reads "a.b.c.d:port" or "[v6]:port" (numeric only: names go
  // through weft::net::resolve). Errors: weft::net::errc::bad_address.
  static weft::result<socket_address> parse(std::string_view text);

  // v4()/v6_loopback(): "127.0.0.1:port"-style constructors.
  static socket_address v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d,
                           std::uint16_t port) noexcept;
  static socket_address loopback_v4(std::uint16_t port) noexcept;
  static socket_address any_v4(std::uint16_t port) noexcept;
  static socket_address loopback_v6(std::uint16_t port) noexcept;

  // unix_path() names a Unix-domain socket by path, or in Linux's abstract
  // namespace when `path` starts with '@'.
  // Errors: std::errc::filename_too_long past sizeof(sun_path) - 1.
  static weft::result<socket_address> unix_path(std::string_view path);

  // from_native() copies a sockaddr of `len` bytes (from accept, getsockname...).
  static socket_address from_native(const sockaddr* sa, socklen_t len) noexcept;

  int family() const noexcept { return storage_.ss_family; }
  bool is_ip() const noexcept { return family() == AF_INET || family() == AF_INET6; }
  bool is_unix() const noexcept { return family() == AF_UNIX; }

  // port() is the IP port in host order (0 for Unix addresses).
  std::uint16_t port() const noexcept;
  // with_port() is a copy with another port (IP addresses only).
  socket_address with_port(std::uint16_t port) const noexcept;

  // to_string() is "1.2.3.4:80", "[::1]:80", a Unix path, "@abstract" or
  // "(unnamed)" for an unbound Unix socket, "" when empty.
  std::string to_string() const;

  const sockaddr* data() const noexcept { return reinterpret_cast<const sockaddr*>(&storage_); }
  sockaddr* data() noexcept { return reinterpret_cast<sockaddr*>(&storage_); }
  socklen_t size() const noexcept { return len_; }
  // capacity()/resize(): for filling by accept/recvfrom/getsockname.
  static constexpr socklen_t capacity() noexcept { return sizeof(sockaddr_storage); }
  void resize(socklen_t len) noexcept { len_ = len; }

  friend bool operator==(const socket_address& a, const socket_address& b) noexcept;

 private:
  sockaddr_storage storage_;
  socklen_t len_ = 0;
};

std::ostream& operator<<(std::ostream& os, const socket_address& a);

}  // namespace weft::net
