// SPDX-License-Identifier: MIT
// Tests of weft::errc, weft::error_category and weft::result (result.hpp).
#include "weft/fibers/result.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <system_error>

TEST_CASE("result: errc codes have weft's category and messages", "[fibers][result]") {
  const std::error_category& cat = weft::error_category();
  CHECK(std::string(cat.name()) == "weft");
  CHECK(&cat == &weft::error_category());  // one instance
  CHECK(cat.message(static_cast<int>(weft::errc::closed)) == "closed");
  CHECK(cat.message(static_cast<int>(weft::errc::timeout)) == "timed out");
  CHECK(cat.message(static_cast<int>(weft::errc::full)) == "full");
  CHECK(cat.message(static_cast<int>(weft::errc::empty)) == "empty");
  CHECK(cat.message(static_cast<int>(weft::errc::cancelled)) == "cancelled");
  CHECK_THAT(cat.message(42), Catch::Contains("unknown") && Catch::Contains("42"));

  const std::error_code ec = weft::errc::timeout;  // implicit, via is_error_code_enum
  CHECK(ec.category() == cat);
  CHECK(ec.value() == 2);
  CHECK(ec == weft::make_error_code(weft::errc::timeout));
  CHECK(ec.message() == "timed out");
  CHECK(static_cast<int>(weft::errc::closed) == 1);
}

TEST_CASE("result: errc::timeout is std::errc::timed_out, cancelled is operation_canceled",
          "[fibers][result]") {
  CHECK(weft::make_error_code(weft::errc::timeout) == std::errc::timed_out);
  CHECK(weft::make_error_code(weft::errc::cancelled) == std::errc::operation_canceled);
  CHECK(weft::make_error_code(weft::errc::closed) != std::errc::timed_out);
  CHECK(weft::make_error_code(weft::errc::full) != std::errc::timed_out);
  CHECK(weft::make_error_code(weft::errc::timeout) != weft::errc::closed);
  // An error_code from elsewhere is not a weft timeout.
  CHECK(std::make_error_code(std::errc::timed_out) != weft::make_error_code(weft::errc::timeout));
  CHECK(weft::make_error_condition(weft::errc::full) == weft::make_error_code(weft::errc::full));
}

TEST_CASE("result: result<T> holds a value or an error and value() throws system_error",
          "[fibers][result]") {
  weft::result<int> ok = 5;
  CHECK(ok.has_value());
  CHECK(*ok == 5);
  weft::result<int> bad = weft::make_error_code(weft::errc::closed);
  CHECK_FALSE(bad.has_value());
  CHECK(bad.error() == weft::errc::closed);
  std::error_code thrown;
  try {
    (void)bad.value();
  } catch (const std::system_error& e) {
    thrown = e.code();
  }
  CHECK(thrown == weft::errc::closed);
  weft::result<void> done;
  CHECK(done.has_value());
  weft::result<void> timed_out = weft::make_error_code(weft::errc::timeout);
  CHECK_THROWS_AS(timed_out.value(), std::system_error);
}
