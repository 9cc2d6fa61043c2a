// SPDX-License-Identifier: MIT
// Tests of spawn_blocking and the blocking pool (runtime.hpp, spawn.hpp):
// blocking work never stalls a worker; limits, abort, errors, keep-alive.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "support/runtime_fixture.hpp"

using namespace std::chrono_literals;

namespace {
// hold() blocks the calling (pool) thread until `flag` is set, for at most
// `limit`; returns whether the flag was seen. Blocking for real is the point.
bool hold(const std::atomic<bool>& flag, std::chrono::milliseconds limit = 20s) {
  const auto give_up = std::chrono::steady_clock::now() + limit;
  while (!flag.load()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::yield();
  }
  return true;
}
}  // namespace

TEST_CASE("blocking: spawn_blocking returns the job's value", "[fibers][blocking]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers);
    const int sum = rt.block_on([] {
      std::vector<weft::join_handle<int>> hs;
      for (int i = 1; i <= 20; ++i) {
        hs.push_back(weft::spawn_blocking([](int v) { return v * 2; }, i));
      }
      int s = 0;
      for (auto& h : hs) s += h.join();
      return s;
    });
    CHECK(sum == 420);
  }
  leaks.finish();
}

TEST_CASE("blocking: a blocking job does not block the worker", "[fibers][blocking]") {
  // The job blocks its thread until a fiber releases it; the fiber makes
  // progress (yields, sleeps on timers) meanwhile. If the job ran on the
  // worker, the fiber could never run and the job would give up.
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers);
    struct outcome {
      bool released = false;
      int progress_seen = -1;
      bool on_other_thread = false;
    };
    const outcome o = rt.block_on([] {
      outcome r;
      std::atomic<bool> release{false};
      std::atomic<int> progress{0};
      const long worker_thread = weft_test::thread_id();
      auto job = weft::spawn_blocking([&] {
        const bool got = hold(release);
        return std::make_tuple(got, progress.load(), weft_test::thread_id());
      });
      auto busy = weft::spawn([&] {
        for (int i = 0; i < 100; ++i) {
          progress.fetch_add(1);
          if (i % 20 == 0) {
            weft::time::sleep(1ms);
          } else {
            weft::this_fiber::yield();
          }
        }
        release.store(true);
      });
      busy.join();
      auto [got, seen, tid] = job.join();
      r.released = got;
      r.progress_seen = seen;
      r.on_other_thread = tid != worker_thread;
      return r;
    });
    CHECK(o.released);
    CHECK(o.progress_seen == 100);
    CHECK(o.on_other_thread);
  }
  leaks.finish();
}

TEST_CASE("blocking: a blocking job's exception is carried through join", "[fibers][blocking]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  const std::string got = rt.block_on([] {
    auto h = weft::spawn_blocking([]() -> int { throw std::out_of_range("blocking boom"); });
    try {
      h.join();
      return std::string("no exception");
    } catch (const weft::join_error& e) {
      if (!e.is_panic()) return std::string("not a panic");
      try {
        e.rethrow_nested();
      } catch (const std::out_of_range& inner) {
        return std::string(inner.what());
      }
    }
    return std::string("nothing nested");
  });
  CHECK(got == "blocking boom");
}

TEST_CASE("blocking: max_blocking_threads bounds the pool", "[fibers][blocking]") {
  weft_test::leak_check leaks;
  {
    auto rt = weft::builder::multi_thread().worker_threads(1).max_blocking_threads(2).build();
    weft::handle h = rt.get_handle();
    std::atomic<int> running{0}, max_running{0};
    std::atomic<bool> release{false};
    std::vector<weft::join_handle<bool>> jobs;
    for (int i = 0; i < 6; ++i) {
      jobs.push_back(h.spawn_blocking([&] {
        const int now = running.fetch_add(1) + 1;
        int m = max_running.load();
        while (m < now && !max_running.compare_exchange_weak(m, now)) {
        }
        const bool got = hold(release);
        running.fetch_sub(1);
        return got;
      }));
    }
    REQUIRE(weft_test::spin_until([&] { return running.load() == 2; }));
    const auto m = h.metrics();
    CHECK(m.blocking_threads == 2);
    CHECK(m.blocking_queue == 4);
    release.store(true);
    int ok = 0;
    for (auto& j : jobs) ok += j.join();
    CHECK(ok == 6);
    CHECK(max_running.load() == 2);
  }
  leaks.finish();
}

