// SPDX-License-Identifier: MIT
// Tests of weft::builder, weft::runtime and weft::handle.
#include <catch2/catch.hpp>

#include "support/runtime_fixture.hpp"

TEST_CASE("runtime: block_on returns the fiber's value", "[fibers][runtime]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers);
    CHECK(rt.block_on([] { return 42; }) == 42);
  }
  leaks.finish();
}
