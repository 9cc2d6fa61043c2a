// SPDX-License-Identifier: MIT
// weft::compat::thread's join/detach and this_thread::get_id.
#include "weft/sync/detail/compat_thread.hpp"

#include <system_error>
#include <thread>

#include "weft/fibers/detail/core.hpp"

namespace weft::compat {

namespace detail {
weft::detail::runtime_core& require_core(const char* what) {
  if (weft::detail::runtime_core* c = weft::detail::current_core()) return *c;
  throw weft::no_runtime_error(std::string(what) +
                               " needs a running weft runtime: call it on a fiber (inside "
                               "runtime::block_on or a spawned fiber), not on a plain thread");
}
}  // namespace detail

void thread::join() {
  if (!joinable()) {
    throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                            "weft::compat::thread::join: not joinable");
  }
  if (get_id() == this_thread::get_id()) {
    throw std::system_error(std::make_error_code(std::errc::resource_deadlock_would_occur),
                            "weft::compat::thread::join: a fiber cannot join itself");
  }
  h_.task()->join_wait();  // weft::cancelled leaves the thread joinable
  // Dropping the handle of the finished task hands an exception it ended
  // with to the runtime's unhandled_exception_policy: std::thread::join
  // has no way to report it either.
  h_.detach();
  core_ = nullptr;
}

void thread::detach() {
  if (!joinable()) {
    throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                            "weft::compat::thread::detach: not joinable");
  }
  h_.detach();
  core_ = nullptr;
}

namespace this_thread {
thread::id get_id() noexcept {
  if (weft::detail::task_base* t = weft::detail::current_task()) {
    return thread::id(weft::detail::current_core(), t->id());
  }
  return thread::id(std::this_thread::get_id());
}
}  // namespace this_thread

}  // namespace weft::compat
