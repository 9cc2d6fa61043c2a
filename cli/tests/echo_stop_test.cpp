// SPDX-License-Identifier: MIT
// CTest driver: `fiber-bench echo --server-only` must exit promptly (0) on
// SIGTERM, also while its accept() backs off because the process is out of
// descriptors (EMFILE). Usage: echo_stop_test <fiber-bench> [--at-emfile]
//
// The server runs with a soft RLIMIT_NOFILE of kServerFds. With --at-emfile
// the driver opens more connections than that and waits until the server
// holds every descriptor it may (/proc/<pid>/fd), i.e. its accept() gets
// EMFILE. Every wait is bounded; nothing sleeps in place of a condition.
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr rlim_t kServerFds = 64;
constexpr int kClients = 3 * static_cast<int>(kServerFds);
constexpr milliseconds kStartLimit{20'000};  // until `listening on ...`
constexpr milliseconds kFullLimit{20'000};   // until the server is at EMFILE
constexpr milliseconds kStopLimit{5'000};    // SIGTERM until exit: "promptly"

[[noreturn]] void fail(const std::string& why) {
  fmt::print(stderr, "echo_stop_test: FAILED: {}\n", why);
  std::exit(1);
}

double ms_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

// server is the fiber-bench child process and the read end of its stdout.
struct server {
  pid_t pid = -1;
  int out = -1;
  std::string text;  // stdout read so far

  enum class got { data, eof, timeout };

  // read_some() waits up to `limit` for output. EOF means the child closed
  // its stdout: it exited (it has no children to inherit it).
  got read_some(milliseconds limit) {
    pollfd p{out, POLLIN, 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::max<long>(limit.count(), 0)));
    if (n == 0) return got::timeout;
    if (n < 0) return got::data;  // EINTR: the caller loops with its deadline
    char buf[256];
    const ssize_t k = ::read(out, buf, sizeof buf);
    if (k == 0) return got::eof;
    if (k > 0) text.append(buf, static_cast<std::size_t>(k));
    return got::data;
  }

  // left() is what remains of `limit` since `t0`.
  static milliseconds left(clock_type::time_point t0, milliseconds limit) {
    return limit - std::chrono::duration_cast<milliseconds>(clock_type::now() - t0);
  }

  void kill_hard() {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
};

server start(const char* exe) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) fail("pipe2");
  server s;
  s.pid = ::fork();
  if (s.pid < 0) fail("fork");
  if (s.pid == 0) {
    rlimit lim{};
    ::getrlimit(RLIMIT_NOFILE, &lim);
    lim.rlim_cur = kServerFds;
    if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) _exit(126);
    ::dup2(fds[1], STDOUT_FILENO);
    ::execl(exe, exe, "echo", "--server-only", "--port", "0", "--threads", "2",
            static_cast<char*>(nullptr));
    _exit(127);
  }
  ::close(fds[1]);
  s.out = fds[0];
  return s;
}

// wait_for_port() reads the child's stdout until `listening on 127.0.0.1:P`.
std::uint16_t wait_for_port(server& s) {
  const auto t0 = clock_type::now();
  const std::string key = "listening on 127.0.0.1:";
  for (;;) {
    const auto at = s.text.find(key);
    const auto nl = at == std::string::npos ? at : s.text.find('\n', at);
    if (nl != std::string::npos) {
      return static_cast<std::uint16_t>(std::stoul(s.text.substr(at + key.size())));
    }
    const milliseconds left = server::left(t0, kStartLimit);
    const server::got g = left.count() > 0 ? s.read_some(left) : server::got::timeout;
    if (g == server::got::timeout) {
      s.kill_hard();
      fail("no `listening on` line in time");
    }
    if (g == server::got::eof) {
      ::waitpid(s.pid, nullptr, 0);
      fail("the server exited before listening: " + s.text);
    }
  }
}

// connect_to() opens a blocking loopback connection (the kernel completes
// the handshake from the listen backlog, accepted or not).
int connect_to(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail(fmt::format("socket: errno {}", errno));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
    fail(fmt::format("connect: errno {}", errno));
  }
  return fd;
}

std::size_t open_fds(pid_t pid) {
  std::error_code ec;
  std::size_t n = 0;
  for (auto it = std::filesystem::directory_iterator(fmt::format("/proc/{}/fd", pid), ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return n;
}

// wait_until_full() polls the server's descriptor count until it reaches
// its limit: from then on accept() fails with EMFILE and backs off.
void wait_until_full(server& s) {
  const auto t0 = clock_type::now();
  std::size_t n = 0;
  while ((n = open_fds(s.pid)) < kServerFds) {
    if (clock_type::now() - t0 > kFullLimit) {
      s.kill_hard();
      fail(fmt::format("the server holds {} descriptors, never its limit {}", n, kServerFds));
    }
    std::this_thread::sleep_for(milliseconds(5));  // polling interval, not a synchronisation
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) fail("usage: echo_stop_test <fiber-bench> [--at-emfile]");
  const bool at_emfile = argc > 2 && std::string(argv[2]) == "--at-emfile";
  ::signal(SIGPIPE, SIG_IGN);

  server s = start(argv[1]);
  const std::uint16_t port = wait_for_port(s);

  // The driver needs kClients descriptors of its own.
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_cur < kClients + 64 && lim.rlim_max >= kClients + 64) {
    lim.rlim_cur = kClients + 64;
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
  std::vector<int> clients;
  const int wanted = at_emfile ? kClients : 4;
  for (int i = 0; i < wanted; ++i) clients.push_back(connect_to(port));
  if (at_emfile) wait_until_full(s);

  const auto t0 = clock_type::now();
  if (::kill(s.pid, SIGTERM) != 0) fail("kill(SIGTERM)");
  // The child closes its stdout when it exits: read to EOF, bounded.
  for (server::got g = server::got::data; g != server::got::eof;) {
    const milliseconds left = server::left(t0, kStopLimit);
    g = left.count() > 0 ? s.read_some(left) : server::got::timeout;
    if (g == server::got::timeout) {
      s.kill_hard();
      fail(fmt::format("still running {:.0f} ms after SIGTERM{}", ms_since(t0),
                       at_emfile ? " (accept() backing off at EMFILE)" : ""));
    }
  }
  int status = 0;
  ::waitpid(s.pid, &status, 0);
  const double stop_ms = ms_since(t0);
  for (int fd : clients) ::close(fd);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fail(fmt::format("exit status {:#x} after SIGTERM, expected exit code 0", status));
  }
  fmt::print("echo_stop_test: ok: exited 0 {:.1f} ms after SIGTERM{}\n", stop_ms,
             at_emfile ? fmt::format(" with {} clients and the server at EMFILE", wanted) : "");
  return 0;
}
