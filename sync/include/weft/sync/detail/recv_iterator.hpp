// SPDX-License-Identifier: MIT
// recv_iterator<Rx>: lets `for (auto msg : rx)` receive until the channel
// closes. Internal; receivers expose it through begin()/end().
#pragma once

#include <cstddef>
#include <iterator>
#include <optional>
#include <utility>

#include "weft/fibers/config.hpp"

namespace weft::sync::detail {

// recv_sentinel marks the end of a receive loop (the channel closed).
struct recv_sentinel {};

// recv_iterator is a single-pass input iterator: operator++ receives the
// next message (blocking); it equals recv_sentinel once the channel closed.
// Rx must provide `std::optional<value_type> next_for_iteration()`.
template <class Rx>
class recv_iterator {
 public:
  using value_type = typename Rx::value_type;
  using difference_type = std::ptrdiff_t;
  using iterator_category = std::input_iterator_tag;

  recv_iterator() = default;
  explicit recv_iterator(Rx& rx) : rx_(&rx) { advance(); }

  // operator*() hands the message out as an rvalue, so `for (auto msg : rx)`
  // moves it (move-only messages work); `auto&&`/`const auto&` bind too.
  value_type&& operator*() { return std::move(*current_); }
  value_type* operator->() { return &*current_; }
  recv_iterator& operator++() {
    advance();
    return *this;
  }
  void operator++(int) { advance(); }

  friend bool operator==(const recv_iterator& it, recv_sentinel) noexcept {
    return !it.current_.has_value();
  }

 private:
  void advance() { current_ = rx_->next_for_iteration(); }

  Rx* rx_ = nullptr;
  std::optional<value_type> current_;
};

}  // namespace weft::sync::detail
