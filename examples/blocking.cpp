// SPDX-License-Identifier: MIT
// blocking: spawn_blocking() next to fibers. Code that blocks its OS thread
// (a legacy library call, std::future::get, a big file read, heavy CPU work)
// must not run on a worker thread, or every fiber of that worker stalls.
// spawn_blocking() runs it on the runtime's blocking pool instead, and
// joining it parks only the joining fiber.
#include <chrono>
#include <cstdio>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "weft/fibers.hpp"

using namespace std::chrono_literals;

namespace {

// legacy_lookup() stands for a blocking call weft cannot see into: it blocks
// its thread until `answer` is ready.
std::string legacy_lookup(std::shared_future<int> answer) {
  return "answer=" + std::to_string(answer.get());
}

}  // namespace

int main() {
  // ONE worker thread: any blocking call on it would stop every fiber.
  weft::runtime rt = weft::builder::multi_thread().worker_threads(1).build();

  const bool good = rt.block_on([] {
    std::promise<int> promise;
    std::shared_future<int> answer = promise.get_future().share();

    // Four blocking jobs, each stuck in answer.get() on a pool thread.
    std::vector<weft::join_handle<std::string>> lookups;
    for (int i = 0; i < 4; ++i) {
      lookups.push_back(weft::spawn_blocking(legacy_lookup, answer));
    }

    // Meanwhile fibers keep running on the single worker: this one sleeps,
    // then provides the answer that unblocks the jobs. Had the jobs been
    // spawned as fibers, they would hold the worker and this fiber would
    // never run (a deadlock).
    weft::join_handle<void> producer = weft::spawn([&promise] {
      weft::time::sleep(10ms);
      promise.set_value(42);
    });
    int ticks = 0;
    weft::join_handle<void> ticker = weft::spawn([&ticks] {
      for (int i = 0; i < 3; ++i) {
        weft::time::sleep(1ms);
        ++ticks;
      }
    });

    producer.join();
    ticker.join();
    bool all = ticks == 3;
    for (auto& h : lookups) {
      const std::string got = h.join();  // parks this fiber, not the worker
      all &= got == "answer=42";
    }
    // spawn_blocking() also suits CPU-heavy work that would hog a worker.
    const long sum = weft::spawn_blocking([] {
                       long s = 0;
                       for (long i = 1; i <= 1000000; ++i) s += i;
                       return s;
                     }).join();
    all &= sum == 500000500000L;
    std::printf("blocking: 4 blocking lookups and fibers shared 1 worker; ticks=%d sum=%ld\n",
                ticks, sum);
    return all;
  });

  std::printf("blocking: %s\n", good ? "ok" : "FAILED");
  return good ? 0 : 1;
}
