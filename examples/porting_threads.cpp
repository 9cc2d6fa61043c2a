// SPDX-License-Identifier: MIT
// porting_threads: step 1 of porting legacy code (docs/design.md section 9). A
// thread-per-task program runs on fibers by swapping std::thread for
// weft::spawn; the task bodies stay as they are, blocking style included.
// Usage: porting_threads [--threads | --fibers | --both] [--tasks N]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "weft/fibers.hpp"

using namespace std::chrono_literals;

namespace {

// The shared state both versions update, guarded by a plain std::mutex.
struct ledger {
  std::mutex mu;
  long total = 0;
  int served = 0;
};

// ---------------------------------------------------------------------------
// Before: one OS thread per task.
// ---------------------------------------------------------------------------
void serve_with_threads(ledger& book, int tasks) {
  std::vector<std::thread> workers;
  for (int i = 0; i < tasks; ++i) {
    workers.emplace_back([&book, i] {
      std::this_thread::sleep_for(2ms);  // stands for a blocking request
      std::lock_guard<std::mutex> lock(book.mu);
      book.total += i;
      ++book.served;
    });
  }
  for (std::thread& t : workers) t.join();
}

// ---------------------------------------------------------------------------
// After: one fiber per task. The diff from serve_with_threads() is:
//   std::vector<std::thread>      -> std::vector<weft::join_handle<void>>
//   workers.emplace_back(f)       -> workers.push_back(weft::spawn(f))
//   std::this_thread::sleep_for   -> weft::time::sleep_for (parks the fiber,
//                                    not the worker thread)
// The std::mutex stays: it is held only for a few instructions and never
// across a suspension point, so a worker never waits on it for long. Code
// that waits while holding a lock, or on a std::condition_variable, moves to
// weft's mutex and condition variable in the same step (they park the fiber
// instead of blocking the worker).
// ---------------------------------------------------------------------------
void serve_with_fibers(ledger& book, int tasks) {
  std::vector<weft::join_handle<void>> workers;
  for (int i = 0; i < tasks; ++i) {
    workers.push_back(weft::spawn([&book, i] {
      weft::time::sleep_for(2ms);  // stands for a blocking request
      std::lock_guard<std::mutex> lock(book.mu);
      book.total += i;
      ++book.served;
    }));
  }
  for (weft::join_handle<void>& f : workers) f.join();
}

// check() prints how a run went and whether its result is right.
bool check(const char* how, const ledger& book, int tasks,
           std::chrono::steady_clock::duration took) {
  const long want = static_cast<long>(tasks) * (tasks - 1) / 2;
  const bool good = book.served == tasks && book.total == want;
  std::printf(
      "porting_threads: %-7s served %d tasks, total %ld (want %ld) in %lld ms: %s\n", how,
      book.served, book.total, want,
      static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()),
      good ? "ok" : "FAILED");
  return good;
}

}  // namespace

int main(int argc, char** argv) {
  bool threads = true;
  bool fibers = true;
  int tasks = 200;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--threads") == 0) {
      fibers = false;
    } else if (std::strcmp(argv[i], "--fibers") == 0) {
      threads = false;
    } else if (std::strcmp(argv[i], "--both") == 0) {
      threads = fibers = true;
    } else if (std::strcmp(argv[i], "--tasks") == 0 && i + 1 < argc) {
      tasks = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: %s [--threads | --fibers | --both] [--tasks N]\n", argv[0]);
      return 2;
    }
  }
  if (tasks < 1) tasks = 1;

  bool good = true;
  if (threads) {
    ledger book;
    const auto start = std::chrono::steady_clock::now();
    serve_with_threads(book, tasks);
    good &= check("threads", book, tasks, std::chrono::steady_clock::now() - start);
  }
  if (fibers) {
    // The only new code: a runtime, and block_on() to enter it. Its two
    // worker threads carry all the fibers.
    weft::runtime rt = weft::builder::multi_thread().worker_threads(2).build();
    ledger book;
    const auto start = std::chrono::steady_clock::now();
    rt.block_on([&book, tasks] { serve_with_fibers(book, tasks); });
    good &= check("fibers", book, tasks, std::chrono::steady_clock::now() - start);
  }
  return good ? 0 : 1;
}
