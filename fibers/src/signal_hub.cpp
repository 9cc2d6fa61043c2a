// SPDX-License-Identifier: MIT
// signal_hub: one libevent signal event per listened signal number, on the
// host runtime's worker 0, counting deliveries into a per-signal slot and
// waking the listeners parked on it. The rule is in detail/signal.hpp.
//
// Why process-wide state: signal dispositions and libevent's signal base
// are process-wide already; the hub is the one place weft mirrors them.
//
// Locks. hub::mutex (std::mutex) guards registration: listener counts, the
// host, the live-runtime list, the libevent events and saved dispositions.
// It is never held across a suspension point and never taken by the
// libevent callback: event_del() waits for a callback running on another
// thread, so that callback must never wait for the hub. slot::lock (a
// spin_lock) guards delivered/hosted/waiters; the callback takes only it.
// Order: hub mutex -> slot lock. A shared_ptr<runtime_core> is never
// released under the hub mutex (the last reference runs ~runtime_core,
// which calls back into the hub): such pointers are declared before the
// guard, so they die after it.
//
// Dispositions. Before a signal's libevent event is first added the hub
// installs its own handler (fallback_handler), which only adds one to an
// atomic. libevent saves that as the "old" handler and restores it whenever
// the event is deleted, so moving the event to another base, or losing the
// host, never lets the default action (terminate) run: a signal arriving in
// between is counted by the fallback and folded into the slot's count at the
// next look. The last listener restores the disposition found by the first.
#include <event2/event.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <memory>
#include <mutex>
#include <system_error>
#include <vector>

#include "runtime_core.hpp"
#include "thread_state.hpp"
#include "weft/fibers/detail/signal.hpp"
#include "weft/fibers/detail/wait_label.hpp"
#include "weft/fibers/detail/wait_util.hpp"

namespace weft::detail {

namespace {

// Deliveries counted by fallback_handler, per signal. Constant-initialised
// (no guard in the handler); lock-free, so async-signal-safe.
std::atomic<std::uint64_t> g_pending[NSIG];
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);

void fallback_handler(int sig) {
  if (sig > 0 && sig < NSIG) g_pending[sig].fetch_add(1, std::memory_order_relaxed);
}

// slot is the state of one signal number.
struct slot {
  // Guarded by lock.
  spin_lock lock;
  std::uint64_t delivered = 0;  // deliveries seen so far (monotonic)
  bool hosted = false;          // an event is registered on a live host
  wait_list waiters;
  // Guarded by the hub mutex.
  std::size_t listeners = 0;
  event* ev = nullptr;
  struct sigaction original {};
};

struct hub {
  std::mutex mutex;
  slot slots[NSIG];
  std::shared_ptr<runtime_core> host;  // owner of every signal event
  std::vector<runtime_core*> live;     // started, not yet stopping
};

// the_hub() is never destroyed: a listener may die in a static destructor.
hub& the_hub() {
  static hub* h = new hub;
  return *h;
}

// fold() moves the fallback handler's count into the slot (slot lock held).
void fold(slot& s, int signum) noexcept {
  s.delivered += g_pending[signum].exchange(0, std::memory_order_relaxed);
}

// absorb() folds the fallback count and wakes waiters if it was non-zero.
void absorb(slot& s, int signum) noexcept {
  wake_batch batch;  // resumes the claimed waiters after the lock
  spin_guard lk(s.lock);
  const std::uint64_t before = s.delivered;
  fold(s, signum);
  if (s.delivered != before) claim_all(s.waiters, batch, /*fire=*/true);
}

// on_event is the libevent callback, on the host's worker 0 thread.
void on_event(evutil_socket_t sig, short, void* arg) {
  slot& s = *static_cast<slot*>(arg);
  wake_batch batch;
  spin_guard lk(s.lock);
  fold(s, static_cast<int>(sig));
  ++s.delivered;
  claim_all(s.waiters, batch, /*fire=*/true);
}

// usable() returns a shared owner of `c` if it can host (hub mutex held):
// alive (not inside its destructor) and not shutting down.
std::shared_ptr<runtime_core> usable(runtime_core* c) noexcept {
  std::shared_ptr<runtime_core> sp = c->weak_from_this().lock();
  if (sp && sp->shutting_down.load(std::memory_order_acquire)) sp.reset();
  return sp;
}

// add_event() registers the slot's libevent event on the host (hub mutex held).
std::error_code add_event(hub& h, int signum) noexcept {
  slot& s = h.slots[signum];
  hooks_off off;  // libevent's own libc calls (its notify descriptor), not a fiber's
  event* ev = evsignal_new(h.host->workers[0]->base(), signum, on_event, &s);
  if (!ev) return std::error_code(ENOMEM, std::generic_category());
  if (event_add(ev, nullptr) != 0) {
    event_free(ev);
    return std::error_code(EINVAL, std::generic_category());
  }
  s.ev = ev;
  {
    spin_guard lk(s.lock);
    s.hosted = true;
  }
  absorb(s, signum);  // what the fallback counted before the event existed
  return {};
}

// remove_event() deletes the slot's event (hub mutex held); libevent puts
// the fallback handler back. Waits for a callback running on the host.
void remove_event(slot& s) noexcept {
  if (!s.ev) return;
  hooks_off off;
  event_free(s.ev);
  s.ev = nullptr;
}

// set_host() moves every event from the current host to `next` (or drops
// them when `next` is null, waking the waiters, who then see closed).
// Returns the previous host, to be released after the hub mutex.
std::shared_ptr<runtime_core> set_host(hub& h, std::shared_ptr<runtime_core> next) noexcept {
  for (slot& s : h.slots) remove_event(s);
  std::shared_ptr<runtime_core> old = std::move(h.host);
  if (old) old->workers[0]->hosts_signals.store(false, std::memory_order_relaxed);
  h.host = std::move(next);
  if (h.host) h.host->workers[0]->hosts_signals.store(true, std::memory_order_relaxed);
  for (int signum = 1; signum < NSIG; ++signum) {
    slot& s = h.slots[signum];
    if (s.listeners == 0) continue;
    if (h.host && !add_event(h, signum)) continue;
    wake_batch batch;
    spin_guard lk(s.lock);
    s.hosted = false;
    claim_all(s.waiters, batch, /*fire=*/false);  // they look again and see closed
  }
  return old;
}

bool any_listener(const hub& h) noexcept {
  return std::any_of(std::begin(h.slots), std::end(h.slots),
                     [](const slot& s) { return s.listeners != 0; });
}

}  // namespace

