// SPDX-License-Identifier: MIT
// weft::net::stream: the blocking-style byte stream shared by tcp_stream and
// unix_stream. Every call that waits parks only the calling fiber (a plain
// thread blocks), takes an optional deadline and is a cancellation point.
//
// Concurrency: one fiber may read while another writes; close() from any
// fiber or thread wakes both with weft::errc::closed. Two fibers reading
// (or two writing) at once is allowed but their bytes interleave.
// Destroying a stream while another fiber still uses it is a bug: close()
// it and let the other fiber finish first.
#pragma once

#include <cstddef>
#include <string>
#include <utility>

#include "weft/fibers/config.hpp"
#include "weft/fibers/result.hpp"
#include "weft/fibers/time.hpp"
#include "weft/net/address.hpp"
#include "weft/net/detail/socket_handle.hpp"
#include "weft/net/socket_base.hpp"

namespace weft::net {

// shutdown_how says which direction shutdown() ends.
enum class shutdown_how { read, write, both };

class stream : public socket_base {
 public:
  stream() noexcept = default;
  // A moved-from stream is closed and has nothing buffered.
  stream(stream&& o) noexcept
      : socket_base(std::move(o)),
        rbuf_(std::move(o.rbuf_)),
        rpos_(std::exchange(o.rpos_, 0)),
        rend_(std::exchange(o.rend_, 0)) {}
  stream& operator=(stream&& o) noexcept {
    if (this != &o) {
      socket_base::operator=(std::move(o));
      rbuf_ = std::move(o.rbuf_);
      rpos_ = std::exchange(o.rpos_, 0);
      rend_ = std::exchange(o.rend_, 0);
    }
    return *this;
  }

  // read() reads up to `n` bytes, waiting until at least one is there.
  // Returns 0 at end of stream (the peer shut down its side).
  // Errors: std::errc::connection_reset, weft::errc::timeout (nothing read
  //   by `deadline`), weft::errc::closed. Throws: weft::cancelled.
  [[nodiscard]] weft::result<std::size_t> read(void* buf, std::size_t n,
                                               time::instant deadline = time::instant::max());

  // read_exact() reads exactly `n` bytes.
  // Errors: as read(), and weft::net::errc::eof if the stream ended first
  //   (the bytes read so far are in `buf` and lost to the stream).
  [[nodiscard]] weft::result<void> read_exact(void* buf, std::size_t n,
                                              time::instant deadline = time::instant::max());

  // read_line() reads up to and including the next '\n' and stores the line
  // without it in `line`. The last line of a stream needs no '\n'.
  // Returns the bytes consumed (line.size() + 1 when a '\n' ended it).
  // Errors: as read(); weft::net::errc::eof at end of stream with nothing
  //   left; weft::net::errc::line_too_long when the first `max_len` bytes
  //   (the '\n' included) hold no '\n' (they stay buffered: read() returns them).
  [[nodiscard]] weft::result<std::size_t> read_line(std::string& line,
                                                    std::size_t max_len = 64 * 1024,
                                                    time::instant deadline = time::instant::max());

  // write() writes up to `n` bytes, waiting until at least one fits.
  // Errors: std::errc::broken_pipe / connection_reset (no SIGPIPE is
  //   raised), weft::errc::timeout, weft::errc::closed. Throws: weft::cancelled.
  [[nodiscard]] weft::result<std::size_t> write(const void* buf, std::size_t n,
                                                time::instant deadline = time::instant::max());

  // write_all() writes all `n` bytes (however many write() calls it takes).
  // Errors: as write(); on an error some prefix may have been sent.
  [[nodiscard]] weft::result<void> write_all(const void* buf, std::size_t n,
                                             time::instant deadline = time::instant::max());
  [[nodiscard]] weft::result<void> write_all(std::string_view s,
                                             time::instant deadline = time::instant::max()) {
    return write_all(s.data(), s.size(), deadline);
  }

  // shutdown() ends one or both directions (the peer reads EOF after write).
  // Errors: errc::closed after close(); after the peer reset the
  //   connection, success or std::errc::connection_reset (while the reset
  //   is still pending), as in Tokio, never ENOTCONN.
  [[nodiscard]] weft::result<void> shutdown(shutdown_how how);

  // peer_address() is the connected peer's address (getpeername).
  [[nodiscard]] weft::result<socket_address> peer_address() const { return h_.peer_address(); }

 protected:
  explicit stream(detail::socket_handle h) noexcept : socket_base(std::move(h)) {}

 private:
  // Bytes read_line() read past its line, in rbuf_[rpos_, rend_); read()
  // hands them out first. rbuf_ only grows (its size is the capacity).
  std::string rbuf_;
  std::size_t rpos_ = 0;
  std::size_t rend_ = 0;
};

}  // namespace weft::net
