// SPDX-License-Identifier: MIT
// Whether this fiber-bench links weft::hook (cli/CMakeLists.txt compiles
// this file once per program, with WEFT_BENCH_HOOK=1 where it does).
#include "bench_common.hpp"

#ifdef WEFT_BENCH_HOOK
#include "weft/hook.hpp"
#endif

namespace weft_bench {

#ifdef WEFT_BENCH_HOOK
// Calling into the library also keeps it on the link line.
bool hook_linked() noexcept { return weft::hook::active(); }
#else
bool hook_linked() noexcept { return false; }
#endif

}  // namespace weft_bench
