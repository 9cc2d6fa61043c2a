// SPDX-License-Identifier: MIT
// Tests of weft::sync::rwlock (rwlock.hpp): shared and exclusive access,
// std::shared_lock, writer progress under constant reader load, deadlines
// and cancellation of a queued writer.
#include "weft/sync/rwlock.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "support/runtime_fixture.hpp"
#include "sync/sync_test_support.hpp"

using namespace std::chrono_literals;
using weft::time::clock;

TEST_CASE("rwlock: readers share and a writer excludes everyone", "[sync][rwlock]") {
  weft::sync::rwlock l;
  {
    std::shared_lock<weft::sync::rwlock> a(l);
    std::shared_lock<weft::sync::rwlock> b(l, std::try_to_lock);
    CHECK(b.owns_lock());
    CHECK_FALSE(l.try_lock());
    CHECK_FALSE(l.try_lock_for(1ms));
  }
  {
    std::unique_lock<weft::sync::rwlock> w(l);
    CHECK_FALSE(l.try_lock_shared());
    CHECK_FALSE(l.try_lock_shared_for(1ms));
    CHECK_FALSE(l.try_lock_shared_until(std::chrono::steady_clock::now() + 1ms));
    CHECK_FALSE(l.try_lock());
  }
  CHECK(l.try_lock());
  l.unlock();
  CHECK(l.try_lock_shared());
  l.unlock_shared();
}

TEST_CASE("rwlock: a writer gets in under constant reader load", "[sync][rwlock]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  constexpr int kReaders = 8, kMaxReads = 20000;
  struct outcome {
    long reads_while_writer_waited = -1;
    bool writer_in = false;
    int violations = 0;
  };
  const outcome o = rt.block_on([] {
    outcome r;
    weft::sync::rwlock l;
    std::atomic<long> reads{0};
    std::atomic<bool> stop{false};
    std::atomic<int> readers_in{0};
    std::atomic<int> violations{0};
    std::atomic<bool> writing{false};
    std::vector<weft::join_handle<void>> hs;
    for (int i = 0; i < kReaders; ++i) {
      hs.push_back(weft::spawn([&] {
        // Readers overlap: each re-acquires while others still hold, so
        // without fairness the lock would never be free for the writer.
        for (int k = 0; k < kMaxReads && !stop.load(); ++k) {
          std::shared_lock<weft::sync::rwlock> g(l);
          if (writing.load()) violations.fetch_add(1);
          readers_in.fetch_add(1);
          reads.fetch_add(1);
          weft::this_fiber::yield();
          readers_in.fetch_sub(1);
        }
      }));
    }
    if (!weft_test::spin_until([&] { return reads.load() > 4 * kReaders; })) ++violations;
    std::atomic<long> at_entry{-1};
    auto writer = weft::spawn([&] {
      std::unique_lock<weft::sync::rwlock> w(l);
      at_entry = reads.load();
      writing = true;
      if (readers_in.load() != 0) violations.fetch_add(1);
      weft::this_fiber::yield();
      writing = false;
    });
    // Count from the moment the writer is seen queued (seeing it late only
    // lowers the count), so an OS preemption of the writer cannot inflate it.
    if (!weft_test::spin_until(
            [&] { return weft_test::in_weft_wait(writer) || writer.is_finished(); })) {
      ++violations;
    }
    const long before = reads.load();
    writer.join();
    r.writer_in = at_entry.load() >= 0;
    r.reads_while_writer_waited = at_entry.load() - before;
    stop = true;
    for (auto& h : hs) h.join();
    r.violations = violations.load();
    return r;
  });
  CHECK(o.writer_in);
  // Once the writer is queued, a reader can only complete the read it had
  // already acquired (readers arriving later queue behind the writer); an
  // unfair lock lets them run on towards kReaders * kMaxReads reads.
  CHECK(o.reads_while_writer_waited <= kReaders);
  CHECK(o.violations == 0);
}

TEST_CASE("rwlock: writers are exclusive under stress from fibers and threads", "[sync][rwlock]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  weft::sync::rwlock l;
  std::atomic<int> readers{0}, writers{0}, violations{0};
  long value = 0;  // written only under the exclusive lock
  weft_sync_test::run_mixed(rt, 24, 3, [&](int i) {
    for (int k = 0; k < 300; ++k) {
      if ((i + k) % 4 == 0) {
        std::unique_lock<weft::sync::rwlock> w(l);
        if (writers.fetch_add(1) != 0 || readers.load() != 0) violations.fetch_add(1);
        ++value;
        if (k % 8 == 0) weft::this_fiber::yield();
        writers.fetch_sub(1);
      } else {
        std::shared_lock<weft::sync::rwlock> g(l);
        readers.fetch_add(1);
        if (writers.load() != 0) violations.fetch_add(1);
        if (k % 8 == 1) weft::this_fiber::yield();
        readers.fetch_sub(1);
      }
    }
  });
  long expected = 0;
  for (int i = 0; i < 27; ++i) {
    for (int k = 0; k < 300; ++k) expected += (i + k) % 4 == 0;
  }
  CHECK(violations.load() == 0);
  CHECK(value == expected);
  CHECK(l.try_lock());
  l.unlock();
}

