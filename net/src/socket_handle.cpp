// SPDX-License-Identifier: MIT
// socket_handle: creation, close, addresses, options and connect.
#include "weft/net/detail/socket_handle.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "weft/fibers/log.hpp"
#include "weft/net/error.hpp"

namespace weft::net::detail {

weft::result<socket_handle> socket_handle::open(int family, int type, int protocol) {
  const int fd = ::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  if (fd < 0) return errno_code(errno);
  try {
    return socket_handle(fd);
  } catch (...) {
    ::close(fd);
    return errno_code(ENOMEM);
  }
}

void socket_handle::close() noexcept {
  if (!src_) return;
  // Only the call that closed the registration closes the fd, after every
  // operation left it: no other fiber can touch a number the kernel reuses.
  if (src_->close()) ::close(src_->fd());
}

weft::result<socket_address> socket_handle::local_address() const {
  if (!is_open()) return make_error_code(weft::errc::closed);
  socket_address a;
  socklen_t len = socket_address::capacity();
  if (::getsockname(src_->fd(), a.data(), &len) != 0) return errno_code(errno);
  a.resize(len);
  return a;
}

weft::result<socket_address> socket_handle::peer_address() const {
  if (!is_open()) return make_error_code(weft::errc::closed);
  socket_address a;
  socklen_t len = socket_address::capacity();
  if (::getpeername(src_->fd(), a.data(), &len) != 0) return errno_code(errno);
  a.resize(len);
  return a;
}

weft::result<void> socket_handle::set_option(int level, int name, int value) const {
  if (!is_open()) return make_error_code(weft::errc::closed);
  if (::setsockopt(src_->fd(), level, name, &value, sizeof value) != 0) return errno_code(errno);
  return {};
}

weft::result<int> socket_handle::get_option(int level, int name) const {
  if (!is_open()) return make_error_code(weft::errc::closed);
  int v = 0;
  socklen_t len = sizeof v;
  if (::getsockopt(src_->fd(), level, name, &v, &len) != 0) return errno_code(errno);
  return v;
}

weft::result<void> socket_handle::bind_to(const socket_address& a) const {
  if (!is_open()) return make_error_code(weft::errc::closed);
  if (::bind(src_->fd(), a.data(), a.size()) != 0) return errno_code(errno);
  return {};
}

weft::result<void> socket_handle::connect_to(const socket_address& a, time::instant deadline) {
  if (!src_) return make_error_code(weft::errc::closed);
  weft::detail::io_op op(*src_);
  if (!op.ok()) return make_error_code(weft::errc::closed);
  const std::uint32_t snap = src_->snapshot(io_dir::write);
  int rc;
  do {
    rc = ::connect(src_->fd(), a.data(), a.size());
  } while (rc != 0 && errno == EINTR);
  if (rc == 0) return {};
  if (errno != EINPROGRESS && errno != EAGAIN) return errno_code(errno);
  // The handshake is under way: writability (or an error) ends it.
  for (std::uint32_t s = snap;;) {
    if (auto r = src_->wait(io_dir::write, s, to_ns(deadline)); !r) return r.error();
    s = src_->snapshot(io_dir::write);
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(src_->fd(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno_code(errno);
    if (err != 0) return errno_code(err);
    // Connected unless the wake-up was for another reason: check the peer.
    sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    if (::getpeername(src_->fd(), reinterpret_cast<sockaddr*>(&peer), &plen) == 0) return {};
    if (errno != ENOTCONN) return errno_code(errno);
  }
}

weft::result<socket_handle> socket_handle::accept_from(socket_address* peer,
                                                       time::instant deadline) {
  if (!src_) return make_error_code(weft::errc::closed);
  weft::detail::io_op op(*src_);
  if (!op.ok()) return make_error_code(weft::errc::closed);
  using std::chrono::milliseconds;
  time::duration backoff = milliseconds(10);
  for (;;) {
    const std::uint32_t snap = src_->snapshot(io_dir::read);
    socket_address a;
    socklen_t len = socket_address::capacity();
    const int fd = ::accept4(src_->fd(), a.data(), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      a.resize(len);
      if (peer) *peer = a;
      try {
        return socket_handle(fd);
      } catch (...) {
        ::close(fd);
        return errno_code(ENOMEM);
      }
    }
    const int e = errno;
    switch (e) {
      case EINTR:
      case ECONNABORTED:  // the peer gave up while queued: take the next one
      case EPROTO:
      case ENETDOWN:
      case ENOPROTOOPT:
      case EHOSTDOWN:
      case ENONET:
      case EHOSTUNREACH:
      case ENETUNREACH:
      case EPERM:  // a firewall rule refused this connection
        continue;
      case EAGAIN:
#if EWOULDBLOCK != EAGAIN
      case EWOULDBLOCK:
#endif
        if (auto r = src_->wait(io_dir::read, snap, to_ns(deadline)); !r) return r.error();
        continue;
      case EMFILE:
      case ENFILE:
      case ENOBUFS:
      case ENOMEM: {
        // Out of descriptors or memory: the connection stays queued. Wait
        // (never spin) until the back-off ends, a new connection arrives or
        // the listener closes, then try again. Said once per episode (the
        // first back-off of this accept), through the log sink.
        if (backoff == milliseconds(10)) {
          std::string m = "accept on descriptor " + std::to_string(src_->fd()) + ": " +
                          std::generic_category().message(e) +
                          "; backing off (10 ms doubling to 1 s) until it succeeds";
          weft::detail::report(weft::log_level::warn, "accept", m);
        }
        const time::instant wake = std::min(deadline, time::clock::now() + backoff);
        auto r = src_->wait(io_dir::read, snap, to_ns(wake));
        if (!r && !(r.error() == weft::errc::timeout && wake < deadline)) return r.error();
        backoff = std::min<time::duration>(backoff * 2, std::chrono::seconds(1));
        continue;
      }
      default:
        return errno_code(e);
    }
  }
}

}  // namespace weft::net::detail
