// SPDX-License-Identifier: MIT
// A stand-in for a vendor's shared library (libpq, a SDK): compiled on its
// own, it calls libc's recv/send/poll/nanosleep and knows nothing of weft.
// The hook tests check that its calls are hooked too.
#include <poll.h>
#include <sys/socket.h>
#include <time.h>

extern "C" {

// foreign_echo_once() waits for one message on `fd` (poll, then recv) and
// sends it back; returns the byte count or -1 with errno.
long foreign_echo_once(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, -1) < 0) return -1;
  char buf[256];
  const long n = recv(fd, buf, sizeof buf, 0);
  if (n <= 0) return n;
  return send(fd, buf, static_cast<unsigned long>(n), MSG_NOSIGNAL);
}

// foreign_sleep_ms() sleeps with nanosleep.
int foreign_sleep_ms(int ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000L};
  return nanosleep(&ts, nullptr);
}
}
