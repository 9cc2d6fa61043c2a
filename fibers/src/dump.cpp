// SPDX-License-Identifier: MIT
// The fiber dump (handle::dump, docs/diagnostics.md) and the wait labels it
// reads (weft/fibers/detail/wait_label.hpp).
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <string>
#include <vector>

#include "runtime_core.hpp"
#include "thread_state.hpp"
#include "weft/fibers/detail/wait_label.hpp"

namespace weft::detail {

task_base* wait_label::label_wait(const char* what, const void* object, std::int64_t deadline_ns,
                                  wait_detail kind, std::int64_t value) noexcept {
  worker* w = current_worker();
  if (!w || !w->running()) return nullptr;
  task_base* t = task_of(w->running());
  if (!t || t->wait_what_.load(std::memory_order_relaxed) != nullptr) return nullptr;
  t->wait_obj_.store(object, std::memory_order_relaxed);
  t->wait_since_.store(w->cached_now(), std::memory_order_relaxed);
  t->wait_deadline_.store(deadline_ns, std::memory_order_relaxed);
  t->wait_value_.store(value, std::memory_order_relaxed);
  t->wait_kind_.store(static_cast<std::uint8_t>(kind), std::memory_order_relaxed);
  t->wait_what_.store(what, std::memory_order_release);
  return t;
}

void wait_label::unlabel_wait(task_base* t) noexcept {
  t->wait_what_.store(nullptr, std::memory_order_relaxed);
}

namespace {

// entry is one task as the dump saw it.
struct entry {
  std::uint64_t id = 0;
  std::string name;
  std::source_location site;
  bool blocking = false;
  bool started = false;
  std::uint32_t running_on = 0;  // worker index + 1
  const char* what = nullptr;
  const void* object = nullptr;
  std::int64_t since = 0;
  std::int64_t deadline = no_deadline;
  std::int64_t value = 0;
  wait_detail kind = wait_detail::none;
};

entry snapshot(const task_base& t, bool blocking) {
  entry e;
  e.id = t.id();
  e.name = t.name();
  e.site = t.site();
  e.blocking = blocking;
  e.started = t.started();
  e.running_on = t.running_on_.load(std::memory_order_relaxed);
  e.what = t.wait_what_.load(std::memory_order_acquire);
  if (e.what) {
    e.object = t.wait_obj_.load(std::memory_order_relaxed);
    e.since = t.wait_since_.load(std::memory_order_relaxed);
    e.deadline = t.wait_deadline_.load(std::memory_order_relaxed);
    e.value = t.wait_value_.load(std::memory_order_relaxed);
    e.kind = static_cast<wait_detail>(t.wait_kind_.load(std::memory_order_relaxed));
  }
  return e;
}

const char* state_of(const entry& e) noexcept {
  if (e.blocking) return "blocking";
  if (e.running_on) return "running";
  if (e.what) return "parked";
  return e.started ? "ready" : "new";
}

// detail_text() is " (fd 5, read)" and the like.
std::string detail_text(const entry& e) {
  const std::string v = std::to_string(e.value);
  switch (e.kind) {
    case wait_detail::fd_read: return "fd " + v + ", read";
    case wait_detail::fd_write: return "fd " + v + ", write";
    case wait_detail::fds: return v + " descriptors";
    case wait_detail::task: return "task " + v;
    case wait_detail::branches: return v + " branches";
    case wait_detail::permits: return v + (e.value == 1 ? " permit" : " permits");
    case wait_detail::signal: return "signal " + v;
    case wait_detail::none: break;
  }
  return {};
}

const char* detail_key(wait_detail k) noexcept {
  switch (k) {
    case wait_detail::fd_read:
    case wait_detail::fd_write: return "fd";
    case wait_detail::fds: return "descriptors";
    case wait_detail::task: return "task";
    case wait_detail::branches: return "branches";
    case wait_detail::permits: return "permits";
    case wait_detail::signal: return "signal";
    case wait_detail::none: break;
  }
  return nullptr;
}

std::string seconds(std::int64_t ns) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3f s", static_cast<double>(ns) / 1e9);
  return b;
}

std::string address(const void* p) {
  char b[32];
  std::snprintf(b, sizeof b, "0x%" PRIxPTR, reinterpret_cast<std::uintptr_t>(p));
  return b;
}

}  // namespace

std::string spawn_site_text(const std::source_location& s) {
  if (s.line() == 0) return "spawn site not recorded";
  std::string out = "spawned at ";
  out += s.file_name();
  out += ':';
  out += std::to_string(s.line());
  if (s.function_name()[0]) {
    out += " in ";
    out += s.function_name();
  }
  return out;
}

