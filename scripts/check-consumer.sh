#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Checks that an installed weft works for other projects: builds weft
# (release), installs it into a temporary prefix, then builds
# examples/consumer against that prefix twice, with CMake's
# find_package(weft) and with `pkg-config --cflags --libs weft`, and runs
# both programs.
#
# Environment:
#   WEFT_BUILD_DIR   weft build tree to install from (default: build/release,
#                    or build/shared with WEFT_SHARED=1, if it is configured;
#                    else a fresh temporary build)
#   WEFT_SHARED=1|0  check shared (WEFT_BUILD_SHARED=ON) or static libraries:
#                    a fresh build is configured so, and the tree used must
#                    be built so. Default: what WEFT_BUILD_DIR was configured
#                    with, else static.
#   WEFT_FRESH_BUILD=1  always build weft (library only) in a temporary tree
#   WEFT_KEEP_TMP=1  keep the temporary directories (for debugging)
#   JOBS             parallel build jobs (default: nproc)
#   CXX              compiler for the pkg-config build (default: c++)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
jobs=${JOBS:-$(nproc)}
shared=${WEFT_SHARED:-}  # 1, 0, or empty: the build tree's kind
case "$shared" in
  0 | 1 | "") ;;
  *) echo "check-consumer: WEFT_SHARED must be 0 or 1, not '$shared'" >&2; exit 1 ;;
esac
if ! command -v pkg-config >/dev/null 2>&1; then
  echo "check-consumer: pkg-config is missing: run scripts/install-deps.sh" >&2
  exit 1
fi

step="setup"
fail() {
  echo "check-consumer: FAILED at step: $step" >&2
}
trap fail ERR

