// SPDX-License-Identifier: MIT
// Tests of weft/compat.hpp's futures and rendezvous: promise/future/
// shared_future errors with std's future_errc codes, values, references and
// void, plain threads and fibers waiting on each other, async deferred vs
// async, packaged_task, latch and barrier with 1,000 fibers, and
// weft::cancelled passing through every wait. Threads and locks:
// compat_test.cpp.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/runtime_fixture.hpp"
#include "sync/sync_test_support.hpp"
#include "weft/compat.hpp"

using namespace std::chrono_literals;
using weft::time::clock;
namespace sys = weft::compat;

namespace {

// future_code_of() runs `f` and returns the code of the std::future_error
// it threw (an empty code when it threw nothing).
template <class F>
std::error_code future_code_of(F&& f) {
  try {
    f();
  } catch (const std::future_error& e) {
    return e.code();
  }
  return {};
}

// throwing_copy's copy constructor throws when `fail` is set.
struct throwing_copy {
  bool fail = false;
  int v = 0;
  throwing_copy() = default;
  throwing_copy(bool f, int x) : fail(f), v(x) {}
  throwing_copy(const throwing_copy& o) : fail(false), v(o.v) {
    if (o.fail) throw std::runtime_error("copy failed");
  }
  throwing_copy& operator=(const throwing_copy&) = default;
};

}  // namespace

TEST_CASE("compat: promise and future report std's future_errc codes", "[sync][compat][future]") {
  using E = std::future_errc;
  {  // broken_promise, for every kind of promise
    sys::future<int> f;
    sys::future<int&> fr;
    sys::future<void> fv;
    {
      sys::promise<int> p;
      sys::promise<int&> pr;
      sys::promise<void> pv;
      f = p.get_future();
      fr = pr.get_future();
      fv = pv.get_future();
    }
    CHECK(f.wait_for(0s) == std::future_status::ready);
    CHECK(future_code_of([&] { (void)f.get(); }) == E::broken_promise);
    CHECK(future_code_of([&] { (void)fr.get(); }) == E::broken_promise);
    CHECK(future_code_of([&] { fv.get(); }) == E::broken_promise);
  }
  {  // promise_already_satisfied
    sys::promise<int> p;
    p.set_value(1);
    CHECK(future_code_of([&] { p.set_value(2); }) == E::promise_already_satisfied);
    CHECK(future_code_of([&] { p.set_exception(std::make_exception_ptr(1)); }) ==
          E::promise_already_satisfied);
    sys::promise<void> pv;
    pv.set_exception(std::make_exception_ptr(std::runtime_error("x")));
    CHECK(future_code_of([&] { pv.set_value(); }) == E::promise_already_satisfied);
    CHECK(p.get_future().get() == 1);
  }
  {  // future_already_retrieved
    sys::promise<int> p;
    auto f = p.get_future();
    CHECK(future_code_of([&] { (void)p.get_future(); }) == E::future_already_retrieved);
  }
  {  // no_state
    sys::promise<int> p;
    sys::promise<int> q(std::move(p));
    CHECK(future_code_of([&] { (void)p.get_future(); }) == E::no_state);
    CHECK(future_code_of([&] { p.set_value(1); }) == E::no_state);
    sys::future<int> none;
    CHECK_FALSE(none.valid());
    CHECK(future_code_of([&] { (void)none.get(); }) == E::no_state);
    CHECK(future_code_of([&] { none.wait(); }) == E::no_state);
    CHECK(future_code_of([&] { (void)none.wait_for(1s); }) == E::no_state);
    sys::shared_future<int> shared_none;
    CHECK(future_code_of([&] { (void)shared_none.get(); }) == E::no_state);
    auto f = q.get_future();
    q.set_value(5);
    CHECK(f.get() == 5);
    CHECK_FALSE(f.valid());  // get() released the state
    CHECK(future_code_of([&] { (void)f.get(); }) == E::no_state);
    sys::packaged_task<int()> empty_task;
    CHECK_FALSE(empty_task.valid());
    CHECK(future_code_of([&] { empty_task(); }) == E::no_state);
    CHECK(future_code_of([&] { (void)empty_task.get_future(); }) == E::no_state);
  }
  {  // a value whose copy throws leaves the promise unsatisfied
    sys::promise<throwing_copy> p;
    auto f = p.get_future();
    const throwing_copy bad(true, 1);
    CHECK_THROWS_AS(p.set_value(bad), std::runtime_error);
    p.set_value(throwing_copy(false, 2));
    CHECK(f.get().v == 2);
  }
}

