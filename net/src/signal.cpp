// SPDX-License-Identifier: MIT
// signal_stream: a thin face over the fibers signal hub
// (fibers/src/signal_hub.cpp), mapping its outcomes to weft::result and
// to the select protocol.
#include "weft/net/signal.hpp"

#include <signal.h>

namespace weft::net {

namespace {
sync::detail::poll to_poll(weft::detail::signal_poll p) noexcept {
  switch (p) {
    case weft::detail::signal_poll::ready:
      return sync::detail::poll::ready;
    case weft::detail::signal_poll::closed:
      return sync::detail::poll::disabled;
    case weft::detail::signal_poll::pending:
      break;
  }
  return sync::detail::poll::pending;
}
}  // namespace

result<signal_stream> signal_stream::open(int signum) {
  auto l = weft::detail::signal_listener::open(signum);
  if (!l) return l.error();
  return signal_stream(std::move(*l));
}

result<void> signal_stream::recv(time::instant deadline) {
  return l_.wait(sync::detail::deadline_at(deadline));
}

result<void> signal_stream::try_recv() noexcept {
  switch (l_.try_take()) {
    case weft::detail::signal_poll::ready:
      return {};
    case weft::detail::signal_poll::closed:
      return make_error_code(errc::closed);
    case weft::detail::signal_poll::pending:
      break;
  }
  return make_error_code(errc::empty);
}

sync::detail::poll signal_stream::select_try() noexcept { return to_poll(l_.try_take()); }

sync::detail::poll signal_stream::select_arm(sync::detail::waiter& w,
                                             sync::detail::wait_list::node& n) noexcept {
  return to_poll(l_.arm(w, n));
}

result<void> ctrl_c(time::instant deadline) {
  auto s = signal_stream::open(SIGINT);
  if (!s) return s.error();
  return s->recv(deadline);
}

}  // namespace weft::net
