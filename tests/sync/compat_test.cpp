// SPDX-License-Identifier: MIT
// Tests of weft/compat.hpp's threads and locks: thread's std behaviour
// (join, detach, ids, errors, terminate), this_thread, every mutex type and
// the semaphores under contention from 1,000 fibers and plain threads with
// exact counts, recursive ownership per fiber, timeouts on the paused clock,
// and a "legacy" function run once on std and once on weft::compat.
// Futures, async, latch and barrier: compat_future_test.cpp.
#include "weft/compat.hpp"

#include <atomic>
#include <barrier>
#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <deque>
#include <future>
#include <latch>
#include <mutex>
#include <semaphore>
#include <set>
#include <shared_mutex>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <unordered_set>
#include <vector>

#include "support/child_process.hpp"
#include "support/runtime_fixture.hpp"
#include "sync/sync_test_support.hpp"

using namespace std::chrono_literals;
using weft::time::clock;
namespace sys = weft::compat;

// The port compiles: the legacy file, unchanged, against std and against
// weft::compat.
namespace legacy_std {
namespace sys = std;
#include "sync/compat_legacy.inc"
}  // namespace legacy_std
namespace legacy_weft {
namespace sys = weft::compat;
#include "sync/compat_legacy.inc"
}  // namespace legacy_weft

// The drop-ins re-lock without a cancellation point inside a condition
// variable wait, like weft::sync's own locks.
static_assert(weft::sync::detail::weft_lockable<sys::timed_mutex>);
static_assert(weft::sync::detail::weft_lockable<sys::recursive_mutex>);
static_assert(weft::sync::detail::weft_lockable<sys::recursive_timed_mutex>);
static_assert(weft::sync::detail::weft_shared_lockable<sys::shared_mutex>);
static_assert(!weft::sync::detail::weft_lockable<std::mutex>);
static_assert(std::is_nothrow_move_constructible_v<sys::thread>);
static_assert(!std::is_copy_constructible_v<sys::thread>);

namespace {

constexpr const char* kChildEnv = "WEFT_TEST_COMPAT_CHILD";

// code_of() runs `f` and returns the code of the std::system_error it
// threw (an empty code when it threw nothing).
template <class F>
std::error_code code_of(F&& f) {
  try {
    f();
  } catch (const std::system_error& e) {
    return e.code();
  }
  return {};
}

template <class T>
std::string str(const T& v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

}  // namespace

TEST_CASE("compat: thread runs f on a fiber with decay-copied arguments",
          "[sync][compat][thread]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  struct outcome {
    int out = 0;
    std::string text;
    bool on_fiber = false, joinable_before = false, joinable_after = true;
    bool id_matches = false, id_default_after = false, moved_from_empty = false;
    bool swapped = false;
  };
  const outcome o = rt.block_on([] {
    outcome r;
    std::string s = "abc";
    int n = 1, out = 0;
    sys::thread::id inner;
    sys::thread t(
        [&](std::string copy, int k, int& dst) {
          dst = k + static_cast<int>(copy.size());
          r.text = copy;
          r.on_fiber = weft::this_fiber::on_fiber();
          inner = sys::this_thread::get_id();
        },
        s, n, std::ref(out));
    s = "changed";  // the fiber holds copies made by the constructor
    n = 100;
    r.joinable_before = t.joinable();
    const sys::thread::id id = t.get_id();
    sys::thread moved(std::move(t));
    r.moved_from_empty = !t.joinable() && t.get_id() == sys::thread::id();
    sys::thread other;
    other.swap(moved);
    r.swapped = !moved.joinable() && other.get_id() == id;
    other.join();
    r.out = out;
    r.joinable_after = other.joinable();
    r.id_matches = inner == id;
    r.id_default_after = other.get_id() == sys::thread::id();
    return r;
  });
  CHECK(o.out == 4);
  CHECK(o.text == "abc");
  CHECK(o.on_fiber);
  CHECK(o.joinable_before);
  CHECK_FALSE(o.joinable_after);
  CHECK(o.id_matches);
  CHECK(o.id_default_after);
  CHECK(o.moved_from_empty);
  CHECK(o.swapped);
}

