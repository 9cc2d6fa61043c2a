// SPDX-License-Identifier: MIT
// libpq, unchanged, on many weft fibers on 2 workers against a real
// PostgreSQL cluster the test creates and always stops (pg_cluster.hpp).
// libpq makes its socket non-blocking and waits in poll(): both hooked, so
// a fiber waiting for the server parks instead of holding a worker.
#include <libpq-fe.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <string>

#include "clients/pg_cluster.hpp"
#include "weft/fibers.hpp"
#include "weft/hook.hpp"
#include "weft/sync.hpp"

using namespace std::chrono_literals;

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr int kConnections = 40;
constexpr int kFibersPerConnection = 5;
#else
constexpr int kConnections = 200;
constexpr int kFibersPerConnection = 10;  // 2,000 fibers
#endif

// The one cluster of this test binary, started on first use.
clients_test::pg_cluster& cluster() {
  static clients_test::pg_cluster c(kConnections + 60);
  return c;
}

// exec_ok() runs `sql` and says whether it succeeded as `want`.
bool exec_ok(PGconn* c, const char* sql, ExecStatusType want = PGRES_COMMAND_OK) {
  PGresult* r = PQexec(c, sql);
  const bool ok = PQresultStatus(r) == want;
  PQclear(r);
  return ok;
}

long query_long(PGconn* c, const std::string& sql) {
  PGresult* r = PQexec(c, sql.c_str());
  long v = -1;
  if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) v = std::atol(PQgetvalue(r, 0, 0));
  PQclear(r);
  return v;
}

}  // namespace

TEST_CASE("clients: libpq queries from 2000 fibers on 2 workers with exact results", "[clients]") {
  REQUIRE(weft::hook::active());
  auto& pg = cluster();
  if (!pg.available()) {
    WARN("skipped: " << pg.why());
    return;
  }
  const std::size_t tracked0 = weft::hook::tracked_descriptors();
  std::atomic<int> failures{0};
  std::atomic<long> queries{0};
  const auto t0 = std::chrono::steady_clock::now();
  {
    auto rt = weft::builder::multi_thread().worker_threads(2).build();
    rt.block_on([&] {
      {
        PGconn* c = PQconnectdb(pg.conninfo().c_str());
        REQUIRE(PQstatus(c) == CONNECTION_OK);
        REQUIRE(exec_ok(c, "DROP TABLE IF EXISTS items"));
        REQUIRE(exec_ok(c, "CREATE TABLE items (fiber int, n int, v bigint)"));
        PQfinish(c);
      }
      // kConnections connections, each shared by kFibersPerConnection fibers
      // through a weft mutex (a libpq connection runs one query at a time).
      weft::join_set<void> set;
      for (int k = 0; k < kConnections; ++k) {
        set.spawn([&, k] {
          PGconn* c = PQconnectdb(pg.conninfo().c_str());
          if (PQstatus(c) != CONNECTION_OK) {
            failures.fetch_add(1);
            PQfinish(c);
            return;
          }
          weft::sync::mutex lock;
          weft::join_set<void> users;
          for (int u = 0; u < kFibersPerConnection; ++u) {
            users.spawn([&, u] {
              const int fiber = k * kFibersPerConnection + u;
              for (int n = 0; n < 5; ++n) {
                std::lock_guard<weft::sync::mutex> g(lock);
                const std::string v = std::to_string(static_cast<long>(fiber) * 1000 + n);
                const char* params[3];
                const std::string fs = std::to_string(fiber), ns = std::to_string(n);
                params[0] = fs.c_str();
                params[1] = ns.c_str();
                params[2] = v.c_str();
                PGresult* r = PQexecParams(c, "INSERT INTO items VALUES ($1, $2, $3)", 3, nullptr,
                                           params, nullptr, nullptr, 0);
                if (PQresultStatus(r) != PGRES_COMMAND_OK) failures.fetch_add(1);
                PQclear(r);
                queries.fetch_add(1);
              }
              std::lock_guard<weft::sync::mutex> g(lock);
              const long got =
                  query_long(c, "SELECT sum(v) FROM items WHERE fiber = " + std::to_string(fiber));
              const long want = static_cast<long>(fiber) * 1000 * 5 + (0 + 1 + 2 + 3 + 4);
              if (got != want) failures.fetch_add(1);
              queries.fetch_add(1);
            });
          }
          while (users.join_next()) {
          }
          PQfinish(c);
        });
      }
      while (set.join_next()) {
      }
      PGconn* c = PQconnectdb(pg.conninfo().c_str());
      const long fibers = static_cast<long>(kConnections) * kFibersPerConnection;
      CHECK(query_long(c, "SELECT count(*) FROM items") == fibers * 5);
      CHECK(query_long(c, "SELECT count(DISTINCT fiber) FROM items") == fibers);
      PQfinish(c);
    });
  }  // the runtime's own descriptors are closed with it
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  WARN(kConnections * kFibersPerConnection << " fibers on " << kConnections
                                           << " libpq connections, 2 workers: " << queries.load()
                                           << " queries in " << ms << " ms");
  CHECK(failures.load() == 0);
  CHECK(weft::hook::tracked_descriptors() <= tracked0);
}

