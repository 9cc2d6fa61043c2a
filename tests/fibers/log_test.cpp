// SPDX-License-Identifier: MIT
// The log sink (log.hpp) and what reports through it (issue 9): exceptions
// no join can observe (the unhandled-exception policy), the rate limit, and
// join_error's message.
#include <atomic>
#include <catch2/catch.hpp>
#include <csignal>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/child_process.hpp"
#include "support/runtime_fixture.hpp"

namespace {

constexpr const char* kChildEnv = "WEFT_TEST_LOG_CHILD";

// captured_log collects the records of a runtime's sink.
struct captured_log {
  std::mutex m;
  std::vector<weft::log_record> records;  // views copied into `text`
  std::vector<std::string> text;          // "topic|message|suppressed"

  weft::log_callback sink() {
    return [this](const weft::log_record& r) {
      std::lock_guard<std::mutex> lk(m);
      text.push_back(std::string(r.topic) + "|" + std::string(r.message) + "|" +
                     std::to_string(r.suppressed));
    };
  }
  std::vector<std::string> with_topic(const std::string& topic) {
    std::lock_guard<std::mutex> lk(m);
    std::vector<std::string> out;
    for (auto& t : text) {
      if (t.rfind(topic + "|", 0) == 0) out.push_back(t);
    }
    return out;
  }
};

weft::runtime make(int workers, captured_log& log,
                   weft::unhandled_exception_policy p = weft::unhandled_exception_policy::report) {
  auto b = workers == 0
               ? weft::builder::current_thread()
               : weft::builder::multi_thread().worker_threads(static_cast<std::size_t>(workers));
  return b.log_sink(log.sink()).unhandled_exception(p).build();
}

}  // namespace

TEST_CASE("log: an exception escaping a detached fiber is reported with its task (issue 9)",
          "[fibers][log][regression]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  captured_log log;
  {
    auto rt = make(workers, log);
    rt.block_on([] {
      // Detached before it throws.
      std::atomic<bool> go{false};
      auto a = weft::spawn_with({"early"}, [&] {
        while (!go.load()) weft::this_fiber::yield();
        throw std::runtime_error("disk full");
      });
      const std::uint64_t a_id = a.id();
      a.detach();
      go = true;
      // Detached after it threw (a non-std exception).
      auto b = weft::spawn_with({"late"}, [] { throw 42; });
      while (!b.is_finished()) weft::this_fiber::yield();
      b = {};  // dropping the handle is detaching
      // A blocking job, dropped unjoined.
      auto c = weft::spawn_blocking([] { throw std::logic_error("bad state"); });
      while (!c.is_finished()) weft::this_fiber::yield();
      c.detach();
      return a_id;
    });
  }
  const auto r = log.with_topic("unhandled_exception");
  REQUIRE(r.size() == 3);
  std::string all;
  for (auto& s : r) all += s + "\n";
  INFO(all);
  CHECK_THAT(all, Catch::Contains("'early'") && Catch::Contains("std::runtime_error: disk full"));
  CHECK_THAT(all, Catch::Contains("'late'") && Catch::Contains("an exception of type int"));
  CHECK_THAT(all,
             Catch::Contains("(a blocking job)") && Catch::Contains("std::logic_error: bad state"));
}

TEST_CASE(
    "log: joined or cancelled tasks and block_on failures are not reported as unhandled (issue 9)",
    "[fibers][log][regression]") {
  const int workers = WEFT_RUNTIME_FLAVOURS();
  INFO(weft_test::flavour_name(workers));
  captured_log log;
  {
    auto rt = make(workers, log);
    CHECK_THROWS_AS(rt.block_on([] { throw std::runtime_error("to block_on's caller"); }),
                    std::runtime_error);
    rt.block_on([] {
      auto joined = weft::spawn([] { throw std::runtime_error("joined"); });
      CHECK_THROWS_AS(joined.join(), weft::join_error);
      auto aborted = weft::spawn([] { weft::time::sleep(std::chrono::hours(1)); });
      aborted.abort();
      aborted.detach();  // ends cancelled: nothing to report
      weft::join_set<int> set;
      set.spawn([] { return 1; });
      CHECK(set.join_next() == 1);
    });
  }
  CHECK(log.with_topic("unhandled_exception").empty());
}

