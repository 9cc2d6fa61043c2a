// SPDX-License-Identifier: MIT
// Resolution of the real libc functions (real.hpp).
#include "real.hpp"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>

namespace weft::hook::detail {

namespace {
real_table resolve() noexcept {
  real_table t;
#define WEFT_HOOK_RESOLVE(name, ret, params)                                        \
  t.name = reinterpret_cast<ret(*) params>(dlsym(RTLD_NEXT, #name));                \
  if (!t.name) {                                                                    \
    std::fputs("weft::hook: libc has no " #name "; cannot interpose it\n", stderr); \
    std::abort();                                                                   \
  }
  WEFT_HOOK_FUNCTIONS(WEFT_HOOK_RESOLVE)
#undef WEFT_HOOK_RESOLVE
  return t;
}

// Resolve before main(), while the process has one thread (real() also
// resolves on first use, for hooks called from earlier constructors).
__attribute__((constructor(101))) void resolve_early() { (void)real(); }
}  // namespace

const real_table& real() noexcept {
  // A function-local static: thread-safe first initialisation, then one
  // load of the guard per call.
  static const real_table table = resolve();
  return table;
}

}  // namespace weft::hook::detail