TEST_CASE("clients: 100 concurrent pg_sleep(0.5) on 2 workers take about one sleep", "[clients]") {
  auto& pg = cluster();
  if (!pg.available()) {
    WARN("skipped: " << pg.why());
    return;
  }
  constexpr int kSleepers = 100;
  std::atomic<int> ok{0};
  auto rt = weft::builder::multi_thread().worker_threads(2).build();
  const auto t0 = std::chrono::steady_clock::now();
  rt.block_on([&] {
    weft::join_set<void> set;
    for (int i = 0; i < kSleepers; ++i) {
      set.spawn([&] {
        PGconn* c = PQconnectdb(pg.conninfo().c_str());
        if (PQstatus(c) == CONNECTION_OK && exec_ok(c, "SELECT pg_sleep(0.5)", PGRES_TUPLES_OK)) {
          ok.fetch_add(1);
        }
        PQfinish(c);
      });
    }
    while (set.join_next()) {
    }
  });
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  CHECK(ok.load() == kSleepers);
  // Blocked workers would serialise them: 100 x 0.5 s / 2 workers = 25 s.
  // Loose on purpose (not a timing test): parked fibers overlap the sleeps.
  CHECK(elapsed < 15s);
  WARN(kSleepers << " concurrent pg_sleep(0.5): "
                 << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()
                 << " ms");
}

TEST_CASE("clients: a weft timeout ends a libpq query with an error result", "[clients]") {
  auto& pg = cluster();
  if (!pg.available()) {
    WARN("skipped: " << pg.why());
    return;
  }
  auto rt = weft::builder::multi_thread().worker_threads(2).build();
  rt.block_on([&] {
    PGconn* c = PQconnectdb(pg.conninfo().c_str());
    REQUIRE(PQstatus(c) == CONNECTION_OK);
    ExecStatusType st = PGRES_TUPLES_OK;
    bool reached_weft = false;
    const auto t0 = std::chrono::steady_clock::now();
    auto r = weft::time::timeout(300ms, [&] {
      PGresult* res = PQexec(c, "SELECT pg_sleep(30)");  // libpq's poll fails: ETIMEDOUT
      st = PQresultStatus(res);
      PQclear(res);
      reached_weft = true;
      weft::this_fiber::yield();  // weft reports the timeout here
      return 0;
    });
    CHECK_FALSE(r);
    CHECK(reached_weft);
    CHECK(st != PGRES_TUPLES_OK);
    CHECK(std::chrono::steady_clock::now() - t0 < 10s);
    PQfinish(c);
    // The server is still usable.
    PGconn* d = PQconnectdb(pg.conninfo().c_str());
    CHECK(PQstatus(d) == CONNECTION_OK);
    CHECK(query_long(d, "SELECT 41 + 1") == 42);
    PQfinish(d);
  });
}