TEST_CASE("compat: thread join and detach report std's errors", "[sync][compat][thread]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  struct outcome {
    std::error_code self_join, join_empty, detach_empty, join_twice, detach_after_detach;
    bool detached_ran = false;
  };
  const outcome o = rt.block_on([] {
    outcome r;
    sys::promise<sys::thread*> where;
    sys::future<sys::thread*> where_f = where.get_future();
    sys::thread t([&] {
      sys::thread* me = where_f.get();
      r.self_join = code_of([&] { me->join(); });
    });
    where.set_value(&t);
    t.join();
    r.join_twice = code_of([&] { t.join(); });
    sys::thread empty;
    r.join_empty = code_of([&] { empty.join(); });
    r.detach_empty = code_of([&] { empty.detach(); });
    sys::latch ran(1);
    sys::thread d([&] { ran.count_down(); });
    d.detach();
    r.detach_after_detach = code_of([&] { d.detach(); });
    ran.wait();
    r.detached_ran = true;
    return r;
  });
  CHECK(o.self_join == std::errc::resource_deadlock_would_occur);
  CHECK(o.join_twice == std::errc::invalid_argument);
  CHECK(o.join_empty == std::errc::invalid_argument);
  CHECK(o.detach_empty == std::errc::invalid_argument);
  CHECK(o.detach_after_detach == std::errc::invalid_argument);
  CHECK(o.detached_ran);
}

TEST_CASE("compat: thread needs a runtime and says so", "[sync][compat][thread]") {
  try {
    sys::thread t([] {});
    t.join();
    FAIL("a thread started off any runtime");
  } catch (const weft::no_runtime_error& e) {
    CHECK_THAT(e.what(), Catch::Contains("weft::compat::thread") &&
                             Catch::Contains("needs a running weft runtime"));
  }
  CHECK(sys::thread::hardware_concurrency() == std::thread::hardware_concurrency());
}

TEST_CASE("compat: thread ids are distinct stable comparable hashable and streamable",
          "[sync][compat][thread]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  constexpr int kThreads = 8;
  struct outcome {
    std::vector<sys::thread::id> ids, seen;
    sys::thread::id main_fiber;
    int unstable = 0;
    std::string fiber_text;
  };
  const outcome o = rt.block_on([] {
    outcome r;
    r.main_fiber = sys::this_thread::get_id();
    r.seen.resize(kThreads);
    std::atomic<int> unstable{0};
    std::vector<sys::thread> ts;
    for (int i = 0; i < kThreads; ++i) {
      ts.emplace_back([&, i] {
        const sys::thread::id before = sys::this_thread::get_id();
        for (int k = 0; k < 20; ++k) sys::this_thread::yield();  // may migrate
        if (sys::this_thread::get_id() != before) unstable.fetch_add(1);
        r.seen[static_cast<std::size_t>(i)] = before;
      });
      r.ids.push_back(ts.back().get_id());
    }
    for (auto& t : ts) t.join();
    r.unstable = unstable.load();
    r.fiber_text = str(r.ids[0]);
    return r;
  });
  CHECK(o.unstable == 0);
  CHECK(o.seen == o.ids);
  std::unordered_set<sys::thread::id> distinct(o.ids.begin(), o.ids.end());
  distinct.insert(o.main_fiber);
  const sys::thread::id plain = sys::this_thread::get_id();
  distinct.insert(plain);
  CHECK(distinct.size() == kThreads + 2);
  CHECK(distinct.count(sys::thread::id()) == 0);
  std::set<sys::thread::id> ordered(distinct.begin(), distinct.end());
  CHECK(ordered.size() == distinct.size());
  CHECK(plain != o.main_fiber);
  CHECK((o.ids[0] < o.ids[1]) != (o.ids[1] < o.ids[0]));
  CHECK_THAT(o.fiber_text, Catch::StartsWith("fiber "));
  CHECK(str(plain) == str(std::this_thread::get_id()));
  CHECK(str(sys::thread::id()) == str(std::thread::id()));
  CHECK(plain == sys::this_thread::get_id());
}

