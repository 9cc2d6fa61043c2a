// SPDX-License-Identifier: MIT
// The pthread lock hooks: pthread_mutex_* and pthread_rwlock_* (what
// std::mutex, std::timed_mutex, std::shared_mutex and C libraries lock
// with) pass straight to libc and, on a fiber, count the locks it holds,
// so that a fiber suspending with one held is reported (docs/diagnostics.md
// "Common mistakes"). They never park: a contended pthread lock still
// blocks its thread, as it does without weft.
//
// These are resolved apart from real.hpp's table, each on its own first
// use with a plain atomic: a lock may be taken by another library's
// constructor, or by dlsym's own callers, before the table exists, and a
// guarded static initialised from inside a lock call could recurse.
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "weft/fibers/detail/hook_support.hpp"

namespace {

// resolve_slow() looks `name` up once (any racer stores the same value).
template <class Fn>
[[gnu::noinline, gnu::cold]] Fn resolve_slow(std::atomic<Fn>& slot, const char* name) noexcept {
  Fn f = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
  if (!f) {
    std::fprintf(stderr, "weft::hook: libc has no %s; cannot interpose it\n", name);
    std::abort();
  }
  slot.store(f, std::memory_order_release);
  return f;
}

// resolve() is the hot path: one load of the resolved pointer, inlined
// into each hook.
template <class Fn>
[[gnu::always_inline]] inline Fn resolve(std::atomic<Fn>& slot, const char* name) noexcept {
  Fn f = slot.load(std::memory_order_acquire);
  if (__builtin_expect(f != nullptr, 1)) return f;
  return resolve_slow(slot, name);
}

// WEFT_LOCK_HOOK defines a lock-taking function that counts a success.
#define WEFT_LOCK_HOOK(name, T, params, args)                     \
  extern "C" int name params noexcept {                           \
    using fn_t = int(*) params;                                   \
    static std::atomic<fn_t> real{nullptr};                       \
    const int r = resolve(real, #name) args;                      \
    /* EOWNERDEAD: a robust mutex is held all the same. */        \
    if (r == 0 || r == EOWNERDEAD) weft::detail::lock_acquired(); \
    return r;                                                     \
  }

// WEFT_UNLOCK_HOOK defines an unlock, counted when it succeeded (an EPERM
// for a lock the caller does not hold changes nothing).
#define WEFT_UNLOCK_HOOK(name, T)              \
  extern "C" int name(T* l) noexcept {         \
    using fn_t = int (*)(T*);                  \
    static std::atomic<fn_t> real{nullptr};    \
    const int r = resolve(real, #name)(l);     \
    if (r == 0) weft::detail::lock_released(); \
    return r;                                  \
  }

}  // namespace

WEFT_LOCK_HOOK(pthread_mutex_lock, pthread_mutex_t, (pthread_mutex_t * m), (m))
WEFT_LOCK_HOOK(pthread_mutex_trylock, pthread_mutex_t, (pthread_mutex_t * m), (m))
WEFT_LOCK_HOOK(pthread_mutex_timedlock, pthread_mutex_t,
               (pthread_mutex_t * m, const struct timespec* t), (m, t))
WEFT_LOCK_HOOK(pthread_mutex_clocklock, pthread_mutex_t,
               (pthread_mutex_t * m, clockid_t c, const struct timespec* t), (m, c, t))
WEFT_UNLOCK_HOOK(pthread_mutex_unlock, pthread_mutex_t)

WEFT_LOCK_HOOK(pthread_rwlock_rdlock, pthread_rwlock_t, (pthread_rwlock_t * l), (l))
WEFT_LOCK_HOOK(pthread_rwlock_tryrdlock, pthread_rwlock_t, (pthread_rwlock_t * l), (l))
WEFT_LOCK_HOOK(pthread_rwlock_timedrdlock, pthread_rwlock_t,
               (pthread_rwlock_t * l, const struct timespec* t), (l, t))
WEFT_LOCK_HOOK(pthread_rwlock_clockrdlock, pthread_rwlock_t,
               (pthread_rwlock_t * l, clockid_t c, const struct timespec* t), (l, c, t))
WEFT_LOCK_HOOK(pthread_rwlock_wrlock, pthread_rwlock_t, (pthread_rwlock_t * l), (l))
WEFT_LOCK_HOOK(pthread_rwlock_trywrlock, pthread_rwlock_t, (pthread_rwlock_t * l), (l))
WEFT_LOCK_HOOK(pthread_rwlock_timedwrlock, pthread_rwlock_t,
               (pthread_rwlock_t * l, const struct timespec* t), (l, t))
WEFT_LOCK_HOOK(pthread_rwlock_clockwrlock, pthread_rwlock_t,
               (pthread_rwlock_t * l, clockid_t c, const struct timespec* t), (l, c, t))
WEFT_UNLOCK_HOOK(pthread_rwlock_unlock, pthread_rwlock_t)
