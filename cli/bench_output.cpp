// SPDX-License-Identifier: MIT
// fiber-bench's output: result fields, the key=value line, JSON (through
// nlohmann::json) and the human table.
#include "bench_output.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>

namespace weft_bench {

// ===========================================================================
// field and result

namespace {
// fixed() prints `v` with `decimals` decimals (0 for NaN and infinities:
// the line must stay parseable).
std::string fixed(double v, int decimals) {
  if (!std::isfinite(v)) v = 0;
  return fmt::format("{:.{}f}", v, decimals);
}

field text_field(std::string key, std::string v) {
  field f;
  f.key = std::move(key);
  f.type = field::kind::text;
  f.s = std::move(v);
  return f;
}

field integer_field(std::string key, std::int64_t v) {
  field f;
  f.key = std::move(key);
  f.i = v;
  return f;
}

field real_field(std::string key, double v, int decimals) {
  field f;
  f.key = std::move(key);
  f.type = field::kind::real;
  f.d = v;
  f.decimals = decimals;
  return f;
}

// all_fields() lists a result's fields in output order. With a spread
// (--repeat > 1), ns_per_op_min, ns_per_op_max and repeat follow check=
// (the standard fields stay first, as docs/benchmarks.md has them), and
// each median_spread field is followed by its _min and _max.
std::vector<field> all_fields(const result& r) {
  std::vector<field> f;
  f.reserve(11 + 3 * r.extra.size() + r.tail.size());
  f.push_back(text_field("workload", r.workload));
  f.push_back(text_field("impl", r.impl));
  f.push_back(integer_field("threads", static_cast<std::int64_t>(r.threads)));
  f.push_back(integer_field("ops", static_cast<std::int64_t>(r.ops)));
  f.push_back(real_field("seconds", r.seconds, 6));
  f.push_back(real_field("ops_per_sec", r.ops_per_sec(), 0));
  f.push_back(real_field("ns_per_op", r.ns_per_op(), 1));
  f.push_back(text_field("check", r.ok ? "ok" : "FAILED"));
  if (r.spread) {
    f.push_back(real_field("ns_per_op_min", r.ns_per_op_min, 1));
    f.push_back(real_field("ns_per_op_max", r.ns_per_op_max, 1));
    f.push_back(integer_field("repeat", static_cast<std::int64_t>(r.repeat)));
  }
  for (const field& e : r.extra) {
    f.push_back(e);
    if (!r.spread || e.how != agg::median_spread) continue;
    // combine() leaves <key>_min and <key>_max in r.spreads.
    for (const field& s : r.spreads) {
      if (s.key == e.key + "_min" || s.key == e.key + "_max") f.push_back(s);
    }
  }
  f.insert(f.end(), r.tail.begin(), r.tail.end());
  return f;
}

// to_json() is a field's JSON value: the number exactly as the key=value
// line rounds it (so that both formats carry the same figures).
nlohmann::json to_json(const field& f) {
  switch (f.type) {
    case field::kind::integer:
      return f.i;
    case field::kind::real:
      if (f.decimals == 0) return std::strtoll(f.value().c_str(), nullptr, 10);
      return std::strtod(f.value().c_str(), nullptr);
    case field::kind::text:
      break;
  }
  return f.s;
}
}  // namespace

std::string field::value() const {
  switch (type) {
    case kind::integer:
      return fmt::format("{}", i);
    case kind::real:
      return fixed(d, decimals);
    case kind::text:
      break;
  }
  return s;
}

double field::number() const noexcept {
  switch (type) {
    case kind::integer:
      return static_cast<double>(i);
    case kind::real:
      return std::isfinite(d) ? d : 0.0;
    case kind::text:
      break;
  }
  return 0;
}

void result::add(std::string key, std::int64_t v, agg how) {
  extra.push_back(integer_field(std::move(key), v));
  extra.back().how = how;
}

void result::add(std::string key, double v, int decimals, agg how) {
  extra.push_back(real_field(std::move(key), v, decimals));
  extra.back().how = how;
}

void result::add_text(std::string key, std::string v) {
  extra.push_back(text_field(std::move(key), std::move(v)));
}

void result::add_tail(std::string key, std::string v) {
  tail.push_back(text_field(std::move(key), std::move(v)));
}

const field* result::find(const std::string& key) const {
  for (const auto* v : {&extra, &tail}) {
    for (const field& f : *v) {
      if (f.key == key) return &f;
    }
  }
  return nullptr;
}

double result::num(const std::string& key) const {
  const field* f = find(key);
  return f && f->type != field::kind::text ? f->number() : std::nan("");
}

double result::ops_per_sec() const noexcept {
  return (ops == 0 || seconds <= 0) ? 0.0 : static_cast<double>(ops) / seconds;
}

double result::ns_per_op() const noexcept {
  return (ops == 0 || seconds <= 0) ? 0.0 : seconds * 1e9 / static_cast<double>(ops);
}

namespace {
// median() of a non-empty list: the middle value, or the mean of the two
// middle values for an even count (Google Benchmark's and hyperfine's).
double median(std::vector<double> v) {
  const std::size_t n = v.size();
  std::sort(v.begin(), v.end());
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// with_number() is `f` holding `v` (rounded for an integer field).
field with_number(field f, double v) {
  if (f.type == field::kind::integer) {
    f.i = static_cast<std::int64_t>(std::llround(v));
  } else {
    f.d = v;
  }
  return f;
}
}  // namespace

result combine(const std::vector<result>& runs, bool spread) {
  result r = runs.front();
  r.repeat = runs.size();
  r.spread = spread;
  r.spreads.clear();
  std::vector<double> seconds, ops, ns;
  for (const result& x : runs) {
    seconds.push_back(x.seconds);
    ops.push_back(static_cast<double>(x.ops));
    ns.push_back(x.ns_per_op());
    r.ok = r.ok && x.ok;
  }
  r.seconds = median(seconds);
  r.ops = static_cast<std::uint64_t>(std::llround(median(ops)));
  r.ns_per_op_min = *std::min_element(ns.begin(), ns.end());
  r.ns_per_op_max = *std::max_element(ns.begin(), ns.end());
  for (field& f : r.extra) {
    if (f.type == field::kind::text || f.how == agg::param) continue;
    std::vector<double> v;
    for (const result& x : runs) {
      const field* g = x.find(f.key);
      if (g) v.push_back(g->number());
    }
    if (v.empty()) continue;
    if (f.how == agg::worst) {
      f = with_number(f, *std::max_element(v.begin(), v.end()));
      continue;
    }
    f = with_number(f, median(v));
    if (f.how == agg::median_spread) {
      field lo = with_number(f, *std::min_element(v.begin(), v.end()));
      field hi = with_number(f, *std::max_element(v.begin(), v.end()));
      lo.key += "_min";
      hi.key += "_max";
      r.spreads.push_back(std::move(lo));
      r.spreads.push_back(std::move(hi));
    }
  }
  return r;
}

std::string format_line(const result& r) {
  std::string s;
  for (const field& f : all_fields(r)) {
    if (!s.empty()) s += ' ';
    s += f.key;
    s += '=';
    s += f.value();
  }
  return s;
}

std::string format_json(const result& r) {
  // ordered_json keeps the key=value order: the same fields, the same order.
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const field& f : all_fields(r)) j[f.key] = to_json(f);
  return j.dump();
}

// ===========================================================================
// reporter

void reporter::begin(const run_context& c) {
  if (json_) std::cout << format_context(c) << std::endl;
}

void reporter::emit(const result& r) {
  std::cout << (json_ ? format_json(r) : format_line(r)) << std::endl;
  results_.push_back(r);
}

bool reporter::any_failed() const noexcept {
  return std::any_of(results_.begin(), results_.end(), [](const result& r) { return !r.ok; });
}

int reporter::exit_code() const noexcept {
  if (errors_) return 3;
  return any_failed() ? 1 : 0;
}

void reporter::print_table(std::ostream& out) const {
  out << format_table(results_);
  out.flush();
}

}  // namespace weft_bench
