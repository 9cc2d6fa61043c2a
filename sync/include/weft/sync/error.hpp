// SPDX-License-Identifier: MIT
// send_error<T> and send_result<T>: a send that fails hands its value back
// with the reason (closed, full, timeout), so no message is silently lost.
#pragma once

#include <ostream>
#include <system_error>
#include <utility>

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

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

// send_result<T> is what every send returns: success, or the send_error
// holding the value back. `.value()` throws std::system_error with the code.
template <class T>
using send_result = boost::system::result<void, send_error<T>>;

// throw_exception_from_error() makes send_result<T>::value() throw
// std::system_error (found by ADL; see boost::system::result).
template <class T>
[[noreturn]] void throw_exception_from_error(const send_error<T>& e,
                                             const boost::source_location&) {
  throw std::system_error(e.code);
}

}  // namespace weft::sync
