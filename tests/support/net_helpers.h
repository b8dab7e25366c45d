// Small fixtures shared by the loopback tests of common/net.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>

#include <catch2/catch.hpp>

#include "common/net/loop.h"

namespace lanswarm::testing {

inline std::unique_ptr<net::Loop> MakeLoop(net::LoopOptions options = {}) {
  auto loop = net::Loop::Create(options);
  REQUIRE(loop.ok());
  return std::move(*loop);
}

// 127.0.0.1 with a port the kernel picks.
inline net::SocketAddress AnyLoopbackPort() { return *net::SocketAddress::Parse("127.0.0.1:0"); }

// A plain (non-loop) socket bound to a free loopback port; the caller owns
// the descriptor. Its address goes to *bound.
inline int BindLoopback(net::SocketAddress* bound) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *bound = net::SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&a), len);
  return fd;
}

}  // namespace lanswarm::testing
