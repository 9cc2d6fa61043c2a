// SPDX-License-Identifier: MIT
// The per-descriptor table (fd_table.hpp). Two levels of 4,096 slots
// (created on first use, never freed): a lookup is two loads and a short
// spin-locked section in which the operation is begun, so a concurrent
// retire() either sees the operation (and waits for it) or the operation
// sees the slot empty.
#include "fd_table.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <cerrno>
#include <new>

#include "real.hpp"

namespace weft::hook::detail {

namespace {
using weft::detail::spin_guard;
using weft::detail::spin_lock;

constexpr int kChunkBits = 12;
constexpr int kChunkSize = 1 << kChunkBits;
constexpr int kChunks = kMaxTracked >> kChunkBits;

struct slot {
  spin_lock lock;
  fd_state* state = nullptr;  // guarded by lock
};

struct chunk {
  slot slots[kChunkSize];
};

std::atomic<chunk*> g_chunks[kChunks];
std::atomic<bool> g_any{false};
std::atomic<std::size_t> g_count{0};

slot* slot_of(int fd, bool create) noexcept {
  if (fd < 0 || fd >= kMaxTracked) return nullptr;
  std::atomic<chunk*>& c = g_chunks[fd >> kChunkBits];
  chunk* p = c.load(std::memory_order_acquire);
  if (!p) {
    if (!create) return nullptr;
    chunk* fresh = new (std::nothrow) chunk;
    if (!fresh) return nullptr;
    if (c.compare_exchange_strong(p, fresh, std::memory_order_acq_rel)) {
      p = fresh;
    } else {
      delete fresh;  // another thread installed one first (p is it)
    }
  }
  return &p->slots[fd & (kChunkSize - 1)];
}

// install() puts `s` into the slot of `fd` (replacing and retiring a stale
// entry, whose number the kernel has reused behind the hooks' back).
void install(int fd, fd_state* s) noexcept {
  slot* sl = slot_of(fd, true);
  if (!sl) {
    delete s;
    return;
  }
  g_any.store(true, std::memory_order_relaxed);
  fd_state* old;
  {
    spin_guard lk(sl->lock);
    old = sl->state;
    sl->state = s;
  }
  if (old) {
    old->src.close();
    delete old;
  } else {
    g_count.fetch_add(1, std::memory_order_relaxed);
  }
}

// classify() learns what an untracked descriptor is (nullptr when it is not
// open). A pollable descriptor is made non-blocking in the kernel, except
// a non-socket on fd 0-2: a terminal or pipe shared with the parent shell
// must not turn non-blocking under another process.
fd_state* classify(int fd) noexcept {
  struct stat st;
  if (::fstat(fd, &st) != 0) return nullptr;
  fd_kind kind;
  switch (st.st_mode & S_IFMT) {
    case S_IFSOCK: {
      int type = 0;
      socklen_t len = sizeof type;
      if (real().getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0) type = SOCK_STREAM;
      kind = (type == SOCK_DGRAM || type == SOCK_RAW || type == SOCK_RDM) ? fd_kind::dgram_socket
                                                                          : fd_kind::stream_socket;
      break;
    }
    case S_IFIFO:
      kind = fd_kind::pipe;
      break;
    case 0:  // anonymous inodes: eventfd, timerfd, signalfd, epoll, inotify
      kind = fd_kind::pollable;
      break;
    default:  // regular files, directories, block and character devices
      return new (std::nothrow) fd_state(fd, fd_kind::file, false, false);
  }
  const int fl = real().fcntl(fd, F_GETFL);
  if (fl < 0) return nullptr;
  const bool user_nb = (fl & O_NONBLOCK) != 0;
  bool managed = true;
  if (fd <= 2 && kind != fd_kind::stream_socket && kind != fd_kind::dgram_socket) {
    managed = false;
  } else if (!user_nb && real().fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) {
    managed = false;
  }
  auto* s = new (std::nothrow) fd_state(fd, kind, managed, user_nb);
  if (s && (kind == fd_kind::stream_socket || kind == fd_kind::dgram_socket)) {
    // Timeouts a plain thread set before any fiber used the socket.
    timeval tv{};
    socklen_t len = sizeof tv;
    if (real().getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &len) == 0) {
      s->rcv_timeout_ns.store(tv.tv_sec * 1000000000LL + tv.tv_usec * 1000LL);
    }
    len = sizeof tv;
    if (real().getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, &len) == 0) {
      s->snd_timeout_ns.store(tv.tv_sec * 1000000000LL + tv.tv_usec * 1000LL);
    }
  }
  return s;
}

