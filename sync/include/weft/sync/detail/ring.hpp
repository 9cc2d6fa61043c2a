// SPDX-License-Identifier: MIT
// ring<T>: the FIFO buffer of a channel. A power-of-two circular array that
// grows on demand (never shrinks), so a warm channel allocates nothing.
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <utility>

#include "weft/fibers/config.hpp"

namespace weft::sync::detail {

template <class T>
class ring {
 public:
  ring() noexcept = default;
  ring(const ring&) = delete;
  ring& operator=(const ring&) = delete;
  ~ring() {
    clear();
    ::operator delete (static_cast<void*>(slots_), std::align_val_t{alignof(T)});
  }

  bool empty() const noexcept { return size_ == 0; }
  std::size_t size() const noexcept { return size_; }

  // push_back() appends; may throw std::bad_alloc (nothing changes then).
  template <class U>
  void push_back(U&& v) {
    if (size_ == cap_) grow();
    ::new (static_cast<void*>(slots_ + ((head_ + size_) & (cap_ - 1)))) T(std::forward<U>(v));
    ++size_;
  }

  // push_front() prepends (a message given back to the head of a channel);
  // may throw std::bad_alloc (nothing changes then).
  template <class U>
  void push_front(U&& v) {
    if (size_ == cap_) grow();
    const std::size_t at = (head_ + cap_ - 1) & (cap_ - 1);
    ::new (static_cast<void*>(slots_ + at)) T(std::forward<U>(v));
    head_ = at;
    ++size_;
  }

  // pop_front() moves the oldest element out.
  T pop_front() {
    T* p = slots_ + head_;
    T v(std::move(*p));
    p->~T();
    head_ = (head_ + 1) & (cap_ - 1);
    --size_;
    return v;
  }

  // reserve() makes room for `n` elements without further allocation.
  void reserve(std::size_t n) {
    while (cap_ < n) grow();
  }

  // swap() exchanges the contents of two rings (no element is touched).
  void swap(ring& o) noexcept {
    std::swap(slots_, o.slots_);
    std::swap(cap_, o.cap_);
    std::swap(head_, o.head_);
    std::swap(size_, o.size_);
  }

  void clear() noexcept {
    while (size_) {
      slots_[head_].~T();
      head_ = (head_ + 1) & (cap_ - 1);
      --size_;
    }
  }

 private:
  void grow() {
    const std::size_t ncap = cap_ ? cap_ * 2 : 8;
    T* n = static_cast<T*>(::operator new (ncap * sizeof(T), std::align_val_t{alignof(T)}));
    for (std::size_t i = 0; i < size_; ++i) {
      T* src = slots_ + ((head_ + i) & (cap_ - 1));
      ::new (static_cast<void*>(n + i)) T(std::move(*src));
      src->~T();
    }
    ::operator delete (static_cast<void*>(slots_), std::align_val_t{alignof(T)});
    slots_ = n;
    cap_ = ncap;
    head_ = 0;
  }

  T* slots_ = nullptr;
  std::size_t cap_ = 0;  // 0 or a power of two
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace weft::sync::detail
