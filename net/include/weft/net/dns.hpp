// SPDX-License-Identifier: MIT
// weft::net::resolve: name resolution that never blocks a worker thread.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "weft/fibers/config.hpp"
#include "weft/fibers/result.hpp"
#include "weft/fibers/time.hpp"
#include "weft/net/address.hpp"

namespace weft::net {

// resolve() looks `host` up (getaddrinfo on the runtime's blocking pool, so
// the worker keeps running other fibers) and returns its addresses with
// `port`, in the resolver's preference order, without duplicates. Numeric
// hosts ("127.0.0.1", "::1") return at once without a lookup.
// Blocks: parks the fiber; a plain thread calls getaddrinfo itself.
// Errors: weft::net::errc::host_not_found (no such name),
//   weft::net::errc::dns_failure (the resolver failed; try again),
//   weft::net::errc::no_addresses, weft::errc::timeout at `deadline` (the
//   lookup then finishes on its pool thread and is dropped).
// Throws: weft::cancelled.
[[nodiscard]] weft::result<std::vector<socket_address>> resolve(
    std::string_view host, std::uint16_t port, time::instant deadline = time::instant::max());

// resolve() of "host:port" or "[v6]:port".
// Errors: as above; weft::net::errc::bad_address when there is no port.
[[nodiscard]] weft::result<std::vector<socket_address>> resolve(
    std::string_view host_port, time::instant deadline = time::instant::max());

}  // namespace weft::net
