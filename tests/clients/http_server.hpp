// SPDX-License-Identifier: MIT
// A small HTTP/1.1 server for the client-library tests, on plain threads
// (one per connection, keep-alive), on 127.0.0.1 and an ephemeral port:
//   GET /item/<n>        200, body item_body(n)
//   GET /slow/<ms>/<n>   the same after sleeping <ms> milliseconds
//   anything else        404
// It counts the requests it answered. The destructor stops it and joins
// every thread.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace clients_test {

// item_body() is the body of /item/<n>: n-dependent and a few hundred bytes.
inline std::string item_body(long n) {
  std::string s;
  for (int i = 0; i < 1 + static_cast<int>(n % 7); ++i) s += "item " + std::to_string(n) + ";";
  return s + "\n";
}

class http_server {
 public:
  http_server() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    const int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(fd_, 4096) != 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      throw std::runtime_error("http_server: cannot listen on 127.0.0.1");
    }
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;
  ~http_server() {
    stop_ = true;
    acceptor_.join();
    ::close(fd_);
    std::vector<std::thread> conns;
    {
      std::lock_guard<std::mutex> g(m_);
      conns.swap(conns_);
    }
    for (auto& t : conns) t.join();
  }

  int port() const { return port_; }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  long answered() const { return answered_.load(); }

 private:
  void accept_loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      std::lock_guard<std::mutex> g(m_);
      conns_.emplace_back([this, c] { serve(c); });
    }
  }

  // serve() answers requests on one keep-alive connection until EOF or stop.
  void serve(int c) {
    std::string buf;
    char tmp[4096];
    for (;;) {
      std::size_t end;
      while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
        pollfd p{c, POLLIN, 0};
        const int r = ::poll(&p, 1, 100);
        if (stop_) {
          ::close(c);
          return;
        }
        if (r <= 0) continue;
        const ssize_t n = ::recv(c, tmp, sizeof tmp, 0);
        if (n <= 0) {
          ::close(c);
          return;
        }
        buf.append(tmp, static_cast<std::size_t>(n));
      }
      const std::string head = buf.substr(0, end);
      buf.erase(0, end + 4);
      std::string path;
      if (head.rfind("GET ", 0) == 0) path = head.substr(4, head.find(' ', 4) - 4);
      std::string status = "200 OK", body;
      long n = 0;
      if (path.rfind("/item/", 0) == 0) {
        n = std::atol(path.c_str() + 6);
        body = item_body(n);
      } else if (path.rfind("/slow/", 0) == 0) {
        const long ms = std::atol(path.c_str() + 6);
        const std::size_t slash = path.find('/', 6);
        n = slash == std::string::npos ? 0 : std::atol(path.c_str() + slash + 1);
        for (long waited = 0; waited < ms && !stop_; waited += 10) {
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        body = item_body(n);
      } else {
        status = "404 Not Found";
        body = "not found\n";
      }
      const std::string reply = "HTTP/1.1 " + status + "\r\nContent-Type: text/plain\r\n" +
                                "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
                                body;
      std::size_t off = 0;
      while (off < reply.size()) {
        const ssize_t k = ::send(c, reply.data() + off, reply.size() - off, MSG_NOSIGNAL);
        if (k <= 0) {
          ::close(c);
          return;
        }
        off += static_cast<std::size_t>(k);
      }
      answered_.fetch_add(1);
    }
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<long> answered_{0};
  std::thread acceptor_;
  std::mutex m_;
  std::vector<std::thread> conns_;
};

}  // namespace clients_test
