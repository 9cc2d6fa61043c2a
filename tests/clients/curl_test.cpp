// SPDX-License-Identifier: MIT
// libcurl's easy API, unchanged, on thousands of weft fibers on 2 workers:
// every libc call it makes (socket, connect, poll, send, recv) goes through
// weft::hook and parks the fiber. Against a local HTTP server the test
// starts (http_server.hpp); every body is checked byte for byte.
#include <curl/curl.h>
#include <dirent.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "clients/http_server.hpp"
#include "weft/fibers.hpp"
#include "weft/hook.hpp"
#include "weft/sync.hpp"

using namespace std::chrono_literals;

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr int kFibers = 200;  // ASan: fewer fibers and server threads, same checks
#else
constexpr int kFibers = 1000;
#endif
constexpr int kRequests = 5;

std::size_t open_fds() {
  std::size_t n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (::readdir(d)) ++n;
    ::closedir(d);
  }
  return n;
}

size_t append_body(char* data, size_t size, size_t nmemb, void* out) {
  static_cast<std::string*>(out)->append(data, size * nmemb);
  return size * nmemb;
}

struct curl_global {
  curl_global() { curl_global_init(CURL_GLOBAL_DEFAULT); }
  ~curl_global() { curl_global_cleanup(); }
};

// fetch() is one GET on `h`; returns curl's code, the status and the body.
CURLcode fetch(CURL* h, const std::string& url, long& status, std::string& body) {
  body.clear();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  const CURLcode rc = curl_easy_perform(h);
  status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  return rc;
}

}  // namespace

TEST_CASE("clients: libcurl easy handles on 1000 fibers on 2 workers", "[clients]") {
  REQUIRE(weft::hook::active());
  static curl_global g;
  clients_test::http_server server;
  const std::size_t fds0 = open_fds();
  const std::size_t tracked0 = weft::hook::tracked_descriptors();
  std::atomic<int> good{0};
  std::atomic<int> bad{0};
  const auto t0 = std::chrono::steady_clock::now();
  {
    auto rt = weft::builder::multi_thread().worker_threads(2).build();
    rt.block_on([&] {
      weft::join_set<void> set;
      for (int f = 0; f < kFibers; ++f) {
        set.spawn([&, f] {
          CURL* h = curl_easy_init();
          for (int r = 0; r < kRequests; ++r) {
            const long n = f * 100 + r;
            long status = 0;
            std::string body;
            const CURLcode rc = fetch(h, server.url("/item/" + std::to_string(n)), status, body);
            if (rc == CURLE_OK && status == 200 && body == clients_test::item_body(n)) {
              good.fetch_add(1);
            } else {
              bad.fetch_add(1);
            }
          }
          curl_easy_cleanup(h);
        });
      }
      while (set.join_next()) {
      }
    });
  }
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  WARN(kFibers << " fibers x " << kRequests << " libcurl requests on 2 workers: " << ms << " ms");
  CHECK(bad.load() == 0);
  CHECK(good.load() == kFibers * kRequests);
  CHECK(server.answered() == kFibers * kRequests);
  CHECK(weft::hook::tracked_descriptors() <= tracked0);
  CHECK(open_fds() <= fds0 + 1);  // the server may still hold a closing connection
}

TEST_CASE("clients: a weft timeout around curl_easy_perform ends it with an error", "[clients]") {
  static curl_global g;
  clients_test::http_server server;
  const std::size_t tracked0 = weft::hook::tracked_descriptors();
  {
    auto rt = weft::builder::multi_thread().worker_threads(2).build();
    rt.block_on([&] {
      CURL* h = curl_easy_init();
      CURLcode rc = CURLE_OK;
      bool reached_weft = false;
      const auto t0 = std::chrono::steady_clock::now();
      auto r = weft::time::timeout(200ms, [&] {
        long status = 0;
        std::string body;
        rc = fetch(h, server.url("/slow/5000/1"), status, body);  // libcurl's poll is hooked
        reached_weft = true;
        weft::this_fiber::yield();  // the timeout is reported here, not inside libcurl
        return 0;
      });
      const auto waited = std::chrono::steady_clock::now() - t0;
      CHECK_FALSE(r);
      CHECK(reached_weft);
      CHECK(rc != CURLE_OK);
      CHECK(waited < 4s);
      // The handle is still usable afterwards.
      long status = 0;
      std::string body;
      CHECK(fetch(h, server.url("/item/7"), status, body) == CURLE_OK);
      CHECK(body == clients_test::item_body(7));
      curl_easy_cleanup(h);
    });
  }  // the runtime's own descriptors are closed too: then nothing is left
  CHECK(weft::hook::tracked_descriptors() <= tracked0);
}

TEST_CASE("clients: libcurl's own CURLOPT_TIMEOUT_MS works on a fiber", "[clients]") {
  static curl_global g;
  clients_test::http_server server;
  auto rt = weft::builder::multi_thread().worker_threads(2).build();
  rt.block_on([&] {
    weft::spawn([&] {
      CURL* h = curl_easy_init();
      curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 150L);
      long status = 0;
      std::string body;
      const auto t0 = std::chrono::steady_clock::now();
      CHECK(fetch(h, server.url("/slow/5000/2"), status, body) == CURLE_OPERATION_TIMEDOUT);
      CHECK(std::chrono::steady_clock::now() - t0 < 4s);
      curl_easy_cleanup(h);
    }).join();
  });
}
