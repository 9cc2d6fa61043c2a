// SPDX-License-Identifier: MIT
// The public questions of weft/hook.hpp.
#include "weft/hook.hpp"

#include "fd_table.hpp"

namespace weft::hook {

bool active() noexcept { return true; }

std::size_t tracked_descriptors() noexcept {
  detail::drop_closed();
  return detail::tracked_count();
}

bool is_tracked(int fd) noexcept { return static_cast<bool>(detail::find(fd)); }

}  // namespace weft::hook
