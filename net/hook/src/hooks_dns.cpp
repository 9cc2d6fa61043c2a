// SPDX-License-Identifier: MIT
// The interposed resolver calls: getaddrinfo, getnameinfo and the
// gethostby* family. On a fiber each runs on the runtime's blocking pool
// (a worker never blocks in DNS) while the fiber parks.
//  - getaddrinfo and getnameinfo own their inputs and outputs on the pool,
//    so a cancellation or timeout ends the wait at once: they return
//    EAI_SYSTEM with errno ECANCELED / ETIMEDOUT, and the abandoned lookup
//    frees its result when it finishes.
//  - the gethostby*_r forms write into the caller's buffer, so they wait
//    for the lookup to finish even when cancelled (the cancellation is
//    still delivered at the fiber's next weft suspension point).
//  - gethostbyname/gethostbyaddr return process-wide static storage, as
//    libc's do (not reentrant: use the _r forms or getaddrinfo).
#include <errno.h>
#include <netdb.h>
#include <string.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "call.hpp"
#include "real.hpp"

using weft::hook::detail::on_fiber;
using weft::hook::detail::real;
using weft::hook::detail::run_on_pool;
using weft::hook::detail::set_errno;

namespace {

struct gai_job {
  std::mutex lock;
  bool abandoned = false;  // guarded by lock: the caller stopped waiting
  std::optional<std::string> node, service;
  addrinfo hints{};
  bool has_hints = false;
  addrinfo* res = nullptr;
  int rc = 0;
  int err = 0;
};

struct gni_job {
  std::mutex lock;
  bool abandoned = false;
  sockaddr_storage addr{};
  socklen_t addrlen = 0;
  std::string host, serv;
  int flags = 0;
  int rc = 0;
  int err = 0;
};

// Static storage of the non-reentrant forms (libc's are static too).
struct static_hostent {
  hostent ent{};
  char buf[8192];
} g_hostent;

// on_pool_r() runs a gethostby*_r lookup `call(&h_errno)` on the blocking
// pool and waits for it even when cancelled: it writes into the caller's
// buffer. Returns its result; the caller's h_errno and errno are set after
// resuming.
template <class Call>
int on_pool_r(int* h_errnop, Call call) noexcept {
  int rc = 0;
  int err = 0;
  int herr = 0;
  (void)run_on_pool(
      [&] {
        rc = call(&herr);
        err = errno;
      },
      /*cancellable=*/false);
  if (h_errnop) *h_errnop = herr;
  if (rc != 0) set_errno(err);
  return rc;
}

}  // namespace

