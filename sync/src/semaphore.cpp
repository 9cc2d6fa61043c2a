// SPDX-License-Identifier: MIT
// semaphore and its permits: thin RAII over detail::batch_semaphore.
#include "weft/sync/semaphore.hpp"

#include <utility>

namespace weft::sync {

namespace {

std::error_code to_error(detail::acquire_status s) noexcept {
  switch (s) {
    case detail::acquire_status::closed:
      return make_error_code(errc::closed);
    case detail::acquire_status::timeout:
      return make_error_code(errc::timeout);
    case detail::acquire_status::empty:
    case detail::acquire_status::acquired:
      break;
  }
  return make_error_code(errc::empty);
}

}  // namespace

semaphore_permit::semaphore_permit(semaphore_permit&& o) noexcept
    : sem_(std::exchange(o.sem_, nullptr)), n_(std::exchange(o.n_, 0)) {}

semaphore_permit& semaphore_permit::operator=(semaphore_permit&& o) noexcept {
  if (this != &o) {
    release();
    sem_ = std::exchange(o.sem_, nullptr);
    n_ = std::exchange(o.n_, 0);
  }
  return *this;
}

void semaphore_permit::release() noexcept {
  if (sem_ && n_ != 0) sem_->sem_.release(n_);
  n_ = 0;
}

result<semaphore_permit> semaphore::acquire_many_until_ns(std::size_t n, std::int64_t deadline_ns) {
  const detail::acquire_status s = sem_.acquire(n, deadline_ns);
  if (s != detail::acquire_status::acquired) return to_error(s);
  return semaphore_permit(this, n);
}

result<semaphore_permit> semaphore::try_acquire_many(std::size_t n) {
  const detail::acquire_status s = sem_.try_acquire(n);
  if (s != detail::acquire_status::acquired) return to_error(s);
  return semaphore_permit(this, n);
}

result<owned_semaphore_permit> acquire_owned(std::shared_ptr<semaphore> s, std::size_t n) {
  result<semaphore_permit> p = s->acquire_many(n);
  if (!p) return p.error();
  return owned_semaphore_permit(std::move(s), std::move(*p));
}

result<owned_semaphore_permit> try_acquire_owned(std::shared_ptr<semaphore> s, std::size_t n) {
  result<semaphore_permit> p = s->try_acquire_many(n);
  if (!p) return p.error();
  return owned_semaphore_permit(std::move(s), std::move(*p));
}

}  // namespace weft::sync