TEST_CASE("compat: an exception escaping a thread goes to the unhandled-exception policy",
          "[sync][compat][thread]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  std::mutex log_m;
  std::vector<std::string> records;  // guarded by log_m
  auto count = [&] {
    std::lock_guard<std::mutex> lk(log_m);
    return records.size();
  };
  auto b = workers == 0 ? weft::builder::current_thread()
                        : weft::builder::multi_thread().worker_threads(workers);
  auto rt = b.log_sink([&](const weft::log_record& r) {
               if (r.topic != "unhandled_exception") return;
               std::lock_guard<std::mutex> lk(log_m);
               records.emplace_back(r.message);
             }).build();
  const bool joined_quietly = rt.block_on([] {
    sys::thread t([] { throw std::runtime_error("joined boom"); });
    t.join();  // std::thread::join reports nothing either: the policy does
    return true;
  });
  CHECK(joined_quietly);
  CHECK(count() == 1);
  rt.block_on([&] {
    sys::thread([] { throw std::runtime_error("detached boom"); }).detach();
    (void)weft_test::spin_until([&] { return count() == 2; });
  });
  std::lock_guard<std::mutex> lk(log_m);
  REQUIRE(records.size() == 2);
  CHECK_THAT(records[0], Catch::Contains("joined boom"));
  CHECK_THAT(records[1], Catch::Contains("detached boom"));
}

// The child's body for the terminate cases; does nothing unless started by
// run_child().
TEST_CASE("compat: child process", "[.][compat_child]") {
  const char* mode = std::getenv(kChildEnv);
  if (!mode) return;
  const std::string m = mode;
  auto b = weft::builder::multi_thread().worker_threads(2);
  if (m == "throw") b.unhandled_exception(weft::unhandled_exception_policy::terminate);
  auto rt = b.build();
  rt.block_on([&] {
    if (m == "joinable") {
      sys::thread t([] {});
      // destroyed joinable: std::terminate
    } else if (m == "assign") {
      sys::thread t([] {});
      t = sys::thread([] {});
    } else if (m == "throw") {
      sys::thread t([] { throw std::runtime_error("fatal in thread"); });
      t.join();
    }
  });
  std::_Exit(0);  // survived: the parent sees exit code 0
}

TEST_CASE("compat: a joinable thread destroyed or assigned over terminates like std",
          "[sync][compat][thread]") {
  const std::string mode =
      GENERATE(std::string("joinable"), std::string("assign"), std::string("throw"));
  INFO(mode);
  const weft_test::child_end d = weft_test::run_child("compat: child process", kChildEnv, mode);
  INFO("child stderr: " << d.stderr_text);
  CHECK(d.signalled);
  CHECK(d.signal == SIGABRT);
  if (mode == "throw") CHECK_THAT(d.stderr_text, Catch::Contains("fatal in thread"));
}

TEST_CASE("compat: this_thread sleeps park the fiber on the paused clock",
          "[sync][compat][thread]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers, /*paused=*/true);
  struct outcome {
    clock::duration slept{};
    bool other_ran = false;
  };
  const outcome o = rt.block_on([] {
    outcome r;
    std::atomic<bool> other_done{false};
    sys::thread sleeper([&] {
      const auto t0 = clock::now();
      sys::this_thread::sleep_for(5s);
      sys::this_thread::sleep_until(clock::now() + 2s);
      sys::this_thread::sleep_until(std::chrono::steady_clock::now() + 1s);
      r.slept = clock::now() - t0;
      r.other_ran = other_done.load();
    });
    sys::thread other([&] {
      for (int k = 0; k < 50; ++k) sys::this_thread::yield();
      other_done = true;
    });
    sleeper.join();
    other.join();
    return r;
  });
  CHECK(o.slept >= 7s + 990ms);  // the steady_clock point converts through its distance
  CHECK(o.other_ran);
  // On a plain thread they are std's.
  const auto t0 = std::chrono::steady_clock::now();
  sys::this_thread::sleep_for(1ms);
  sys::this_thread::yield();
  CHECK(std::chrono::steady_clock::now() - t0 >= 1ms);
}

