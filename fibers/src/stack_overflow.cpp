// SPDX-License-Identifier: MIT
// Stack-overflow reports: a SIGSEGV handler (on an alternate signal stack)
// that recognises a fault in the guard page of the running fiber, prints
// which fiber overflowed and its stack size, then lets the process die
// with the default action. Any other SIGSEGV goes to the previous handler.
#include "stack_overflow.hpp"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <mutex>

#include "runtime_core.hpp"
#include "thread_state.hpp"

namespace weft::detail {

namespace {
struct sigaction g_previous;
std::once_flag g_once;

void put(const char* s) noexcept {
  [[maybe_unused]] auto n = ::syscall(SYS_write, 2, s, std::strlen(s));
}

void put_num(std::uint64_t v) noexcept {
  char buf[24];
  int i = 23;
  buf[i] = '\0';
  do {
    buf[--i] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v && i > 0);
  put(buf + i);
}

void on_segv(int sig, siginfo_t* info, void* uctx) {
  worker* w = tls().w;
  if (w && info) {
    context* c = w->running();
    task_base* t = c ? task_of(c) : nullptr;
    const auto addr = reinterpret_cast<std::uintptr_t>(info->si_addr);
    const auto lo = reinterpret_cast<std::uintptr_t>(t ? t->guard_lo_ : nullptr);
    // The guard page, or just below the stack when it has none.
    const std::uintptr_t span = t && t->guard_len_ ? t->guard_len_ : 4096;
    if (t && addr >= lo - (t->guard_len_ ? 0 : span) && addr < lo + span) {
      put("weft: stack overflow in fiber ");
      put_num(t->id());
      if (!t->name().empty()) {
        put(" '");
        put(t->name().c_str());
        put("'");
      }
      put(": stack size ");
      put_num(t->stack_size_);
      put(" bytes (raise it with weft::builder::stack_size)\n");
      ::signal(SIGSEGV, SIG_DFL);
      return;  // re-faults with the default action: the process dies
    }
  }
  if (g_previous.sa_flags & SA_SIGINFO) {
    if (g_previous.sa_sigaction) {
      g_previous.sa_sigaction(sig, info, uctx);
      return;
    }
  } else if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN) {
    g_previous.sa_handler(sig);
    return;
  }
  ::signal(SIGSEGV, SIG_DFL);
}
}  // namespace

void install_overflow_handler() noexcept {
  std::call_once(g_once, [] {
    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGSEGV, &sa, &g_previous);
  });
}

alt_signal_stack::alt_signal_stack() noexcept {
  const std::size_t size = 64 * 1024;
  mem_ = ::operator new(size, std::nothrow);
  if (!mem_) return;
  stack_t ss{};
  ss.ss_sp = mem_;
  ss.ss_size = size;
  ss.ss_flags = 0;
  if (::sigaltstack(&ss, nullptr) != 0) {
    ::operator delete(mem_);
    mem_ = nullptr;
  }
}

alt_signal_stack::~alt_signal_stack() {
  if (!mem_) return;
  stack_t ss{};
  ss.ss_flags = SS_DISABLE;
  ::sigaltstack(&ss, nullptr);
  ::operator delete(mem_);
}

}  // namespace weft::detail
