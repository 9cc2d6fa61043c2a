// SPDX-License-Identifier: MIT
// io_source: per-fd reactor registration and readiness cache (see the header).
#include "weft/fibers/detail/io_source.hpp"

#include <event2/event.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <system_error>
#include <utility>
#include <vector>

#include "clock.hpp"
#include "runtime_core.hpp"
#include "thread_state.hpp"
#include "weft/fibers/detail/core.hpp"
#include "weft/fibers/detail/wait_label.hpp"
#include "weft/fibers/detail/wait_util.hpp"

namespace weft::detail {

namespace {
// A plain thread polls in slices this long so that close() from another
// thread reaches it (a plain thread has no event loop to be woken through).
constexpr int kThreadSliceMs = 20;

}  // namespace

io_source::~io_source() { close(); }

void io_source::on_event(int, short what, void* arg) {
  unsigned dirs = 0;
  if (what & EV_CLOSED) {
    static_cast<io_source*>(arg)->hup_.store(true, std::memory_order_release);
    dirs |= 1;
  }
  if (what & EV_READ) dirs |= 1;
  if (what & EV_WRITE) dirs |= 2;
  auto* src = static_cast<io_source*>(arg);
  src->owner_->io_events.fetch_add(1, std::memory_order_relaxed);
  src->wake(dirs);
}

void io_source::wake(unsigned dirs) noexcept {
  wake_batch batch;
  spin_guard lk(lock_);
  std::uint64_t add = 0;
  if (dirs & 1) add += std::uint64_t{1} << 32;
  if (dirs & 2) add += 1;
  seq_.fetch_add(add, std::memory_order_acq_rel);
  if (dirs & 1) claim_all(waiters_[0], batch, /*fire=*/true);
  if (dirs & 2) claim_all(waiters_[1], batch, /*fire=*/true);
  lk.unlock();
}

result<void> io_source::ensure_registered() {
  worker* w = current_worker();
  spin_guard lk(lock_);
  if (ev_) return {};
  if (closed()) return make_error_code(errc::closed);
  // One edge-triggered registration for both directions, for the life of
  // the source: afterwards an operation costs no epoll_ctl.
  // EV_CLOSED (EPOLLRDHUP): a hang-up is remembered, see known_drained().
  // libevent may write its notify descriptor here: the runtime's own call.
  hooks_off off;
  // owner_ first: an edge may fire as soon as event_add() returns, on the
  // monitor's thread when it polls this worker's loop (on_event reads it).
  owner_ = w;
  event* ev = event_new(w->base(), fd_, EV_READ | EV_WRITE | EV_CLOSED | EV_ET | EV_PERSIST,
                        on_event, this);
  if (!ev) {
    owner_ = nullptr;
    return std::error_code(ENOMEM, std::generic_category());
  }
  if (event_add(ev, nullptr) != 0) {
    const int e = errno;
    event_free(ev);
    owner_ = nullptr;
    return std::error_code(e ? e : ENOMEM, std::generic_category());
  }
  ev_ = ev;
  w->io_registrations.fetch_add(1, std::memory_order_relaxed);
  w->io_registered.fetch_add(1, std::memory_order_relaxed);
  keep_ = current_core_shared();
  return {};
}

result<void> io_source::wait(io_dir d, std::uint32_t snap, std::int64_t deadline_ns) {
  if (!current_worker()) return wait_thread(d, deadline_ns);
  if (!ev_) {
    if (auto r = ensure_registered(); !r) return r;
  }
  spin_guard lk(lock_);
  if (closed()) return make_error_code(errc::closed);
  if (snapshot(d) != snap) return {};  // an edge arrived since the syscall: retry
  // The owning worker polls its loop while anyone waits on it, even busy.
  struct owner_wait {
    std::atomic<int>* n;
    explicit owner_wait(std::atomic<int>* c) noexcept : n(c) {
      n->fetch_add(1, std::memory_order_relaxed);
    }
    ~owner_wait() { n->fetch_sub(1, std::memory_order_relaxed); }
  } counted(&owner_->io_waits);
  wait_label label("descriptor", this, deadline_ns,
                   d == io_dir::read ? wait_detail::fd_read : wait_detail::fd_write, fd_);
  const wake_reason r = park_on(waiters_[static_cast<std::size_t>(d)], lk, deadline_ns);
  lk.unlock();
  if (closed()) return make_error_code(errc::closed);
  if (r == wake_reason::timeout) return make_error_code(errc::timeout);
  return {};
}

bool io_source::foreign_registration() noexcept {
  runtime_core* mine = current_core();
  spin_guard lk(lock_);
  return ev_ && keep_.get() != mine;
}

result<void> wait_any(io_interest* items, std::size_t n, std::int64_t deadline_ns) {
  if (!current_worker()) return std::error_code(EINVAL, std::generic_category());
  for (std::size_t i = 0; i < n; ++i) {
    if (!items[i].src->ev_) {
      if (auto r = items[i].src->ensure_registered(); !r) {
        if (r.error() == make_error_code(errc::closed)) return {};  // look again: POLLNVAL
        return r;
      }
    }
  }
  waiter w;
  std::vector<wait_list::node> nodes;
  nodes.reserve(n);
  for (std::size_t i = 0; i < n; ++i) nodes.emplace_back(w);
  std::size_t linked = 0;
  bool ready = false;
  for (; linked < n; ++linked) {
    io_source& s = *items[linked].src;
    spin_guard lk(s.lock_);
    if (s.closed() || s.snapshot(items[linked].dir) != items[linked].snap) {
      ready = true;
      break;
    }
    s.waiters_[static_cast<std::size_t>(items[linked].dir)].push_back(nodes[linked]);
    s.owner_->io_waits.fetch_add(1, std::memory_order_relaxed);
  }
  // unlink_all() withdraws the node from every list it joined, each under
  // its source's lock: afterwards no waker can reach the waiter.
  auto unlink_all = [&]() noexcept {
    for (std::size_t i = 0; i < linked; ++i) {
      io_source& s = *items[i].src;
      spin_guard lk(s.lock_);
      s.waiters_[static_cast<std::size_t>(items[i].dir)].remove(nodes[i]);
      s.owner_->io_waits.fetch_sub(1, std::memory_order_relaxed);
    }
  };
  wake_reason r = wake_reason::notified;
  if (!ready) {
    wait_label label("poll", items, deadline_ns, wait_detail::fds, static_cast<std::int64_t>(n));
    try {
      // A source may have claimed the waiter already: park returns at once.
      r = w.park(nullptr, deadline_ns);
    } catch (...) {
      unlink_all();
      throw;
    }
  }
  unlink_all();
  if (r == wake_reason::timeout) return make_error_code(errc::timeout);
  return {};
}

result<void> io_source::wait_thread(io_dir d, std::int64_t deadline_ns) {
  pollfd p{fd_, static_cast<short>(d == io_dir::read ? POLLIN : POLLOUT), 0};
  for (;;) {
    if (closed()) return make_error_code(errc::closed);
    int ms = kThreadSliceMs;
    if (deadline_ns != no_deadline) {
      const std::int64_t left = deadline_ns - steady_ns();
      if (left <= 0) return make_error_code(errc::timeout);
      ms = static_cast<int>(std::min<std::int64_t>(ms, (left + 999999) / 1000000));
    }
    const int n = ::poll(&p, 1, ms);
    if (n > 0) return {};
    if (n < 0 && errno != EINTR) return std::error_code(errno, std::generic_category());
  }
}

void io_source::last_out() noexcept {
  wake_batch batch;
  spin_guard lk(lock_);
  claim_all(closers_, batch, /*fire=*/false);
  lk.unlock();
}

bool io_source::close() noexcept {
  const bool first = !(ops_.fetch_or(kClosed, std::memory_order_acq_rel) & kClosed);
  if (first) wake(3);  // parked operations see closed() and return errc::closed
  spin_guard lk(lock_);
  // The first closer waits for the operations to leave; later ones wait
  // for the first to finish deregistering.
  auto done = [&] {
    return first ? (ops_.load(std::memory_order_acquire) & ~kClosed) == 0 : close_done_;
  };
  while (!done()) (void)park_on(closers_, lk, no_deadline, /*cancellable=*/false);
  if (!first) return false;
  event* ev = std::exchange(ev_, nullptr);
  lk.unlock();
  // Outside the lock: event_free waits for a callback running on the
  // owning worker, and that callback takes lock_.
  if (ev) {
    hooks_off off;  // libevent's own libc calls, not a fiber's
    event_free(ev);
    owner_->io_registered.fetch_sub(1, std::memory_order_relaxed);
  }
  std::shared_ptr<runtime_core> keep = std::move(keep_);
  wake_batch batch;
  lk.lock();
  close_done_ = true;
  claim_all(closers_, batch, /*fire=*/false);
  lk.unlock();
  return true;
}

}  // namespace weft::detail