TEMPLATE_TEST_CASE("compat: exclusive locks keep an exact count with 1000 fibers and threads",
                   "[sync][compat][mutex]", sys::mutex, sys::timed_mutex, sys::recursive_mutex,
                   sys::recursive_timed_mutex, sys::shared_mutex, sys::shared_timed_mutex) {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  constexpr int kFibers = 1000, kThreads = 2, kIters = 10;
  TestType m;
  long counter = 0;  // plain: only the lock protects it
  weft_sync_test::high_water inside;
  weft_sync_test::run_mixed(rt, kFibers, kThreads, [&](int i) {
    for (int k = 0; k < kIters; ++k) {
      std::unique_lock<TestType> lk(m, std::defer_lock);
      if ((i + k) % 3 == 0) {
        while (!lk.try_lock()) sys::this_thread::yield();
      } else {
        lk.lock();
      }
      if constexpr (std::is_same_v<TestType, sys::recursive_mutex> ||
                    std::is_same_v<TestType, sys::recursive_timed_mutex>) {
        std::lock_guard<TestType> again(m);  // re-entered by its owner
      }
      inside.enter();
      const long v = counter;
      if (k % 4 == 0) sys::this_thread::yield();
      counter = v + 1;
      inside.leave();
    }
  });
  CHECK(counter == long{kFibers + kThreads} * kIters);
  CHECK(inside.max.load() == 1);
}

TEMPLATE_TEST_CASE("compat: shared locks admit readers together and writers alone",
                   "[sync][compat][mutex]", sys::shared_mutex, sys::shared_timed_mutex) {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  constexpr int kFibers = 1000, kIters = 10;
  TestType m;
  long value = 0;  // guarded by m
  std::atomic<int> writers_inside{0}, bad_reads{0};
  std::atomic<long> reads{0};
  weft_sync_test::run_mixed(rt, kFibers, 2, [&](int i) {
    for (int k = 0; k < kIters; ++k) {
      if ((i + k) % 4 == 0) {
        std::unique_lock<TestType> w(m);
        writers_inside.fetch_add(1);
        ++value;
        sys::this_thread::yield();
        writers_inside.fetch_sub(1);
      } else {
        std::shared_lock<TestType> r(m);
        if (writers_inside.load() != 0) bad_reads.fetch_add(1);
        sys::this_thread::yield();
        reads.fetch_add(1);
      }
    }
  });
  long writes = 0;
  for (int i = 0; i < kFibers + 2; ++i) {
    for (int k = 0; k < kIters; ++k) writes += (i + k) % 4 == 0;
  }
  CHECK(value == writes);
  CHECK(reads.load() == long{kFibers + 2} * kIters - writes);
  CHECK(bad_reads.load() == 0);
}

TEST_CASE("compat: recursive_mutex counts depth and belongs to the fiber not its worker",
          "[sync][compat][mutex]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  struct outcome {
    bool other_at_3 = true, other_at_1 = true, thread_at_1 = true, other_after = false;
    bool reenter_timed = false;
    std::error_code foreign_unlock, unowned_unlock;
    std::vector<int> order;
  };
  const outcome o = rt.block_on([] {
    outcome r;
    sys::recursive_mutex rm;
    auto try_from_fiber = [&] { return weft::spawn_pinned([&] { return rm.try_lock(); }).join(); };
    rm.lock();
    rm.lock();
    rm.lock();
    r.other_at_3 = try_from_fiber();  // same worker thread, another fiber
    rm.unlock();
    rm.unlock();
    r.other_at_1 = try_from_fiber();
    bool from_thread = true;
    std::thread([&] { from_thread = rm.try_lock(); }).join();
    r.thread_at_1 = from_thread;
    r.foreign_unlock = weft::spawn([&] { return code_of([&] { rm.unlock(); }); }).join();
    std::vector<int> order;  // appended under rm
    auto waiter = weft::spawn([&] {
      std::lock_guard<sys::recursive_mutex> g(rm);
      order.push_back(2);
    });
    (void)weft_test::spin_until([&] { return weft_test::in_weft_wait(waiter); });
    order.push_back(1);
    rm.unlock();  // the last level: the waiter gets it
    waiter.join();
    r.order = order;
    r.other_after = weft::spawn([&] {
                      const bool ok = rm.try_lock() && rm.try_lock();
                      rm.unlock();
                      rm.unlock();
                      return ok;
                    }).join();
    r.unowned_unlock = code_of([&] { rm.unlock(); });
    sys::recursive_timed_mutex rtm;
    rtm.lock();
    r.reenter_timed = rtm.try_lock_for(1h) && rtm.try_lock_until(clock::now() + 1h);
    rtm.unlock();
    rtm.unlock();
    rtm.unlock();
    return r;
  });
  CHECK_FALSE(o.other_at_3);
  CHECK_FALSE(o.other_at_1);
  CHECK_FALSE(o.thread_at_1);
  CHECK(o.foreign_unlock == std::errc::operation_not_permitted);
  CHECK(o.order == std::vector<int>{1, 2});
  CHECK(o.other_after);
  CHECK(o.unowned_unlock == std::errc::operation_not_permitted);
  CHECK(o.reenter_timed);
}

