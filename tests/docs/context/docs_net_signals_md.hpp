// SPDX-License-Identifier: MIT
// Names docs/net/signals.md's snippets use without defining (compile-only).
#pragma once

struct job {};
void reload_config();
void run(job j);
inline bool stopping = false;
inline weft::sync::mpsc::receiver<job> jobs = weft::sync::mpsc::channel<job>(1).second;
