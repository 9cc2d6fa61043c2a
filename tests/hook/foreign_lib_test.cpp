// SPDX-License-Identifier: MIT
// Calls made inside another shared library are hooked too: the library
// (tests/hook/foreign_lib.cpp, its own .so) is neither recompiled nor told
// about weft, yet 500 fibers blocked in its poll()/recv() on 2 workers do
// not stop the others, and its nanosleep follows the paused clock.
#include <atomic>

#include "hook_test_support.hpp"

extern "C" long foreign_echo_once(int fd);
extern "C" int foreign_sleep_ms(int ms);

using namespace std::chrono_literals;

TEST_CASE("hook: a shared library's own calls park fibers", "[hook]") {
  hook_test::raise_fd_limit(4096);
  auto rt = weft_test::make_runtime(2);
  rt.block_on([] {
    constexpr int kFibers = 500;
    std::vector<std::pair<int, int>> pairs(kFibers);
    for (auto& p : pairs) p = hook_test::stream_pair();
    std::atomic<int> echoed{0};
    weft::join_set<void> set;
    for (auto& p : pairs) {
      set.spawn([fd = p.first, &echoed] {
        if (foreign_echo_once(fd) == 5) echoed.fetch_add(1);
      });
    }
    // With the library's poll() holding the 2 workers, this fiber could not
    // run: it does, and answers every one of them.
    auto driver = weft::spawn([&pairs] {
      int ok = 0;
      for (auto& p : pairs) {
        char buf[8];
        if (::send(p.second, "hello", 5, 0) == 5 && ::recv(p.second, buf, 5, MSG_WAITALL) == 5)
          ++ok;
      }
      return ok;
    });
    CHECK(driver.join() == kFibers);
    while (set.join_next()) {
    }
    CHECK(echoed.load() == kFibers);
    hook_test::close_pairs(pairs);
  });
}

TEST_CASE("hook: a shared library's nanosleep follows the paused clock", "[hook]") {
  auto rt = weft_test::make_runtime(1, /*paused=*/true);
  rt.block_on([] {
    const auto t0 = weft::time::clock::now();
    CHECK(weft::spawn([] { return foreign_sleep_ms(120000); }).join() == 0);
    CHECK(weft::time::clock::now() - t0 >= 120s);
  });
}

TEST_CASE("hook: offload_file_io reads regular files on the blocking pool", "[hook]") {
  char path[] = "/tmp/weft-hook-file-XXXXXX";
  const int w = ::mkstemp(path);
  REQUIRE(w >= 0);
  REQUIRE(::write(w, "file contents", 13) == 13);
  ::close(w);
  auto rt = weft::builder::multi_thread().worker_threads(2).offload_file_io(true).build();
  const auto before = rt.get_handle().metrics().blocking_threads;
  rt.block_on([&] {
    weft::spawn([&] {
      const int fd = ::open(path, O_RDONLY);
      REQUIRE(fd >= 0);
      char buf[32] = {};
      CHECK(::read(fd, buf, sizeof buf) == 13);
      CHECK(weft::hook::is_tracked(fd));
      CHECK(std::string(buf) == "file contents");
      CHECK(::read(fd, buf, sizeof buf) == 0);  // EOF
      ::close(fd);
      errno = 0;
      CHECK(::read(fd, buf, sizeof buf) == -1);  // closed: libc's EBADF
      CHECK(errno == EBADF);
    }).join();
  });
  CHECK(rt.get_handle().metrics().blocking_threads > before);  // the reads ran on the pool
  ::unlink(path);
}
