// SPDX-License-Identifier: MIT
// The "weft.net" std::error_category.
#include "weft/net/error.hpp"

#include <string>

namespace weft::net {

namespace {
class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "weft.net"; }
  std::string message(int c) const override {
    switch (static_cast<errc>(c)) {
      case errc::eof:
        return "end of stream";
      case errc::line_too_long:
        return "line longer than the maximum length";
      case errc::bad_address:
        return "malformed socket address";
      case errc::host_not_found:
        return "host not found";
      case errc::dns_failure:
        return "name resolution failed";
      case errc::no_addresses:
        return "no usable address";
    }
    return "unknown weft.net error " + std::to_string(c);
  }
};
}  // namespace

const std::error_category& error_category() noexcept {
  static const category c;
  return c;
}

std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), error_category()}; }

}  // namespace weft::net
