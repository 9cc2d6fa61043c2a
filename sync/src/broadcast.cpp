// SPDX-License-Identifier: MIT
// weft::sync::broadcast: the "weft.broadcast" error category (recv_errc) and
// what recv_result<T>::value() throws.
#include "weft/sync/broadcast.hpp"

#include <string>

namespace weft::sync::broadcast {

namespace {
class broadcast_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "weft.broadcast"; }
  std::string message(int ev) const override {
    switch (static_cast<recv_errc>(ev)) {
      case recv_errc::lagged:
        return "receiver lagged behind: messages were overwritten before it read them";
    }
    return "unknown weft.broadcast error";
  }
};
}  // namespace

const std::error_category& error_category() noexcept {
  static const broadcast_category category;
  return category;
}

std::error_code make_error_code(recv_errc e) noexcept {
  return {static_cast<int>(e), broadcast::error_category()};
}

void throw_exception_from_error(const recv_error& e, const boost::source_location&) {
  if (e.is_lagged()) {
    throw std::system_error(e.code, "skipped " + std::to_string(e.skipped) + " messages");
  }
  throw std::system_error(e.code);
}

}  // namespace weft::sync::broadcast
