// SPDX-License-Identifier: MIT
// weft::net::resolve: getaddrinfo on the blocking pool, with a deadline.
#include "weft/net/dns.hpp"

#include <netdb.h>

#include <algorithm>
#include <memory>
#include <string>

#include "host_port.hpp"
#include "weft/fibers/detail/core.hpp"
#include "weft/fibers/spawn.hpp"
#include "weft/fibers/time.hpp"
#include "weft/net/error.hpp"

namespace weft::net {

namespace {
using addr_list = std::vector<socket_address>;

weft::result<addr_list> lookup(const std::string& host, std::uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;
  addrinfo* res = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0) {
    if (rc == EAI_NONAME || rc == EAI_NODATA) return make_error_code(errc::host_not_found);
    if (rc == EAI_SYSTEM) return std::error_code(errno, std::generic_category());
    if (rc == EAI_MEMORY) return std::make_error_code(std::errc::not_enough_memory);
    return make_error_code(errc::dns_failure);
  }
  addr_list out;
  for (addrinfo* p = res; p; p = p->ai_next) {
    if (p->ai_family != AF_INET && p->ai_family != AF_INET6) continue;
    auto a = socket_address::from_native(p->ai_addr, p->ai_addrlen).with_port(port);
    if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
  }
  ::freeaddrinfo(res);
  if (out.empty()) return make_error_code(errc::no_addresses);
  return out;
}
}  // namespace

weft::result<std::vector<socket_address>> resolve(std::string_view host, std::uint16_t port,
                                                  time::instant deadline) {
  if (host.empty()) return make_error_code(errc::bad_address);
  // Numeric addresses need no lookup.
  const std::string h(host);
  const bool v6 = h.find(':') != std::string::npos;
  if (auto a = socket_address::parse(v6 ? "[" + h + "]:" + std::to_string(port)
                                        : h + ":" + std::to_string(port))) {
    return addr_list{*a};
  }
  if (!weft::detail::current_core()) return lookup(h, port);
  // The lookup may outlive this call (deadline, cancellation): it owns its input.
  auto job = spawn_blocking([h, port] { return lookup(h, port); });
  auto r = time::timeout_at(deadline, [&] { return job.join(); });
  if (!r) return r.error();
  return std::move(*r);
}

weft::result<std::vector<socket_address>> resolve(std::string_view host_port,
                                                  time::instant deadline) {
  std::string_view host;
  std::uint16_t port = 0;
  if (!detail::split_host_port(host_port, host, port)) return make_error_code(errc::bad_address);
  return resolve(host, port, deadline);
}

}  // namespace weft::net
