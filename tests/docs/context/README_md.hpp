// SPDX-License-Identifier: MIT
// Names README.md's snippets use without defining (compile-only).
#pragma once

int load_all();
int uses_thread_locals();
int read_big_file();
int read_config_file();
int fetch(int i);
void use(int v);
int slow_call();
void poll_something();
