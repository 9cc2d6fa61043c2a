// SPDX-License-Identifier: MIT
// The diagnostic mode's high-water report (docs/diagnostics.md "Common
// mistakes"): live fibers passing builder::fiber_high_water are reported
// once, with the spawn site holding most of them, again only after they
// fell below half the mark; nothing below the mark, nothing with the mode
// off, and set_diagnostics() switches it at run time. (The held-lock report
// needs the hook layer: tests/hook/held_lock_test.cpp.)
#include <catch2/catch.hpp>
#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "weft/fibers.hpp"

using namespace std::chrono_literals;

namespace {

struct topic_log {
  std::mutex m;
  std::vector<std::string> lines;
  weft::log_callback sink(std::string topic) {
    return [this, topic](const weft::log_record& r) {
      if (r.topic != topic) return;
      std::lock_guard<std::mutex> lk(m);
      lines.emplace_back(r.message);
    };
  }
  std::vector<std::string> all() {
    std::lock_guard<std::mutex> lk(m);
    return lines;
  }
};

// park_many() spawns `n` fibers that sleep until aborted, then aborts and
// drains them.
void park_many(int n) {
  weft::join_set<void> set;
  for (int i = 0; i < n; ++i) set.spawn([] { weft::time::sleep(1h); });
  set.abort_all();
  for (;;) {
    try {
      if (!set.join_next()) break;
    } catch (const weft::join_error&) {
    }
  }
}

// churn() spawns and joins `n` short fibers one at a time: few alive.
void churn(int n) {
  for (int i = 0; i < n; ++i) weft::spawn([] {}).join();
}

}  // namespace

TEST_CASE("diagnostics: live fibers at the high-water mark are reported once per rise",
          "[fibers][diagnostics]") {
  const int workers = GENERATE(0, 2);
  INFO("workers " << workers);
  topic_log log;
  auto b = workers == 0 ? weft::builder::current_thread() : weft::builder::multi_thread();
  if (workers) b.worker_threads(static_cast<std::size_t>(workers));
  auto rt = b.diagnostics(true).fiber_high_water(300).log_sink(log.sink("high-water")).build();
  REQUIRE(rt.get_handle().diagnostics());
  const auto reports = rt.block_on([] {
    park_many(2000);  // one report, not one per check above the mark
    const auto first = weft::handle::current().metrics().high_water_reports;
    churn(1000);      // below half the mark: re-armed
    park_many(2000);  // the second rise
    return std::make_pair(first, weft::handle::current().metrics().high_water_reports);
  });
  CHECK(reports.first == 1);
  CHECK(reports.second == 2);
  const auto lines = log.all();
  REQUIRE(lines.size() == 2);
  INFO(lines[0]);
  CHECK(lines[0].find("high-water mark of 300") != std::string::npos);
  CHECK(lines[0].find("diagnostics_test.cpp") != std::string::npos);  // the spawn site
  CHECK(lines[0].find("join_set::set_limit") != std::string::npos);   // the advice
}

TEST_CASE("diagnostics: no high-water report below the mark or with the mode off",
          "[fibers][diagnostics]") {
  topic_log log;
  SECTION("below the mark") {
    auto rt = weft::builder::multi_thread()
                  .worker_threads(2)
                  .diagnostics(true)
                  .fiber_high_water(5000)
                  .log_sink(log.sink("high-water"))
                  .build();
    rt.block_on([] { park_many(2000); });
    CHECK(rt.get_handle().metrics().high_water_reports == 0);
  }
  SECTION("mode off, then switched on at run time") {
    auto rt = weft::builder::multi_thread()
                  .worker_threads(2)
                  .diagnostics(false)
                  .fiber_high_water(300)
                  .log_sink(log.sink("high-water"))
                  .build();
    CHECK_FALSE(rt.get_handle().diagnostics());
    rt.block_on([] { park_many(2000); });
    CHECK(rt.get_handle().metrics().high_water_reports == 0);
    CHECK(log.all().empty());
    rt.get_handle().set_diagnostics(true);
    CHECK(rt.get_handle().diagnostics());
    rt.block_on([] { park_many(2000); });
    CHECK(rt.get_handle().metrics().high_water_reports == 1);
  }
  SECTION("mark 0 turns the report off") {
    auto rt = weft::builder::current_thread()
                  .diagnostics(true)
                  .fiber_high_water(0)
                  .log_sink(log.sink("high-water"))
                  .build();
    rt.block_on([] { park_many(2000); });
    CHECK(rt.get_handle().metrics().high_water_reports == 0);
  }
  CHECK(log.all().size() <= 1);
}
