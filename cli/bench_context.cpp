// SPDX-License-Identifier: MIT
// The context object that starts fiber-bench's --json output (as Google
// Benchmark's JSON starts with "context"): what was built, from which
// commit, and the machine and moment it ran on. Figures from a busy or a
// different machine are not comparable; this says which one it was.
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "bench_output.hpp"
#include "build_info.hpp"

namespace weft_bench {

namespace {
// cpu_model() is the first "model name" of /proc/cpuinfo (x86), else its
// "Hardware", "cpu model" or "Processor" line (ARM, MIPS), else "unknown".
std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, fallback;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.pop_back();
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    if (value.empty()) continue;
    if (key == "model name") return value;
    if (fallback.empty() && (key == "Hardware" || key == "cpu model" || key == "Processor")) {
      fallback = value;
    }
  }
  return fallback.empty() ? "unknown" : fallback;
}

// local_date() is the local date and time, ISO 8601 with the UTC offset
// ("2024-05-01T12:00:00+02:00", Google Benchmark's format).
std::string local_date() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  if (::localtime_r(&t, &tm) == nullptr) return "unknown";
  // %z is +0200; ISO 8601's extended form (and Google Benchmark's) +02:00.
  const std::string zone = fmt::format("{:%z}", tm);
  const std::string hhmm = zone.size() == 5 ? zone.substr(0, 3) + ":" + zone.substr(3) : zone;
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}{}", tm, hhmm);
}

std::string host_name() {
  std::array<char, 256> buf{};
  if (::gethostname(buf.data(), buf.size() - 1) != 0) return "unknown";
  return buf.data();
}

// shell_quoted() is `a` as a POSIX shell word (quoted only when needed).
std::string shell_quoted(const std::string& a) {
  if (!a.empty() && a.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789-_=.,/:+@%") == std::string::npos) {
    return a;
  }
  std::string q = "'";
  for (char c : a) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}
}  // namespace

std::optional<std::array<double, 3>> load_average() noexcept {
  std::array<double, 3> a{};
  if (::getloadavg(a.data(), 3) != 3) return std::nullopt;
  return a;
}

std::string command_line(int argc, char** argv) {
  std::string s;
  for (int i = 0; i < argc; ++i) {
    if (i) s += ' ';
    s += shell_quoted(argv[i]);
  }
  return s;
}

std::string version_text() {
  return fmt::format("fiber-bench (weft) {}, commit {}, {} build", build_info::kVersion,
                     build_info::kGitCommit, build_info::kBuildType);
}

std::string format_context(const run_context& c) {
  nlohmann::ordered_json ctx = nlohmann::ordered_json::object();
  ctx["weft_version"] = build_info::kVersion;
  ctx["weft_git_commit"] = build_info::kGitCommit;
  ctx["build_type"] = build_info::kBuildType;
  ctx["compiler"] = fmt::format("{} {}", build_info::kCompilerId, __VERSION__);
  ctx["cxx_flags"] = build_info::kCxxFlags;
  ctx["cpu_model"] = cpu_model();
  ctx["num_cpus"] = ::sysconf(_SC_NPROCESSORS_ONLN);
  if (const auto la = load_average()) {
    // getloadavg's values are fixed-point fractions (0.56982421875): two
    // decimals, as /proc/loadavg prints them.
    nlohmann::ordered_json avg = nlohmann::ordered_json::array();
    for (double v : *la) avg.push_back(std::round(v * 100) / 100);
    ctx["load_avg"] = std::move(avg);
  } else {
    ctx["load_avg"] = nullptr;
  }
  ctx["date"] = local_date();
  ctx["host_name"] = host_name();
  ctx["command"] = c.command;
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  j["context"] = std::move(ctx);
  return j.dump();
}

}  // namespace weft_bench