namespace {

void json_string(std::string& out, std::string_view s) {
  out += '"';
  for (const char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char b[8];
          std::snprintf(b, sizeof b, "\\u%04x", static_cast<unsigned>(c));
          out += b;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

std::string text_dump(const std::vector<entry>& es, std::int64_t now, std::size_t workers,
                      std::size_t spares) {
  std::size_t fibers = 0, jobs = 0;
  for (const entry& e : es) (e.blocking ? jobs : fibers) += 1;
  std::string out = "weft runtime: " + std::to_string(workers) +
                    (workers == 1 ? " worker" : " workers");
  if (spares) out += " (+" + std::to_string(spares) + " spare)";
  out += ", " + std::to_string(fibers) + (fibers == 1 ? " fiber" : " fibers");
  out += ", " + std::to_string(jobs) + (jobs == 1 ? " blocking job" : " blocking jobs");
  out += "; runtime clock " + seconds(now) + "\n";
  for (const entry& e : es) {
    out += e.blocking ? "  job " : "  fiber ";
    out += std::to_string(e.id);
    if (!e.name.empty()) out += " '" + e.name + "'";
    out += ' ';
    out += state_of(e);
    if (e.running_on) out += " on worker " + std::to_string(e.running_on - 1);
    if (e.what && !e.running_on) {
      out += ": ";
      out += e.what;
      const std::string d = detail_text(e);
      if (!d.empty()) out += " (" + d + ")";
      if (e.object) out += " at " + address(e.object);
      out += ", for " + seconds(now > e.since ? now - e.since : 0);
      if (e.deadline != no_deadline) {
        out += ", deadline in " + seconds(e.deadline > now ? e.deadline - now : 0);
      }
    }
    out += "; " + spawn_site_text(e.site) + "\n";
  }
  return out;
}

std::string json_dump(const std::vector<entry>& es, std::int64_t now, std::size_t workers,
                      std::size_t spares) {
  std::string out = "{\"workers\":" + std::to_string(workers) +
                    ",\"spare_workers\":" + std::to_string(spares) +
                    ",\"clock_ns\":" + std::to_string(now) + ",\"tasks\":[";
  bool first = true;
  for (const entry& e : es) {
    if (!first) out += ',';
    first = false;
    out += "{\"id\":" + std::to_string(e.id) + ",\"kind\":";
    out += e.blocking ? "\"blocking_job\"" : "\"fiber\"";
    out += ",\"name\":";
    json_string(out, e.name);
    out += ",\"state\":\"";
    out += state_of(e);
    out += '"';
    if (e.running_on) out += ",\"worker\":" + std::to_string(e.running_on - 1);
    if (e.what && !e.running_on) {
      out += ",\"wait\":{\"on\":";
      json_string(out, e.what);
      if (const char* k = detail_key(e.kind)) {
        out += ",\"";
        out += k;
        out += "\":" + std::to_string(e.value);
        if (e.kind == wait_detail::fd_read) out += ",\"direction\":\"read\"";
        if (e.kind == wait_detail::fd_write) out += ",\"direction\":\"write\"";
      }
      if (e.object) {
        out += ",\"object\":";
        json_string(out, address(e.object));
      }
      out += ",\"for_ns\":" + std::to_string(now > e.since ? now - e.since : 0);
      if (e.deadline != no_deadline) {
        out += ",\"deadline_in_ns\":" + std::to_string(e.deadline > now ? e.deadline - now : 0);
      }
      out += '}';
    }
    if (e.site.line() != 0) {
      out += ",\"spawned_at\":{\"file\":";
      json_string(out, e.site.file_name());
      out += ",\"line\":" + std::to_string(e.site.line()) + ",\"function\":";
      json_string(out, e.site.function_name());
      out += '}';
    }
    out += '}';
  }
  out += "]}";
  return out;
}

}  // namespace

std::string runtime_core::dump(dump_format format) const {
  std::vector<entry> es;
  for_each_live([&](const task_base& t) { es.push_back(snapshot(t, false)); });
  blocking.for_each_running([&](const task_base& t) { es.push_back(snapshot(t, true)); });
  std::sort(es.begin(), es.end(), [](const entry& a, const entry& b) { return a.id < b.id; });
  const std::int64_t now = clock.now();
  const std::size_t spares = spares_started.load(std::memory_order_relaxed);
  return format == dump_format::json ? json_dump(es, now, regular_workers, spares)
                                     : text_dump(es, now, regular_workers, spares);
}

}  // namespace weft::detail
