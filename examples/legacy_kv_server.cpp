// SPDX-License-Identifier: MIT
// A thread-per-connection key-value server and its load client, written
// the way legacy code is: plain POSIX socket(), accept(), recv(), send(),
// nanosleep() and a std::mutex-guarded std::map. Ported to weft by changing
// only how threads are created (start_thread below) and linking weft::hook:
// every blocking call then parks a fiber instead of a worker thread.
//
//   weft_example_legacy_kv_server [--threads] [--clients N] [--requests N]
//
// Runs the server and N clients in one process, checks every reply, and
// exits 0 only when all are right. --threads runs the same code on
// std::thread (the original program) for comparison.
//
// The protocol, one line per request:
//   SET <key> <value>\n  ->  OK\n
//   GET <key>\n          ->  VALUE <value>\n  or  MISSING\n
//   PING\n               ->  PONG\n          (after a 1 ms nanosleep)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "weft/fibers.hpp"

namespace {

bool g_use_threads = false;

// start_thread() is the only line a port changes: std::thread became
// weft::spawn. Both are joined through the returned function.
std::function<void()> start_thread(std::function<void()> body) {
  if (g_use_threads) {
    auto t = std::make_shared<std::thread>(std::move(body));
    return [t] { t->join(); };
  }
  auto h = std::make_shared<weft::join_handle<void>>(weft::spawn(std::move(body)));
  return [h] { h->join(); };
}

// ---- the legacy code: unchanged by the port ------------------------------

std::mutex g_lock;
std::map<std::string, std::string> g_store;

// read_line() reads one '\n'-terminated line byte by byte (legacy style).
bool read_line(int fd, std::string& line) {
  line.clear();
  char c;
  for (;;) {
    const ssize_t n = recv(fd, &c, 1, 0);
    if (n <= 0) return false;
    if (c == '\n') return true;
    line += c;
    if (line.size() > 4096) return false;
  }
}

bool send_all(int fd, const std::string& s) {
  std::size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

void serve_connection(int fd) {
  std::string line;
  while (read_line(fd, line)) {
    std::string reply;
    if (line.rfind("SET ", 0) == 0) {
      const std::size_t sp = line.find(' ', 4);
      if (sp == std::string::npos) {
        reply = "ERROR\n";
      } else {
        std::lock_guard<std::mutex> g(g_lock);  // never held across a blocking call
        g_store[line.substr(4, sp - 4)] = line.substr(sp + 1);
        reply = "OK\n";
      }
    } else if (line.rfind("GET ", 0) == 0) {
      std::lock_guard<std::mutex> g(g_lock);
      auto it = g_store.find(line.substr(4));
      reply = it == g_store.end() ? "MISSING\n" : "VALUE " + it->second + "\n";
    } else if (line == "PING") {
      timespec ts{0, 1000000};
      nanosleep(&ts, nullptr);
      reply = "PONG\n";
    } else {
      reply = "ERROR\n";
    }
    if (!send_all(fd, reply)) break;
  }
  close(fd);
}

int listen_on_loopback(int& port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 1024) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    close(fd);
    return -1;
  }
  port = ntohs(a.sin_port);
  return fd;
}

void accept_loop(int listener, int connections, std::vector<std::function<void()>>& joins) {
  for (int i = 0; i < connections; ++i) {
    const int c = accept(listener, nullptr, nullptr);
    if (c < 0) {
      std::perror("accept");
      return;
    }
    joins.push_back(start_thread([c] { serve_connection(c); }));
  }
}

// client() runs `requests` requests and checks every reply.
bool client(int port, int id, int requests) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    std::perror("connect");
    close(fd);
    return false;
  }
  bool ok = true;
  std::string line;
  for (int r = 0; r < requests && ok; ++r) {
    const std::string key = "k" + std::to_string(id) + "_" + std::to_string(r);
    const std::string value = "v" + std::to_string(id * 1000003 + r);
    ok = send_all(fd, "SET " + key + " " + value + "\n") && read_line(fd, line) && line == "OK";
    ok = ok && send_all(fd, "GET " + key + "\n") && read_line(fd, line) &&
         line == "VALUE " + value;
    if (ok && r % 10 == 0) ok = send_all(fd, "PING\n") && read_line(fd, line) && line == "PONG";
  }
  ok = ok && send_all(fd, "GET no-such-key\n") && read_line(fd, line) && line == "MISSING";
  close(fd);
  return ok;
}

// ---- end of the legacy code ------------------------------------------------

int run(int clients, int requests) {
  int port = 0;
  const int listener = listen_on_loopback(port);
  if (listener < 0) {
    std::perror("listen");
    return 1;
  }
  std::vector<std::function<void()>> server_joins;
  auto acceptor = start_thread([&] { accept_loop(listener, clients, server_joins); });
  std::atomic<int> good{0};
  std::vector<std::function<void()>> client_joins;
  for (int i = 0; i < clients; ++i) {
    client_joins.push_back(start_thread([&, i] {
      if (client(port, i, requests)) good.fetch_add(1);
    }));
  }
  for (auto& j : client_joins) j();
  acceptor();
  for (auto& j : server_joins) j();
  close(listener);
  const std::size_t want = static_cast<std::size_t>(clients) * static_cast<std::size_t>(requests);
  std::printf("%s: %d of %d clients correct, %zu keys stored (want %zu)\n",
              g_use_threads ? "threads" : "weft fibers", good.load(), clients, g_store.size(),
              want);
  return good.load() == clients && g_store.size() == want ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  int clients = 200;
  int requests = 50;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--threads") {
      g_use_threads = true;
    } else if ((a == "--clients" || a == "--requests") && i + 1 < argc) {
      char* end = nullptr;
      const long v = std::strtol(argv[++i], &end, 10);
      if (!end || *end || v <= 0 || v > 100000) {
        std::fprintf(stderr, "%s: %s needs a number from 1 to 100000\n", argv[0], a.c_str());
        return 64;
      }
      (a == "--clients" ? clients : requests) = static_cast<int>(v);
    } else {
      std::fprintf(stderr, "usage: %s [--threads] [--clients N] [--requests N]\n", argv[0]);
      return 64;
    }
  }
  if (g_use_threads) return run(clients, requests);
  // The port: run the same program inside a weft runtime with 2 workers.
  auto rt = weft::builder::multi_thread().worker_threads(2).build();
  return rt.block_on([&] { return run(clients, requests); });
}
