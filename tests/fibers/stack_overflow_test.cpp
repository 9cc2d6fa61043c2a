// SPDX-License-Identifier: MIT
// Stack overflow in a fiber: the process dies by SIGSEGV after printing which
// fiber overflowed (fibers/src/stack_overflow.cpp). Each case runs in a
// child process (support/child_process.hpp) running the hidden "stack:
// child process" case: a fresh process, so weft installs its SIGSEGV
// handler there (it does so once per process, and Catch2 restores its own
// saved handlers after each test case).
#include <signal.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "support/child_process.hpp"
#include "support/runtime_fixture.hpp"

namespace {

constexpr const char* kChildEnv = "WEFT_TEST_STACK_CHILD";
volatile int g_never = -1;  // opaque to the compiler

// recurse() uses stack until it overflows (the volatile frame and the
// addition after the call keep it a real recursion).
__attribute__((noinline)) int recurse(int depth) {
  volatile char frame[1024];
  std::memset(const_cast<char*>(frame), depth & 0xff, sizeof frame);
  if (depth == g_never) return 0;
  return recurse(depth + 1) + frame[depth % sizeof frame];
}

// wide() recurses with 64 KiB frames, writing each frame's lowest byte
// first (no -fstack-clash-protection probes in between).
__attribute__((noinline)) int wide(int depth) {
  volatile char frame[64 * 1024];
  frame[0] = static_cast<char>(depth);
  if (depth == g_never) return 0;
  frame[sizeof frame - 1] = 1;
  return wide(depth + 1) + frame[depth % sizeof frame];
}

// wide_start() shifts wide()'s frames off the stack's 64 KiB alignment
// (otherwise a frame start would land in a one-page guard by chance).
__attribute__((noinline)) int wide_start() {
  volatile char pad[10000];
  pad[0] = 1;
  return wide(0) + pad[0];
}

using death = weft_test::child_end;

death run_child(const std::string& mode) {
  return weft_test::run_child("stack: child process", kChildEnv, mode);
}

}  // namespace

// The child's body; does nothing unless started by run_child().
TEST_CASE("stack: child process", "[.][stack_child]") {
  const char* mode = std::getenv(kChildEnv);
  if (!mode) return;
  const std::string m = mode;
  if (m == "overflow-current" || m == "overflow-multi") {
    auto b = m == "overflow-current" ? weft::builder::current_thread()
                                     : weft::builder::multi_thread().worker_threads(2);
    auto rt = b.stack_size(64 * 1024).build();
    rt.block_on([] { return weft::spawn_with({"deep"}, [] { return recurse(0); }).join(); });
  } else if (m == "large-frames") {
    // 64 KiB frames whose lowest byte is written first: each step moves the
    // stack pointer 64 KiB down, past a one-page guard (issue 9).
    auto rt = weft::builder::multi_thread().worker_threads(2).stack_size(256 * 1024).build();
    rt.block_on([] { return weft::spawn_with({"wide"}, [] { return wide_start(); }).join(); });
  } else if (m == "segv") {
    auto rt = weft_test::make_runtime(1);
    rt.block_on([] {
      static volatile std::uintptr_t bad = 8;     // opaque, so not turned into a trap
      *reinterpret_cast<volatile int*>(bad) = 1;  // not in any guard page
    });
  }
  std::_Exit(0);  // survived: the parent sees exit code 0
}

TEST_CASE("stack: overflow in a fiber kills the process with a report", "[fibers][stack]") {
  const std::string mode = GENERATE(std::string("overflow-current"), std::string("overflow-multi"));
  INFO(mode);
  const death d = run_child(mode);
  INFO("child stderr: " << d.stderr_text);
  CHECK(d.signalled);
  CHECK(d.signal == SIGSEGV);
  CHECK_THAT(d.stderr_text, Catch::Contains("weft: stack overflow in fiber") &&
                                Catch::Contains("'deep'") &&
                                Catch::Contains("stack size 65536 bytes"));
}

TEST_CASE("stack: a segfault that is not an overflow is not reported as one", "[fibers][stack]") {
  const death d = run_child("segv");
  INFO("child stderr: " << d.stderr_text);
  // The previous SIGSEGV handler runs (Catch2's, then the default action;
  // AddressSanitizer's handler reports and, with abort_on_error=1 as in the
  // asan preset, aborts).
  CHECK((d.signalled ? (d.signal == SIGSEGV || d.signal == SIGABRT)
                     : d.exit_code != 0 && d.exit_code != 127));
  CHECK_THAT(d.stderr_text, !Catch::Contains("stack overflow in fiber"));
}

TEST_CASE("stack: recursion with 64 KiB frames is reported, not jumped over (issue 9)",
          "[fibers][stack][regression]") {
  const death d = run_child("large-frames");
  INFO("child stderr: " << d.stderr_text);
  CHECK(d.signalled);
  CHECK(d.signal == SIGSEGV);
  CHECK_THAT(d.stderr_text,
             Catch::Contains("weft: stack overflow in fiber") && Catch::Contains("'wide'"));
}
