// SPDX-License-Identifier: MIT
// weft/fibers/config.hpp: what every weft header checks before its own code,
// so that a build in the wrong language mode stops with one clear message
// instead of pages of errors from the code that follows.
#pragma once

// weft's headers use C++20 (std::remove_cvref_t, for one) and its libraries
// are built as C++20. g++ 12 defaults to -std=gnu++17, hence the hint.
// Every header under include/ includes this one before any code of its own
// (tests/cxx20_check.cmake checks it).
static_assert(__cplusplus >= 202002L, "weft needs C++20: compile with -std=c++20 or later");
