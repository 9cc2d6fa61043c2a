// SPDX-License-Identifier: MIT
// weft::net::errc: the outcomes of socket calls that are not an errno.
//
// Socket calls return weft::result<T> (docs/design.md section 8). The error is:
// - a std::generic_category() errno code for what the kernel said
//   (std::errc::connection_refused, connection_reset, broken_pipe, ...);
// - weft::errc::timeout when the call's deadline passed,
//   weft::errc::closed when the socket was closed (also while parked);
// - a weft::net::errc below for what weft itself decided.
// `.value()` throws std::system_error carrying the same code.
#pragma once

#include <system_error>

#include "weft/fibers/config.hpp"

namespace weft::net {

// errc lists weft.net's own error codes.
enum class errc {
  eof = 1,         // the peer closed before the requested bytes/line arrived
  line_too_long,   // read_line() found no '\n' within the maximum length
  bad_address,     // an address string could not be parsed
  host_not_found,  // DNS: the name does not exist (EAI_NONAME)
  dns_failure,     // DNS: the resolver failed (EAI_AGAIN, EAI_FAIL, ...)
  no_addresses,    // DNS or connect: the name resolved to no usable address
};

// error_category() returns the "weft.net" category.
const std::error_category& error_category() noexcept;

// make_error_code() wraps a weft::net::errc.
std::error_code make_error_code(errc e) noexcept;

}  // namespace weft::net

namespace std {
template <>
struct is_error_code_enum<weft::net::errc> : true_type {};
}  // namespace std
