// SPDX-License-Identifier: MIT
// The echo workload's baseline: a TCP echo server on raw libevent (one
// event_base per thread), written the way a libevent user would write it for
// throughput. libevent types stay in the .cpp.
#pragma once

#include <cstdint>
#include <memory>

namespace weft_bench {

// libevent_echo_server serves TCP echo on 127.0.0.1 with `threads` event_base
// threads. Thread 0 also accepts and hands connections out round-robin.
// Thread-safety: start, port and stop from one thread.
class libevent_echo_server {
 public:
  // start() binds 127.0.0.1:port (0: any free port) and starts the threads.
  // Errors: throws std::system_error when the socket cannot be bound or
  //   libevent cannot be set up.
  static std::unique_ptr<libevent_echo_server> start(int threads, std::uint16_t port = 0);

  ~libevent_echo_server();
  libevent_echo_server(const libevent_echo_server&) = delete;
  libevent_echo_server& operator=(const libevent_echo_server&) = delete;

  // port() is the port it listens on.
  std::uint16_t port() const noexcept;

  // stop() ends every event loop, joins the threads and closes every socket
  // (also done by the destructor). Idempotent.
  void stop() noexcept;

 private:
  struct impl;
  explicit libevent_echo_server(std::unique_ptr<impl> p) noexcept;
  std::unique_ptr<impl> impl_;
};

}  // namespace weft_bench
