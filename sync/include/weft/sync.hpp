// SPDX-License-Identifier: MIT
// weft::sync umbrella: every fiber-aware synchronisation primitive.
#pragma once

#include "weft/sync/error.hpp"
#include "weft/sync/broadcast.hpp"
#include "weft/sync/watch.hpp"
