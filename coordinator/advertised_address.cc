#include "coordinator/advertised_address.h"

#include <algorithm>
#include <string>

#include <fmt/format.h>

namespace lanswarm::coordinator {

namespace {

// ::ffff:a.b.c.d as a.b.c.d; anything else unchanged.
proto::Endpoint Unmapped(const proto::Endpoint& e) {
  const auto& a = e.address;
  const bool mapped = e.family == 6 && std::all_of(a.begin(), a.begin() + 10, [](auto b) { return b == 0; }) &&
                      a[10] == 0xff && a[11] == 0xff;
  if (!mapped) return e;
  proto::Endpoint v4{4, {}, e.port};
  std::copy(a.begin() + 12, a.end(), v4.address.begin());
  return v4;
}

bool IsLoopback(const proto::Endpoint& e) {
  if (e.family == 4) return e.address[0] == 127;
  return e.family == 6 && std::all_of(e.address.begin(), e.address.end() - 1, [](auto b) { return b == 0; }) &&
         e.address[15] == 1;
}

// Why no peer can be reached at `e` (a plain 4 or 6 address), or null.
const char* Unreachable(const proto::Endpoint& e) {
  const auto& a = e.address;
  if (e.family == 4) {
    if (a[0] == 0) return "an unspecified";
    if (a[0] == 255 && a[1] == 255 && a[2] == 255 && a[3] == 255) return "the broadcast";
    if ((a[0] & 0xf0) == 0xe0) return "a multicast";
    return nullptr;
  }
  if (std::all_of(a.begin(), a.end(), [](auto b) { return b == 0; })) return "an unspecified";
  if (a[0] == 0xff) return "a multicast";
  return nullptr;
}

// The address as a person would write it (IPv6 without "::" shortening:
// these lines are for logs, not for pasting), and with its port.
std::string Host(const proto::Endpoint& e) {
  const auto& a = e.address;
  if (e.family == 4) return fmt::format("{}.{}.{}.{}", a[0], a[1], a[2], a[3]);
  std::string s;
  for (int i = 0; i < 16; i += 2) s += fmt::format("{}{:x}", i == 0 ? "" : ":", (a[i] << 8) | a[i + 1]);
  return s;
}
std::string Text(const proto::Endpoint& e) {
  if (e.family == 4) return fmt::format("{}:{}", Host(e), e.port);
  return fmt::format("[{}]:{}", Host(e), e.port);
}

}  // namespace

Result<proto::Endpoint> CheckAdvertised(const proto::Endpoint& reported, const proto::Endpoint& source,
                                        const AdvertisePolicy& policy) {
  if (reported.port == 0) return Status::InvalidArgument("REPORT without a listening port");
  proto::Endpoint where = reported;
  if (where.family == 0) {  // "reach me where this connection comes from, at my port"
    where = source;
    where.port = reported.port;
  }
  const proto::Endpoint plain = Unmapped(where);
  const proto::Endpoint from = Unmapped(source);
  if (const char* why = Unreachable(plain)) {
    return Status::InvalidArgument(fmt::format("REPORT advertises {} address, {}", why, Text(where)));
  }
  if (IsLoopback(plain) && !IsLoopback(from)) {
    return Status::InvalidArgument(
        fmt::format("REPORT advertises the loopback address {} from {}", Text(where), Host(from)));
  }
  if (!policy.allow_other_addresses && (plain.family != from.family || plain.address != from.address)) {
    return Status::InvalidArgument(
        fmt::format("REPORT advertises {} but comes from {} (allow_advertised_addresses is off)", Text(where),
                    Host(from)));
  }
  return where;
}

}  // namespace lanswarm::coordinator
