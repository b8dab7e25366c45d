#include "common/net/socket_address.h"

#include <arpa/inet.h>
#include <sys/un.h>

#include <charconv>
#include <cstring>

#include <fmt/format.h>

namespace lanswarm::net {

Result<SocketAddress> SocketAddress::Parse(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument(fmt::format("bad address '{}': {}", text, why));
  };
  std::string_view host, port_text;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return bad("expected [IPv6]:PORT");
    }
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad("expected IP:PORT");
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return bad("put an IPv6 address in brackets: [IPv6]:PORT");
  }
  unsigned port = 0;
  auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || p != port_text.data() + port_text.size() || port > 65535 || port_text.empty()) {
    return bad("port must be a number from 0 to 65535");
  }
  if (host == "localhost") host = "127.0.0.1";
  const std::string h(host);
  SocketAddress a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage_);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage_);
  if (::inet_pton(AF_INET, h.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<std::uint16_t>(port));
    a.length_ = sizeof(sockaddr_in);
  } else if (::inet_pton(AF_INET6, h.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<std::uint16_t>(port));
    a.length_ = sizeof(sockaddr_in6);
  } else {
    return bad("not a numeric IPv4 or IPv6 address");
  }
  return a;
}

SocketAddress SocketAddress::FromSockaddr(const sockaddr* sa, socklen_t len) {
  SocketAddress a;
  a.length_ = std::min<socklen_t>(len, sizeof(a.storage_));
  std::memcpy(&a.storage_, sa, a.length_);
  return a;
}

Result<SocketAddress> SocketAddress::FromUnixPath(const std::string& path) {
  SocketAddress a;
  auto* un = reinterpret_cast<sockaddr_un*>(&a.storage_);
  if (path.empty() || path.size() >= sizeof(un->sun_path)) {
    return Status::InvalidArgument(fmt::format("socket path '{}' must be 1 to {} bytes long (choose a shorter state directory)",
                                               path, sizeof(un->sun_path) - 1));
  }
  un->sun_family = AF_UNIX;
  std::memcpy(un->sun_path, path.data(), path.size());
  a.length_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  return a;
}

SocketAddress SocketAddress::FromEndpoint(const proto::Endpoint& e) {
  SocketAddress a;
  if (e.family == 4) {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage_);
    v4->sin_family = AF_INET;
    std::memcpy(&v4->sin_addr, e.address.data(), 4);
    v4->sin_port = htons(e.port);
    a.length_ = sizeof(sockaddr_in);
  } else if (e.family == 6) {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage_);
    v6->sin6_family = AF_INET6;
    std::memcpy(&v6->sin6_addr, e.address.data(), 16);
    v6->sin6_port = htons(e.port);
    a.length_ = sizeof(sockaddr_in6);
  }
  return a;
}

proto::Endpoint SocketAddress::ToEndpoint() const {
  proto::Endpoint e;
  if (family() == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&storage_);
    e.family = 4;
    std::memcpy(e.address.data(), &v4->sin_addr, 4);
  } else if (family() == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&storage_);
    e.family = 6;
    std::memcpy(e.address.data(), &v6->sin6_addr, 16);
  }
  e.port = port();
  return e;
}

std::uint16_t SocketAddress::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  return 0;
}

bool SocketAddress::is_unspecified() const {
  if (family() == AF_INET) return reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr.s_addr == INADDR_ANY;
  if (family() == AF_INET6) {
    return IN6_IS_ADDR_UNSPECIFIED(&reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr);
  }
  return true;
}

std::string SocketAddress::HostKey() const {
  const proto::Endpoint e = ToEndpoint();
  return std::string(1, static_cast<char>(e.family)) + std::string(e.address.begin(), e.address.end());
}

std::string SocketAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN] = "?";
  if (family() == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, buf, sizeof buf);
    return fmt::format("{}:{}", buf, port());
  }
  if (family() == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, buf, sizeof buf);
    return fmt::format("[{}]:{}", buf, port());
  }
  if (family() == AF_UNIX) return std::string("unix:") + reinterpret_cast<const sockaddr_un*>(&storage_)->sun_path;
  return "(no address)";
}

}  // namespace lanswarm::net
