// SPDX-License-Identifier: MIT
// The echo workload's load generator: a single-threaded epoll client in plain
// C++ (no weft), so that the weft and libevent servers face the same client.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace weft_bench {

// echo_load_config says what the load generator does.
struct echo_load_config {
  std::uint16_t port = 0;             // the server, on 127.0.0.1
  std::size_t connections = 100;      // connections opened at once
  std::uint64_t round_trips = 5'000;  // per connection
  std::size_t size = 64;              // bytes per message
  double idle_timeout_s = 10;         // give up when no echo arrives for this long
  // close_at_end keeps every connection open until all are done (conns
  // measures the server's memory while every connection is open); by
  // default each is closed as soon as its round trips are done.
  bool close_at_end = false;
};

// echo_load_result is what the load generator measured.
struct echo_load_result {
  std::uint64_t round_trips = 0;         // completed round trips (all connections)
  std::uint64_t mismatches = 0;          // echoes whose bytes differed from the message
  double seconds = 0;                    // first send to last echo
  std::vector<std::int64_t> latency_ns;  // one per completed round trip
  std::string error;                     // why the run stopped early ("" if it did not)
};

// run_echo_load() connects `connections` sockets to 127.0.0.1:port, then on
// each one sends a `size`-byte message, waits for the full echo, compares it
// byte for byte, records the round trip (steady_clock) and sends the next,
// `round_trips` times; every socket is closed when it is done (with
// close_at_end: when all are done, before returning). All sockets
// are non-blocking and served by one level-triggered epoll loop on the
// calling thread.
// Errors: a failed connect, a server that closes a connection early or a
// socket error end the run and are described in `error`; no exception is
// thrown for them (std::bad_alloc aside).
echo_load_result run_echo_load(const echo_load_config& cfg);

}  // namespace weft_bench
