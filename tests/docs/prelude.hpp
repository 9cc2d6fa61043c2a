// SPDX-License-Identifier: MIT
// What every generated doc snippet sees (tests/docs/extract_snippets.cpp):
// weft's umbrella headers, the standard headers the snippets use without
// saying so, and the chrono literals. Signal numbers are not here: a snippet
// that uses SIGTERM includes <csignal> itself, as a user's file must.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "weft/fibers.hpp"
#include "weft/net.hpp"
#include "weft/sync.hpp"

using namespace std::chrono_literals;
