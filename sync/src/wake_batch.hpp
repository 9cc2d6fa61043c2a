// SPDX-License-Identifier: MIT
// wake_all_into(): the claim-everything loop of barrier, once_cell and the
// condition variables, on the shared wake_batch (detail/wait_util.hpp).
#pragma once

#include <cstddef>
#include <utility>

#include "weft/sync/detail/wait_util.hpp"

namespace weft::sync::detail {

// wake_all_into() unlinks every node of `list` (under its owner's lock),
// claims each waiter for `why` and keeps the tokens that won in `wakes`;
// nodes whose waiter another source claimed first are just unlinked.
inline void wake_all_into(
    weft::detail::wait_list& list, wake_batch& wakes,
    weft::detail::wake_reason why = weft::detail::wake_reason::notified) noexcept {
  while (weft::detail::wait_list::node* n = list.front()) {
    list.remove(*n);
    if (weft::detail::wake_token t = n->w->claim(why)) {
      n->fired = true;
      wakes.add(std::move(t));
    }
  }
}

}  // namespace weft::sync::detail
