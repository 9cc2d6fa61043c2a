// SPDX-License-Identifier: MIT
// Deadline conversions for weft::sync: the saturating ones of fibers/
// (weft/fibers/detail/deadline.hpp), so every weft wait turns a duration or
// a time point into a deadline the same way. Internal: do not depend on it.
#pragma once

#include <cstdint>

#include "weft/fibers/config.hpp"
#include "weft/fibers/detail/deadline.hpp"
#include "weft/fibers/detail/waiter.hpp"
#include "weft/fibers/time.hpp"

namespace weft::sync::detail {

// now_ns() is the caller's runtime clock (steady_clock off a runtime), in ns.
inline std::int64_t now_ns() noexcept { return weft::detail::runtime_now_ns(); }

using weft::detail::deadline_after;
using weft::detail::deadline_at;

}  // namespace weft::sync::detail
