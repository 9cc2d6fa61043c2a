// SPDX-License-Identifier: MIT
// Helpers every weft::sync primitive shares: one park loop step and wake
// tokens resumed after the lock is released. They live with the waiter
// (weft/fibers/detail/wait_util.hpp), shared with the reactor and the
// signal hub. Internal; do not depend on it.
#pragma once

#include "weft/fibers/config.hpp"
#include "weft/fibers/detail/wait_util.hpp"
#include "weft/sync/detail/select_branch.hpp"

namespace weft::sync::detail {

using weft::detail::claim_all;
using weft::detail::park_node;
using weft::detail::park_on;
using weft::detail::wake_batch;

}  // namespace weft::sync::detail
