// Free loopback ports for tests that start nodes (lading testnet: node K uses base + 10(K-1)
// .. + 2).
//
// Header-only, no Catch2 dependency. Thread-compatible. A port found free may be taken by another
// process before it is used; tests that run in parallel (one process per ctest test) start their
// search at a per-process offset, so they rarely race for the same ports.
#ifndef LADING_TESTS_TESTING_PORTS_H_
#define LADING_TESTS_TESTING_PORTS_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>

namespace lading::test_files {

// True when 127.0.0.1:`port` can be bound now.
inline bool PortFree(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  ::close(fd);
  return free;
}

// A base port in [first, last] (a multiple of 10 above `first`) whose three ports for each of
// `nodes` nodes are all free now; 0 when none is found.
inline int FreeBasePort(int nodes, int first, int last) {
  const int slots = (last - first + 1 - 10 * nodes) / 10;
  if (slots <= 0) return 0;
  for (int attempt = 0; attempt < 500; ++attempt) {
    const int base = first + ((::getpid() * 37 + attempt * 101) % slots) * 10;
    bool all_free = true;
    for (int k = 0; k < nodes && all_free; ++k) {
      for (int offset = 0; offset < 3 && all_free; ++offset) {
        all_free = PortFree(base + 10 * k + offset);
      }
    }
    if (all_free) return base;
  }
  return 0;
}

}  // namespace lading::test_files

#endif  // LADING_TESTS_TESTING_PORTS_H_
