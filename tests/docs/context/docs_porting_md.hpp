// SPDX-License-Identifier: MIT
// What docs/porting.md's snippets use: the POSIX socket calls of legacy code.
#pragma once

#include <sys/socket.h>
#include <unistd.h>
