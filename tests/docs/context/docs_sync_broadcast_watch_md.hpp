// SPDX-License-Identifier: MIT
// Names docs/sync/broadcast_watch.md's snippets use without defining.
#pragma once
#include <cstdint>

struct config {
  int level = 0;
};
void use(const std::string& msg);
void log(const char* what, std::uint64_t n);
config load_config();
inline config new_config;
void apply(const config& c);
