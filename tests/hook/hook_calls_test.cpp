// SPDX-License-Identifier: MIT
// Every hooked call gives the same return value and errno on a weft fiber
// as libc gives on a plain thread, for each outcome of issue 10's table:
// data, EOF, the user's non-blocking EAGAIN, SO_RCVTIMEO expiry, refused,
// reset, EPIPE, EBADF, multi-descriptor poll/select with a timeout, sleep
// durations, resolver results and errors.
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/uio.h>
#include <time.h>

#include <chrono>
#include <cstring>
#include <vector>

#include "hook_test_support.hpp"

using hook_test::outcome;
using hook_test::result_of;

namespace {

struct call_case {
  const char* name;
  std::function<outcome()> run;  // sets up its own descriptors, makes one call
};

void set_rcvtimeo(int fd, int ms) {
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  REQUIRE(::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
}

// reset_pair() is a TCP connection whose peer sent RST (SO_LINGER 0).
std::pair<int, int> reset_pair() {
  auto [l, port] = hook_test::listen_loopback();
  const int c = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a = hook_test::loopback(port);
  REQUIRE(::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  const int s = ::accept(l, nullptr, nullptr);
  REQUIRE(s >= 0);
  ::close(l);
  linger lg{1, 0};
  ::setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  ::close(s);
  // Wait until the RST arrived (poll reports it) so both sides see it.
  pollfd p{c, POLLIN, 0};
  ::poll(&p, 1, 2000);
  return {c, -1};
}

std::vector<call_case> cases() {
  std::vector<call_case> v;
  auto with_pair = [](auto body) {
    return [body]() {
      auto [a, b] = hook_test::stream_pair();
      outcome o = body(a, b);
      ::close(a);
      if (b >= 0) ::close(b);
      return o;
    };
  };
  v.push_back({"read: data", with_pair([](int a, int b) {
                 REQUIRE(::write(b, "abc", 3) == 3);
                 char x[16];
                 return result_of(::read(a, x, sizeof x));
               })});
  v.push_back({"read: EOF", with_pair([](int a, int b) {
                 ::shutdown(b, SHUT_WR);
                 char x[16];
                 return result_of(::read(a, x, sizeof x));
               })});
  v.push_back({"read: user O_NONBLOCK gives EAGAIN", with_pair([](int a, int) {
                 ::fcntl(a, F_SETFL, ::fcntl(a, F_GETFL) | O_NONBLOCK);
                 char x[16];
                 return result_of(::read(a, x, sizeof x));
               })});
  v.push_back({"recv: SO_RCVTIMEO expiry gives EAGAIN", with_pair([](int a, int) {
                 set_rcvtimeo(a, 30);
                 char x[16];
                 return result_of(::recv(a, x, sizeof x, 0));
               })});
  v.push_back({"recv: MSG_DONTWAIT gives EAGAIN", with_pair([](int a, int) {
                 char x[16];
                 return result_of(::recv(a, x, sizeof x, MSG_DONTWAIT));
               })});
  v.push_back({"recv: MSG_WAITALL gathers partial writes", with_pair([](int a, int b) {
                 std::thread w([b] {
                   for (int i = 0; i < 4; ++i) {
                     REQUIRE(::send(b, "xy", 2, 0) == 2);
                     std::this_thread::yield();
                   }
                 });
                 char x[8];
                 const outcome o = result_of(::recv(a, x, sizeof x, MSG_WAITALL));
                 w.join();
                 return o;
               })});
  v.push_back({"readv: data", with_pair([](int a, int b) {
                 REQUIRE(::write(b, "hello", 5) == 5);
                 char x[2], y[8];
                 iovec iov[2] = {{x, sizeof x}, {y, sizeof y}};
                 return result_of(::readv(a, iov, 2));
               })});
  v.push_back({"recvfrom: data", with_pair([](int a, int b) {
                 REQUIRE(::send(b, "abcd", 4, 0) == 4);
                 char x[16];
                 return result_of(::recvfrom(a, x, sizeof x, 0, nullptr, nullptr));
               })});
  v.push_back({"recvmsg: data", with_pair([](int a, int b) {
                 REQUIRE(::send(b, "abcd", 4, 0) == 4);
                 char x[16];
                 iovec iov{x, sizeof x};
                 msghdr m{};
                 m.msg_iov = &iov;
                 m.msg_iovlen = 1;
                 return result_of(::recvmsg(a, &m, 0));
               })});
  v.push_back({"write: a large blocking write completes", with_pair([](int a, int b) {
                 std::thread r([b] {
                   std::vector<char> x(1 << 16);
                   std::size_t got = 0;
                   while (got < (4u << 20)) {
                     const ssize_t k = ::read(b, x.data(), x.size());
                     if (k <= 0) break;
                     got += static_cast<std::size_t>(k);
                   }
                 });
                 std::vector<char> big(4 << 20, 'x');
                 const outcome o = result_of(::write(a, big.data(), big.size()));
                 r.join();
                 return o;
               })});
  v.push_back({"writev: data", with_pair([](int a, int) {
                 char x[] = "ab", y[] = "cde";
                 iovec iov[2] = {{x, 2}, {y, 3}};
                 return result_of(::writev(a, iov, 2));
               })});
  v.push_back({"sendmsg: data", with_pair([](int a, int) {
                 char x[] = "abc";
                 iovec iov{x, 3};
                 msghdr m{};
                 m.msg_iov = &iov;
                 m.msg_iovlen = 1;
                 return result_of(::sendmsg(a, &m, 0));
               })});
  v.push_back({"send: EPIPE after the peer closed", with_pair([](int a, int b) {
                 ::close(b);
                 return result_of(::send(a, "x", 1, MSG_NOSIGNAL));
               })});
  v.push_back({"write: EPIPE (SIGPIPE ignored) after the peer closed", [] {
                 auto [a, b] = hook_test::stream_pair();
                 ::close(b);
                 const outcome o = result_of(::write(a, "x", 1));
                 ::close(a);
                 return o;
               }});
  v.push_back({"read: ECONNRESET after the peer's RST", [] {
                 auto [c, unused] = reset_pair();
                 (void)unused;
                 char x[16];
                 const outcome o = result_of(::read(c, x, sizeof x));
                 ::close(c);
                 return o;
               }});
  v.push_back({"read: EBADF on a closed descriptor", [] {
                 auto [a, b] = hook_test::stream_pair();
                 ::close(a);
                 ::close(b);
                 char x[4];
                 return result_of(::read(a, x, sizeof x));
               }});
  v.push_back({"connect: refused", [] {
                 const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
                 sockaddr_in a = hook_test::loopback(hook_test::free_port());
                 const outcome o =
                     result_of(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a));
                 ::close(fd);
                 return o;
               }});
  v.push_back({"connect: non-blocking connect completes through SO_ERROR", [] {
                 auto [l, port] = hook_test::listen_loopback();
                 const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
                 sockaddr_in a = hook_test::loopback(port);
                 const int r = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
                 outcome o = result_of(r);
                 if (r < 0 && errno == EINPROGRESS) {
                   pollfd p{fd, POLLOUT, 0};
                   ::poll(&p, 1, 2000);
                   int err = -1;
                   socklen_t len = sizeof err;
                   ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
                   o = outcome{err, 0};
                 }
                 ::close(fd);
                 ::close(l);
                 return o;
               }});
  v.push_back({"accept: a queued connection", [] {
                 auto [l, port] = hook_test::listen_loopback();
                 const int c = ::socket(AF_INET, SOCK_STREAM, 0);
                 sockaddr_in a = hook_test::loopback(port);
                 REQUIRE(::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
                 const int s = ::accept(l, nullptr, nullptr);
                 const outcome o{s >= 0 ? 1 : s, s >= 0 ? 0 : errno};
                 // The accepted socket is blocking, as libc made it.
                 const int fl = ::fcntl(s, F_GETFL);
                 const outcome flags{fl & O_NONBLOCK, 0};
                 ::close(s);
                 ::close(c);
                 ::close(l);
                 return o == outcome{1, 0} ? flags : o;
               }});
  v.push_back({"accept4: user O_NONBLOCK listener gives EAGAIN", [] {
                 auto [l, port] = hook_test::listen_loopback();
                 (void)port;
                 ::fcntl(l, F_SETFL, O_NONBLOCK);
                 const outcome o = result_of(::accept4(l, nullptr, nullptr, SOCK_CLOEXEC));
                 ::close(l);
                 return o;
               }});
  v.push_back(
      {"poll: three descriptors with one ready", [] {
         auto p1 = hook_test::stream_pair();
         auto p2 = hook_test::stream_pair();
         auto p3 = hook_test::stream_pair();
         REQUIRE(::write(p2.second, "z", 1) == 1);
         pollfd fds[3] = {{p1.first, POLLIN, 0}, {p2.first, POLLIN, 0}, {p3.first, POLLIN, 0}};
         const int r = ::poll(fds, 3, 1000);
         const outcome o{r * 1000 + fds[0].revents * 100 + fds[1].revents * 10 + fds[2].revents,
                         r < 0 ? errno : 0};
         for (auto p : {p1, p2, p3}) {
           ::close(p.first);
           ::close(p.second);
         }
         return o;
       }});
  v.push_back({"poll: a timeout with nothing ready returns 0", [] {
                 auto p1 = hook_test::stream_pair();
                 auto p2 = hook_test::stream_pair();
                 pollfd fds[2] = {{p1.first, POLLIN, 0}, {p2.first, POLLIN | POLLOUT, 0}};
                 const int r = ::poll(fds, 1, 30);  // only the first: nothing ready
                 const outcome o = result_of(r);
                 for (auto p : {p1, p2}) {
                   ::close(p.first);
                   ::close(p.second);
                 }
                 return o;
               }});
  v.push_back({"poll: a closed descriptor reports POLLNVAL", [] {
                 auto p1 = hook_test::stream_pair();
                 ::close(p1.first);
                 pollfd fds[1] = {{p1.first, POLLIN, 0}};
                 const int r = ::poll(fds, 1, 100);
                 ::close(p1.second);
                 return outcome{r * 100 + fds[0].revents, r < 0 ? errno : 0};
               }});
  v.push_back({"poll: hang-up of the peer", with_pair([](int a, int b) {
                 ::close(b);
                 pollfd fds[1] = {{a, POLLIN, 0}};
                 const int r = ::poll(fds, 1, 1000);
                 return outcome{r * 100 + fds[0].revents, r < 0 ? errno : 0};
               })});
  v.push_back({"poll: a terminal (a character device) times out", [] {
                 const int m = ::posix_openpt(O_RDWR | O_NOCTTY);
                 if (m < 0) return outcome{-100, 0};  // no /dev/ptmx here: both sides agree
                 pollfd fds[1] = {{m, POLLIN, 0}};
                 const outcome o = result_of(::poll(fds, 1, 30));
                 ::close(m);
                 return o;
               }});
  v.push_back({"select: read and write sets", [] {
                 auto p1 = hook_test::stream_pair();
                 auto p2 = hook_test::stream_pair();
                 REQUIRE(::write(p1.second, "z", 1) == 1);
                 fd_set rd, wr;
                 FD_ZERO(&rd);
                 FD_ZERO(&wr);
                 FD_SET(p1.first, &rd);
                 FD_SET(p2.first, &rd);
                 FD_SET(p2.second, &wr);
                 timeval tv{1, 0};
                 const int n = std::max(p1.first, std::max(p2.first, p2.second)) + 1;
                 const int r = ::select(n, &rd, &wr, nullptr, &tv);
                 const outcome o{r * 100 + FD_ISSET(p1.first, &rd) * 10 +
                                     FD_ISSET(p2.first, &rd) * 5 + FD_ISSET(p2.second, &wr),
                                 r < 0 ? errno : 0};
                 for (auto p : {p1, p2}) {
                   ::close(p.first);
                   ::close(p.second);
                 }
                 return o;
               }});
  v.push_back({"select: timeout", with_pair([](int a, int) {
                 fd_set rd;
                 FD_ZERO(&rd);
                 FD_SET(a, &rd);
                 timeval tv{0, 30000};
                 const int r = ::select(a + 1, &rd, nullptr, nullptr, &tv);
                 return outcome{r * 10 + FD_ISSET(a, &rd), r < 0 ? errno : 0};
               })});
  v.push_back({"pselect: EBADF for a closed descriptor", [] {
                 auto [a, b] = hook_test::stream_pair();
                 ::close(a);
                 fd_set rd;
                 FD_ZERO(&rd);
                 FD_SET(a, &rd);
                 timespec ts{0, 30000000};
                 const outcome o = result_of(::pselect(a + 1, &rd, nullptr, nullptr, &ts, nullptr));
                 ::close(b);
                 return o;
               }});
  v.push_back(
      {"epoll_wait: one ready event", with_pair([](int a, int b) {
         const int ep = ::epoll_create1(EPOLL_CLOEXEC);
         epoll_event e{};
         e.events = EPOLLIN;
         e.data.fd = a;
         ::epoll_ctl(ep, EPOLL_CTL_ADD, a, &e);
         REQUIRE(::write(b, "q", 1) == 1);
         epoll_event out[4];
         const int r = ::epoll_wait(ep, out, 4, 1000);
         const outcome o{r * 100 + (r > 0 && out[0].data.fd == a ? 1 : 0), r < 0 ? errno : 0};
         ::close(ep);
         return o;
       })});
  v.push_back({"epoll_wait: timeout", [] {
                 const int ep = ::epoll_create1(EPOLL_CLOEXEC);
                 epoll_event out[4];
                 const outcome o = result_of(::epoll_wait(ep, out, 4, 30));
                 ::close(ep);
                 return o;
               }});
  v.push_back({"eventfd: read after a write", [] {
                 const int fd = ::eventfd(0, 0);
                 std::uint64_t one = 5;
                 REQUIRE(::write(fd, &one, 8) == 8);
                 std::uint64_t got = 0;
                 const long r = ::read(fd, &got, 8);
                 ::close(fd);
                 return outcome{r * 100 + static_cast<long>(got), 0};
               }});
  v.push_back({"pipe: data and EOF", [] {
                 int p[2];
                 REQUIRE(::pipe(p) == 0);
                 REQUIRE(::write(p[1], "12345", 5) == 5);
                 ::close(p[1]);
                 char x[16];
                 const long r1 = ::read(p[0], x, sizeof x);
                 const long r2 = ::read(p[0], x, sizeof x);
                 ::close(p[0]);
                 return outcome{r1 * 10 + r2, 0};
               }});
  v.push_back({"fcntl: F_GETFL shows the program's view", with_pair([](int a, int) {
                 const int before = ::fcntl(a, F_GETFL) & O_NONBLOCK;
                 ::fcntl(a, F_SETFL, ::fcntl(a, F_GETFL) | O_NONBLOCK);
                 const int set = ::fcntl(a, F_GETFL) & O_NONBLOCK;
                 ::fcntl(a, F_SETFL, ::fcntl(a, F_GETFL) & ~O_NONBLOCK);
                 const int after = ::fcntl(a, F_GETFL) & O_NONBLOCK;
                 return outcome{before * 100 + (set ? 10 : 0) + after, 0};
               })});
  v.push_back({"ioctl: FIONBIO gives EAGAIN", with_pair([](int a, int) {
                 int on = 1;
                 REQUIRE(::ioctl(a, FIONBIO, &on) == 0);
                 char x[4];
                 return result_of(::read(a, x, sizeof x));
               })});
  v.push_back({"getsockopt: SO_RCVTIMEO reads back", with_pair([](int a, int) {
                 set_rcvtimeo(a, 1500);
                 timeval tv{};
                 socklen_t len = sizeof tv;
                 ::getsockopt(a, SOL_SOCKET, SO_RCVTIMEO, &tv, &len);
                 return outcome{tv.tv_sec * 1000 + tv.tv_usec / 1000, 0};
               })});
  v.push_back({"dup2: the copy shares data", with_pair([](int a, int b) {
                 const int c = ::dup(a);
                 const int d = ::dup2(a, c);
                 REQUIRE(::write(b, "xy", 2) == 2);
                 char x[4];
                 const long r = ::read(d, x, sizeof x);
                 ::close(c);
                 return outcome{r * 10 + (d == c), 0};
               })});
  v.push_back({"nanosleep: sleeps at least the time asked", [] {
                 const auto t0 = std::chrono::steady_clock::now();
                 timespec ts{0, 20000000};
                 const int r = ::nanosleep(&ts, nullptr);
                 const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::steady_clock::now() - t0)
                                     .count();
                 return outcome{r * 10 + (ms >= 20 ? 1 : 0), r < 0 ? errno : 0};
               }});
  v.push_back({"nanosleep: EINVAL for a bad timespec", [] {
                 timespec ts{0, 2000000000};
                 return result_of(::nanosleep(&ts, nullptr));
               }});
  v.push_back({"usleep and sleep(0)", [] {
                 const auto t0 = std::chrono::steady_clock::now();
                 const int r = ::usleep(15000);
                 const unsigned s = ::sleep(0);
                 const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::steady_clock::now() - t0)
                                     .count();
                 return outcome{r * 100 + static_cast<long>(s) * 10 + (ms >= 15 ? 1 : 0), 0};
               }});
  v.push_back({"clock_nanosleep: absolute and EINVAL", [] {
                 timespec now{};
                 clock_gettime(CLOCK_MONOTONIC, &now);
                 now.tv_nsec += 10000000;
                 if (now.tv_nsec >= 1000000000) {
                   now.tv_nsec -= 1000000000;
                   ++now.tv_sec;
                 }
                 const int r1 = ::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &now, nullptr);
                 timespec bad{0, -1};
                 const int r2 = ::clock_nanosleep(CLOCK_MONOTONIC, 0, &bad, nullptr);
                 return outcome{r1 * 100 + r2, 0};
               }});
  v.push_back({"getaddrinfo: numeric host", [] {
                 addrinfo hints{};
                 hints.ai_family = AF_INET;
                 hints.ai_socktype = SOCK_STREAM;
                 addrinfo* res = nullptr;
                 const int rc = ::getaddrinfo("127.0.0.1", "8080", &hints, &res);
                 long port = 0;
                 if (rc == 0) {
                   port = ntohs(reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_port);
                   freeaddrinfo(res);
                 }
                 return outcome{rc * 100000L + port, 0};
               }});
  v.push_back({"getaddrinfo: an unknown service is an error", [] {
                 addrinfo hints{};
                 hints.ai_flags = AI_NUMERICHOST;
                 addrinfo* res = nullptr;
                 const int rc = ::getaddrinfo("127.0.0.1", "no-such-service-weft", &hints, &res);
                 if (rc == 0) freeaddrinfo(res);
                 return outcome{rc, 0};
               }});
  v.push_back({"getaddrinfo: a non-numeric name with AI_NUMERICHOST", [] {
                 addrinfo hints{};
                 hints.ai_flags = AI_NUMERICHOST;
                 addrinfo* res = nullptr;
                 const int rc = ::getaddrinfo("not-a-number.invalid", nullptr, &hints, &res);
                 if (rc == 0) freeaddrinfo(res);
                 return outcome{rc, 0};
               }});
  v.push_back({"getnameinfo: numeric", [] {
                 sockaddr_in a = hook_test::loopback(4242);
                 char host[64] = {}, serv[16] = {};
                 const int rc =
                     ::getnameinfo(reinterpret_cast<sockaddr*>(&a), sizeof a, host, sizeof host,
                                   serv, sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV);
                 return outcome{rc * 1000 + (std::strcmp(host, "127.0.0.1") == 0 ? 100 : 0) +
                                    (std::strcmp(serv, "4242") == 0 ? 1 : 0),
                                0};
               }});
  v.push_back({"gethostbyname_r: a numeric address", [] {
                 hostent he{}, *out = nullptr;
                 char b[1024];
                 int herr = 0;
                 const int rc = ::gethostbyname_r("127.0.0.1", &he, b, sizeof b, &out, &herr);
                 return outcome{rc * 100 + (out ? 10 : 0) + (out && out->h_length == 4 ? 1 : 0), 0};
               }});
  return v;
}

}  // namespace

TEST_CASE("hook: every call gives libc's result and errno on a fiber (issue 10)", "[hook]") {
  REQUIRE(weft::hook::active());
  ::signal(SIGPIPE, SIG_IGN);
  const std::size_t tracked0 = weft::hook::tracked_descriptors();
  for (const call_case& c : cases()) {
    INFO(c.name);
    const outcome plain = hook_test::on_plain_thread(c.run);
    const outcome fiber1 = hook_test::on_fiber(c.run, 1);
    const outcome fiber2 = hook_test::on_fiber(c.run, 2);
    INFO("plain " << hook_test::describe(plain) << ", fiber(1 worker) "
                  << hook_test::describe(fiber1) << ", fiber(2 workers) "
                  << hook_test::describe(fiber2));
    CHECK(plain == fiber1);
    CHECK(plain == fiber2);
  }
  // Every descriptor the cases opened was closed: none is left tracked (a
  // stale entry of an earlier test may have been replaced meanwhile).
  CHECK(weft::hook::tracked_descriptors() <= tracked0);
  ::signal(SIGPIPE, SIG_DFL);
}
