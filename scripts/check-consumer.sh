#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Checks that an installed weft works for another CMake project: builds weft
# (release), installs it into a temporary prefix, builds examples/consumer
# against that prefix with find_package(weft) and runs it.
#
# Environment:
#   WEFT_BUILD_DIR   weft build tree to install from (default: build/release
#                    if it is configured, else a fresh temporary build)
#   WEFT_FRESH_BUILD=1  always build weft (library only) in a temporary tree
#   WEFT_KEEP_TMP=1  keep the temporary directories (for debugging)
#   JOBS             parallel build jobs (default: nproc)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
jobs=${JOBS:-$(nproc)}

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
if [[ -n "${WEFT_BUILD_DIR:-}" ]]; then
  build=$WEFT_BUILD_DIR
elif [[ "${WEFT_FRESH_BUILD:-0}" != 1 && -f build/release/CMakeCache.txt ]]; then
  build=build/release
else
  build=$tmp/weft-build
  step="configure weft"
  echo "check-consumer: configuring weft (library only) in $build"
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DWEFT_BUILD_TESTS=OFF -DWEFT_BUILD_CLI=OFF -DWEFT_BUILD_EXAMPLES=OFF >"$tmp/configure.log" ||
    { cat "$tmp/configure.log" >&2; false; }
fi
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
step="run weft_consumer"
"$consumer/weft_consumer"
echo "check-consumer: OK (installed weft from $build, consumer built and ran)"
