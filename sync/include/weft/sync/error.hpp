// SPDX-License-Identifier: MIT
// send_error<T> and send_result<T>: a send that fails hands its value back
// with the reason (closed, full, timeout), so no message is silently lost.
#pragma once

#include <optional>
#include <ostream>
#include <system_error>
#include <utility>

#include "weft/fibers/config.hpp"
#include "weft/fibers/result.hpp"

namespace weft::sync {

// send_error<T> is a failed send: `code` says why (errc::closed, errc::full,
// errc::timeout) and `value` is the message that was not sent.
template <class T>
struct send_error {
  std::error_code code;
  T value;

  // is_closed() / is_full() / is_timeout() name the reason.
  bool is_closed() const noexcept { return code == errc::closed; }
  bool is_full() const noexcept { return code == errc::full; }
  bool is_timeout() const noexcept { return code == errc::timeout; }
};

// operator<<() prints the reason (the value is not printed).
template <class Ch, class Tr, class T>
std::basic_ostream<Ch, Tr>& operator<<(std::basic_ostream<Ch, Tr>& os, const send_error<T>& e) {
  return os << "send_error(" << e.code.message() << ")";
}

// send_result<T> is what a send returns: success, or the send_error that
// holds the value back. It reads like weft::result<void> (`if (!r)`,
// `r.error()`, `r.value()` throwing std::system_error), but error() returns
// a reference: boost::system::result 1.81 returns its error by copy, which
// would copy the message and cannot return a move-only one.
template <class T>
class [[nodiscard]] send_result {
 public:
  // send_result() is success.
  send_result() noexcept = default;
  // send_result(e) is a failure carrying the value back.
  send_result(send_error<T> e) noexcept(std::is_nothrow_move_constructible_v<T>)  // NOLINT: implicit
      : err_(std::move(e)) {}

  explicit operator bool() const noexcept { return !err_; }
  bool has_value() const noexcept { return !err_; }
  bool has_error() const noexcept { return err_.has_value(); }

  // error() is the failure (precondition: has_error()).
  send_error<T>& error() & noexcept { return *err_; }
  const send_error<T>& error() const& noexcept { return *err_; }
  send_error<T>&& error() && noexcept { return std::move(*err_); }

  // code() is the failure's code, or an empty code on success.
  std::error_code code() const noexcept { return err_ ? err_->code : std::error_code(); }

  // value() throws std::system_error on failure (for exception users).
  void value() const {
    if (err_) throw std::system_error(err_->code);
  }

 private:
  std::optional<send_error<T>> err_;
};

}  // namespace weft::sync
