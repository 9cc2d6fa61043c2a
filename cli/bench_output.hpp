// SPDX-License-Identifier: MIT
// fiber-bench's results and how they are written: the `key=value` line and
// its JSON twin (docs/benchmarks.md), the context object that opens --json
// output, and the human table.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace weft_bench {

// agg says how repeated runs of one configuration (--repeat) combine a field.
enum class agg {
  median,         // a measurement: the median of the runs
  median_spread,  // a headline measurement: the median, then <key>_min and <key>_max
  worst,          // a count of bad events (early wake-ups): the largest
  param,          // a parameter of the run (a capacity): the same in every run
};

// field is one workload-specific `key=value` of a result line: an integer,
// a number printed with `decimals` decimals, or text (quoted in JSON).
struct field {
  enum class kind { integer, real, text };
  std::string key;
  kind type = kind::integer;
  std::int64_t i = 0;
  double d = 0;
  int decimals = 0;
  std::string s;
  agg how = agg::median;

  // value() is the value as the key=value line prints it.
  std::string value() const;
  // number() is the value as a number (0 for text).
  double number() const noexcept;
};

// result is one line of output: the standard fields, then `extra`.
struct result {
  std::string workload;
  std::string impl;
  std::size_t threads = 0;
  std::uint64_t ops = 0;
  double seconds = 0;
  bool ok = false;
  std::vector<field> extra;
  // tail is written after the workload-specific fields: weft's
  // `flavour=current_thread|multi_thread`, a baseline's `stack=`.
  std::vector<field> tail;
  // repeat is how many runs this result combines; spread is whether the
  // line carries repeat= and the _min/_max fields (--repeat > 1, even if
  // fewer runs completed).
  std::size_t repeat = 1;
  bool spread = false;
  double ns_per_op_min = 0;
  double ns_per_op_max = 0;
  // spreads holds <key>_min and <key>_max of each median_spread field.
  std::vector<field> spreads;

  // add() appends a workload-specific field.
  void add(std::string key, std::int64_t v, agg how = agg::median);
  void add(std::string key, double v, int decimals, agg how = agg::median);
  void add_text(std::string key, std::string v);
  // add_tail() appends a text field to `tail`.
  void add_tail(std::string key, std::string v);
  // find() returns an extra or tail field (nullptr when absent).
  const field* find(const std::string& key) const;
  // num() is the value of an extra field as a number (NaN when absent).
  double num(const std::string& key) const;

  // ops_per_sec() and ns_per_op() are 0 when ops or seconds are 0.
  double ops_per_sec() const noexcept;
  double ns_per_op() const noexcept;
};

// combine() is the result of repeated runs of one configuration (`runs`
// non-empty: the same workload, impl and threads). seconds, ops and every
// `median`/`median_spread` field are medians (the mean of the two middle
// runs for an even count); ops_per_sec and ns_per_op follow from the
// median seconds and ops, so the line stays consistent; ns_per_op_min and
// _max are the fastest and slowest runs'. check is ok only if every run
// was; `worst` fields take the largest value, `param` and text fields the
// first run's. `spread` sets result::spread.
result combine(const std::vector<result>& runs, bool spread);

// format_line() is the `key=value ...` line of docs/benchmarks.md.
std::string format_line(const result& r);
// format_json() is the same fields as one JSON object (no trailing newline).
std::string format_json(const result& r);

// run_context is what the context object says about this invocation.
struct run_context {
  std::string command;  // the command line (arguments quoted where needed)
};

// format_context() is the context object that starts --json output, on one
// line: `{"context":{...}}` with weft's version and git commit, the build
// type, compiler and flags, the CPU model, core count, load average, date,
// host name and the command line (bench_context.cpp).
std::string format_context(const run_context& c);
// command_line() joins argv for run_context::command.
std::string command_line(int argc, char** argv);
// version_text() is what --version prints.
std::string version_text();
// load_average() is the 1, 5 and 15 minute load averages (getloadavg);
// nullopt when unavailable.
std::optional<std::array<double, 3>> load_average() noexcept;

// format_table() is the human table of `results` (bench_table.cpp): one row
// per result with the ratio against the baseline run beside it and the
// workload's headline figure, then weft's docs/benchmarks.md targets worded
// as comparisons with the peers' figures. No line is wider than 100 columns
// for realistic figures (cli/tests/table_width_test.cpp).
std::string format_table(const std::vector<result>& results);

// reporter prints results as they come (one line each, flushed) and keeps
// them for the human table.
class reporter {
 public:
  explicit reporter(bool json) noexcept : json_(json) {}
  // begin() prints the context object when the output is JSON (nothing
  // otherwise); call it once, before the first emit().
  void begin(const run_context& c);
  // emit() prints `r` and remembers it.
  void emit(const result& r);
  // note_error() records a run that could not complete (exit code 3).
  void note_error() noexcept { errors_ = true; }
  const std::vector<result>& results() const noexcept { return results_; }
  bool any_failed() const noexcept;
  // exit_code() is 0, 1 (a check FAILED) or 3 (a run threw).
  int exit_code() const noexcept;
  // print_table() writes format_table() of the results to `out`.
  void print_table(std::ostream& out) const;

 private:
  bool json_;
  bool errors_ = false;
  std::vector<result> results_;
};

}  // namespace weft_bench
