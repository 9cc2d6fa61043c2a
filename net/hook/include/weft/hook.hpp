// SPDX-License-Identifier: MIT
// weft::hook: blocking libc calls made on weft fibers park the fiber, not
// the worker thread (docs/hooks.md). Linking the weft::hook library is all
// a program does: it interposes read, write, recv, send, connect, accept,
// poll, select, epoll_wait, sleep, nanosleep, getaddrinfo and the others
// in the process's global scope, so calls made inside other shared
// libraries (libpq, libcurl, a vendor SDK) are hooked too. Off a fiber
// every call goes straight to libc. This header is optional: it only
// offers a few questions about the hook layer itself.
#pragma once

#include <cstddef>

namespace weft::hook {

// active() is true in a process where the hook layer is loaded (it is
// defined only by the weft::hook library, so calling it also makes sure
// the library is linked).
bool active() noexcept;

// tracked_descriptors() is how many descriptors the hook layer tracks
// right now (a fiber created or used them and they are not closed yet):
// for leak checks in tests. It first drops the entries of descriptors that
// were closed past the hooks (a raw syscall, glibc's own close), scanning
// the whole table.
std::size_t tracked_descriptors() noexcept;

// is_tracked() is true when `fd` is in the hook layer's table.
bool is_tracked(int fd) noexcept;

}  // namespace weft::hook
