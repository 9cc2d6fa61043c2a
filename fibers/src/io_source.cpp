// SPDX-License-Identifier: MIT
// io_source: per-fd reactor registration and readiness cache (see the header).
#include "weft/fibers/detail/io_source.hpp"

#include <event2/event.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <system_error>
#include <utility>

#include "clock.hpp"
#include "runtime_core.hpp"
#include "thread_state.hpp"
#include "weft/fibers/detail/core.hpp"

namespace weft::detail {

namespace {
// A plain thread polls in slices this long so that close() from another
// thread reaches it (a plain thread has no event loop to be woken through).
constexpr int kThreadSliceMs = 20;

// token_batch resumes claimed waiters after the lock is released.
class token_batch {
 public:
  token_batch() = default;
  token_batch(const token_batch&) = delete;
  token_batch& operator=(const token_batch&) = delete;
  void add(wake_token&& t) noexcept {
    if (!t) return;
    if (n_ < kSlots) {
      slots_[n_++] = std::move(t);
    } else {
      t.resume();  // rare: many waiters on one fd; resuming under the lock is still correct
    }
  }
  void claim_all(wait_list& list) noexcept {
    while (wait_list::node* n = list.front()) {
      list.remove(*n);
      wake_token t = n->w->claim(wake_reason::notified);
      if (t) {
        n->fired = true;
        add(std::move(t));
      }
    }
  }
  // The destructors of slots_ resume the kept tokens.

 private:
  static constexpr std::size_t kSlots = 8;
  wake_token slots_[kSlots];
  std::size_t n_ = 0;
};
}  // namespace

io_source::~io_source() { close(); }

void io_source::on_event(int, short what, void* arg) {
  unsigned dirs = 0;
  if (what & EV_READ) dirs |= 1;
  if (what & EV_WRITE) dirs |= 2;
  static_cast<io_source*>(arg)->wake(dirs);
}

void io_source::wake(unsigned dirs) noexcept {
  token_batch batch;
  spin_guard lk(lock_);
  std::uint64_t add = 0;
  if (dirs & 1) add += std::uint64_t{1} << 32;
  if (dirs & 2) add += 1;
  seq_.fetch_add(add, std::memory_order_acq_rel);
  if (dirs & 1) batch.claim_all(waiters_[0]);
  if (dirs & 2) batch.claim_all(waiters_[1]);
  lk.unlock();
}

result<void> io_source::ensure_registered() {
  worker* w = current_worker();
  spin_guard lk(lock_);
  if (ev_) return {};
  if (closed()) return make_error_code(errc::closed);
  // One edge-triggered registration for both directions, for the life of
  // the source: afterwards an operation costs no epoll_ctl.
  event* ev = event_new(w->base(), fd_, EV_READ | EV_WRITE | EV_ET | EV_PERSIST, on_event, this);
  if (!ev) return std::error_code(ENOMEM, std::generic_category());
  if (event_add(ev, nullptr) != 0) {
    event_free(ev);
    return std::error_code(errno ? errno : ENOMEM, std::generic_category());
  }
  ev_ = ev;
  owner_waits_ = &w->io_waits;
  keep_ = current_core_shared();
  return {};
}

result<void> io_source::wait(io_dir d, std::uint32_t snap, std::int64_t deadline_ns) {
  if (!current_worker()) return wait_thread(d, deadline_ns);
  if (!ev_) {
    if (auto r = ensure_registered(); !r) return r;
  }
  const auto i = static_cast<std::size_t>(d);
  waiter wt;
  wait_list::node n(wt);
  spin_guard lk(lock_);
  if (closed()) return make_error_code(errc::closed);
  if (snapshot(d) != snap) return {};  // an edge arrived since the syscall: retry
  waiters_[i].push_back(n);
  std::atomic<int>* owner = owner_waits_;
  owner->fetch_add(1, std::memory_order_relaxed);
  wake_reason r;
  try {
    r = wt.park(&lk, deadline_ns, true);
  } catch (...) {
    if (!lk.owns_lock()) lk.lock();
    waiters_[i].remove(n);
    lk.unlock();
    owner->fetch_sub(1, std::memory_order_relaxed);
    throw;
  }
  lk.lock();
  waiters_[i].remove(n);
  lk.unlock();
  owner->fetch_sub(1, std::memory_order_relaxed);
  if (closed()) return make_error_code(errc::closed);
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
  token_batch batch;
  spin_guard lk(lock_);
  batch.claim_all(closers_);
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
  while (!done()) {
    waiter w;
    wait_list::node n(w);
    closers_.push_back(n);
    (void)w.park(&lk, no_deadline, false);
    lk.lock();
    closers_.remove(n);
  }
  if (!first) return false;
  event* ev = std::exchange(ev_, nullptr);
  lk.unlock();
  // Outside the lock: event_free waits for a callback running on the
  // owning worker, and that callback takes lock_.
  if (ev) event_free(ev);
  std::shared_ptr<runtime_core> keep = std::move(keep_);
  token_batch batch;
  lk.lock();
  close_done_ = true;
  batch.claim_all(closers_);
  lk.unlock();
  return true;
}

}  // namespace weft::detail
