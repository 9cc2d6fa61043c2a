// SPDX-License-Identifier: MIT
// fiber-bench's flag validators (see bench_flags.hpp). Validators see the
// flag's text before CLI11 converts it, so a number that does not fit the
// variable (or a negative one for an unsigned flag) is caught here too.
#include "bench_flags.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <optional>
#include <string>
#include <system_error>

namespace weft_bench {

namespace {
// parse_u64() is `s` as a non-negative decimal integer: nullopt when it is
// not one, UINT64_MAX with `overflow` set when it is too large for 64 bits.
std::optional<std::uint64_t> parse_u64(const std::string& s, bool& overflow) {
  overflow = false;
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc::result_out_of_range) {
    overflow = true;
    return UINT64_MAX;
  }
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}
}  // namespace

CLI::Validator integer_in(std::uint64_t lo, std::uint64_t hi) {
  return CLI::Validator(
      [lo, hi](std::string& s) -> std::string {
        bool overflow = false;
        const std::optional<std::uint64_t> v = parse_u64(s, overflow);
        if (!v) {
          return fmt::format("'{}' is not a non-negative integer (digits only), expected [{}, {}]",
                             s, lo, hi);
        }
        if (overflow || *v < lo || *v > hi) {
          return fmt::format("{} is out of range [{}, {}]", s, lo, hi);
        }
        return {};
      },
      fmt::format("INT in [{}, {}]", lo, hi), "integer_in");
}

CLI::Validator number_in(double lo, double hi) {
  return CLI::Validator(
      [lo, hi](std::string& s) -> std::string {
        double v = 0;
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (s.empty() || ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) {
          return fmt::format("'{}' is not a finite decimal number, expected [{}, {}]", s, lo, hi);
        }
        if (v < lo || v > hi) return fmt::format("{} is out of range [{}, {}]", s, lo, hi);
        return {};
      },
      fmt::format("NUMBER in [{}, {}]", lo, hi), "number_in");
}

CLI::Validator power_of_ten_in(std::uint64_t lo, std::uint64_t hi, bool zero_ok) {
  const std::string expected =
      fmt::format("a power of 10 in [{}, {}]{}", lo, hi, zero_ok ? ", or 0 for the default" : "");
  return CLI::Validator(
      [lo, hi, zero_ok, expected](std::string& s) -> std::string {
        bool overflow = false;
        const std::optional<std::uint64_t> v = parse_u64(s, overflow);
        if (!v) return fmt::format("'{}' is not a non-negative integer; expected {}", s, expected);
        if (*v == 0 && zero_ok) return {};
        std::uint64_t p = lo;
        while (p < *v && p < hi) p *= 10;
        if (overflow || p != *v) return fmt::format("{} is not {}", s, expected);
        return {};
      },
      fmt::format("POWER-OF-10 in [{}, {}]", lo, hi), "power_of_ten_in");
}

CLI::Validator worker_count_in(int max) {
  return CLI::Validator(
      [max](std::string& s) -> std::string {
        bool overflow = false;
        const std::optional<std::uint64_t> v = parse_u64(s, overflow);
        if (!v)
          return fmt::format("'{}' is not a worker count (an integer, 0 = current-thread)", s);
        if (overflow || *v > static_cast<std::uint64_t>(max)) {
          return fmt::format("worker count {} is out of range [0, {}]{}", s, max,
                             max == 1 ? " (this workload runs on one thread)" : "");
        }
        return {};
      },
      fmt::format("INT in [0, {}]", max), "threads");
}

}  // namespace weft_bench