tmp=$(mktemp -d "${TMPDIR:-/tmp}/weft-consumer.XXXXXX")
cleanup() {
  if [[ "${WEFT_KEEP_TMP:-0}" == 1 ]]; then
    echo "check-consumer: kept $tmp"
  else
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT

# 1. A weft build tree.
if [[ "$shared" == 1 ]]; then
  preset_dir=build/shared kind=shared
else
  preset_dir=build/release kind=static
fi
if [[ -n "${WEFT_BUILD_DIR:-}" ]]; then
  build=$WEFT_BUILD_DIR
elif [[ "${WEFT_FRESH_BUILD:-0}" != 1 && -f $preset_dir/CMakeCache.txt ]]; then
  build=$preset_dir
else
  build=$tmp/weft-build
  step="configure weft"
  echo "check-consumer: configuring weft (library only, $kind) in $build"
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWEFT_BUILD_SHARED="${shared:-0}" \
    -DWEFT_BUILD_TESTS=OFF -DWEFT_BUILD_CLI=OFF -DWEFT_BUILD_EXAMPLES=OFF >"$tmp/configure.log" ||
    { cat "$tmp/configure.log" >&2; false; }
fi
# The tree decides the kind; WEFT_SHARED, when given, must agree with it.
step="check the kind of libraries $build builds"
tree_shared=0
if grep -Eqi '^WEFT_BUILD_SHARED:BOOL=(ON|TRUE|1|YES|Y)$' "$build/CMakeCache.txt" 2>/dev/null; then
  tree_shared=1
fi
if [[ -n "$shared" && "$shared" != "$tree_shared" ]]; then
  echo "check-consumer: WEFT_SHARED=$shared, but $build has WEFT_BUILD_SHARED=$tree_shared" >&2
  false
fi
shared=$tree_shared
if [[ "$shared" == 1 ]]; then kind=shared; else kind=static; fi
step="build weft ($build)"
echo "check-consumer: building weft's libraries in $build"
# Regenerate first: a tree configured before weft_installables existed would
# not know the target yet.
cmake -S . -B "$build" >"$tmp/reconfigure.log" || { cat "$tmp/reconfigure.log" >&2; false; }
cmake --build "$build" -j "$jobs" --target weft_installables

# 2. Install it into a temporary prefix.
prefix=$tmp/prefix
step="install weft into $prefix"
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" ||
  { cat "$tmp/install.log" >&2; false; }
config=$(find "$prefix" -name weftConfig.cmake -print -quit)
[[ -n "$config" ]] || { echo "check-consumer: no weftConfig.cmake under $prefix" >&2; false; }
pc=$(find "$prefix" -name weft.pc -print -quit)
[[ -n "$pc" ]] || { echo "check-consumer: no weft.pc under $prefix" >&2; false; }
step="check the installed libraries are $kind"
# A shared install holds libweft_*.so with a versioned soname and no
# archives; a static one the archives only.
for m in fibers sync net; do
  if [[ "$shared" == 1 ]]; then
    lib=$(find "$prefix" -name "libweft_$m.so" -print -quit)
    [[ -n "$lib" ]] || { echo "check-consumer: no libweft_$m.so under $prefix" >&2; false; }
    soname=$(objdump -p "$lib" | sed -n 's/^ *SONAME *//p')
    [[ "$soname" == libweft_$m.so.* && -e "$(dirname "$lib")/$soname" ]] ||
      { echo "check-consumer: $lib has soname '$soname', not installed beside it" >&2; false; }
  else
    find "$prefix" -name "libweft_$m.a" | grep -q . ||
      { echo "check-consumer: no libweft_$m.a under $prefix" >&2; false; }
  fi
done
if [[ "$shared" == 1 ]] && find "$prefix" -name 'libweft_*.a' | grep -q .; then
  echo "check-consumer: a shared install holds static archives" >&2
  false
elif [[ "$shared" != 1 ]] && find "$prefix" -name 'libweft_*.so*' ! -name 'libweft_hook.so*' | grep -q .; then
  echo "check-consumer: a static install holds shared libraries" >&2
  false
fi
step="check the installed hook library"
# weft::hook is a shared library in every build (docs/hooks.md).
hook_lib=$(find "$prefix" -name "libweft_hook.so" -print -quit)
[[ -n "$hook_lib" ]] || { echo "check-consumer: no libweft_hook.so under $prefix" >&2; false; }
find "$prefix" -name weft-hook.pc | grep -q . ||
  { echo "check-consumer: no weft-hook.pc under $prefix" >&2; false; }
step="check the installed headers"
# Only include/ is installed, and libevent never shows in a public header.
if find "$prefix" -path '*/src/*' | grep -q .; then
  echo "check-consumer: private sources were installed:" >&2
  find "$prefix" -path '*/src/*' >&2
  false
fi
if grep -rln 'event2/' "$prefix/include" >&2; then
  echo "check-consumer: installed headers include libevent (<event2/...>)" >&2
  false
fi

# uses_prefix_libs <program>: a shared build must load weft from $prefix.
uses_prefix_libs() {
  [[ "$shared" == 1 ]] || return 0
  local real_prefix loaded
  real_prefix=$(cd "$prefix" && pwd -P)
  loaded=$(ldd "$1" | awk '/libweft_/ {print $3}')
  [[ -n "$loaded" ]] || { echo "check-consumer: $1 loads no libweft_*.so" >&2; return 1; }
  local l
  for l in $loaded; do
    [[ "$(realpath "$l")" == "$real_prefix"/* ]] ||
      { echo "check-consumer: $1 loads $l, not the install in $prefix" >&2; return 1; }
  done
}

# An installed program (fiber-bench, when the tree builds it) runs from the
# prefix: a shared build finds its libraries there.
step="run the installed programs"
for program in "$prefix"/bin/*; do
  [[ -x "$program" ]] || continue
  uses_prefix_libs "$program"
  "$program" --version >/dev/null
done

# 3. Build examples/consumer against the installed prefix only.
consumer=$tmp/consumer-build
step="configure examples/consumer"
echo "check-consumer: building examples/consumer against $prefix"
cmake -S examples/consumer -B "$consumer" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_PREFIX_PATH="$prefix" >"$tmp/consumer-configure.log" ||
  { cat "$tmp/consumer-configure.log" >&2; false; }
found=$(sed -n 's/^weft_DIR:PATH=//p' "$consumer/CMakeCache.txt")
if [[ "$found" != "$(dirname "$config")" ]]; then
  echo "check-consumer: find_package(weft) found '$found', not the install in $prefix" >&2
  false
fi
step="build examples/consumer"
cmake --build "$consumer" -j "$jobs"

# 4. Run it.
step="run weft_consumer (CMake)"
uses_prefix_libs "$consumer/weft_consumer"
"$consumer/weft_consumer"
step="run weft_consumer_hooked (CMake)"
"$consumer/weft_consumer_hooked"

# 5. The same consumer through pkg-config, against the installed weft.pc only.
step="pkg-config --cflags --libs weft"
export PKG_CONFIG_PATH="$(dirname "$pc")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
pcdir=$(pkg-config --variable=pcfiledir weft)
if [[ "$pcdir" != "$(dirname "$pc")" ]]; then
  echo "check-consumer: pkg-config found weft.pc in '$pcdir', not the install in $prefix" >&2
  false
fi
pc_kind=$(pkg-config --variable=library_kind weft)
if [[ "$pc_kind" != "$kind" ]]; then
  echo "check-consumer: weft.pc says library_kind=$pc_kind, not $kind" >&2
  false
fi
read -r -a pc_flags <<<"$(pkg-config --cflags --libs weft)"
rpath=()
if [[ "$shared" == 1 ]]; then
  rpath=("-Wl,-rpath,$(pkg-config --variable=libdir weft)")
fi
step="build examples/consumer with pkg-config"
echo "check-consumer: building examples/consumer with: ${CXX:-c++} ... ${pc_flags[*]}"
mkdir -p "$tmp/pkg-config"
"${CXX:-c++}" -O2 examples/consumer/main.cpp -o "$tmp/pkg-config/weft_consumer" \
  "${pc_flags[@]}" "${rpath[@]}"
step="run weft_consumer (pkg-config)"
uses_prefix_libs "$tmp/pkg-config/weft_consumer"
"$tmp/pkg-config/weft_consumer"
step="build examples/consumer/hooked.cpp with pkg-config weft-hook"
read -r -a hook_flags <<<"$(pkg-config --cflags --libs weft-hook)"
"${CXX:-c++}" -O2 examples/consumer/hooked.cpp -o "$tmp/pkg-config/weft_consumer_hooked" \
  "${hook_flags[@]}" "${rpath[@]}" "-Wl,-rpath,$(pkg-config --variable=libdir weft-hook)"
step="run weft_consumer_hooked (pkg-config)"
"$tmp/pkg-config/weft_consumer_hooked"
echo "check-consumer: OK ($kind weft installed from $build; consumer built with CMake and with" \
  "pkg-config, both ran)"