bool signal_listenable(int signum) noexcept {
  if (signum <= 0 || signum >= NSIG) return false;
  switch (signum) {
    case SIGKILL:
    case SIGSTOP:
    case SIGSEGV:
    case SIGBUS:
    case SIGILL:
    case SIGFPE:
      return false;
    default:
      break;
  }
  // glibc keeps the first real-time signals for itself (thread cancellation).
  return !(signum > SIGSYS && signum < SIGRTMIN);
}

result<signal_listener> signal_listener::open(int signum) {
  if (!signal_listenable(signum)) return std::error_code(EINVAL, std::generic_category());
  hub& h = the_hub();
  std::shared_ptr<runtime_core> mine = current_core_shared();  // released after the guard
  std::shared_ptr<runtime_core> candidate;
  std::shared_ptr<runtime_core> old;
  std::lock_guard<std::mutex> lk(h.mutex);
  if (!h.host) {
    if (mine && !mine->shutting_down.load(std::memory_order_acquire)) candidate = mine;
    for (std::size_t i = 0; !candidate && i < h.live.size(); ++i) candidate = usable(h.live[i]);
    if (!candidate) {
      throw no_runtime_error(
          "weft: listening to a signal needs a live runtime to deliver it; open the signal "
          "stream from a fiber, or while some weft::runtime exists");
    }
    old = set_host(h, std::move(candidate));
  }
  slot& s = h.slots[signum];
  if (s.listeners == 0) {
    struct sigaction sa {};
    sa.sa_handler = fallback_handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    std::error_code ec;
    if (::sigaction(signum, &sa, &s.original) != 0) {
      ec = std::error_code(errno, std::generic_category());
    } else if ((ec = add_event(h, signum))) {
      ::sigaction(signum, &s.original, nullptr);
    }
    if (ec) {
      if (!any_listener(h)) old = set_host(h, nullptr);
      return ec;
    }
  }
  ++s.listeners;
  spin_guard g(s.lock);
  fold(s, signum);
  return signal_listener(signum, s.delivered);
}

