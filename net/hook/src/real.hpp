// SPDX-License-Identifier: MIT
// The real libc functions behind the hooks, found with dlsym(RTLD_NEXT):
// resolved together, once, by a constructor before main() and on first use
// from any thread (whichever comes first), so a hook called from another
// library's constructor still reaches libc.
#pragma once

#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>

// X(name, return type, parameter list) for every interposed function.
#define WEFT_HOOK_FUNCTIONS(X)                                                                   \
  X(read, ssize_t, (int, void*, size_t))                                                         \
  X(readv, ssize_t, (int, const struct iovec*, int))                                             \
  X(write, ssize_t, (int, const void*, size_t))                                                  \
  X(writev, ssize_t, (int, const struct iovec*, int))                                            \
  X(recv, ssize_t, (int, void*, size_t, int))                                                    \
  X(recvfrom, ssize_t, (int, void*, size_t, int, struct sockaddr*, socklen_t*))                  \
  X(recvmsg, ssize_t, (int, struct msghdr*, int))                                                \
  X(send, ssize_t, (int, const void*, size_t, int))                                              \
  X(sendto, ssize_t, (int, const void*, size_t, int, const struct sockaddr*, socklen_t))         \
  X(sendmsg, ssize_t, (int, const struct msghdr*, int))                                          \
  X(connect, int, (int, const struct sockaddr*, socklen_t))                                      \
  X(accept, int, (int, struct sockaddr*, socklen_t*))                                            \
  X(accept4, int, (int, struct sockaddr*, socklen_t*, int))                                      \
  X(poll, int, (struct pollfd*, nfds_t, int))                                                    \
  X(ppoll, int, (struct pollfd*, nfds_t, const struct timespec*, const sigset_t*))               \
  X(select, int, (int, fd_set*, fd_set*, fd_set*, struct timeval*))                              \
  X(pselect, int, (int, fd_set*, fd_set*, fd_set*, const struct timespec*, const sigset_t*))     \
  X(epoll_wait, int, (int, struct epoll_event*, int, int))                                       \
  X(epoll_pwait, int, (int, struct epoll_event*, int, int, const sigset_t*))                     \
  X(sleep, unsigned, (unsigned))                                                                 \
  X(usleep, int, (useconds_t))                                                                   \
  X(nanosleep, int, (const struct timespec*, struct timespec*))                                  \
  X(clock_nanosleep, int, (clockid_t, int, const struct timespec*, struct timespec*))            \
  X(socket, int, (int, int, int))                                                                \
  X(socketpair, int, (int, int, int, int*))                                                      \
  X(pipe, int, (int*))                                                                           \
  X(pipe2, int, (int*, int))                                                                     \
  X(eventfd, int, (unsigned, int))                                                               \
  X(close, int, (int))                                                                           \
  X(shutdown, int, (int, int))                                                                   \
  X(dup, int, (int))                                                                             \
  X(dup2, int, (int, int))                                                                       \
  X(dup3, int, (int, int, int))                                                                  \
  X(fcntl, int, (int, int, ...))                                                                 \
  X(fcntl64, int, (int, int, ...))                                                               \
  X(ioctl, int, (int, unsigned long, ...))                                                       \
  X(setsockopt, int, (int, int, int, const void*, socklen_t))                                    \
  X(getsockopt, int, (int, int, int, void*, socklen_t*))                                         \
  X(getaddrinfo, int, (const char*, const char*, const struct addrinfo*, struct addrinfo**))     \
  X(getnameinfo, int,                                                                            \
    (const struct sockaddr*, socklen_t, char*, socklen_t, char*, socklen_t, int))                \
  X(gethostbyname, struct hostent*, (const char*))                                               \
  X(gethostbyname_r, int, (const char*, struct hostent*, char*, size_t, struct hostent**, int*)) \
  X(gethostbyname2_r, int,                                                                       \
    (const char*, int, struct hostent*, char*, size_t, struct hostent**, int*))                  \
  X(gethostbyaddr, struct hostent*, (const void*, socklen_t, int))                               \
  X(gethostbyaddr_r, int,                                                                        \
    (const void*, socklen_t, int, struct hostent*, char*, size_t, struct hostent**, int*))       \
  X(fclose, int, (FILE*))                                                                        \
  X(open, int, (const char*, int, ...))                                                          \
  X(open64, int, (const char*, int, ...))                                                        \
  X(openat, int, (int, const char*, int, ...))                                                   \
  X(openat64, int, (int, const char*, int, ...))                                                 \
  X(fopen, FILE*, (const char*, const char*))                                                    \
  X(fopen64, FILE*, (const char*, const char*))                                                  \
  X(epoll_create1, int, (int))                                                                   \
  X(close_range, int, (unsigned, unsigned, int))

namespace weft::hook::detail {

// real is the table of libc's definitions.
struct real_table {
#define WEFT_HOOK_FIELD(name, ret, params) ret(*name) params = nullptr;
  WEFT_HOOK_FUNCTIONS(WEFT_HOOK_FIELD)
#undef WEFT_HOOK_FIELD
};

// real() is the resolved table (resolving it on first use).
const real_table& real() noexcept;

}  // namespace weft::hook::detail