TEST_CASE("log: a join_set destroyed before its task threw reports it (issue 9)",
          "[fibers][log][join_set][regression]") {
  captured_log log;
  {
    auto rt = make(2, log);
    // The set is owned by this plain thread, so the spinning task can hold
    // a worker without holding up the test.
    std::atomic<bool> started{false}, go{false};
    {
      weft::join_set<void> set(rt.get_handle());
      set.spawn([&] {
        started = true;
        while (!go.load()) {
        }  // no weft call: the set's abort is never delivered
        throw std::runtime_error("in a set");
      });
      REQUIRE(weft_test::spin_until([&] { return started.load(); }));
    }  // destroyed: the task is aborted and detached
    go = true;
  }
  const auto r = log.with_topic("unhandled_exception");
  REQUIRE(r.size() == 1);
  CHECK_THAT(r[0], Catch::Contains("std::runtime_error: in a set"));
}

TEST_CASE("log: the ignore policy reports nothing (issue 9)", "[fibers][log][regression]") {
  captured_log log;
  {
    auto rt = make(1, log, weft::unhandled_exception_policy::ignore);
    rt.block_on([] {
      auto h = weft::spawn([] { throw std::runtime_error("ignored"); });
      h.detach();
    });
  }
  CHECK(log.with_topic("unhandled_exception").empty());
}

// The child's body for the terminate policy; does nothing unless started by
// run_child().
TEST_CASE("log: child process", "[.][log_child]") {
  const char* mode = std::getenv(kChildEnv);
  if (!mode) return;
  if (std::string(mode) == "terminate") {
    auto rt = weft::builder::multi_thread()
                  .worker_threads(2)
                  .unhandled_exception(weft::unhandled_exception_policy::terminate)
                  .build();
    rt.block_on([] {
      weft::spawn_with({"fatal"}, [] { throw std::runtime_error("cannot go on"); }).detach();
      weft::time::sleep(std::chrono::hours(1));  // terminate comes first
    });
  }
  std::_Exit(0);  // survived: the parent sees exit code 0
}

TEST_CASE("log: the terminate policy reports and then terminates the process (issue 9)",
          "[fibers][log][regression]") {
  const weft_test::child_end d = weft_test::run_child("log: child process", kChildEnv, "terminate");
  INFO("child stderr: " << d.stderr_text);
  CHECK(d.signalled);
  CHECK(d.signal == SIGABRT);
  CHECK_THAT(d.stderr_text, Catch::Contains("weft: error: unhandled_exception: task") &&
                                Catch::Contains("'fatal'") &&
                                Catch::Contains("std::runtime_error: cannot go on"));
}

TEST_CASE("log: join_error says what the task threw (issue 9)", "[fibers][log][regression]") {
  auto rt = weft_test::make_runtime(1);
  const std::string what = rt.block_on([] {
    auto h = weft::spawn_with({"loader"}, [] { throw std::runtime_error("no such file"); });
    try {
      h.join();
    } catch (const weft::join_error& e) {
      return std::string(e.what());
    }
    return std::string("no join_error");
  });
  CHECK_THAT(what, Catch::StartsWith("weft: task ") && Catch::Contains("'loader' panicked: ") &&
                       Catch::EndsWith("std::runtime_error: no such file"));
  const std::string other = rt.block_on([] {
    auto h = weft::spawn([] { throw 7; });
    try {
      h.join();
    } catch (const weft::join_error& e) {
      return std::string(e.what());
    }
    return std::string("no join_error");
  });
  CHECK_THAT(other, Catch::EndsWith("panicked: an exception of type int"));
}

TEST_CASE("log: records are rate-limited per topic and count what was dropped (issue 9)",
          "[fibers][log]") {
  captured_log log;
  {
    auto rt = weft::builder::current_thread().log_sink(log.sink()).log_rate_limit(5).build();
    rt.block_on([] {
      for (int i = 0; i < 50; ++i) weft::detail::report(weft::log_level::warn, "flood", "again");
      weft::detail::report(weft::log_level::warn, "other", "independent");
    });
  }
  CHECK(log.with_topic("flood").size() == 5);
  CHECK(log.with_topic("other").size() == 1);
}

TEST_CASE("log: an empty sink drops records and a throwing sink is contained", "[fibers][log]") {
  {
    auto rt = weft::builder::current_thread().log_sink({}).build();
    rt.block_on([] { weft::spawn([] { throw 1; }).detach(); });
  }
  {
    auto rt = weft::builder::current_thread()
                  .log_sink([](const weft::log_record&) { throw std::runtime_error("sink broke"); })
                  .build();
    rt.block_on([] { weft::spawn([] { throw 1; }).detach(); });
  }
  SUCCEED("no exception escaped into the runtime");
}