TEST_CASE("compat: packaged_task stores results and errors once", "[sync][compat][future]") {
  using E = std::future_errc;
  sys::packaged_task<int(int, int)> add([](int a, int b) { return a + b; });
  auto f = add.get_future();
  CHECK(future_code_of([&] { (void)add.get_future(); }) == E::future_already_retrieved);
  add(2, 3);
  CHECK(future_code_of([&] { add(1, 1); }) == E::promise_already_satisfied);
  CHECK(f.get() == 5);
  add.reset();
  auto f2 = add.get_future();
  add(10, 1);
  CHECK(f2.get() == 11);

  sys::packaged_task fails([]() -> std::string { throw std::invalid_argument("bad job"); });
  auto ff = fails.get_future();
  fails();
  CHECK_THROWS_AS(ff.get(), std::invalid_argument);

  sys::future<void> never;
  {
    sys::packaged_task<void()> unrun([] {});
    never = unrun.get_future();
  }
  CHECK(future_code_of([&] { never.get(); }) == E::broken_promise);

  sys::packaged_task<void()> reset_me([] {});
  auto old = reset_me.get_future();
  reset_me.reset();  // the old state was never satisfied
  CHECK(future_code_of([&] { old.get(); }) == E::broken_promise);

  int x = 0;
  sys::packaged_task<int&()> ref([&]() -> int& { return x; });
  auto fr = ref.get_future();
  sys::packaged_task<int&()> moved(std::move(ref));
  moved();
  CHECK(&fr.get() == &x);
}

TEST_CASE("compat: values references void exceptions and shared_future", "[sync][compat][future]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  constexpr int kReaders = 100;
  struct outcome {
    int same_address = 0, right_value = 0;
    bool ref_ok = false, void_ok = false, move_only_ok = false, rethrown = false;
  };
  const outcome o = rt.block_on([] {
    outcome r;
    sys::promise<std::string> p;
    sys::shared_future<std::string> sf = p.get_future().share();
    const std::string* first = nullptr;
    std::atomic<int> same{0}, right{0};
    std::vector<sys::thread> readers;
    for (int i = 0; i < kReaders; ++i) {
      readers.emplace_back([&, copy = sf] {
        const std::string& v = copy.get();
        if (v == "shared") right.fetch_add(1);
        if (&v == &sf.get()) same.fetch_add(1);
      });
    }
    p.set_value("shared");
    first = &sf.get();
    for (auto& t : readers) t.join();
    r.same_address = same.load();
    r.right_value = right.load() + (first == &sf.get() ? 0 : -1000);

    int target = 0;
    sys::promise<int&> pr;
    auto fr = pr.get_future();
    sys::thread([&] { pr.set_value(target); }).join();
    r.ref_ok = &fr.get() == &target;

    sys::promise<void> pv;
    sys::shared_future<void> sv(pv.get_future());
    sys::thread([&] { pv.set_value(); }).join();
    sv.get();
    sv.get();
    r.void_ok = sv.valid();

    sys::promise<std::unique_ptr<int>> pu;
    auto fu = pu.get_future();
    pu.set_value(std::make_unique<int>(9));
    r.move_only_ok = *fu.get() == 9;

    sys::promise<int> pe;
    auto fe = pe.get_future();
    sys::thread([&] {
      pe.set_exception(std::make_exception_ptr(std::out_of_range("oor")));
    }).join();
    try {
      (void)fe.get();
    } catch (const std::out_of_range& e) {
      r.rethrown = std::string(e.what()) == "oor";
    }
    return r;
  });
  CHECK(o.same_address == kReaders);
  CHECK(o.right_value == kReaders);
  CHECK(o.ref_ok);
  CHECK(o.void_ok);
  CHECK(o.move_only_ok);
  CHECK(o.rethrown);
}

