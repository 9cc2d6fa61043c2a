// SPDX-License-Identifier: MIT
// The fiber dump (runtime::dump, docs/diagnostics.md; issue 11): each kind
// of wait is named with its object, deadline and spawn site, running and
// parked states are told apart, and the JSON form parses.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <shared_mutex>
#include <sstream>
#include <string>
#include <vector>

#include "weft/fibers.hpp"
#include "weft/sync.hpp"

using namespace std::chrono_literals;

namespace {

// lines_of() maps each fiber's name to its dump line.
std::map<std::string, std::string> lines_of(const std::string& dump) {
  std::map<std::string, std::string> out;
  std::istringstream in(dump);
  std::string line;
  while (std::getline(in, line)) {
    const auto q = line.find('\'');
    if (q == std::string::npos) continue;
    const auto e = line.find('\'', q + 1);
    out[line.substr(q + 1, e - q - 1)] = line;
  }
  return out;
}

// wait_parked() waits until every name in `names` shows as parked in the
// dump (the fibers park right after they start); returns the last dump.
std::string wait_parked(const std::vector<std::string>& names) {
  const auto give_up = std::chrono::steady_clock::now() + 10s;
  std::string d;
  for (;;) {
    d = weft::handle::current().dump();
    const auto ls = lines_of(d);
    bool all = true;
    for (const auto& n : names) {
      auto it = ls.find(n);
      all = all && it != ls.end() && it->second.find(" parked: ") != std::string::npos;
    }
    if (all || std::chrono::steady_clock::now() > give_up) return d;
    weft::this_fiber::yield();
  }
}

}  // namespace

