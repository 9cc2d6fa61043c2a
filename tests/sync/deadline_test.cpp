// SPDX-License-Identifier: MIT
// Tests that every _for/_until entry point of weft::sync takes any
// std::chrono duration or time point and saturates (issue 9): with
// duration::max(), hours::max(), nanoseconds::max(), 300 years and the
// time_point::max() of system_clock and steady_clock a wait must wait, not
// return at once. On a paused clock: an hour passes (auto-advance), the
// wait must still be parked, then the primitive completes it and the wait
// must report success.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "support/runtime_fixture.hpp"
#include "weft/sync.hpp"

using namespace std::chrono_literals;
namespace chr = std::chrono;

namespace {

// far_durations() calls f(d, name) for each duration too long to represent
// as a deadline.
template <class F>
void far_durations(F&& f) {
  f(weft::time::duration::max(), "weft::time::duration::max()");
  f(chr::steady_clock::duration::max(), "steady_clock::duration::max()");
  f(chr::nanoseconds::max(), "nanoseconds::max()");
  f(chr::seconds::max(), "seconds::max()");
  f(chr::hours::max(), "hours::max()");
  f(chr::years(300), "300 years");
  f(chr::duration<double>(1e300), "1e300 s (double)");
}

// far_time_points() calls f(t, name) for each time point too far away.
template <class F>
void far_time_points(F&& f) {
  f(weft::time::instant::max(), "weft::time::instant::max()");
  f(chr::steady_clock::time_point::max(), "steady_clock::time_point::max()");
  f(chr::system_clock::time_point::max(), "system_clock::time_point::max()");
  f(chr::time_point_cast<chr::seconds>(chr::system_clock::now()) + chr::years(300),
    "system_clock::now() + 300 years");
}

// waits_then_completes() runs `wait` (returning whether it succeeded) on a
// fiber; it must still be parked after an hour of paused time, and succeed
// once `wake` ran. Returns an empty string, or what went wrong.
std::string waits_then_completes(const std::function<bool()>& wait,
                                 const std::function<void()>& wake) {
  std::atomic<int> state{0};  // 0 waiting, 1 succeeded, 2 failed
  auto h = weft::spawn([&] { state = wait() ? 1 : 2; });
  if (!weft_test::spin_until([&] { return weft_test::in_weft_wait(h) || state != 0; })) {
    wake();
    h.join();
    return "never parked";
  }
  weft::time::sleep(1h);  // paused clock: the hour passes at once
  const bool still_waiting = state == 0 && weft_test::in_weft_wait(h);
  wake();
  h.join();
  if (!still_waiting) return "returned before it was woken";
  if (state != 1) return "failed after it was woken";
  return {};
}

// checker gathers failures (no Catch2 macro runs inside a fiber).
struct checker {
  std::vector<std::string> failures;
  void operator()(const std::string& entry, const char* extreme, const std::string& why) {
    if (!why.empty()) failures.push_back(entry + " with " + extreme + ": " + why);
  }
};

// each_extreme() runs check(d_or_t) for every far duration (as "<name>_for")
// and every far time point (as "<name>_until").
template <class For, class Until>
void each_extreme(checker& c, const std::string& name, For for_check, Until until_check) {
  far_durations([&](auto d, const char* what) { c(name + "_for", what, for_check(d)); });
  far_time_points([&](auto t, const char* what) { c(name + "_until", what, until_check(t)); });
}

void check_locks(checker& c) {
  auto mutex_check = [](auto timed) {
    weft::sync::mutex m;
    m.lock();
    return waits_then_completes(
        [&] {
          const bool ok = timed(m);
          if (ok) m.unlock();
          return ok;
        },
        [&] { m.unlock(); });
  };
  each_extreme(
      c, "mutex::try_lock",
      [&](auto d) { return mutex_check([d](weft::sync::mutex& m) { return m.try_lock_for(d); }); },
      [&](auto t) {
        return mutex_check([t](weft::sync::mutex& m) { return m.try_lock_until(t); });
      });

  auto rw_check = [](auto timed, bool shared) {
    weft::sync::rwlock l;
    l.lock();
    return waits_then_completes(
        [&] {
          const bool ok = timed(l);
          if (ok) shared ? l.unlock_shared() : l.unlock();
          return ok;
        },
        [&] { l.unlock(); });
  };
  each_extreme(
      c, "rwlock::try_lock",
      [&](auto d) {
        return rw_check([d](weft::sync::rwlock& l) { return l.try_lock_for(d); }, false);
      },
      [&](auto t) {
        return rw_check([t](weft::sync::rwlock& l) { return l.try_lock_until(t); }, false);
      });
  each_extreme(
      c, "rwlock::try_lock_shared",
      [&](auto d) {
        return rw_check([d](weft::sync::rwlock& l) { return l.try_lock_shared_for(d); }, true);
      },
      [&](auto t) {
        return rw_check([t](weft::sync::rwlock& l) { return l.try_lock_shared_until(t); }, true);
      });

  auto sem_check = [](auto timed) {
    weft::sync::semaphore s(0);
    return waits_then_completes([&] { return static_cast<bool>(timed(s)); },
                                [&] { s.add_permits(2); });
  };
  each_extreme(
      c, "semaphore::acquire",
      [&](auto d) { return sem_check([d](weft::sync::semaphore& s) { return s.acquire_for(d); }); },
      [&](auto t) {
        return sem_check([t](weft::sync::semaphore& s) { return s.acquire_until(t); });
      });
  each_extreme(
      c, "semaphore::acquire_many",
      [&](auto d) {
        return sem_check([d](weft::sync::semaphore& s) { return s.acquire_many_for(2, d); });
      },
      [&](auto t) {
        return sem_check([t](weft::sync::semaphore& s) { return s.acquire_many_until(2, t); });
      });

  auto barrier_check = [](auto timed) {
    weft::sync::barrier b(2);
    return waits_then_completes([&] { return static_cast<bool>(timed(b)); },
                                [&] { (void)b.wait_for(1h); });  // never hangs if the waiter left
  };
  each_extreme(
      c, "barrier::wait",
      [&](auto d) { return barrier_check([d](weft::sync::barrier& b) { return b.wait_for(d); }); },
      [&](auto t) {
        return barrier_check([t](weft::sync::barrier& b) { return b.wait_until(t); });
      });

  auto once_check = [](auto timed) {
    weft::sync::once_cell<int> cell;
    weft::sync::notify release;
    auto init = weft::spawn([&] {
      return cell.get_or_init([&] {
        release.notified();
        return 1;
      });
    });
    (void)weft_test::spin_until([&] { return weft_test::in_weft_wait(init); });
    std::string r = waits_then_completes(
        [&] {
          auto v = timed(cell);
          return v && **v == 1;
        },
        [&] { release.notify_one(); });
    (void)init.join();
    return r;
  };
  each_extreme(
      c, "once_cell::get_or_init",
      [&](auto d) {
        return once_check([d](weft::sync::once_cell<int>& cell) {
          return cell.get_or_init_for(d, [] { return 2; });
        });
      },
      [&](auto t) {
        return once_check([t](weft::sync::once_cell<int>& cell) {
          return cell.get_or_init_until(t, [] { return 2; });
        });
      });
}

void check_condition_variables(checker& c) {
  auto cv_check = [](auto timed) {
    weft::sync::mutex m;
    weft::sync::condition_variable cv;
    weft::sync::condition_variable_any cva;
    bool ready = false;  // under m
    return waits_then_completes(
        [&] {
          std::unique_lock<weft::sync::mutex> lk(m);
          return timed(cv, cva, lk, ready);
        },
        [&] {
          {
            std::lock_guard<weft::sync::mutex> g(m);
            ready = true;
          }
          cv.notify_all();
          cva.notify_all();
        });
  };
  // The predicate forms (a wake-up is then never mistaken for success) on
  // condition_variable, and the plain forms on condition_variable_any.
  each_extreme(
      c, "condition_variable::wait",
      [&](auto d) {
        return cv_check([d](auto& cv, auto&, auto& lk, bool& ready) {
          return cv.wait_for(lk, d, [&] { return ready; });
        });
      },
      [&](auto t) {
        return cv_check([t](auto& cv, auto&, auto& lk, bool& ready) {
          return cv.wait_until(lk, t, [&] { return ready; });
        });
      });
  each_extreme(
      c, "condition_variable_any::wait",
      [&](auto d) {
        return cv_check([d](auto&, auto& cva, auto& lk, bool& ready) {
          return cva.wait_for(lk, d) == std::cv_status::no_timeout && ready;
        });
      },
      [&](auto t) {
        return cv_check([t](auto&, auto& cva, auto& lk, bool& ready) {
          return cva.wait_until(lk, t) == std::cv_status::no_timeout && ready;
        });
      });
}

void check_signals(checker& c) {
  auto notify_check = [](auto timed) {
    weft::sync::notify n;
    return waits_then_completes([&] { return static_cast<bool>(timed(n)); },
                                [&] { n.notify_one(); });
  };
  each_extreme(
      c, "notify::notified",
      [&](auto d) {
        return notify_check([d](weft::sync::notify& n) { return n.notified_for(d); });
      },
      [&](auto t) {
        return notify_check([t](weft::sync::notify& n) { return n.notified_until(t); });
      });

  auto token_check = [](auto timed) {
    weft::sync::cancellation_token tok;
    return waits_then_completes([&] { return static_cast<bool>(timed(tok)); },
                                [&] { tok.cancel(); });
  };
  each_extreme(
      c, "cancellation_token::cancelled",
      [&](auto d) {
        return token_check([d](weft::sync::cancellation_token& t) { return t.cancelled_for(d); });
      },
      [&](auto t) {
        return token_check(
            [t](weft::sync::cancellation_token& tok) { return tok.cancelled_until(t); });
      });

  // select: the far sleep/deadline branch must not win over a notify.
  auto select_check = [](auto make_timer) {
    weft::sync::notify n;
    return waits_then_completes(
        [&] {
          const std::size_t i = weft::sync::select(make_timer(), weft::sync::on_notified(n, [] {}));
          return i == 1;
        },
        [&] { n.notify_one(); });
  };
  each_extreme(
      c, "select::on_sleep/on_deadline",
      [&](auto d) { return select_check([d] { return weft::sync::on_sleep(d, [] {}); }); },
      [&](auto t) { return select_check([t] { return weft::sync::on_deadline(t, [] {}); }); });
}

void check_channels(checker& c) {
  namespace mpsc = weft::sync::mpsc;
  auto recv_check = [](auto timed) {
    auto [tx, rx] = mpsc::channel<int>(1);
    return waits_then_completes([&, &rx = rx] { return static_cast<bool>(timed(rx)); },
                                [&, &tx = tx] { (void)tx.send(1); });
  };
  each_extreme(
      c, "mpsc::receiver::recv",
      [&](auto d) { return recv_check([d](auto& rx) { return rx.recv_for(d); }); },
      [&](auto t) { return recv_check([t](auto& rx) { return rx.recv_until(t); }); });

  auto send_check = [](auto timed) {
    auto [tx, rx] = mpsc::channel<int>(1);
    (void)tx.try_send(0);  // full
    return waits_then_completes([&, &tx = tx] { return static_cast<bool>(timed(tx)); },
                                [&, &rx = rx] { (void)rx.try_recv(); });
  };
  each_extreme(
      c, "mpsc::sender::send",
      [&](auto d) { return send_check([d](auto& tx) { return tx.send_for(2, d); }); },
      [&](auto t) { return send_check([t](auto& tx) { return tx.send_until(2, t); }); });

  auto oneshot_check = [](auto timed) {
    auto [tx, rx] = weft::sync::oneshot::channel<int>();
    return waits_then_completes([&, &rx = rx] { return static_cast<bool>(timed(rx)); },
                                [&, &tx = tx] { (void)tx.send(1); });
  };
  each_extreme(
      c, "oneshot::receiver::recv",
      [&](auto d) { return oneshot_check([d](auto& rx) { return rx.recv_for(d); }); },
      [&](auto t) { return oneshot_check([t](auto& rx) { return rx.recv_until(t); }); });

  auto broadcast_check = [](auto timed) {
    auto [tx, rx] = weft::sync::broadcast::channel<int>(2);
    return waits_then_completes([&, &rx = rx] { return static_cast<bool>(timed(rx)); },
                                [&, &tx = tx] { (void)tx.send(1); });
  };
  each_extreme(
      c, "broadcast::receiver::recv",
      [&](auto d) { return broadcast_check([d](auto& rx) { return rx.recv_for(d); }); },
      [&](auto t) { return broadcast_check([t](auto& rx) { return rx.recv_until(t); }); });

  auto changed_check = [](auto timed) {
    auto [tx, rx] = weft::sync::watch::channel<int>(0);
    return waits_then_completes([&, &rx = rx] { return static_cast<bool>(timed(rx)); },
                                [&, &tx = tx] { (void)tx.send(1); });
  };
  each_extreme(
      c, "watch::receiver::changed",
      [&](auto d) { return changed_check([d](auto& rx) { return rx.changed_for(d); }); },
      [&](auto t) { return changed_check([t](auto& rx) { return rx.changed_until(t); }); });

  auto closed_check = [](auto timed) {
    auto [tx, rx] = weft::sync::watch::channel<int>(0);
    std::optional<weft::sync::watch::receiver<int>> last(std::move(rx));
    return waits_then_completes([&, &tx = tx] { return static_cast<bool>(timed(tx)); },
                                [&] { last.reset(); });
  };
  each_extreme(
      c, "watch::sender::closed",
      [&](auto d) { return closed_check([d](auto& tx) { return tx.closed_for(d); }); },
      [&](auto t) { return closed_check([t](auto& tx) { return tx.closed_until(t); }); });
}

}  // namespace

TEST_CASE("deadlines: far durations and time points wait instead of returning at once",
          "[sync][deadline][regression]") {
  // Issue 9: every _for/_until entry point of weft::sync.
  const int workers = GENERATE(0, 4);
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers, /*paused=*/true);
  const std::vector<std::string> failures = rt.block_on([] {
    checker c;
    check_locks(c);
    check_condition_variables(c);
    check_signals(c);
    check_channels(c);
    return c.failures;
  });
  for (const auto& f : failures) FAIL_CHECK(f);
  CHECK(failures.empty());
}