TEST_CASE("compat: a plain thread and a fiber wait on each other's futures",
          "[sync][compat][future]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  // A std::thread waits for a value a fiber sets.
  sys::promise<int> to_thread;
  sys::future<int> to_thread_f = to_thread.get_future();
  std::atomic<int> thread_got{-1};
  std::thread waiter([&] { thread_got = to_thread_f.get(); });
  // Fibers wait for a value a std::thread sets once they are all parked.
  constexpr int kFibers = 50;
  sys::promise<int> to_fibers;
  sys::shared_future<int> to_fibers_f = to_fibers.get_future().share();
  const int fibers_sum = rt.block_on([&] {
    std::vector<weft::join_handle<int>> hs;
    for (int i = 0; i < kFibers; ++i) hs.push_back(weft::spawn([&] { return to_fibers_f.get(); }));
    std::thread setter([&] {
      for (auto& h : hs) (void)weft_test::spin_until([&] { return weft_test::in_weft_wait(h); });
      to_fibers.set_value(3);
    });
    weft::spawn([&] { to_thread.set_value(42); }).join();
    int sum = 0;
    for (auto& h : hs) sum += h.join();
    setter.join();
    return sum;
  });
  waiter.join();
  CHECK(thread_got.load() == 42);
  CHECK(fibers_sum == 3 * kFibers);
}

TEST_CASE("compat: async deferred runs at get on the caller and async runs on a new fiber",
          "[sync][compat][async]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers, /*paused=*/true);
  struct outcome {
    bool deferred_lazy = false, deferred_on_caller = false, deferred_status = false;
    bool async_elsewhere = false, default_elsewhere = false, async_copied = false;
    bool dtor_waited = false, rethrown = false, ref_ok = false;
    int deferred_value = 0, async_value = 0;
  };
  const outcome o = rt.block_on([] {
    outcome r;
    const sys::thread::id me = sys::this_thread::get_id();
    std::atomic<int> runs{0};
    sys::thread::id where;
    auto d = sys::async(
        std::launch::deferred,
        [&](int x) {
          runs.fetch_add(1);
          where = sys::this_thread::get_id();
          return x * 2;
        },
        21);
    sys::this_thread::sleep_for(1s);
    r.deferred_status = d.wait_for(1s) == std::future_status::deferred;
    r.deferred_lazy = runs.load() == 0;
    r.deferred_value = d.get();
    r.deferred_on_caller = where == me && runs.load() == 1;

    sys::thread::id async_where, default_where;
    std::string s = "copy";
    auto a = sys::async(
        std::launch::async,
        [&](std::string v) {
          async_where = sys::this_thread::get_id();
          return static_cast<int>(v.size());
        },
        s);
    s = "changed after the call";
    r.async_value = a.get();
    r.async_copied = r.async_value == 4;
    r.async_elsewhere = async_where != me && async_where != sys::thread::id();
    auto b = sys::async([&] { default_where = sys::this_thread::get_id(); });
    b.wait();
    r.default_elsewhere = default_where != me && default_where != sys::thread::id();

    std::atomic<bool> finished{false};
    {
      auto fire_and_forget = sys::async(std::launch::async, [&] {
        sys::this_thread::sleep_for(5s);
        finished = true;
      });
    }  // std: the last future of an async call waits for it
    r.dtor_waited = finished.load();

    auto e = sys::async(std::launch::async, []() -> int { throw std::length_error("too long"); });
    try {
      (void)e.get();
    } catch (const std::length_error&) {
      r.rethrown = true;
    }
    int target = 0;
    auto ref = sys::async(std::launch::async, [&]() -> int& { return target; });
    r.ref_ok = &ref.get() == &target;
    return r;
  });
  CHECK(o.deferred_status);
  CHECK(o.deferred_lazy);
  CHECK(o.deferred_value == 42);
  CHECK(o.deferred_on_caller);
  CHECK(o.async_value == 4);
  CHECK(o.async_copied);
  CHECK(o.async_elsewhere);
  CHECK(o.default_elsewhere);
  CHECK(o.dtor_waited);
  CHECK(o.rethrown);
  CHECK(o.ref_ok);
}

