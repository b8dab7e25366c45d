// Plain blocking TCP on loopback: the baselines the benchmarks compare the
// io_uring loop and the daemon against.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>

#include "common/aligned_buffer.h"

namespace lanswarm::testing {

// A socket listening on 127.0.0.1 at a port the kernel picks; *addr gets it.
inline int ListenOnLoopback(sockaddr_in* addr) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  *addr = {};
  addr->sin_family = AF_INET;
  addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(addr), sizeof *addr);
  ::listen(fd, 1);
  socklen_t len = sizeof *addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(addr), &len);
  return fd;
}

// Receives `total` bytes in `piece`-sized MSG_WAITALL reads into one
// page-aligned buffer; returns how many arrived before the stream ended.
inline std::uint64_t ReceiveAll(int fd, std::uint64_t total, std::size_t piece) {
  AlignedBuffer buf(piece);
  std::uint64_t got = 0;
  while (got < total) {
    const ssize_t n = ::recv(fd, buf.data(), piece, MSG_WAITALL);
    if (n <= 0) break;
    got += static_cast<std::uint64_t>(n);
  }
  return got;
}

}  // namespace lanswarm::testing
