// SPDX-License-Identifier: MIT
// Tests of weft::this_fiber (this_fiber.hpp): identity, yield order,
// check_cancelled, and readiness waits on pipes (fibers and plain threads).
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <memory>
#include <string>
#include <system_error>
#include <thread>
#include <tuple>
#include <vector>

#include "support/runtime_fixture.hpp"

using namespace std::chrono_literals;
using weft::time::clock;

namespace {
// fill() writes into a non-blocking fd until the pipe is full; returns bytes.
std::size_t fill(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  char buf[4096] = {};
  std::size_t total = 0;
  for (;;) {
    const ssize_t n = ::write(fd, buf, sizeof buf);
    if (n <= 0) break;
    total += static_cast<std::size_t>(n);
  }
  ::fcntl(fd, F_SETFL, flags);
  return total;
}
}  // namespace

TEST_CASE("this_fiber: on_fiber, id and name", "[fibers][this_fiber]") {
  CHECK_FALSE(weft::this_fiber::on_fiber());
  CHECK(weft::this_fiber::id() == 0);
  CHECK(weft::this_fiber::name().empty());
  weft::this_fiber::yield();            // a plain thread: std::this_thread::yield
  weft::this_fiber::check_cancelled();  // nothing to deliver

  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  struct outcome {
    bool on_fiber = false, child_on_fiber = false, blocking_on_fiber = true;
    bool ids_differ = false, child_id_matches = false;
    std::string child_name;
  };
  const outcome o = rt.block_on([] {
    outcome r;
    r.on_fiber = weft::this_fiber::on_fiber();
    const std::uint64_t mine = weft::this_fiber::id();
    auto child = weft::spawn_with({"child"}, [] {
      return std::make_tuple(weft::this_fiber::on_fiber(), weft::this_fiber::id(),
                             std::string(weft::this_fiber::name()));
    });
    const std::uint64_t child_handle_id = child.id();
    auto [on, id, nm] = child.join();
    r.child_on_fiber = on;
    r.child_id_matches = id == child_handle_id;
    r.ids_differ = id != mine && mine != 0;
    r.child_name = nm;
    r.blocking_on_fiber = weft::spawn_blocking([] { return weft::this_fiber::on_fiber(); }).join();
    return r;
  });
  CHECK(o.on_fiber);
  CHECK(o.child_on_fiber);
  CHECK(o.child_id_matches);
  CHECK(o.ids_differ);
  CHECK(o.child_name == "child");
  CHECK_FALSE(o.blocking_on_fiber);
}

TEST_CASE("this_fiber: yield hands the worker to the other ready fibers in turn",
          "[fibers][this_fiber]") {
  // On one worker, two fibers that yield alternate strictly.
  const int workers = GENERATE(0, 1);
  INFO(weft_test::flavour_name(workers));
  auto rt = weft_test::make_runtime(workers);
  const std::string trace = rt.block_on([] {
    std::string t;
    auto body = [&t](char c) {
      for (int i = 0; i < 6; ++i) {
        t += c;
        weft::this_fiber::yield();
      }
    };
    auto a = weft::spawn(body, 'a');
    auto b = weft::spawn(body, 'b');
    a.join();
    b.join();
    return t;
  });
  REQUIRE(trace.size() == 12);
  int repeats = 0;
  for (std::size_t i = 1; i < trace.size(); ++i) repeats += trace[i] == trace[i - 1];
  INFO(trace);
  CHECK(repeats == 0);
}

TEST_CASE("this_fiber: wait_readable wakes when a pipe gets data", "[fibers][this_fiber][io]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    weft_test::pipe_fds p;
    REQUIRE(p.ok());
    auto rt = weft_test::make_runtime(workers);
    struct outcome {
      bool ready = false;
      std::string got;
    };
    const outcome o = rt.block_on([&p] {
      outcome r;
      auto reader = weft::spawn([&p] {
        auto res = weft::this_fiber::wait_readable(p.read_end());
        char buf[16] = {};
        const ssize_t n = res ? ::read(p.read_end(), buf, sizeof buf) : -1;
        return std::make_pair(res.has_value(),
                              n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "");
      });
      weft_test::spin_until([&] { return weft_test::in_weft_wait(reader); });
      const ssize_t w = ::write(p.write_end(), "weft", 4);
      (void)w;
      auto [ok, text] = reader.join();
      r.ready = ok;
      r.got = text;
      return r;
    });
    CHECK(o.ready);
    CHECK(o.got == "weft");
  }
  leaks.finish();
}

