// SPDX-License-Identifier: MIT
// What docs/diagnostics.md's snippets use without including.
#pragma once

#include <chrono>
#include <csignal>
#include <string>

#include "weft/fibers.hpp"

// read_whole_file() stands for a blocking read of a regular file.
std::string read_whole_file(const char* path);
