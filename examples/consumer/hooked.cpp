// SPDX-License-Identifier: MIT
// weft_consumer_hooked: an installed weft::hook works for another project.
// On a current-thread runtime one fiber blocks in a plain recv() while a
// second fiber sends: only a hooked recv (one that parks the fiber) lets
// the second run. Without the hooks the process hangs, and alarm() ends
// it with a failure.
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>

#include "weft/fibers.hpp"
#include "weft/hook.hpp"

int main() {
  alarm(20);
  if (!weft::hook::active()) return 1;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 1;
  auto rt = weft::builder::current_thread().build();
  const long got = rt.block_on([&] {
    auto reader = weft::spawn([&] {
      char buf[16];
      return static_cast<long>(recv(sv[0], buf, sizeof buf, 0));  // parks the fiber
    });
    auto writer = weft::spawn([&] { return send(sv[1], "hooked", 6, 0); });
    writer.join();
    return reader.join();
  });
  close(sv[0]);
  close(sv[1]);
  std::printf("weft_consumer_hooked: recv got %ld bytes on a fiber\n", got);
  return got == 6 ? 0 : 1;
}