TEST_CASE("this_fiber: wait_writable returns at once when there is room, waits when full",
          "[fibers][this_fiber][io]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    weft_test::pipe_fds p;
    REQUIRE(p.ok());
    auto rt = weft_test::make_runtime(workers);
    struct outcome {
      bool room = false, was_parked = false, after_drain = false;
      std::size_t filled = 0;
    };
    const outcome o = rt.block_on([&p] {
      outcome r;
      r.room = weft::this_fiber::wait_writable(p.write_end()).has_value();
      r.filled = fill(p.write_end());
      auto writer =
          weft::spawn([&p] { return weft::this_fiber::wait_writable(p.write_end()).has_value(); });
      r.was_parked = weft_test::spin_until([&] { return weft_test::in_weft_wait(writer); });
      // Drain the pipe: the writer becomes ready.
      char buf[4096];
      std::size_t left = r.filled;
      while (left > 0) {
        const ssize_t n = ::read(p.read_end(), buf, sizeof buf);
        if (n <= 0) break;
        left -= static_cast<std::size_t>(n);
      }
      r.after_drain = writer.join();
      return r;
    });
    CHECK(o.room);
    CHECK(o.filled > 0);
    CHECK(o.was_parked);
    CHECK(o.after_drain);
  }
  leaks.finish();
}

TEST_CASE("this_fiber: wait_readable times out on a pipe with no data (paused clock)",
          "[fibers][this_fiber][io]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    weft_test::pipe_fds p;
    REQUIRE(p.ok());
    auto rt = weft_test::make_runtime(workers, /*paused=*/true);
    struct outcome {
      bool timed_out = false;
      bool std_timed_out = false;
      clock::duration took{};
      bool readable_later = false;
    };
    const outcome o = rt.block_on([&p] {
      outcome r;
      const auto t0 = clock::now();
      auto res = weft::this_fiber::wait_readable(p.read_end(), t0 + 5s);
      r.took = clock::now() - t0;
      r.timed_out = !res && res.error() == weft::errc::timeout;
      r.std_timed_out = !res && res.error() == std::errc::timed_out;
      // The same fd still works afterwards.
      const ssize_t w = ::write(p.write_end(), "x", 1);
      (void)w;
      r.readable_later =
          weft::this_fiber::wait_readable(p.read_end(), clock::now() + 5s).has_value();
      return r;
    });
    CHECK(o.timed_out);
    CHECK(o.std_timed_out);
    CHECK(o.took == 5s);
    CHECK(o.readable_later);
  }
  leaks.finish();
}

TEST_CASE("this_fiber: wait_readable reports hang-up when the writer closes",
          "[fibers][this_fiber][io]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    weft_test::pipe_fds p;
    REQUIRE(p.ok());
    auto rt = weft_test::make_runtime(workers);
    const std::pair<bool, ssize_t> o = rt.block_on([&p] {
      auto reader = weft::spawn([&p] {
        auto res = weft::this_fiber::wait_readable(p.read_end());
        char c;
        return std::make_pair(res.has_value(), ::read(p.read_end(), &c, 1));
      });
      weft_test::spin_until([&] { return weft_test::in_weft_wait(reader); });
      p.close_write();
      return reader.join();
    });
    CHECK(o.first);
    CHECK(o.second == 0);  // EOF
  }
  leaks.finish();
}