fd_ref begin_in(slot* sl) noexcept {
  spin_guard lk(sl->lock);
  fd_state* s = sl->state;
  if (s && s->src.begin()) return fd_ref(s);
  return {};
}
}  // namespace

std::size_t tracked_count() noexcept { return g_count.load(std::memory_order_relaxed); }

void drop_closed() noexcept {
  for (int c = 0; c < kChunks; ++c) {
    chunk* p = g_chunks[c].load(std::memory_order_acquire);
    if (!p) continue;
    for (int i = 0; i < kChunkSize; ++i) {
      bool stale;
      {
        spin_guard lk(p->slots[i].lock);
        stale = p->slots[i].state != nullptr;
      }
      const int fd = (c << kChunkBits) | i;
      if (stale && real().fcntl(fd, F_GETFD) < 0 && errno == EBADF) retire(fd);
    }
  }
}

bool any_tracked() noexcept { return g_any.load(std::memory_order_relaxed); }

fd_ref find(int fd) noexcept {
  slot* sl = slot_of(fd, false);
  return sl ? begin_in(sl) : fd_ref();
}

fd_ref find_or_track(int fd) noexcept {
  slot* sl = slot_of(fd, true);
  if (!sl) return {};
  if (fd_ref r = begin_in(sl)) return r;
  fd_state* s = classify(fd);
  if (!s) return {};
  g_any.store(true, std::memory_order_relaxed);
  {
    spin_guard lk(sl->lock);
    if (!sl->state) {
      sl->state = s;
      s = nullptr;
      g_count.fetch_add(1, std::memory_order_relaxed);
    }
  }
  delete s;  // another caller tracked it first
  return begin_in(sl);
}

void track_new(int fd, fd_kind k, bool user_nonblock) noexcept {
  if (fd < 0 || fd >= kMaxTracked) return;
  if (fd_state* s = new (std::nothrow) fd_state(fd, k, true, user_nonblock)) install(fd, s);
}

fd_state* clone_state(const fd_state& from, int to) noexcept {
  auto* s =
      new (std::nothrow) fd_state(to, from.kind, from.managed, from.user_nonblock(), from.view());
  if (!s) return nullptr;
  s->rcv_timeout_ns.store(from.rcv_timeout_ns.load(std::memory_order_relaxed));
  s->snd_timeout_ns.store(from.snd_timeout_ns.load(std::memory_order_relaxed));
  return s;
}

void install_state(int fd, fd_state* s) noexcept {
  if (s) install(fd, s);
}

void track_dup(const fd_state& from, int to) noexcept {
  if (to < 0 || to >= kMaxTracked) return;
  install_state(to, clone_state(from, to));
}

void retire(int fd) noexcept {
  slot* sl = slot_of(fd, false);
  if (!sl) return;
  fd_state* s;
  {
    spin_guard lk(sl->lock);
    s = sl->state;
    sl->state = nullptr;
  }
  if (!s) return;
  g_count.fetch_sub(1, std::memory_order_relaxed);
  s->src.close();  // wakes parked operations (EBADF), waits for the rest
  delete s;
}

void retire_range(unsigned first, unsigned last) noexcept {
  if (first >= static_cast<unsigned>(kMaxTracked)) return;
  if (last >= static_cast<unsigned>(kMaxTracked)) last = kMaxTracked - 1;
  for (unsigned fd = first; fd <= last; ++fd) {
    if ((fd & (kChunkSize - 1)) == 0 &&
        !g_chunks[fd >> kChunkBits].load(std::memory_order_acquire)) {
      fd += kChunkSize - 1;  // a chunk never created holds no entry
      continue;
    }
    retire(static_cast<int>(fd));
  }
}

}  // namespace weft::hook::detail
