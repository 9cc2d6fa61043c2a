// SPDX-License-Identifier: MIT
// Names docs/sync/locks.md's snippets use without defining.
#pragma once

struct config {};
struct job {};
struct client {
  static client connect(const weft::net::socket_address& a);
};
inline weft::net::socket_address addr = weft::net::socket_address::loopback_v4(6379);
inline std::size_t workers = 4;
inline int steps = 10;
void run_query();
void compute(int step);
void publish(int step);