TEST_CASE("this_fiber: a fiber waiting on an fd can be aborted",
          "[fibers][this_fiber][io][cancel]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    weft_test::pipe_fds p;
    REQUIRE(p.ok());
    auto rt = weft_test::make_runtime(workers);
    std::atomic<int> unwound{0};
    struct outcome {
      std::string res;
      bool later_wait_ok = false;
    };
    const outcome o = rt.block_on([&] {
      outcome r;
      auto reader = weft::spawn([&] {
        weft_test::on_destroy flag(unwound);
        (void)weft::this_fiber::wait_readable(p.read_end());
      });
      weft_test::spin_until([&] { return weft_test::in_weft_wait(reader); });
      reader.abort();
      r.res = weft_test::outcome_of([&] { reader.join(); });
      // The aborted wait's registration is gone: data arriving now is
      // harmless, and a new waiter sees it.
      const ssize_t w = ::write(p.write_end(), "y", 1);
      (void)w;
      r.later_wait_ok = weft::spawn([&p] {
                          return weft::this_fiber::wait_readable(p.read_end()).has_value();
                        }).join();
      return r;
    });
    CHECK(o.res == "cancelled");
    CHECK(unwound.load() == 1);
    CHECK(o.later_wait_ok);
  }
  leaks.finish();
}

TEST_CASE("this_fiber: many fibers wait on many pipes", "[fibers][this_fiber][io]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  weft_test::leak_check leaks;
  {
    constexpr int kPipes = 64;
    std::vector<std::unique_ptr<weft_test::pipe_fds>> pipes;
    for (int i = 0; i < kPipes; ++i) pipes.push_back(std::make_unique<weft_test::pipe_fds>());
    for (auto& p : pipes) REQUIRE(p->ok());
    auto rt = weft_test::make_runtime(workers);
    const int sum = rt.block_on([&pipes] {
      std::vector<weft::join_handle<int>> readers;
      for (int i = 0; i < kPipes; ++i) {
        readers.push_back(weft::spawn([&pipes, i] {
          const int fd = pipes[static_cast<std::size_t>(i)]->read_end();
          if (!weft::this_fiber::wait_readable(fd)) return -1000;
          unsigned char v = 0;
          return ::read(fd, &v, 1) == 1 ? static_cast<int>(v) : -1000;
        }));
      }
      // Writers on other fibers, in reverse order.
      std::vector<weft::join_handle<void>> writers;
      for (int i = kPipes - 1; i >= 0; --i) {
        writers.push_back(weft::spawn([&pipes, i] {
          weft::this_fiber::yield();
          const unsigned char v = static_cast<unsigned char>(i);
          const ssize_t w = ::write(pipes[static_cast<std::size_t>(i)]->write_end(), &v, 1);
          (void)w;
        }));
      }
      for (auto& w : writers) w.join();
      int s = 0;
      for (auto& r : readers) s += r.join();
      return s;
    });
    CHECK(sum == kPipes * (kPipes - 1) / 2);
  }
  leaks.finish();
}

TEST_CASE("this_fiber: readiness waits on a plain thread use poll",
          "[fibers][this_fiber][io][timing]") {
  weft_test::pipe_fds p;
  REQUIRE(p.ok());
  CHECK(weft::this_fiber::wait_writable(p.write_end()).has_value());
  const auto t0 = std::chrono::steady_clock::now();
  auto none = weft::this_fiber::wait_readable(p.read_end(), clock::now() + 20ms);
  CHECK(std::chrono::steady_clock::now() - t0 >= 20ms);
  CHECK_FALSE(none.has_value());
  CHECK(none.error() == weft::errc::timeout);
  // Data written by another thread wakes the waiting thread.
  std::thread writer([&p] {
    const ssize_t w = ::write(p.write_end(), "z", 1);
    (void)w;
  });
  CHECK(weft::this_fiber::wait_readable(p.read_end(), clock::now() + 10s).has_value());
  writer.join();
}

TEST_CASE("this_fiber: waiting on an invalid fd reports EBADF", "[fibers][this_fiber][io]") {
  auto plain = weft::this_fiber::wait_readable(-1);
  CHECK_FALSE(plain.has_value());
  CHECK(plain.error() == std::errc::bad_file_descriptor);
  auto rt = weft_test::make_runtime(1);
  const bool fiber_ebadf = rt.block_on([] {
    auto r = weft::this_fiber::wait_writable(-1);
    return !r && r.error() == std::errc::bad_file_descriptor;
  });
  CHECK(fiber_ebadf);
}
