// SPDX-License-Identifier: MIT
// The single Catch2 main shared by every weft test binary.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