TEST_CASE("compat: timed waits time out on the paused clock and succeed once free",
          "[sync][compat][mutex][timeout]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers, /*paused=*/true);
  struct outcome {
    std::vector<bool> timed_out, later;
    clock::duration took{};
  };
  const outcome o = rt.block_on([] {
    outcome r;
    sys::timed_mutex tm;
    sys::recursive_timed_mutex rtm;
    sys::shared_timed_mutex stm;
    sys::counting_semaphore<1> sem(0);
    sys::mutex m;
    sys::condition_variable cv;
    sys::condition_variable_any cva;
    tm.lock();
    rtm.lock();
    stm.lock();
    sys::thread t([&] {
      const auto t0 = clock::now();
      r.timed_out.push_back(!tm.try_lock_for(5s));
      r.took = clock::now() - t0;
      r.timed_out.push_back(!tm.try_lock_until(clock::now() + 1s));
      r.timed_out.push_back(!rtm.try_lock_for(2s));
      r.timed_out.push_back(!stm.try_lock_shared_for(3s));
      r.timed_out.push_back(!stm.try_lock_until(std::chrono::steady_clock::now() + 1s));
      r.timed_out.push_back(!sem.try_acquire_for(4s));
      std::unique_lock<sys::mutex> lk(m);
      r.timed_out.push_back(cv.wait_for(lk, 2s) == std::cv_status::timeout);
      r.timed_out.push_back(!cv.wait_for(lk, 2s, [] { return false; }));
      lk.unlock();
      sys::timed_mutex local;
      std::unique_lock<sys::timed_mutex> lk2(local);
      r.timed_out.push_back(cva.wait_for(lk2, 1s) == std::cv_status::timeout);
      r.timed_out.push_back(lk2.owns_lock());  // held again after the wait
    });
    t.join();
    tm.unlock();
    rtm.unlock();
    stm.unlock();
    sem.release();
    sys::thread later([&] {
      r.later.push_back(tm.try_lock_for(5s));
      r.later.push_back(rtm.try_lock_for(5s));
      r.later.push_back(stm.try_lock_shared_for(5s));
      r.later.push_back(sem.try_acquire_for(5s));
      tm.unlock();
      rtm.unlock();
      stm.unlock_shared();
    });
    later.join();
    return r;
  });
  CHECK(o.timed_out == std::vector<bool>(10, true));
  CHECK(o.took >= 5s);
  CHECK(o.later == std::vector<bool>(4, true));
}

TEST_CASE("compat: condition variables hand every item over with nothing lost",
          "[sync][compat][condition_variable]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  constexpr int kProducers = 8, kConsumers = 8, kItems = 125;
  auto run = [&](auto& m, auto& cv) {
    using lock_t = std::unique_lock<std::remove_reference_t<decltype(m)>>;
    std::deque<int> q;           // guarded by m
    int producing = kProducers;  // guarded by m
    std::atomic<long> sum{0};
    std::atomic<int> got{0};
    weft_sync_test::run_mixed(rt, kProducers + kConsumers, 1, [&](int i) {
      if (i >= 1 && i <= kProducers) {
        for (int k = 1; k <= kItems; ++k) {
          lock_t lk(m);
          q.push_back(k);
          cv.notify_one();
        }
        lock_t lk(m);
        --producing;
        cv.notify_all();
        return;
      }
      for (;;) {  // consumers: the plain thread (0) and fibers
        lock_t lk(m);
        cv.wait(lk, [&] { return !q.empty() || producing == 0; });
        if (q.empty()) return;
        sum.fetch_add(q.front());
        q.pop_front();
        got.fetch_add(1);
      }
    });
    CHECK(got.load() == kProducers * kItems);
    CHECK(sum.load() == long{kProducers} * kItems * (kItems + 1) / 2);
  };
  sys::mutex m;
  sys::condition_variable cv;
  run(m, cv);
  sys::recursive_mutex rm;
  sys::condition_variable_any cva;
  run(rm, cva);
  sys::timed_mutex tm;
  run(tm, cva);
}