signal_listener::signal_listener(signal_listener&& o) noexcept
    : signum_(std::exchange(o.signum_, 0)), seen_(o.seen_) {}

signal_listener& signal_listener::operator=(signal_listener&& o) noexcept {
  if (this != &o) {
    close();
    signum_ = std::exchange(o.signum_, 0);
    seen_ = o.seen_;
  }
  return *this;
}

signal_listener::~signal_listener() { close(); }

void signal_listener::close() noexcept {
  if (signum_ == 0) return;
  const int signum = std::exchange(signum_, 0);
  hub& h = the_hub();
  std::shared_ptr<runtime_core> old;
  std::lock_guard<std::mutex> lk(h.mutex);
  slot& s = h.slots[signum];
  if (--s.listeners != 0) return;
  remove_event(s);                            // the fallback handler is back ...
  ::sigaction(signum, &s.original, nullptr);  // ... and now what was there before
  {
    spin_guard g(s.lock);
    s.hosted = false;
  }
  if (!any_listener(h)) old = set_host(h, nullptr);
}

result<void> signal_listener::wait(std::int64_t deadline_ns) {
  if (signum_ == 0) return make_error_code(errc::closed);  // moved-from
  slot& s = the_hub().slots[signum_];
  spin_guard lk(s.lock);
  for (;;) {
    fold(s, signum_);
    if (s.delivered != seen_) {
      seen_ = s.delivered;
      return {};
    }
    if (!s.hosted) return make_error_code(errc::closed);
    // A cancellation throws out of park_on with nothing taken.
    wait_label label("signal", this, deadline_ns, wait_detail::signal, signum_);
    const wake_reason why = park_on(s.waiters, lk, deadline_ns);
    if (why == wake_reason::timeout) {
      fold(s, signum_);
      if (s.delivered != seen_) continue;  // a delivery raced the deadline: take it
      return make_error_code(errc::timeout);
    }
  }
}

signal_poll signal_listener::try_take() noexcept {
  if (signum_ == 0) return signal_poll::closed;
  slot& s = the_hub().slots[signum_];
  spin_guard lk(s.lock);
  fold(s, signum_);
  if (s.delivered != seen_) {
    seen_ = s.delivered;
    return signal_poll::ready;
  }
  return s.hosted ? signal_poll::pending : signal_poll::closed;
}

signal_poll signal_listener::arm(waiter& w, wait_list::node& n) noexcept {
  if (signum_ == 0) return signal_poll::closed;
  slot& s = the_hub().slots[signum_];
  spin_guard lk(s.lock);
  fold(s, signum_);
  if (s.delivered != seen_) {
    wake_token t = w.claim(wake_reason::notified);  // w has not parked: resumes nothing
    if (!t) return signal_poll::pending;            // another branch won
    seen_ = s.delivered;
    return signal_poll::ready;
  }
  if (!s.hosted) return signal_poll::closed;
  n.fired = false;
  s.waiters.push_back(n);
  return signal_poll::pending;
}

bool signal_listener::disarm(wait_list::node& n, bool give_back) noexcept {
  slot& s = the_hub().slots[signum_];
  spin_guard lk(s.lock);
  s.waiters.remove(n);
  if (!n.fired || give_back) return false;  // a delivery wakes every waiter: nothing to pass on
  seen_ = s.delivered;  // the delivery that claimed the waiter, and any since
  return true;
}

void signal_hub_runtime_started(runtime_core& core) noexcept {
  hub& h = the_hub();
  std::lock_guard<std::mutex> lk(h.mutex);
  if (std::find(h.live.begin(), h.live.end(), &core) == h.live.end()) {
    try {
      h.live.push_back(&core);
    } catch (...) {
      // Out of memory: this runtime only cannot host signals for plain threads.
    }
  }
}

void signal_hub_runtime_stopping(runtime_core& core) noexcept {
  hub& h = the_hub();
  std::shared_ptr<runtime_core> next;
  std::shared_ptr<runtime_core> old;
  std::lock_guard<std::mutex> lk(h.mutex);
  h.live.erase(std::remove(h.live.begin(), h.live.end(), &core), h.live.end());
  if (h.host.get() != &core) return;
  if (any_listener(h)) {
    for (std::size_t i = 0; !next && i < h.live.size(); ++i) next = usable(h.live[i]);
  }
  old = set_host(h, std::move(next));
}

}  // namespace weft::detail