TEST_CASE("blocking: abort cancels a job that has not started and a running job finishes",
          "[fibers][blocking][cancel]") {
  weft_test::leak_check leaks;
  {
    auto rt = weft::builder::multi_thread().worker_threads(1).max_blocking_threads(1).build();
    weft::handle h = rt.get_handle();
    std::atomic<bool> release{false}, started{false}, queued_ran{false};
    auto running = h.spawn_blocking([&] {
      started.store(true);
      return hold(release) ? 10 : -1;
    });
    auto queued = h.spawn_blocking([&] { queued_ran.store(true); });
    REQUIRE(weft_test::spin_until([&] { return started.load(); }));
    CHECK(h.metrics().blocking_queue == 1);
    queued.abort();
    running.abort();  // too late: it runs to completion
    release.store(true);
    CHECK(running.join() == 10);
    CHECK(weft_test::outcome_of([&] { queued.join(); }) == "cancelled");
    CHECK_FALSE(queued_ran.load());
  }
  leaks.finish();
}

TEST_CASE("blocking: jobs spawned and joined from plain threads", "[fibers][blocking]") {
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(1);
    weft::handle h = rt.get_handle();
    std::vector<std::thread> ts;
    std::atomic<long> total{0};
    for (int t = 0; t < 4; ++t) {
      ts.emplace_back([&h, &total, t] {
        std::vector<weft::join_handle<long>> hs;
        for (long i = 0; i < 50; ++i)
          hs.push_back(h.spawn_blocking([t, i] { return t * 1000L + i; }));
        for (auto& j : hs) total.fetch_add(j.join());
      });
    }
    for (auto& t : ts) t.join();
    // sum over t of (50 * 1000 t + 1225)
    CHECK(total.load() == 50 * 1000L * (0 + 1 + 2 + 3) + 4 * 1225L);
  }
  leaks.finish();
}

TEST_CASE("blocking: shutdown cancels queued jobs and waits for the running one",
          "[fibers][blocking]") {
  weft_test::leak_check leaks;
  std::atomic<bool> release{false}, started{false}, queued_ran{false};
  weft::join_handle<int> running;
  weft::join_handle<void> queued;
  std::thread releaser;
  {
    auto rt = weft::builder::multi_thread().worker_threads(1).max_blocking_threads(1).build();
    weft::handle h = rt.get_handle();
    running = h.spawn_blocking([&] {
      started.store(true);
      return hold(release) ? 20 : -1;
    });
    queued = h.spawn_blocking([&] { queued_ran.store(true); });
    REQUIRE(weft_test::spin_until([&] { return started.load(); }));
    // Release the running job once shutdown has cancelled the queued one.
    releaser = std::thread([&] {
      weft_test::spin_until([&] { return queued.is_finished(); });
      release.store(true);
    });
  }  // ~runtime
  releaser.join();
  CHECK(running.is_finished());
  CHECK(running.join() == 20);
  CHECK(weft_test::outcome_of([&] { queued.join(); }) == "cancelled");
  CHECK_FALSE(queued_ran.load());
  leaks.finish();
}

TEST_CASE("blocking: idle pool threads retire after the keep-alive", "[fibers][blocking][timing]") {
  auto rt = weft::builder::multi_thread().worker_threads(1).blocking_keep_alive(100ms).build();
  weft::handle h = rt.get_handle();
  CHECK(h.metrics().blocking_threads == 0);
  CHECK(h.spawn_blocking([] { return 1; }).join() == 1);
  CHECK(h.metrics().blocking_threads == 1);
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(weft_test::spin_until([&] { return h.metrics().blocking_threads == 0; }));
  // The thread went idle just before join() returned, so it retires at
  // least ~100 ms after that (50 ms leaves room for a slow join()).
  CHECK(std::chrono::steady_clock::now() - t0 >= 50ms);
  CHECK(h.metrics().blocking_idle == 0);
  // A new job starts a new thread.
  CHECK(h.spawn_blocking([] { return 2; }).join() == 2);
}

