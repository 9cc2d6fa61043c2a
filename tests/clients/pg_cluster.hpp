// SPDX-License-Identifier: MIT
// A throw-away PostgreSQL cluster for the libpq tests: initdb in a
// temporary folder, pg_ctl start on 127.0.0.1 and a free port (as the
// `postgres` user when the process runs as root: initdb refuses root), and
// pg_ctl stop -m immediate plus removal of the folder in the destructor,
// whatever the test did. available() is false (with why()) when the server
// binaries are not installed.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace clients_test {

class pg_cluster {
 public:
  explicit pg_cluster(int max_connections = 300) {
    bin_ = find_bin();
    if (bin_.empty()) {
      why_ = "PostgreSQL's server binaries (initdb, pg_ctl) are not installed: run make deps";
      return;
    }
    char tmpl[] = "/tmp/weft-pg-XXXXXX";
    if (!::mkdtemp(tmpl)) {
      why_ = "mkdtemp failed";
      return;
    }
    dir_ = tmpl;
    if (::geteuid() == 0) {
      const passwd* pw = ::getpwnam("postgres");
      if (!pw) {
        why_ = "running as root and there is no postgres user to run initdb as";
        return;
      }
      as_ = "runuser -u postgres -- ";
      if (::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
        why_ = "cannot chown the cluster folder to postgres";
        return;
      }
    }
    port_ = free_port();
    const std::string data = dir_ + "/data";
    if (!run(as_ + bin_ + "/initdb -D " + data + " -A trust -U weft --no-sync -E UTF8 >" + dir_ +
             "/initdb.log 2>&1")) {
      why_ = "initdb failed (" + dir_ + "/initdb.log)";
      return;
    }
    const std::string opts = "-c listen_addresses=127.0.0.1 -c port=" + std::to_string(port_) +
                             " -c unix_socket_directories=" + dir_ +
                             " -c fsync=off -c synchronous_commit=off -c full_page_writes=off" +
                             " -c max_connections=" + std::to_string(max_connections) +
                             " -c shared_buffers=32MB";
    if (!run(as_ + bin_ + "/pg_ctl -D " + data + " -l " + dir_ + "/server.log -w -t 60 -o \"" +
             opts + "\" start >" + dir_ + "/pg_ctl.log 2>&1")) {
      why_ = "pg_ctl start failed (" + dir_ + "/server.log)";
      started_ = true;  // stop whatever may have come up
      return;
    }
    started_ = true;
    ok_ = true;
  }
  pg_cluster(const pg_cluster&) = delete;
  pg_cluster& operator=(const pg_cluster&) = delete;
  ~pg_cluster() {
    if (started_) {
      run(as_ + bin_ + "/pg_ctl -D " + dir_ + "/data -m immediate -w stop >/dev/null 2>&1");
    }
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  bool available() const { return ok_; }
  const std::string& why() const { return why_; }
  // conninfo() is the libpq connection string of the cluster's database.
  std::string conninfo() const {
    return "host=127.0.0.1 port=" + std::to_string(port_) + " user=weft dbname=postgres";
  }

 private:
  static bool run(const std::string& cmd) { return std::system(cmd.c_str()) == 0; }

  static std::string find_bin() {
    namespace fs = std::filesystem;
    std::error_code ec;
    for (int v = 20; v >= 10; --v) {
      const std::string d = "/usr/lib/postgresql/" + std::to_string(v) + "/bin";
      if (fs::exists(d + "/initdb", ec) && fs::exists(d + "/pg_ctl", ec)) return d;
    }
    return {};
  }

  static int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
  }

  std::string bin_, dir_, as_, why_;
  int port_ = 0;
  bool ok_ = false;
  bool started_ = false;
};

}  // namespace clients_test
