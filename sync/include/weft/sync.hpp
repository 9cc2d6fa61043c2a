// SPDX-License-Identifier: MIT
// weft::sync umbrella: every fiber-aware synchronisation primitive.
#pragma once

#include "weft/fibers/config.hpp"
#include "weft/sync/barrier.hpp"
#include "weft/sync/broadcast.hpp"
#include "weft/sync/cancellation_token.hpp"
#include "weft/sync/condition_variable.hpp"
#include "weft/sync/error.hpp"
#include "weft/sync/mpsc.hpp"
#include "weft/sync/mutex.hpp"
#include "weft/sync/notify.hpp"
#include "weft/sync/once_cell.hpp"
#include "weft/sync/oneshot.hpp"
#include "weft/sync/rwlock.hpp"
#include "weft/sync/select.hpp"
#include "weft/sync/semaphore.hpp"
#include "weft/sync/watch.hpp"