// Regression: blocking_pool kept `idle_` as "idle threads not yet claimed";
// submit() claimed one (`--idle_`, notify_one), but if a busy pool thread
// took that job first, the notified thread kept waiting and, at the end of
// its keep-alive, decremented `idle_` a second time. The size_t underflowed
// once the last thread retired (metrics showed blocking_idle 2^64-1) and the
// next job was queued with no thread to run it. Found by this suite; fixed
// in b407138.
TEST_CASE("blocking: a job submitted after the pool's threads retired still runs",
          "[fibers][blocking][regression]") {
  auto rt = weft::builder::multi_thread()
                .worker_threads(1)
                .max_blocking_threads(2)
                .blocking_keep_alive(50ms)
                .build();
  weft::handle h = rt.get_handle();
  std::size_t idle_after_retire = 0;
  bool late_job_ran = true;
  int stolen = 0;  // rounds where the busy thread took `b`
  for (int round = 0; round < 30 && idle_after_retire == 0 && late_job_ran; ++round) {
    std::atomic<bool> release{false};
    weft::join_handle<long> b;
    // Thread 1 is busy with `a`; thread 2 ran `x` and is idle. Then `a`
    // itself submits `b`, which claims the idle thread 2, and returns: the
    // running thread 1 usually takes `b` before thread 2 wakes up.
    auto a = h.spawn_blocking([&] {
      if (!hold(release)) return 0L;
      b = h.spawn_blocking([] { return weft_test::thread_id(); });
      return weft_test::thread_id();
    });
    REQUIRE(weft_test::spin_until([&] { return h.metrics().blocking_queue == 0; }));
    REQUIRE(h.spawn_blocking([] { return weft_test::thread_id(); }).join() != 0);
    REQUIRE(weft_test::spin_until([&] { return h.metrics().blocking_idle == 1; }));
    release.store(true);
    const long a_thread = a.join();
    REQUIRE(a_thread != 0);
    if (b.join() == a_thread) ++stolen;
    REQUIRE(weft_test::spin_until([&] { return h.metrics().blocking_threads == 0; }));
    idle_after_retire = h.metrics().blocking_idle;
    std::atomic<bool> ran{false};
    auto c = h.spawn_blocking([&] { ran.store(true); });
    late_job_ran = weft_test::spin_until([&] { return ran.load(); }, 3s);
    if (late_job_ran) c.join();
  }
  INFO("rounds where the busy thread took the job meant for the idle one: " << stolen);
  CHECK(idle_after_retire == 0);
  CHECK(late_job_ran);
}

TEST_CASE("blocking: a blocking job reaches its runtime (issue 9)",
          "[fibers][blocking][regression]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers);
    const int got = rt.block_on([] {
      return weft::spawn_blocking([] {
               // handle::current(), spawn and spawn_blocking all work here, as
               // in Tokio; joins block this pool thread, not a worker.
               weft::handle h = weft::handle::current();
               int sum = weft::spawn([] { return 1; }).join();
               sum += h.spawn([] { return 10; }).join();
               sum += weft::spawn_blocking([] { return 100; }).join();
               return sum + (weft::handle::try_current() ? 1000 : 0);
             })
          .join();
    });
    CHECK(got == 1111);
  }
  leaks.finish();
}

TEST_CASE("blocking: the paused clock resumes auto-advance when a blocking job ends (issue 9)",
          "[fibers][blocking][time][regression]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers, /*paused=*/true);
    const bool ok = rt.block_on([] {
      const auto t0 = weft::time::clock::now();
      auto sleeper = weft::spawn([] { weft::time::sleep(15s); });
      // The job ends only once the sleeper is parked: auto-advance was held
      // back by the job, and must go on without anyone joining it first.
      auto job = weft::spawn_blocking(
          [&] { return weft_test::spin_until([&] { return weft_test::in_weft_wait(sleeper); }); });
      sleeper.join();
      const bool parked = job.join();
      return parked && weft::time::clock::now() - t0 >= 15s;
    });
    CHECK(ok);
  }
  leaks.finish();
}

TEST_CASE("blocking: shutdown_timeout bounds a running blocking job (issue 9)",
          "[fibers][blocking][shutdown][regression]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  const auto bound = GENERATE(0ms, 100ms);
  INFO("bound " << bound.count() << " ms");
  std::atomic<bool> release{false}, started{false}, finished{false};
  weft::shutdown_result r;
  {
    auto rt = weft_test::make_runtime(workers);
    rt.block_on([&] {
      auto h = weft::spawn_blocking([&] {
        started = true;
        (void)hold(release, 60s);  // the blocking work: until released
        finished = true;
      });
      while (!started.load()) weft::this_fiber::yield();
      h.detach();
    });
    WEFT_TEST_LSAN_DISABLER;         // the core stays alive for the job's thread
    r = rt.shutdown_timeout(bound);  // returns: the job is still held
  }
  CHECK_FALSE(r);
  CHECK_FALSE(finished.load());
  REQUIRE(r.still_running.size() == 1);
  CHECK(r.still_running[0].blocking);
  release = true;
  CHECK(weft_test::spin_until([&] { return finished.load(); }));
}