TEST_CASE("dump: each kind of wait is named with its object and deadline", "[sync][dump]") {
  auto rt = weft::builder::multi_thread().worker_threads(2).build();
  rt.block_on([] {
    using namespace weft::sync;
    std::vector<weft::join_handle<void>> hs;
    auto on = [&hs](const char* name, auto f) {
      hs.push_back(weft::spawn_with({.name = name}, [f]() mutable {
        try {
          f();
        } catch (const weft::cancelled&) {
        }
      }));
    };
    auto [tx_full, rx_full] = mpsc::channel<int>(1);
    REQUIRE(tx_full.try_send(1));
    auto [tx_empty, rx_empty] = mpsc::channel<int>(4);
    auto [os_tx, os_rx] = oneshot::channel<int>();
    auto [bc_tx, bc_rx] = broadcast::channel<int>(4);
    auto [w_tx, w_rx] = watch::channel<int>(0);
    auto [s1_tx, s1_rx] = mpsc::channel<int>(1);
    auto [s2_tx, s2_rx] = mpsc::channel<int>(1);
    notify nt;
    semaphore sem(0);
    mutex mx;
    rwlock rw;
    condition_variable cv;
    mutex cv_m;
    barrier bar(2);
    cancellation_token tok;
    std::unique_lock<mutex> held(mx);
    std::shared_lock<rwlock> read_held(rw);

    on("sleeper", [] { weft::time::sleep_for(1h); });
    on("receiver", [&rx_empty] { (void)rx_empty.recv(); });
    on("sender", [&tx_full] { (void)tx_full.send(2); });
    on("oneshot", [&os_rx] { (void)os_rx.recv(); });
    on("broadcast", [&bc_rx] { (void)bc_rx.recv(); });
    on("watch", [&w_rx] { (void)w_rx.changed(); });
    on("selector", [&] {
      (void)select(on_recv(s1_rx, [](int) {}), on_recv(s2_rx, [](int) {}));
    });
    on("notified", [&nt] { nt.notified(); });
    on("permit", [&sem] { (void)sem.acquire_for(1h); });
    on("locker", [&mx] { std::lock_guard<mutex> g(mx); });
    on("writer", [&rw] { std::lock_guard<rwlock> g(rw); });
    on("cv", [&] {
      std::unique_lock<mutex> g(cv_m);
      cv.wait(g);
    });
    on("barrier", [&bar] { (void)bar.wait(); });
    on("token", [&tok] { tok.cancelled(); });
    auto target = weft::spawn_with({.name = "target"}, [&nt] {
      try {
        weft::time::sleep_for(2h);
      } catch (const weft::cancelled&) {
      }
    });
    on("joiner", [&target] { target.join(); });

    const std::string d = wait_parked({"sleeper", "receiver", "sender", "oneshot", "broadcast",
                                       "watch", "selector", "notified", "permit", "locker",
                                       "writer", "cv", "barrier", "token", "joiner"});
    INFO(d);
    const auto ls = lines_of(d);
    auto has = [&ls](const std::string& who, const std::string& what) {
      auto it = ls.find(who);
      return it != ls.end() && it->second.find(what) != std::string::npos;
    };
    CHECK(d.rfind("weft runtime: 2 workers, ", 0) == 0);
    CHECK(has("sleeper", "parked: sleep, for "));
    {
      // sleep_for(1h) began a moment ago: 3600 s minus that moment, printed
      // to the millisecond (3600.000 when under half a millisecond passed).
      const std::string& l = ls.at("sleeper");
      const auto at = l.find(", deadline in ");
      REQUIRE(at != std::string::npos);
      const double left = std::stod(l.substr(at + std::string(", deadline in ").size()));
      CHECK(left > 3500.0);
      CHECK(left <= 3600.0);
    }
    CHECK(has("receiver", "parked: channel receive at 0x"));
    CHECK(has("sender", "parked: channel send at 0x"));
    CHECK(has("oneshot", "parked: oneshot receive"));
    CHECK(has("broadcast", "parked: broadcast receive"));
    CHECK(has("watch", "parked: watch changed"));
    CHECK(has("selector", "parked: select (2 branches)"));
    CHECK(has("notified", "parked: notify wait"));
    CHECK(has("permit", "parked: semaphore acquire (1 permit)"));
    CHECK(has("permit", "deadline in "));
    CHECK(has("locker", "parked: mutex lock"));
    CHECK(has("writer", "parked: rwlock write lock"));
    CHECK(has("cv", "parked: condition variable wait"));
    CHECK(has("barrier", "parked: barrier wait"));
    CHECK(has("token", "parked: cancellation token wait"));
    CHECK(has("joiner", "parked: join (task " + std::to_string(target.id()) + ")"));
    CHECK(has("sleeper", "spawned at "));
    CHECK(has("sleeper", "dump_test.cpp:"));

    // The same as JSON.
    const auto j = nlohmann::json::parse(weft::handle::current().dump(weft::dump_format::json));
    CHECK(j["workers"] == 2);
    std::map<std::string, nlohmann::json> by_name;
    for (const auto& t : j["tasks"]) by_name[t["name"].get<std::string>()] = t;
    REQUIRE(by_name.count("selector") == 1);
    CHECK(by_name["selector"]["state"] == "parked");
    CHECK(by_name["selector"]["wait"]["on"] == "select");
    CHECK(by_name["selector"]["wait"]["branches"] == 2);
    CHECK(by_name["joiner"]["wait"]["task"] == target.id());
    CHECK(by_name["sleeper"]["wait"]["deadline_in_ns"].get<std::int64_t>() > 3500LL * 1000000000);
    CHECK(by_name["sleeper"]["spawned_at"]["line"].get<int>() > 0);
    CHECK(by_name["block_on"]["state"] == "running");
    CHECK(by_name["block_on"]["worker"].get<int>() >= 0);

    // Unblock everything; the dump then lists only this fiber.
    held.unlock();
    read_held.unlock();
    for (auto& h : hs) h.abort();
    target.abort();
    for (auto& h : hs) h.join();
    target.join();
    // A joined task leaves the registry right after it woke its joiner.
    std::map<std::string, std::string> after;
    const auto give_up = std::chrono::steady_clock::now() + 10s;
    do {
      weft::this_fiber::yield();
      after = lines_of(weft::handle::current().dump());
    } while (after.size() != 1 && std::chrono::steady_clock::now() < give_up);
    CHECK(after.size() == 1);
    CHECK(after.count("block_on") == 1);
  });
}

TEST_CASE("dump: a fiber that runs shows its worker, a new one shows as new", "[sync][dump]") {
  auto rt = weft::builder::multi_thread().worker_threads(2).build();
  rt.block_on([] {
    std::atomic<bool> stop{false}, spinning{false};
    auto spinner = weft::spawn_with({.name = "spinner"}, [&] {
      spinning = true;
      while (!stop) {
      }
    });
    while (!spinning) weft::this_fiber::yield();
    const auto ls = lines_of(weft::handle::current().dump());
    REQUIRE(ls.count("spinner") == 1);
    CHECK(ls.at("spinner").find(" running on worker ") != std::string::npos);
    CHECK(ls.at("block_on").find(" running on worker ") != std::string::npos);
    stop = true;
    spinner.join();
  });
  // Off a fiber (from the thread that owns the runtime), with a blocking job.
  std::atomic<bool> release{false}, started{false};
  auto job = rt.spawn_blocking([&] {
    started = true;
    while (!release) std::this_thread::yield();
  });
  while (!started) std::this_thread::yield();
  const std::string d = rt.dump();
  INFO(d);
  CHECK(d.find("job ") != std::string::npos);
  CHECK(d.find(" blocking; ") != std::string::npos);
  release = true;
  rt.block_on([&job] { job.join(); });
}