extern "C" {

int getaddrinfo(const char* node, const char* service, const struct addrinfo* hints,
                struct addrinfo** res) {
  if (!on_fiber() || !res) return real().getaddrinfo(node, service, hints, res);
  std::shared_ptr<gai_job> job;
  try {
    job = std::make_shared<gai_job>();
    if (node) job->node.emplace(node);
    if (service) job->service.emplace(service);
  } catch (...) {
    return EAI_MEMORY;
  }
  if (hints) {
    job->hints.ai_flags = hints->ai_flags;
    job->hints.ai_family = hints->ai_family;
    job->hints.ai_socktype = hints->ai_socktype;
    job->hints.ai_protocol = hints->ai_protocol;
    job->has_hints = true;
  }
  const int w = run_on_pool(
      [job] {
        addrinfo* out = nullptr;
        const int rc = real().getaddrinfo(job->node ? job->node->c_str() : nullptr,
                                          job->service ? job->service->c_str() : nullptr,
                                          job->has_hints ? &job->hints : nullptr, &out);
        const int err = errno;
        std::lock_guard<std::mutex> lk(job->lock);
        if (job->abandoned) {
          if (rc == 0 && out) freeaddrinfo(out);
          return;
        }
        job->rc = rc;
        job->err = err;
        job->res = out;
      },
      /*cancellable=*/true);
  if (w) {
    std::lock_guard<std::mutex> lk(job->lock);
    job->abandoned = true;
    if (job->res) {
      // It finished between the wake-up and here: nobody else frees it.
      freeaddrinfo(job->res);
      job->res = nullptr;
    }
    set_errno(w);
    return EAI_SYSTEM;
  }
  *res = job->res;
  if (job->rc == EAI_SYSTEM) set_errno(job->err);
  return job->rc;
}

int getnameinfo(const struct sockaddr* addr, socklen_t addrlen, char* host, socklen_t hostlen,
                char* serv, socklen_t servlen, int flags) {
  if (!on_fiber() || !addr || addrlen > sizeof(sockaddr_storage)) {
    return real().getnameinfo(addr, addrlen, host, hostlen, serv, servlen, flags);
  }
  std::shared_ptr<gni_job> job;
  try {
    job = std::make_shared<gni_job>();
    job->host.assign(host ? hostlen : 0, '\0');
    job->serv.assign(serv ? servlen : 0, '\0');
  } catch (...) {
    return EAI_MEMORY;
  }
  memcpy(&job->addr, addr, addrlen);
  job->addrlen = addrlen;
  job->flags = flags;
  const int w = run_on_pool(
      [job] {
        const int rc =
            real().getnameinfo(reinterpret_cast<const sockaddr*>(&job->addr), job->addrlen,
                               job->host.empty() ? nullptr : job->host.data(),
                               static_cast<socklen_t>(job->host.size()),
                               job->serv.empty() ? nullptr : job->serv.data(),
                               static_cast<socklen_t>(job->serv.size()), job->flags);
        const int err = errno;
        std::lock_guard<std::mutex> lk(job->lock);
        job->rc = rc;
        job->err = err;
      },
      /*cancellable=*/true);
  if (w) {
    set_errno(w);
    return EAI_SYSTEM;
  }
  if (job->rc == 0) {
    if (host && hostlen) memcpy(host, job->host.data(), hostlen);
    if (serv && servlen) memcpy(serv, job->serv.data(), servlen);
  }
  if (job->rc == EAI_SYSTEM) set_errno(job->err);
  return job->rc;
}

int gethostbyname2_r(const char* name, int af, struct hostent* ret, char* buf, size_t buflen,
                     struct hostent** result, int* h_errnop) {
  if (!on_fiber()) return real().gethostbyname2_r(name, af, ret, buf, buflen, result, h_errnop);
  return on_pool_r(h_errnop, [&](int* herr) {
    return real().gethostbyname2_r(name, af, ret, buf, buflen, result, herr);
  });
}

int gethostbyname_r(const char* name, struct hostent* ret, char* buf, size_t buflen,
                    struct hostent** result, int* h_errnop) {
  if (!on_fiber()) return real().gethostbyname_r(name, ret, buf, buflen, result, h_errnop);
  return on_pool_r(h_errnop, [&](int* herr) {
    return real().gethostbyname_r(name, ret, buf, buflen, result, herr);
  });
}

int gethostbyaddr_r(const void* addr, socklen_t len, int type, struct hostent* ret, char* buf,
                    size_t buflen, struct hostent** result, int* h_errnop) {
  if (!on_fiber()) {
    return real().gethostbyaddr_r(addr, len, type, ret, buf, buflen, result, h_errnop);
  }
  return on_pool_r(h_errnop, [&](int* herr) {
    return real().gethostbyaddr_r(addr, len, type, ret, buf, buflen, result, herr);
  });
}

struct hostent* gethostbyname(const char* name) {
  if (!on_fiber()) return real().gethostbyname(name);
  hostent* out = nullptr;
  int herr = 0;
  if (gethostbyname_r(name, &g_hostent.ent, g_hostent.buf, sizeof g_hostent.buf, &out, &herr) !=
          0 ||
      !out) {
    h_errno = herr ? herr : NO_RECOVERY;
    return nullptr;
  }
  return out;
}

struct hostent* gethostbyaddr(const void* addr, socklen_t len, int type) {
  if (!on_fiber()) return real().gethostbyaddr(addr, len, type);
  hostent* out = nullptr;
  int herr = 0;
  if (gethostbyaddr_r(addr, len, type, &g_hostent.ent, g_hostent.buf, sizeof g_hostent.buf, &out,
                      &herr) != 0 ||
      !out) {
    h_errno = herr ? herr : NO_RECOVERY;
    return nullptr;
  }
  return out;
}

}  // extern "C"