TEST_CASE("compat: async off a runtime defers by default and refuses launch::async alone",
          "[sync][compat][async]") {
  const sys::thread::id me = sys::this_thread::get_id();
  sys::thread::id where;
  auto f = sys::async([&] {
    where = sys::this_thread::get_id();
    return 7;
  });
  CHECK(f.wait_for(0s) == std::future_status::deferred);
  CHECK(f.get() == 7);
  CHECK(where == me);
  CHECK_THROWS_AS(sys::async(std::launch::async, [] { return 1; }), weft::no_runtime_error);
}

TEST_CASE("compat: an async fiber cancelled by shutdown leaves broken_promise",
          "[sync][compat][async][cancel]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  sys::promise<int> never;
  sys::shared_future<int> never_f = never.get_future().share();
  sys::shared_future<int> outer;
  {
    auto rt = weft_test::make_runtime(workers);
    outer = rt.block_on([&] {
      auto sf = sys::async(std::launch::async, [&] { return never_f.get(); }).share();
      return sf;  // the runtime's shutdown cancels the fiber parked in get()
    });
  }
  std::error_code code;
  try {
    (void)outer.get();
  } catch (const std::future_error& e) {
    code = e.code();
  }
  CHECK(code == std::future_errc::broken_promise);
}

TEST_CASE("compat: weft::cancelled passes through every compat wait", "[sync][compat][cancel]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  const std::vector<std::string> how = rt.block_on([] {
    sys::promise<int> p;
    sys::shared_future<int> f = p.get_future().share();
    sys::latch l(1);
    sys::barrier b(2);
    sys::counting_semaphore<> sem(0);
    sys::mutex m;
    sys::recursive_mutex rm;
    sys::condition_variable cv;
    sys::condition_variable_any cva;
    m.lock();
    std::thread([&] { rm.lock(); }).join();  // held by a thread that is gone
    std::vector<weft::join_handle<void>> hs;
    hs.push_back(weft::spawn([&] { (void)f.get(); }));
    hs.push_back(weft::spawn([&] { l.wait(); }));
    hs.push_back(weft::spawn([&] { b.arrive_and_wait(); }));
    hs.push_back(weft::spawn([&] { sem.acquire(); }));
    hs.push_back(weft::spawn([&] { m.lock(); }));
    hs.push_back(weft::spawn([&] { rm.lock(); }));
    hs.push_back(weft::spawn([&] { sys::this_thread::sleep_for(1h); }));
    sys::mutex cv_m;
    hs.push_back(weft::spawn([&] {
      std::unique_lock<sys::mutex> lk(cv_m);
      cv.wait(lk);
    }));
    sys::recursive_mutex cva_m;
    hs.push_back(weft::spawn([&] {
      std::unique_lock<sys::recursive_mutex> lk(cva_m);
      cva.wait(lk);
    }));
    std::vector<std::string> out;
    for (auto& h : hs) {
      if (!weft_test::spin_until([&] { return weft_test::in_weft_wait(h); }))
        out.push_back("stuck");
      h.abort();
      out.push_back(weft_test::outcome_of([&] { h.join(); }));
    }
    // Nothing was left held or counted by the cancelled waiters.
    out.push_back(cv_m.try_lock() ? "free" : "held");
    cv_m.unlock();
    out.push_back(cva_m.try_lock() ? "free" : "held");
    cva_m.unlock();
    p.set_value(1);
    out.push_back(f.get() == 1 ? "free" : "wrong");
    m.unlock();
    l.count_down();
    sem.release();
    return out;
  });
  std::vector<std::string> expected(9, "cancelled");
  expected.insert(expected.end(), 3, "free");
  CHECK(how == expected);
}

