// SPDX-License-Identifier: MIT
// fiber-bench's flag validators: every numeric flag has a range, and a value
// outside it is a usage error (exit code 2) with a message naming the flag,
// the value and the range, before anything runs.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>

namespace weft_bench {

// integer_in() accepts a decimal integer in [lo, hi] (digits only: no sign,
// no spaces, no suffix).
CLI::Validator integer_in(std::uint64_t lo, std::uint64_t hi);

// number_in() accepts a finite decimal number in [lo, hi] (not nan or inf).
CLI::Validator number_in(double lo, double hi);

// power_of_ten_in() accepts a power of 10 in [lo, hi] (lo and hi powers of
// 10), and 0 when `zero_ok` (a flag whose 0 means "the default").
CLI::Validator power_of_ten_in(std::uint64_t lo, std::uint64_t hi, bool zero_ok);

// worker_count_in() accepts a --threads value in [0, max] (0 is weft's
// current-thread runtime).
CLI::Validator worker_count_in(int max);

}  // namespace weft_bench
