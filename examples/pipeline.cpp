// SPDX-License-Identifier: MIT
// A blocking-style pipeline on weft::sync: a producer feeds a bounded job
// queue (backpressure), four workers answer each job through a oneshot,
// a collector selects between results and a shutdown token, and the
// shutdown is a cancellation_token. Exits 0 only when every job was answered.
#include <cstdio>
#include <optional>
#include <vector>

#include "weft/fibers.hpp"
#include "weft/sync.hpp"

using namespace std::chrono_literals;
namespace mpsc = weft::sync::mpsc;
namespace oneshot = weft::sync::oneshot;
using weft::sync::on_cancelled;
using weft::sync::on_recv_or_closed;
using weft::sync::select;

struct job {
  int n;
  oneshot::sender<long> reply;
};

int main() {
  auto rt = weft::builder::multi_thread().worker_threads(2).build();
  const long total = rt.block_on([] {
    auto [jobs_tx, jobs_rx] = mpsc::channel<job>(8);
    auto [replies_tx, replies_rx] = mpsc::channel<oneshot::receiver<long>>(8);
    weft::sync::cancellation_token stop;

    // Workers share the job receiver; each job goes to exactly one of them.
    auto shared_jobs = std::make_shared<mpsc::receiver<job>>(std::move(jobs_rx));
    weft::join_set<int> workers;
    for (int w = 0; w < 4; ++w) {
      workers.spawn([shared_jobs, stop] {
        int done = 0;
        for (bool running = true; running;) {
          select(on_recv_or_closed(*shared_jobs,
                                   [&](std::optional<job> j) {
                                     if (!j) {
                                       running = false;  // producer finished
                                       return;
                                     }
                                     weft::time::sleep(1ms);  // "work"
                                     (void)j->reply.send(long{j->n} * j->n);
                                     ++done;
                                   }),
                 on_cancelled(stop, [&] { running = false; }));
        }
        return done;
      });
    }

    // The producer parks whenever the job queue is full.
    weft::spawn([jobs_tx = std::move(jobs_tx), replies_tx = std::move(replies_tx)]() mutable {
      for (int i = 1; i <= 200; ++i) {
        auto [tx, rx] = oneshot::channel<long>();
        if (!jobs_tx.send(job{i, std::move(tx)})) return;
        if (!replies_tx.send(std::move(rx))) return;
      }
    }).detach();

    long sum = 0;
    for (oneshot::receiver<long> r : replies_rx) sum += r.recv().value();
    stop.cancel();  // nothing left: release the workers
    int answered = 0;
    while (auto n = workers.join_next()) answered += *n;
    std::printf("answered %d jobs, sum of squares %ld\n", answered, sum);
    return answered == 200 ? sum : -1;
  });
  const long expected = 200L * 201 * 401 / 6;
  return total == expected ? 0 : 1;
}
