// SPDX-License-Identifier: MIT
// Shared test fixture: build a runtime of each flavour/worker count (Tokio's
// rt_common, marl's TEST_P), and check that nothing is left behind: no live
// fibers when the test body ends and no file descriptor leaked.
#pragma once

#include <dirent.h>

#include <catch2/catch.hpp>
#include <cstddef>
#include <string>

#include "weft/fibers.hpp"

namespace weft_test {

// open_fds() counts the process's open file descriptors.
inline std::size_t open_fds() {
  std::size_t n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (::readdir(d)) ++n;
    ::closedir(d);
  }
  return n;
}

// make_runtime() builds a runtime: 0 workers means the current-thread
// flavour, otherwise a multi-thread runtime with that many workers.
inline weft::runtime make_runtime(int workers, bool paused = false) {
  auto b = workers == 0 ? weft::builder::current_thread()
                        : weft::builder::multi_thread().worker_threads(static_cast<std::size_t>(workers));
  b.thread_name("weft-test").start_paused(paused);
  return b.build();
}

// flavour_name() describes a GENERATE'd worker count in test output.
inline std::string flavour_name(int workers) {
  return workers == 0 ? "current_thread" : "multi_thread(" + std::to_string(workers) + ")";
}

// leak_check verifies at scope exit that the runtime has no live fiber and
// that the fd count is back to where it started.
class leak_check {
 public:
  leak_check() : fds_(open_fds()) {}
  // finish() must be called after the runtime was destroyed.
  void finish() const { CHECK(open_fds() == fds_); }

 private:
  std::size_t fds_;
};

}  // namespace weft_test

// WEFT_RUNTIME_FLAVOURS yields the worker counts every runtime test runs at:
// the current-thread flavour, 1 worker and 4 workers.
#define WEFT_RUNTIME_FLAVOURS() GENERATE(0, 1, 4)
