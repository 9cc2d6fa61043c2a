// SPDX-License-Identifier: MIT
// weft::net::stream: reads, writes and line reads over a socket_handle.
#include "weft/net/stream.hpp"

#include <algorithm>
#include <cstring>

#include "weft/net/error.hpp"

namespace weft::net {

weft::result<std::size_t> stream::read(void* buf, std::size_t n, time::instant deadline) {
  if (rpos_ < rend_) {
    const std::size_t k = std::min(n, rend_ - rpos_);
    std::memcpy(buf, rbuf_.data() + rpos_, k);
    rpos_ += k;
    if (rpos_ == rend_) rpos_ = rend_ = 0;
    return k;
  }
  if (n == 0) return std::size_t{0};
  return h_.io(
      detail::io_dir::read, deadline, [&](int fd) { return ::recv(fd, buf, n, 0); }, n);
}

weft::result<void> stream::read_exact(void* buf, std::size_t n, time::instant deadline) {
  auto* p = static_cast<unsigned char*>(buf);
  std::size_t got = 0;
  while (got < n) {
    auto r = read(p + got, n - got, deadline);
    if (!r) return r.error();
    if (*r == 0) return make_error_code(errc::eof);
    got += *r;
  }
  return {};
}

weft::result<std::size_t> stream::read_line(std::string& line, std::size_t max_len,
                                            time::instant deadline) {
  if (max_len == 0) return std::make_error_code(std::errc::invalid_argument);
  std::size_t scanned = rpos_;
  for (;;) {
    const char* base = rbuf_.data();
    const void* hit =
        scanned < rend_ ? std::memchr(base + scanned, '\n', rend_ - scanned) : nullptr;
    if (hit) {
      const std::size_t nl = static_cast<std::size_t>(static_cast<const char*>(hit) - base);
      if (nl + 1 - rpos_ > max_len) return make_error_code(errc::line_too_long);
      line.assign(base + rpos_, nl - rpos_);
      const std::size_t used = nl + 1 - rpos_;
      rpos_ = nl + 1;
      if (rpos_ == rend_) rpos_ = rend_ = 0;
      return used;
    }
    if (rend_ - rpos_ >= max_len) return make_error_code(errc::line_too_long);
    // Compact, then read more after what is buffered. The buffer only
    // grows (zero-filled once), so a refill costs no memset.
    if (rpos_ > 0) {
      std::memmove(rbuf_.data(), rbuf_.data() + rpos_, rend_ - rpos_);
      rend_ -= rpos_;
      rpos_ = 0;
    }
    scanned = rend_;
    const std::size_t want = std::max<std::size_t>(4096, std::min<std::size_t>(max_len, 64 * 1024));
    if (rbuf_.size() < rend_ + want) rbuf_.resize(rend_ + want);
    auto r = h_.io(
        detail::io_dir::read, deadline,
        [&](int fd) { return ::recv(fd, rbuf_.data() + rend_, want, 0); }, want);
    if (!r) return r.error();
    if (*r == 0) {
      if (rend_ == 0) return make_error_code(errc::eof);
      line.assign(rbuf_.data(), rend_);  // the last line has no '\n'
      const std::size_t used = rend_;
      rend_ = 0;
      return used;
    }
    rend_ += *r;
  }
}

weft::result<std::size_t> stream::write(const void* buf, std::size_t n, time::instant deadline) {
  if (n == 0) return std::size_t{0};
  return h_.io(detail::io_dir::write, deadline,
               [&](int fd) { return ::send(fd, buf, n, MSG_NOSIGNAL); });
}

weft::result<void> stream::write_all(const void* buf, std::size_t n, time::instant deadline) {
  const auto* p = static_cast<const unsigned char*>(buf);
  std::size_t put = 0;
  while (put < n) {
    auto r = write(p + put, n - put, deadline);
    if (!r) return r.error();
    put += *r;
  }
  return {};
}

weft::result<void> stream::shutdown(shutdown_how how) {
  if (!h_.is_open()) return make_error_code(weft::errc::closed);
  const int what = how == shutdown_how::read    ? SHUT_RD
                   : how == shutdown_how::write ? SHUT_WR
                                                : SHUT_RDWR;
  if (::shutdown(h_.fd(), what) == 0) return {};
  const int e = errno;
  if (e != ENOTCONN) return detail::errno_code(e);
  // A connected stream whose peer reset it is no longer connected: the
  // direction is over already. Answer as Tokio does: the reset if it is
  // still pending, else success (never ENOTCONN for a stream that was
  // connected).
  int pending = 0;
  socklen_t len = sizeof pending;
  if (::getsockopt(h_.fd(), SOL_SOCKET, SO_ERROR, &pending, &len) == 0 && pending != 0) {
    return detail::errno_code(pending);
  }
  return {};
}

}  // namespace weft::net