TEST_CASE("rwlock: timed locks time out instantly on a paused clock", "[sync][rwlock][timeout]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers, /*paused=*/true);
  struct outcome {
    bool write_failed = false, read_failed = false, until_failed = false, read_after = false;
    clock::duration took{};
  };
  const outcome o = rt.block_on([] {
    outcome r;
    weft::sync::rwlock l;
    l.lock_shared();
    weft::spawn([&] {
      const auto t0 = clock::now();
      r.write_failed = !l.try_lock_for(5s);
      r.took = clock::now() - t0;
    }).join();
    // The writer that timed out had collected the free read permits: they
    // must be back, so a reader gets in at once.
    r.read_after = l.try_lock_shared();
    if (r.read_after) l.unlock_shared();
    l.unlock_shared();
    l.lock();
    weft::spawn([&] {
      r.read_failed = !l.try_lock_shared_for(5s);
      r.until_failed = !l.try_lock_shared_until(clock::now() + 1s);
    }).join();
    l.unlock();
    return r;
  });
  CHECK(o.write_failed);
  CHECK(o.took >= 5s);
  CHECK(o.read_after);
  CHECK(o.read_failed);
  CHECK(o.until_failed);
}

TEST_CASE("rwlock: a cancelled queued writer lets the readers behind it in",
          "[sync][rwlock][cancel]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    auto rt = weft_test::make_runtime(workers);
    struct outcome {
      std::string writer_outcome;
      bool reader_in = false, free_after = false;
      int bad = 0;
    };
    const outcome o = rt.block_on([] {
      outcome r;
      weft::sync::rwlock l;
      l.lock_shared();
      auto writer = weft::spawn([&] { std::unique_lock<weft::sync::rwlock> w(l); });
      if (!weft_test::spin_until([&] { return weft_test::in_weft_wait(writer); })) ++r.bad;
      std::atomic<bool> in{false};
      auto reader = weft::spawn([&] {
        std::shared_lock<weft::sync::rwlock> g(l);
        in = true;
      });
      if (!weft_test::spin_until([&] { return weft_test::in_weft_wait(reader); })) ++r.bad;
      writer.abort();
      r.writer_outcome = weft_test::outcome_of([&] { writer.join(); });
      reader.join();  // while we still hold our read lock
      r.reader_in = in.load();
      l.unlock_shared();
      r.free_after = l.try_lock();
      if (r.free_after) l.unlock();
      return r;
    });
    CHECK(o.writer_outcome == "cancelled");
    CHECK(o.reader_in);
    CHECK(o.free_after);
    CHECK(o.bad == 0);
  }
  leaks.finish();
}

TEST_CASE("rwlock: write access handed to a writer aborted before it runs goes to the next one",
          "[sync][rwlock][cancel][regression]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  weft::sync::rwlock l;
  l.lock();
  const auto o = weft_sync_test::abort_the_chosen_waiter(
      rt, [&](int) { return std::unique_lock<weft::sync::rwlock>(l); },
      [&](int step) {
        if (step == 0) l.unlock();
      });
  WEFT_CHECK_CHOSEN_WAITER(o);
  CHECK(l.try_lock());
  l.unlock();
}

TEST_CASE(
    "rwlock: a read permit handed to a reader aborted before it runs goes to the writer behind",
    "[sync][rwlock][cancel][regression]") {
  // Queue: reader 0, writer 1, reader 2. The writer's unlock gives reader 0
  // its permit and writer 1 the rest; reader 0's permit must reach writer 1.
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  weft::sync::rwlock l;
  l.lock();
  struct held {
    std::shared_lock<weft::sync::rwlock> r;
    std::unique_lock<weft::sync::rwlock> w;
  };
  const auto o = weft_sync_test::abort_the_chosen_waiter(
      rt,
      [&](int i) {
        held h;
        if (i == 1) {
          h.w = std::unique_lock<weft::sync::rwlock>(l);
        } else {
          h.r = std::shared_lock<weft::sync::rwlock>(l);
        }
        return h;
      },
      [&](int step) {
        if (step == 0) l.unlock();
      });
  WEFT_CHECK_CHOSEN_WAITER(o);
  CHECK(l.try_lock());  // every permit came back
  l.unlock();
}
