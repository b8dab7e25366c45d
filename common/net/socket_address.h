// An IPv4 or IPv6 socket address: parsing from "ip:port" text, printing,
// and conversion to the protocol's Endpoint.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/proto/messages.h"
#include "common/status.h"

namespace lanswarm::net {

class SocketAddress {
 public:
  SocketAddress() = default;

  // "10.0.0.1:6881", "[fe80::1]:6881", "localhost:6881", "0.0.0.0:0".
  // Numeric addresses only (besides "localhost"): the loop never blocks on
  // name resolution. Port 0 means "any" when listening.
  static Result<SocketAddress> Parse(std::string_view text);
  static SocketAddress FromSockaddr(const sockaddr* sa, socklen_t len);
  // A Unix domain socket path (for local control sockets); at most 107 bytes.
  static Result<SocketAddress> FromUnixPath(const std::string& path);
  // REQUIRES: e.family is 4 or 6.
  static SocketAddress FromEndpoint(const proto::Endpoint& e);

  proto::Endpoint ToEndpoint() const;
  std::string ToString() const;
  // Family and address bytes without the port: the key of per-address limits.
  std::string HostKey() const;

  const sockaddr* sockaddr_ptr() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  socklen_t length() const { return length_; }
  int family() const { return storage_.ss_family; }
  std::uint16_t port() const;
  bool is_unspecified() const;  // 0.0.0.0 or ::

 private:
  sockaddr_storage storage_{};
  socklen_t length_ = 0;
};

}  // namespace lanswarm::net
