// SPDX-License-Identifier: MIT
// Helpers shared by the tests of weft::sync's locks: run one body on many
// fibers and plain threads at once, and track a high-water mark.
#pragma once

#include <atomic>
#include <thread>
#include <vector>

#include "support/runtime_fixture.hpp"

namespace weft_sync_test {

// run_mixed() runs body(i) on `threads` plain threads (i < threads) and on
// `fibers` fibers of `rt` (i >= threads), and returns when all are done.
template <class Body>
void run_mixed(weft::runtime& rt, int fibers, int threads, Body body) {
  std::vector<std::thread> ts;
  ts.reserve(static_cast<std::size_t>(threads));
  for (int i = 0; i < threads; ++i) ts.emplace_back([&body, i] { body(i); });
  rt.block_on([&] {
    std::vector<weft::join_handle<void>> hs;
    for (int i = 0; i < fibers; ++i) hs.push_back(weft::spawn([&body, i, threads] { body(threads + i); }));
    for (auto& h : hs) h.join();
  });
  for (auto& t : ts) t.join();
}

// high_water counts current holders and remembers the maximum.
struct high_water {
  std::atomic<int> now{0};
  std::atomic<int> max{0};
  void enter(int k = 1) {
    const int v = now.fetch_add(k) + k;
    int m = max.load();
    while (v > m && !max.compare_exchange_weak(m, v)) {
    }
  }
  void leave(int k = 1) { now.fetch_sub(k); }
};

}  // namespace weft_sync_test
