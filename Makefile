# SPDX-License-Identifier: MIT
# weft's front door: a thin wrapper over the CMake presets (flags live in
# CMakePresets.json). `make test` and `make bench` install what is missing.
PRESET ?= release
JOBS ?= $(shell nproc)
BUILD_DIR := build/$(PRESET)

.PHONY: all deps build test stress asan bench bench-full format format-check install clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	cmake --preset $(PRESET) -DWEFT_WARNINGS_AS_ERRORS=$${WEFT_WARNINGS_AS_ERRORS:-OFF} >/dev/null
	cmake --build --preset $(PRESET) -j $(JOBS)

test: build
	ctest --preset $(PRESET) -j $(JOBS)

# Every stress test ([.stress], hidden from a plain run and mostly from CTest),
# one binary after the other (about 40 s on 2 cores). --warn NoTests makes a
# binary that has no stress test fail instead of passing silently.
STRESS_BINARIES := fibers sync net
stress: build
	@set -e; for m in $(STRESS_BINARIES); do \
	  echo "== stress: weft_$${m}_tests [.stress]"; \
	  $(BUILD_DIR)/tests/weft_$${m}_tests "[.stress]" --warn NoTests; \
	done

# ASan + UBSan build and test run (see README: Sanitizers).
asan:
	$(MAKE) test PRESET=asan

# A quick fiber-bench suite (about a minute) with its table.
bench: build
	$(BUILD_DIR)/cli/fiber-bench suite --quick

# The full standard workloads of docs/benchmarks.md.
bench-full: build
	$(BUILD_DIR)/cli/fiber-bench suite

format:
	find fibers sync net cli tests examples -name '*.[ch]pp' | xargs clang-format -i

format-check:
	find fibers sync net cli tests examples -name '*.[ch]pp' | xargs clang-format --dry-run -Werror

install: build
	cmake --install $(BUILD_DIR) --prefix $${PREFIX:-/usr/local}

clean:
	rm -rf build
