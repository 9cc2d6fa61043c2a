// SPDX-License-Identifier: MIT
// lock-cost: nanoseconds per uncontended std::mutex lock+unlock on a weft
// fiber and on a plain thread. Built twice, as fiber-bench-lock-cost and as
// fiber-bench-lock-cost-hook (linked with weft::hook, whose pthread lock
// hooks count the locks a fiber holds: docs/diagnostics.md "What the
// diagnostic mode costs"); run them alternately and compare.
//
//   fiber-bench-lock-cost[-hook] [pairs]    (default 20000000; 1 to 10^10)
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>

#include "weft/fibers.hpp"

namespace {

double ns_per_pair(long long n) {
  std::mutex m;
  const auto t0 = std::chrono::steady_clock::now();
  for (long long i = 0; i < n; ++i) {
    m.lock();
    asm volatile("" ::: "memory");
    m.unlock();
  }
  const std::chrono::duration<double, std::nano> d = std::chrono::steady_clock::now() - t0;
  return d.count() / static_cast<double>(n);
}

}  // namespace

int main(int argc, char** argv) {
  long long n = 20000000;
  if (argc > 2 || (argc == 2 &&
                   (std::from_chars(argv[1], argv[1] + std::strlen(argv[1]), n).ec != std::errc() ||
                    n < 1 || n > 10000000000LL))) {
    std::fprintf(stderr, "usage: %s [pairs]   (pairs: 1 to 10000000000)\n", argv[0]);
    return 2;
  }
  // The loop computes without switching: no stall reports about it.
  auto rt = weft::builder::multi_thread()
                .worker_threads(2)
                .stall_report_after(std::chrono::milliseconds(0))
                .build();
  const double fiber =
      rt.block_on([&] { return weft::spawn([&] { return ns_per_pair(n); }).join(); });
  double plain = 0;
  std::thread t([&] { plain = ns_per_pair(n); });
  t.join();
  std::printf("impl=%s pairs=%lld fiber_ns_per_pair=%.2f thread_ns_per_pair=%.2f\n",
#ifdef WEFT_LOCK_COST_HOOK
              "hook",
#else
              "plain",
#endif
              n, fiber, plain);
  return 0;
}
