// SPDX-License-Identifier: MIT
// weft's std::error_category.
#include <string>

#include "weft/fibers/result.hpp"

namespace weft {

namespace {
class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "weft"; }
  std::string message(int c) const override {
    switch (static_cast<errc>(c)) {
      case errc::closed:
        return "closed";
      case errc::timeout:
        return "timed out";
      case errc::full:
        return "full";
      case errc::empty:
        return "empty";
      case errc::cancelled:
        return "cancelled";
    }
    return "unknown weft error " + std::to_string(c);
  }
  std::error_condition default_error_condition(int c) const noexcept override {
    if (static_cast<errc>(c) == errc::timeout) return std::errc::timed_out;
    if (static_cast<errc>(c) == errc::cancelled) return std::errc::operation_canceled;
    return std::error_condition(c, *this);
  }
};
}  // namespace

const std::error_category& error_category() noexcept {
  static const category c;
  return c;
}

std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), error_category()}; }

std::error_condition make_error_condition(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

}  // namespace weft