TEST_CASE("compat: a latch releases 1000 fibers and a thread only once all counted down",
          "[sync][compat][latch]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  constexpr int kFibers = 1000;
  sys::latch done(kFibers);
  std::atomic<int> arrived{0}, early{0}, released{0};
  std::thread watcher([&] {
    done.wait();
    if (arrived.load() != kFibers) early.fetch_add(1);
  });
  const bool try_before = done.try_wait();
  weft_sync_test::run_mixed(rt, kFibers, 0, [&](int i) {
    arrived.fetch_add(1);
    if (i % 2) {
      done.arrive_and_wait();
    } else {
      done.count_down();
      done.wait();
    }
    if (arrived.load() != kFibers) early.fetch_add(1);
    released.fetch_add(1);
  });
  watcher.join();
  CHECK_FALSE(try_before);
  CHECK(done.try_wait());
  CHECK(early.load() == 0);
  CHECK(released.load() == kFibers);
  sys::latch two(4);
  two.count_down(4);
  CHECK(two.try_wait());
  CHECK_THROWS_AS(sys::latch(-1), std::invalid_argument);
}

TEST_CASE("compat: a barrier runs its completion once per phase with 1000 fibers",
          "[sync][compat][barrier]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  constexpr int kFibers = 1000, kPhases = 3;
  std::atomic<int> completions{0}, out_of_phase{0}, passes{0};
  auto on_phase = [&]() noexcept { completions.fetch_add(1); };
  sys::barrier<decltype(on_phase)> b(kFibers, on_phase);
  weft_sync_test::run_mixed(rt, kFibers, 0, [&](int i) {
    for (int k = 0; k < kPhases; ++k) {
      if (i % 2) {
        b.arrive_and_wait();
      } else {
        b.wait(b.arrive());
      }
      if (completions.load() != k + 1) out_of_phase.fetch_add(1);
      passes.fetch_add(1);
    }
  });
  CHECK(completions.load() == kPhases);
  CHECK(out_of_phase.load() == 0);
  CHECK(passes.load() == kFibers * kPhases);
}

TEST_CASE("compat: barrier arrive_and_drop shrinks the later phases", "[sync][compat][barrier]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  constexpr int kFibers = 100;
  std::atomic<int> completions{0}, stayers_passes{0};
  auto on_phase = [&]() noexcept { completions.fetch_add(1); };
  sys::barrier<decltype(on_phase)> b(kFibers, on_phase);
  weft_sync_test::run_mixed(rt, kFibers, 0, [&](int i) {
    if (i % 2) {
      b.arrive_and_drop();  // leaves after phase 0
      return;
    }
    for (int k = 0; k < 4; ++k) {
      b.arrive_and_wait();
      stayers_passes.fetch_add(1);
    }
  });
  CHECK(completions.load() == 4);
  CHECK(stayers_passes.load() == kFibers / 2 * 4);
}

TEST_CASE("compat: stress 10000 fibers on 4 workers through futures locks and latches",
          "[sync][compat][.stress]") {
  auto rt = weft_test::make_runtime(4);
  constexpr int kFibers = 10000;
  sys::mutex m;
  long total = 0;  // guarded by m
  sys::latch all(kFibers);
  const long sum = rt.block_on([&] {
    std::vector<sys::future<long>> fs;
    fs.reserve(kFibers);
    for (int i = 0; i < kFibers; ++i) {
      fs.push_back(sys::async(std::launch::async, [&, i] {
        {
          std::lock_guard<sys::mutex> g(m);
          total += i;
        }
        all.arrive_and_wait();
        return long{i};
      }));
    }
    long s = 0;
    for (auto& f : fs) s += f.get();
    return s;
  });
  const long expected = long{kFibers} * (kFibers - 1) / 2;
  CHECK(sum == expected);
  CHECK(total == expected);
}
