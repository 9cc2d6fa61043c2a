// SPDX-License-Identifier: MIT
// hello: the smallest weft program. Build a runtime, run a root fiber with
// block_on, spawn fibers from it and join them.
#include <cstdio>
#include <vector>

#include "weft/fibers.hpp"

int main() {
  // A multi-thread runtime with two worker threads. The default,
  // builder::multi_thread().build(), starts one worker per core.
  weft::runtime rt = weft::builder::multi_thread().worker_threads(2).build();

  // block_on() runs the lambda on a fiber of the runtime and blocks main()
  // until it returns, handing back its value.
  const int sum = rt.block_on([] {
    // weft::spawn() starts a fiber on the runtime the caller runs on and
    // returns a join_handle<T> for its result, like std::async but cheap:
    // a fiber is a small stack, not an OS thread.
    std::vector<weft::join_handle<int>> squares;
    for (int i = 1; i <= 10; ++i) {
      squares.push_back(weft::spawn([i] { return i * i; }));
    }
    // join() parks this fiber (not its worker thread) until the task is done.
    int total = 0;
    for (auto& h : squares) total += h.join();
    return total;
  });

  std::printf("hello: 1^2 + ... + 10^2 = %d\n", sum);
  return sum == 385 ? 0 : 1;
}
