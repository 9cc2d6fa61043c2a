// SPDX-License-Identifier: MIT
// builder, runtime and handle: the public face of runtime_core.
#include "weft/fibers/runtime.hpp"

#include <csignal>
#include <limits>
#include <thread>

#include "runtime_core.hpp"
#include "stack_overflow.hpp"
#include "thread_state.hpp"

namespace weft {

namespace {
constexpr std::size_t kMinStack = 16 * 1024;
constexpr std::size_t kMaxStack = 64 * 1024 * 1024;
constexpr std::size_t kMaxWorkers = 1024;
}  // namespace

runtime builder::build() const {
  if (workers_ && *workers_ == 0) {
    throw config_error("weft::builder: worker_threads(0): a runtime needs at least one worker");
  }
  if (current_ && workers_ && *workers_ > 1) {
    throw config_error("weft::builder: a current-thread runtime has exactly one worker (got " +
                       std::to_string(*workers_) + ")");
  }
  std::size_t n =
      current_ ? 1 : workers_.value_or(std::max(1u, std::thread::hardware_concurrency()));
  if (!current_ && n > kMaxWorkers) {
    throw config_error("weft::builder: worker_threads(" + std::to_string(n) +
                       ") exceeds the maximum of " + std::to_string(kMaxWorkers));
  }
  if (stack_ < kMinStack || stack_ > kMaxStack) {
    throw config_error("weft::builder: stack_size(" + std::to_string(stack_) +
                       ") must be between 16 KiB and 64 MiB");
  }
  if (guard_ && (guard_size_ < 4096 || guard_size_ > kMaxStack)) {
    throw config_error("weft::builder: stack_guard_size(" + std::to_string(guard_size_) +
                       ") must be between 4 KiB and 64 MiB (or turn the guard off with "
                       "stack_guard(false))");
  }
  constexpr std::size_t kMaxCached = std::size_t{1} << 24;
  if (max_cached_ > kMaxCached) {
    throw config_error("weft::builder: max_cached_stacks(" + std::to_string(max_cached_) +
                       ") exceeds the maximum of " + std::to_string(kMaxCached));
  }
  if (max_blocking_ == 0) {
    throw config_error("weft::builder: max_blocking_threads must be at least 1");
  }
  if (event_interval_ == 0) {
    throw config_error("weft::builder: event_interval must be at least 1");
  }
  if (keep_alive_.count() < 0) {
    throw config_error("weft::builder: blocking_keep_alive must not be negative");
  }
  if (handoff_ns_ < 0) {
    throw config_error("weft::builder: handoff_after must not be negative (zero turns it off)");
  }
  if (stall_report_ns_ < 0) {
    throw config_error(
        "weft::builder: stall_report_after must not be negative (zero turns it off)");
  }
  if (max_spares_ > kMaxWorkers) {
    throw config_error("weft::builder: max_spare_workers(" + std::to_string(max_spares_) +
                       ") exceeds the maximum of " + std::to_string(kMaxWorkers));
  }
  if (dump_signal_ != 0 && (dump_signal_ < 1 || dump_signal_ >= NSIG || dump_signal_ == SIGKILL ||
                            dump_signal_ == SIGSTOP)) {
    throw config_error("weft::builder: dump_signal(" + std::to_string(dump_signal_) +
                       ") is not a signal a handler can catch");
  }
  if (name_.empty()) {
    throw config_error("weft::builder: thread_name must not be empty");
  }
  auto core =
      std::make_shared<detail::runtime_core>(*this, current_, n, name_, stack_, guard_,
                                             max_blocking_, keep_alive_, event_interval_, paused_);
  core->start();
  return runtime(std::move(core));
}

runtime::runtime(std::shared_ptr<detail::runtime_core> c) noexcept : h_(std::move(c)) {}

runtime::runtime(runtime&& o) noexcept : h_(o.h_), down_(o.down_) { o.down_ = true; }

runtime& runtime::operator=(runtime&& o) noexcept {
  if (this != &o) {
    if (!down_) (void)shutdown_within_ns(detail::no_deadline);
    h_ = o.h_;
    down_ = o.down_;
    o.down_ = true;
  }
  return *this;
}

runtime::~runtime() {
  if (!down_) (void)shutdown_within_ns(detail::no_deadline);
}

shutdown_result runtime::shutdown_within_ns(std::int64_t d) {
  if (down_) return {};
  down_ = true;
  // Steady time: the caller is not on the runtime, so a paused runtime
  // clock does not apply.
  const std::int64_t deadline =
      d == detail::no_deadline
          ? d
          : detail::deadline_after_ns(detail::steady_ns(), std::chrono::nanoseconds(d));
  shutdown_result r = h_.core().shutdown(deadline);
  if (!r.clean) {
    // Threads still run stuck fibers or blocking jobs: keep their core
    // alive for good.
    new std::shared_ptr<detail::runtime_core>(h_.core().shared_from_this());
  }
  return r;
}

handle handle::current() {
  auto c = detail::current_core_shared();
  if (!c) {
    throw no_runtime_error(
        "weft: no runtime here; call this from a fiber of a runtime (inside block_on or spawn), "
        "or use a weft::handle");
  }
  return handle(std::move(c));
}

std::optional<handle> handle::try_current() noexcept {
  auto c = detail::current_core_shared();
  if (!c) return std::nullopt;
  return handle(std::move(c));
}

runtime_metrics handle::metrics() const { return core_->metrics(); }

void handle::set_diagnostics(bool on) const noexcept {
  core_->diagnostics.store(on, std::memory_order_relaxed);
}

bool handle::diagnostics() const noexcept { return core_->diagnosing(); }

std::string handle::dump(dump_format format) const { return core_->dump(format); }

std::size_t handle::trim_stacks() const noexcept {
  const std::size_t n = core_->stacks.trim();
  // A worker honours the trim at its next dispatcher turn or park: wake the
  // parked ones so an idle runtime gives its memory back now.
  for (auto& w : core_->workers) w->wake_if_parked();
  return n;
}

std::size_t handle::worker_count() const noexcept { return core_->regular_workers; }

void handle::pause_clock() const { core_->clock.pause(); }

void handle::resume_clock() const { core_->clock.resume(); }

void handle::advance_clock_ns(std::int64_t d) const {
  if (!core_->clock.paused()) {
    throw std::logic_error("weft::time::advance: the clock is not paused");
  }
  if (d < 0) throw std::invalid_argument("weft::time::advance: negative duration");
  const std::int64_t now = core_->clock.now();
  // Saturating: the clock stops short of the no-deadline mark, so timers
  // without a deadline never fire.
  core_->clock.advance_to(d >= detail::kFarAway - now ? detail::kFarAway : now + d);
  core_->fire_all_timers();
}

namespace detail {

runtime_core& require_current_core() {
  if (runtime_core* c = current_core()) return *c;
  throw no_runtime_error(
      "weft: no runtime here; call this from a fiber of a runtime (inside block_on or spawn), "
      "or use a weft::handle");
}

void block_on_check(runtime_core& core) {
  if (current_worker()) {
    throw std::logic_error(
        "weft: block_on called on a runtime worker thread; that would block the worker. "
        "Use spawn + join inside fibers instead");
  }
  if (core.current_thread) {
    const auto self = std::this_thread::get_id();
    if (core.bound_thread != std::thread::id{} && core.bound_thread != self) {
      throw std::logic_error(
          "weft: a current-thread runtime runs its fibers on the thread that first called "
          "block_on; call block_on from that thread");
    }
    if (core.shutting_down.load()) {
      throw std::logic_error("weft: block_on on a runtime that is shutting down");
    }
    core.bound_thread = self;
  }
}

void block_on_wait(runtime_core& core, task_base* t) {
  if (!core.current_thread) {
    t->join_wait();  // a plain thread: blocks on a futex
    return;
  }
  static thread_local alt_signal_stack alt;  // overflow reports on this thread
  worker* w = core.workers[0].get();
  tls().w = w;
  struct reset {
    ~reset() { tls().w = nullptr; }
  } r;
  if (!w->sched()) w->install(core.shared_from_this());
  w->busy_begin(steady_ns());
  struct busy {
    worker* w;
    ~busy() { w->busy_end(steady_ns()); }
  } b{w};
  t->join_wait();  // the main context parks; the dispatcher runs the fibers
}

}  // namespace detail
}  // namespace weft
