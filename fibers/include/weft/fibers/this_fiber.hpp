// SPDX-License-Identifier: MIT
// weft::this_fiber: operations on the calling fiber (like std::this_thread).
#pragma once

#include <cstdint>
#include <string_view>

#include "weft/fibers/config.hpp"
#include "weft/fibers/result.hpp"
#include "weft/fibers/time.hpp"

namespace weft::this_fiber {

// yield() lets other ready fibers run, then continues. A cancellation point.
// On a plain thread it is std::this_thread::yield().
void yield();

// check_cancelled() throws weft::cancelled if the calling fiber was aborted
// (or its timeout() expired) and that was not delivered yet. For CPU loops.
void check_cancelled();

// on_fiber() is true when the caller runs on a weft fiber.
bool on_fiber() noexcept;

// id() is the calling weft fiber's task id (0 elsewhere).
std::uint64_t id() noexcept;

// name() is the calling fiber's name ("" when unnamed or not on a fiber).
std::string_view name() noexcept;

// wait_readable() waits until `fd` is readable (or has an error/hang-up).
// Blocks: parks the fiber on the worker's event loop; on a plain thread,
// poll(2). Errors: errc::timeout at the deadline; weft::cancelled.
[[nodiscard]] result<void> wait_readable(int fd, time::instant deadline = time::instant::max());

// wait_writable() is wait_readable() for writability.
[[nodiscard]] result<void> wait_writable(int fd, time::instant deadline = time::instant::max());

}  // namespace weft::this_fiber
