// SPDX-License-Identifier: MIT
// weft::net::socket_address: parsing and formatting.
#include "weft/net/address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstddef>
#include <cstring>
#include <ostream>

#include "host_port.hpp"
#include "weft/net/error.hpp"

namespace weft::net {

socket_address::socket_address() noexcept {
  std::memset(&storage_, 0, sizeof storage_);
  storage_.ss_family = AF_UNSPEC;
}

weft::result<socket_address> socket_address::parse(std::string_view text) {
  std::string_view host_view;
  std::uint16_t port = 0;
  if (!detail::split_host_port(text, host_view, port)) return make_error_code(errc::bad_address);
  const std::string host(host_view);  // inet_pton needs a terminator
  socket_address a;
  if (text.front() == '[') {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&a.storage_);
    if (::inet_pton(AF_INET6, host.c_str(), &s6->sin6_addr) != 1)
      return make_error_code(errc::bad_address);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    a.len_ = sizeof(sockaddr_in6);
    return a;
  }
  auto* s4 = reinterpret_cast<sockaddr_in*>(&a.storage_);
  if (::inet_pton(AF_INET, host.c_str(), &s4->sin_addr) != 1)
    return make_error_code(errc::bad_address);
  s4->sin_family = AF_INET;
  s4->sin_port = htons(port);
  a.len_ = sizeof(sockaddr_in);
  return a;
}

socket_address socket_address::v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d,
                                  std::uint16_t port) noexcept {
  socket_address r;
  auto* s4 = reinterpret_cast<sockaddr_in*>(&r.storage_);
  s4->sin_family = AF_INET;
  s4->sin_port = htons(port);
  const std::uint32_t ip = (std::uint32_t{a} << 24) | (std::uint32_t{b} << 16) |
                           (std::uint32_t{c} << 8) | std::uint32_t{d};
  s4->sin_addr.s_addr = htonl(ip);
  r.len_ = sizeof(sockaddr_in);
  return r;
}

socket_address socket_address::loopback_v4(std::uint16_t port) noexcept {
  return v4(127, 0, 0, 1, port);
}

socket_address socket_address::any_v4(std::uint16_t port) noexcept { return v4(0, 0, 0, 0, port); }

socket_address socket_address::loopback_v6(std::uint16_t port) noexcept {
  socket_address r;
  auto* s6 = reinterpret_cast<sockaddr_in6*>(&r.storage_);
  s6->sin6_family = AF_INET6;
  s6->sin6_port = htons(port);
  s6->sin6_addr = in6addr_loopback;
  r.len_ = sizeof(sockaddr_in6);
  return r;
}

weft::result<socket_address> socket_address::unix_path(std::string_view path) {
  socket_address r;
  auto* su = reinterpret_cast<sockaddr_un*>(&r.storage_);
  if (path.empty()) return std::make_error_code(std::errc::invalid_argument);
  if (path.size() >= sizeof(su->sun_path))
    return std::make_error_code(std::errc::filename_too_long);
  su->sun_family = AF_UNIX;
  std::memcpy(su->sun_path, path.data(), path.size());
  if (path.front() == '@') {
    su->sun_path[0] = '\0';  // abstract: exactly path.size() bytes, no terminator
    r.len_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
  } else {
    r.len_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  }
  return r;
}

socket_address socket_address::from_native(const sockaddr* sa, socklen_t len) noexcept {
  socket_address r;
  if (len > sizeof(sockaddr_storage)) len = sizeof(sockaddr_storage);
  std::memcpy(&r.storage_, sa, len);
  r.len_ = len;
  return r;
}

std::uint16_t socket_address::port() const noexcept {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  if (family() == AF_INET6)
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  return 0;
}

socket_address socket_address::with_port(std::uint16_t port) const noexcept {
  socket_address r = *this;
  if (family() == AF_INET) reinterpret_cast<sockaddr_in*>(&r.storage_)->sin_port = htons(port);
  if (family() == AF_INET6) reinterpret_cast<sockaddr_in6*>(&r.storage_)->sin6_port = htons(port);
  return r;
}

std::string socket_address::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET) {
    const auto* s4 = reinterpret_cast<const sockaddr_in*>(&storage_);
    ::inet_ntop(AF_INET, &s4->sin_addr, buf, sizeof buf);
    return std::string(buf) + ":" + std::to_string(port());
  }
  if (family() == AF_INET6) {
    const auto* s6 = reinterpret_cast<const sockaddr_in6*>(&storage_);
    ::inet_ntop(AF_INET6, &s6->sin6_addr, buf, sizeof buf);
    return "[" + std::string(buf) + "]:" + std::to_string(port());
  }
  if (family() == AF_UNIX) {
    const auto* su = reinterpret_cast<const sockaddr_un*>(&storage_);
    const std::size_t off = offsetof(sockaddr_un, sun_path);
    if (len_ <= off) return "(unnamed)";
    const std::size_t n = len_ - off;
    if (su->sun_path[0] == '\0') return "@" + std::string(su->sun_path + 1, n - 1);
    return std::string(su->sun_path, ::strnlen(su->sun_path, n));
  }
  return {};
}

bool operator==(const socket_address& a, const socket_address& b) noexcept {
  return a.len_ == b.len_ && std::memcmp(&a.storage_, &b.storage_, a.len_) == 0;
}

std::ostream& operator<<(std::ostream& os, const socket_address& a) { return os << a.to_string(); }

}  // namespace weft::net
