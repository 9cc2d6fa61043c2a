// SPDX-License-Identifier: MIT
// Names docs/sync/select.md's snippets use without defining.
#pragma once

struct job {};
struct event {};
struct request {};
struct reply {};
struct outcome {};
using weft::sync::cancellation_token;
namespace mpsc = weft::sync::mpsc;
inline auto jobs = mpsc::channel<job>(8).second;
inline auto work = mpsc::channel<job>(8).second;
inline auto events = mpsc::channel<event>(8).second;
inline auto results = mpsc::channel<outcome>(8).first;
inline auto tx = mpsc::channel<event>(8).first;
inline auto replies = mpsc::channel<reply>(8).second;
inline outcome r;
inline bool r_sent = false, done = false;
inline int total = 0;
inline weft::sync::notify wake;
inline cancellation_token stop;
weft::join_handle<int>& child_task();
inline weft::join_handle<int>& child = child_task();
void run(job j);
void seen(const std::optional<event>& e);
void reload();
void heartbeat();
void handle(request r);
event next_event();
void spill_to_disk(const event& e);
// The page's first block starts with this; the later ones assume it.
using namespace weft::sync;
