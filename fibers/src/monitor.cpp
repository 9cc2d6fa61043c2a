// SPDX-License-Identifier: MIT
// monitor: stall detection, hand-off and spare workers (monitor.hpp).
//
// Every tick the monitor reads each live worker's switch counter. A counter
// that has not moved while the worker is not parked means one context has
// held the worker since the monitor first saw that value. The counter is a
// relaxed store by the owner in pick_next: the hot path pays nothing else.
// The time is the monitor's own (steady clock), so a stall is known to
// within one tick.
#include "monitor.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <mutex>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "clock.hpp"
#include "logger.hpp"
#include "runtime_core.hpp"

namespace weft::detail {

namespace {
// The dump signal: the handler counts deliveries per signal (a lock-free
// atomic add is async-signal-safe); each runtime's monitor compares the
// count with what it saw. Installed while at least one runtime uses it;
// the previous action comes back after the last.
std::atomic<std::uint64_t> g_dump_requests[NSIG];
std::mutex g_dump_lock;
struct dump_user {
  int users = 0;
  struct sigaction previous {};
};
dump_user g_dump_users[NSIG];

extern "C" void on_dump_signal(int sig) {
  if (sig > 0 && sig < NSIG) g_dump_requests[sig].fetch_add(1, std::memory_order_relaxed);
}

bool install_dump_signal(int sig) noexcept {
  std::lock_guard<std::mutex> lk(g_dump_lock);
  dump_user& u = g_dump_users[sig];
  if (u.users == 0) {
    struct sigaction sa {};
    sa.sa_handler = on_dump_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (::sigaction(sig, &sa, &u.previous) != 0) return false;
  }
  ++u.users;
  return true;
}

void remove_dump_signal(int sig) noexcept {
  std::lock_guard<std::mutex> lk(g_dump_lock);
  dump_user& u = g_dump_users[sig];
  if (--u.users == 0) ::sigaction(sig, &u.previous, nullptr);
}

// tick_for() is a quarter of the shortest threshold, within [1, 100] ms.
std::int64_t tick_for(const monitor::settings& s) noexcept {
  std::int64_t t = no_deadline;
  if (s.handoff_ns > 0) t = std::min(t, s.handoff_ns / 4);
  if (s.report_ns > 0) t = std::min(t, s.report_ns / 4);
  return std::clamp<std::int64_t>(t, 1000000, 100000000);
}

// When every worker is parked nothing can stall before one wakes; the
// monitor then looks this often only.
constexpr std::int64_t kIdleTickNs = 100000000;  // 100 ms

std::string ms(std::int64_t ns) { return std::to_string(ns / 1000000) + " ms"; }

// blocked_in_kernel() is true when thread `tid` of this process sleeps in
// the kernel (state S or D in /proc/self/task/<tid>/stat: a blocking
// system call, a page fault on a slow disk) rather than running code. Go's
// sysmon gives a processor away only from a thread in a system call; a
// worker busy computing is not joined by a spare that would compete with it
// for the same cores. Unknown (no /proc): treated as blocked.
bool blocked_in_kernel(int tid) noexcept {
  if (tid <= 0) return true;
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return true;
  char buf[512];
  const ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return true;
  buf[n] = '\0';
  // "tid (comm) S ...": comm may hold spaces and parentheses; the state
  // follows the last ')'.
  const char* p = std::strrchr(buf, ')');
  if (!p || p[1] != ' ') return true;
  const char state = p[2];
  return state == 'S' || state == 'D';
}

// describe() names a task for a report: "task 17 'hog' (spawned at
// file.cpp:42 in void f())".
std::string describe(const task_base* t) {
  if (!t) return "the worker's scheduler context (no task)";
  std::string s = "task " + std::to_string(t->id());
  if (!t->name().empty()) s += " '" + t->name() + "'";
  return s + " (" + spawn_site_text(t->site()) + ")";
}
}  // namespace

monitor::monitor(runtime_core& core, settings s)
    : core_(core), s_(s), tick_ns_(tick_for(s)), watch_(core.workers.size()) {}

monitor::~monitor() { stop(); }

void monitor::start() {
  if ((s_.handoff_ns > 0 || s_.report_ns > 0) && !heavy_fence_available()) {
    core_.log->log(log_level::warn, "stall",
                   "membarrier(2) is not available: the stall monitor is off (no hand-off of "
                   "a stuck worker's fibers, no stall reports)");
    if (s_.dump_signal == 0) return;
    disabled_ = true;
  }
  if (s_.dump_signal != 0) {
    dumps_seen_ = g_dump_requests[s_.dump_signal].load(std::memory_order_relaxed);
    signal_installed_ = install_dump_signal(s_.dump_signal);
    if (!signal_installed_) {
      core_.log->log(log_level::error, "dump",
                     "could not install the handler of dump_signal(" +
                         std::to_string(s_.dump_signal) + ")");
    }
  }
  thread_ = std::thread([this] { run(); });
}

void monitor::stop() noexcept {
  {
    std::lock_guard<std::mutex> lk(m_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (signal_installed_) {
    remove_dump_signal(s_.dump_signal);
    signal_installed_ = false;
  }
}

void monitor::serve_dump_signal() noexcept {
  if (!signal_installed_) return;
  const std::uint64_t n = g_dump_requests[s_.dump_signal].load(std::memory_order_relaxed);
  if (n == dumps_seen_) return;
  dumps_seen_ = n;
  try {
    std::string d = core_.dump(dump_format::text);
    if (!d.empty() && d.back() == '\n') d.pop_back();
    core_.log->log(log_level::info, "dump", d);
  } catch (...) {
    core_.log->log(log_level::error, "dump", "out of memory writing the fiber dump");
  }
}

void monitor::poke() noexcept {
  {
    std::lock_guard<std::mutex> lk(m_);
    poked_ = true;
  }
  cv_.notify_all();
}

void monitor::run() {
  std::unique_lock<std::mutex> lk(m_);
  std::int64_t wait = tick_ns_;
  while (!stop_) {
    cv_.wait_for(lk, std::chrono::nanoseconds(wait), [this] { return stop_ || poked_; });
    if (stop_) break;
    poked_ = false;
    lk.unlock();
    serve_dump_signal();
    if (core_.reports_pending()) core_.flush_reports();
    const bool idle = disabled_ ? true : look(steady_ns());
    lk.lock();
    wait = idle ? std::max(kIdleTickNs, tick_ns_) : tick_ns_;
    if (s_.dump_signal != 0) wait = std::min(wait, kIdleTickNs);
  }
}

bool monitor::look(std::int64_t now) {
  const std::size_t live = core_.live_workers();
  bool all_parked = true;
  std::size_t blocked = 0;  // held, and blocked in the kernel (or in block_in_place)
  for (std::size_t i = 0; i < live; ++i) {
    worker& w = *core_.workers[i];
    watch& st = watch_[i];
    const std::uint64_t sw = w.switches();
    const bool parked = w.is_parked();
    if (parked || sw != st.switches || st.since == 0) {
      if (st.reported) report_back(w, now - st.since, st);
      st = watch{sw, now, false, {}};
      if (!parked) all_parked = false;
      continue;
    }
    all_parked = false;
    const bool in_place = w.in_place.load(std::memory_order_acquire) > 0;
    const std::int64_t held = now - st.since;
    const bool handoff_due = in_place || (s_.handoff_ns > 0 && held >= s_.handoff_ns);
    const bool report_due = !in_place && s_.report_ns > 0 && held >= s_.report_ns && !st.reported;
    if (handoff_due && (in_place || blocked_in_kernel(w.tid()))) ++blocked;
    if (!handoff_due && !report_due) continue;
    if (!w.try_lock_steal()) continue;  // it is switching right now: not stuck
    std::size_t moved = 0;
    std::string who;
    if (report_due) {
      try {
        who = describe(w.running_task());
      } catch (...) {
        who = "a task (out of memory describing it)";
      }
    }
    if (handoff_due) {
      moved = w.hand_off();
      w.poll_for_monitor();
    }
    w.unlock_steal();
    if (report_due) {
      st.who = std::move(who);
      report_stall(w, held, moved, st);
    }
  }
  if (blocked > 0 && blocked == live && !core_.shared_empty()) start_spare();
  return all_parked;
}

void monitor::report_stall(const worker& w, std::int64_t held_ns, std::size_t moved, watch& st) {
  st.reported = true;
  core_.stalls.fetch_add(1, std::memory_order_relaxed);
  std::string m = "worker " + std::to_string(w.index()) + " is held by " + st.who + " for " +
                  ms(held_ns) +
                  " without a switch to another fiber (a blocking call weft does not hook, or "
                  "a long computation: use weft::block_in_place or spawn_blocking)";
  if (s_.handoff_ns > 0) {
    m += "; its queued fibers move to the other workers";
    if (moved) m += " (" + std::to_string(moved) + " just now)";
  }
  core_.log->log(log_level::warn, "stall", m);
}

void monitor::report_back(const worker& w, std::int64_t held_ns, const watch& st) noexcept {
  try {
    core_.log->log(log_level::info, "stall",
                   "worker " + std::to_string(w.index()) + " is back after about " +
                       ms(held_ns) + " held by " + st.who);
  } catch (...) {
  }
}

void monitor::start_spare() noexcept {
  const std::size_t live = core_.live_workers();
  if (live >= core_.workers.size()) return;  // every spare runs already
  worker* sp = core_.workers[live].get();
  try {
    sp->thread = std::thread([sp] { sp->run_thread(); });
  } catch (...) {
    core_.log->log(log_level::error, "stall", "could not start a spare worker thread");
    return;
  }
  core_.spares_started.fetch_add(1, std::memory_order_release);
  core_.log->log(log_level::warn, "stall",
                 "every worker is held by a blocking fiber: spare worker " +
                     std::to_string(sp->index()) + " started (" +
                     std::to_string(core_.workers.size() - live - 1) + " more may start)");
}

}  // namespace weft::detail
