// SPDX-License-Identifier: MIT
// What docs/compat.md's snippets use without including: the drop-ins
// themselves and std::thread.
#pragma once

#include <thread>

#include "weft/compat.hpp"
