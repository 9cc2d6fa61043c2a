// SPDX-License-Identifier: MIT
// weft::result<T> and weft::errc: how weft reports outcomes a caller must handle
// (closed, full, empty, timeout, cancelled) without exceptions.
#pragma once

#include <boost/system/result.hpp>
#include <system_error>

#include "weft/fibers/config.hpp"

namespace weft {

// errc lists the outcomes weft operations report through result<T>.
// errc::timeout compares equal to std::errc::timed_out.
enum class errc {
  closed = 1,  // the channel/resource was closed
  timeout,     // a deadline passed (also what timeout() reports as "elapsed")
  full,        // a bounded buffer had no room (try_ operations)
  empty,       // nothing was available (try_ operations)
  cancelled,   // the operation was cancelled
};

// error_category() returns the category of weft::errc codes ("weft").
const std::error_category& error_category() noexcept;

// make_error_code() wraps an errc into a std::error_code of weft's category.
std::error_code make_error_code(errc e) noexcept;

// make_error_condition() wraps an errc into a std::error_condition.
std::error_condition make_error_condition(errc e) noexcept;

// result<T> holds either a T or a std::error_code. `.value()` throws
// std::system_error for callers who prefer exceptions.
template <class T>
using result = boost::system::result<T, std::error_code>;

}  // namespace weft

namespace std {
template <>
struct is_error_code_enum<weft::errc> : true_type {};
}  // namespace std
