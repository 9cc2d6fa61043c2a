// SPDX-License-Identifier: MIT
// Names docs/sync/channels.md's snippets use without defining.
#pragma once

struct job {
  int id = 0;
};
struct event {};
std::vector<job> make_jobs();
void run(job j);
template <class... A>
void log(const char* format, A&&... args);
std::string compute();
