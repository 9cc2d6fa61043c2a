// SPDX-License-Identifier: MIT
// weft/fibers.hpp: the fibers module umbrella (runtime, spawn, join, time).
#pragma once

#include "weft/fibers/block_in_place.hpp"
#include "weft/fibers/cancelled.hpp"
#include "weft/fibers/config.hpp"
#include "weft/fibers/interval.hpp"
#include "weft/fibers/join_handle.hpp"
#include "weft/fibers/join_set.hpp"
#include "weft/fibers/metrics.hpp"
#include "weft/fibers/result.hpp"
#include "weft/fibers/runtime.hpp"
#include "weft/fibers/spawn.hpp"
#include "weft/fibers/this_fiber.hpp"
#include "weft/fibers/time.hpp"