TEST_CASE("compat: counting_semaphore bounds concurrency with an exact count",
          "[sync][compat][semaphore]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  constexpr int kFibers = 1000, kThreads = 2, kIters = 5;
  sys::counting_semaphore<3> sem(3);
  weft_sync_test::high_water inside;
  std::atomic<long> done{0};
  weft_sync_test::run_mixed(rt, kFibers, kThreads, [&](int i) {
    for (int k = 0; k < kIters; ++k) {
      if ((i + k) % 2) {
        sem.acquire();
      } else {
        while (!sem.try_acquire()) sys::this_thread::yield();
      }
      inside.enter();
      sys::this_thread::yield();
      inside.leave();
      done.fetch_add(1);
      sem.release();
    }
  });
  CHECK(done.load() == long{kFibers + kThreads} * kIters);
  CHECK(inside.max.load() <= 3);
  CHECK(inside.max.load() >= 1);
  CHECK(sys::counting_semaphore<3>::max() == 3);
  CHECK_THROWS_AS(sys::counting_semaphore<3>(4), std::invalid_argument);
}

TEST_CASE("compat: binary_semaphore ping-pongs between a fiber and a plain thread",
          "[sync][compat][semaphore]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  constexpr int kRounds = 200;
  sys::binary_semaphore ping(0), pong(0);
  std::vector<int> trace;  // alternately appended: the semaphores order it
  std::thread th([&] {
    for (int k = 0; k < kRounds; ++k) {
      ping.acquire();
      trace.push_back(2 * k + 1);
      pong.release();
    }
  });
  rt.block_on([&] {
    for (int k = 0; k < kRounds; ++k) {
      trace.push_back(2 * k);
      ping.release();
      pong.acquire();
    }
  });
  th.join();
  REQUIRE(trace.size() == 2 * kRounds);
  for (int k = 0; k < 2 * kRounds; ++k) CHECK(trace[static_cast<std::size_t>(k)] == k);
}

TEST_CASE("compat: the legacy function gives the same result on std and on weft::compat",
          "[sync][compat][port]") {
  constexpr int kThreads = 6, kJobs = 300;
  const legacy_std::legacy_result s = legacy_std::legacy_run(kThreads, kJobs);
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  const legacy_weft::legacy_result w =
      rt.block_on([] { return legacy_weft::legacy_run(kThreads, kJobs); });
  const long expected = 2L * kJobs * (kJobs + 1) / 2;
  for (const auto& r : {s.sum, w.sum}) CHECK(r == expected);
  CHECK(s.jobs == kJobs);
  CHECK(w.jobs == kJobs);
  CHECK(s.log_lines == kJobs);
  CHECK(w.log_lines == kJobs);
  CHECK(s.phases == 2);
  CHECK(w.phases == 2);
  CHECK(s.async_sum == 4 * expected);
  CHECK(w.async_sum == 4 * expected);
  CHECK(s.distinct_ids == kThreads);
  CHECK(w.distinct_ids == kThreads);
  CHECK(s.ids_set);
  CHECK(w.ids_set);
}

TEST_CASE("compat: locks and semaphores work between plain threads off any runtime",
          "[sync][compat][mutex]") {
  constexpr int kThreads = 4, kIters = 2000;
  sys::mutex m;
  sys::recursive_mutex rm;
  sys::counting_semaphore<> sem(2);
  long a = 0, b = 0;  // guarded by m and rm
  std::vector<std::thread> ts;
  for (int i = 0; i < kThreads; ++i) {
    ts.emplace_back([&] {
      for (int k = 0; k < kIters; ++k) {
        {
          std::lock_guard<sys::mutex> g(m);
          ++a;
        }
        sem.acquire();
        {
          std::scoped_lock outer(rm);
          std::lock_guard<sys::recursive_mutex> inner(rm);
          ++b;
        }
        sem.release();
      }
    });
  }
  for (auto& t : ts) t.join();
  CHECK(a == long{kThreads} * kIters);
  CHECK(b == long{kThreads} * kIters);
}
