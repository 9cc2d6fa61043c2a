// SPDX-License-Identifier: MIT
// Helpers of the weft::net tests: a loopback listener on a free port.
#pragma once

#include <atomic>
#include <catch2/catch.hpp>
#include <mutex>
#include <string>

#include "support/runtime_fixture.hpp"
#include "weft/net.hpp"

// Catch prints a result<T> as its error (a socket or a stream has no <<).
namespace Catch {
template <class T>
struct StringMaker<boost::system::result<T, std::error_code>> {
  static std::string convert(const boost::system::result<T, std::error_code>& r) {
    return r ? std::string("ok") : "error: " + r.error().message();
  }
};
}  // namespace Catch

namespace weft_test {

// loopback_listener() binds 127.0.0.1 on a free port (REQUIREs success).
inline weft::net::tcp_listener loopback_listener() {
  auto l = weft::net::tcp_listener::bind(weft::net::socket_address::loopback_v4(0));
  REQUIRE(l);
  return std::move(*l);
}

// port_of() is a listener's port.
inline weft::net::socket_address address_of(const weft::net::tcp_listener& l) {
  auto a = l.local_address();
  REQUIRE(a);
  return *a;
}

// failures collects check failures made on worker threads (Catch2's
// assertions are not thread-safe); the test body CHECKs it at the end.
class failures {
 public:
  // expect() records `what` when `ok` is false; returns `ok`.
  bool expect(bool ok, const char* what, int line) {
    if (!ok) {
      std::lock_guard<std::mutex> g(m_);
      if (count_++ == 0) first_ = std::string(what) + " (line " + std::to_string(line) + ")";
    }
    return ok;
  }
  int count() const {
    std::lock_guard<std::mutex> g(m_);
    return count_;
  }
  std::string first() const {
    std::lock_guard<std::mutex> g(m_);
    return first_;
  }

 private:
  mutable std::mutex m_;
  int count_ = 0;
  std::string first_;
};

}  // namespace weft_test

namespace weft_test {
// run_checked() runs `body(failures&)` inside block_on on a fresh runtime
// with `workers` (see make_runtime), then checks on the test thread that
// nothing failed on another thread and that no descriptor leaked.
template <class F>
void run_checked(int workers, F&& body, bool paused = false) {
  INFO(flavour_name(workers));
  leak_check leaks;
  failures f;
  {
    auto rt = make_runtime(workers, paused);
    rt.block_on([&] { body(f); });
  }
  INFO(f.first());
  CHECK(f.count() == 0);
  leaks.finish();
}
}  // namespace weft_test

// NET_EXPECT(f, cond) records a failed `cond` in weft_test::failures `f`
// and evaluates to cond (usable on any thread, unlike CHECK).
#define NET_EXPECT(f, cond) (f).expect(static_cast<bool>(cond), #cond, __LINE__)
// NET_NO_FAILURES(f) CHECKs on the test thread that nothing was recorded.
#define NET_NO_FAILURES(f)   \
  do {                       \
    INFO((f).first());       \
    CHECK((f).count() == 0); \
  } while (0)
