// SPDX-License-Identifier: MIT
// split_host_port(): the "host:port" / "[v6]:port" syntax shared by
// socket_address::parse and resolve(). Internal to net/src.
#pragma once

#include <charconv>
#include <cstdint>
#include <string_view>

namespace weft::net::detail {

// split_host_port() splits `text` into the host (without brackets) and a
// port in [0, 65535]. False when the syntax or the port is wrong.
inline bool split_host_port(std::string_view text, std::string_view& host, std::uint16_t& port) {
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return false;
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return false;
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  if (port_text.empty() || port_text.size() > 5) return false;
  unsigned v = 0;
  auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), v);
  if (ec != std::errc() || p != port_text.data() + port_text.size() || v > 65535) return false;
  port = static_cast<std::uint16_t>(v);
  return true;
}

}  // namespace weft::net::detail
