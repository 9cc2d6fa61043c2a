// SPDX-License-Identifier: MIT
// weft_consumer: links an installed weft (find_package(weft) or pkg-config) and runs
// a few fibers. Exits 0 only if they computed the right result.
#include <chrono>
#include <cstdio>
#include <vector>

#include "weft/fibers.hpp"

int main() {
  weft::runtime rt = weft::builder::multi_thread().worker_threads(2).build();
  const int sum = rt.block_on([] {
    std::vector<weft::join_handle<int>> fibers;
    for (int i = 0; i < 10; ++i) {
      fibers.push_back(weft::spawn([i] {
        weft::time::sleep(std::chrono::milliseconds(1));
        return i;
      }));
    }
    int total = 0;
    for (auto& f : fibers) total += f.join();
    return total;
  });
  std::printf("weft_consumer: 10 fibers, sum of 0..9 = %d\n", sum);
  return sum == 45 ? 0 : 1;
}
