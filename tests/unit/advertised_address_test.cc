// What the coordinator hands out for a REPORT's advertised address, as a
// table: (advertised, source, policy) → the endpoint recorded, or the reason.
#include "coordinator/advertised_address.h"

#include <initializer_list>

#include <catch2/catch.hpp>

namespace lanswarm::coordinator {

namespace {

proto::Endpoint V4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d, std::uint16_t port = 6882) {
  return proto::Endpoint{4, {a, b, c, d}, port};
}

// Eight 16-bit groups, as written in an IPv6 address.
proto::Endpoint V6(std::initializer_list<std::uint16_t> groups, std::uint16_t port = 6882) {
  proto::Endpoint e{6, {}, port};
  int i = 0;
  for (std::uint16_t g : groups) {
    e.address[i++] = static_cast<std::uint8_t>(g >> 8);
    e.address[i++] = static_cast<std::uint8_t>(g);
  }
  return e;
}

// "Use my source address" at `port`.
proto::Endpoint Source(std::uint16_t port) { return proto::Endpoint{0, {}, port}; }

const proto::Endpoint kLan = V4(10, 0, 0, 5, 40000);       // where a REPORT comes from
const proto::Endpoint kLoopback = V4(127, 0, 0, 1, 40000);
const proto::Endpoint kLan6 = V6({0xfd00, 0, 0, 0, 0, 0, 0, 5}, 40000);
const AdvertisePolicy kStrict{};
const AdvertisePolicy kAllow{.allow_other_addresses = true};

std::string Refusal(const proto::Endpoint& reported, const proto::Endpoint& source, const AdvertisePolicy& p) {
  auto r = CheckAdvertised(reported, source, p);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Status::Code::kInvalidArgument);
  return r.status().message();
}

}  // namespace

TEST_CASE("advertised: family 0 is the source address at the reported port", "[advertised]") {
  for (const AdvertisePolicy& p : {kStrict, kAllow}) {
    CHECK(*CheckAdvertised(Source(7001), kLan, p) == V4(10, 0, 0, 5, 7001));
    CHECK(*CheckAdvertised(Source(7001), kLoopback, p) == V4(127, 0, 0, 1, 7001));
    CHECK(*CheckAdvertised(Source(7001), kLan6, p) == V6({0xfd00, 0, 0, 0, 0, 0, 0, 5}, 7001));
  }
}

TEST_CASE("advertised: the source's own address is recorded as advertised", "[advertised]") {
  CHECK(*CheckAdvertised(V4(10, 0, 0, 5, 7001), kLan, kStrict) == V4(10, 0, 0, 5, 7001));
  CHECK(*CheckAdvertised(V4(127, 0, 0, 1, 7001), kLoopback, kStrict) == V4(127, 0, 0, 1, 7001));
  // A dual-stack listener sees an IPv4 peer as ::ffff:10.0.0.5.
  const proto::Endpoint mapped = V6({0, 0, 0, 0, 0, 0xffff, 0x0a00, 0x0005}, 40000);
  CHECK(*CheckAdvertised(V4(10, 0, 0, 5, 7001), mapped, kStrict) == V4(10, 0, 0, 5, 7001));
}

TEST_CASE("advertised: port 0 is refused", "[advertised]") {
  CHECK(Refusal(Source(0), kLan, kAllow) == "REPORT without a listening port");
  CHECK(Refusal(V4(10, 0, 0, 5, 0), kLan, kAllow) == "REPORT without a listening port");
}

TEST_CASE("advertised: addresses no one peer is reached at are refused, whatever the policy", "[advertised]") {
  const struct {
    proto::Endpoint advertised;
    const char* reason;
  } kRows[] = {
      {V4(0, 0, 0, 0), "REPORT advertises an unspecified address, 0.0.0.0:6882"},
      {V4(0, 1, 2, 3), "REPORT advertises an unspecified address, 0.1.2.3:6882"},
      {V4(255, 255, 255, 255), "REPORT advertises the broadcast address, 255.255.255.255:6882"},
      {V4(224, 0, 0, 1), "REPORT advertises a multicast address, 224.0.0.1:6882"},
      {V4(239, 255, 255, 250), "REPORT advertises a multicast address, 239.255.255.250:6882"},
      {V6({0, 0, 0, 0, 0, 0, 0, 0}), "REPORT advertises an unspecified address, [0:0:0:0:0:0:0:0]:6882"},
      {V6({0xff02, 0, 0, 0, 0, 0, 0, 1}), "REPORT advertises a multicast address, [ff02:0:0:0:0:0:0:1]:6882"},
      {V6({0, 0, 0, 0, 0, 0xffff, 0xe000, 0x0001}),
       "REPORT advertises a multicast address, [0:0:0:0:0:ffff:e000:1]:6882"},
  };
  for (const auto& row : kRows) {
    for (const AdvertisePolicy& p : {kStrict, kAllow}) {
      CHECK(Refusal(row.advertised, kLan, p) == row.reason);
      CHECK(Refusal(row.advertised, kLoopback, p) == row.reason);
    }
  }
}

TEST_CASE("advertised: loopback only from loopback", "[advertised]") {
  CHECK(Refusal(V4(127, 0, 0, 9, 22), kLan, kAllow) ==
        "REPORT advertises the loopback address 127.0.0.9:22 from 10.0.0.5");
  CHECK(Refusal(V6({0, 0, 0, 0, 0, 0, 0, 1}), kLan6, kAllow) ==
        "REPORT advertises the loopback address [0:0:0:0:0:0:0:1]:6882 from fd00:0:0:0:0:0:0:5");
  // On one machine (tests, the demo) loopback is where peers are.
  CHECK(*CheckAdvertised(V4(127, 0, 0, 9, 7002), kLoopback, kAllow) == V4(127, 0, 0, 9, 7002));
  CHECK(*CheckAdvertised(V6({0, 0, 0, 0, 0, 0, 0, 1}), V6({0, 0, 0, 0, 0, 0, 0, 1}), kStrict) ==
        V6({0, 0, 0, 0, 0, 0, 0, 1}));
}

TEST_CASE("advertised: another address only when the coordinator allows it", "[advertised]") {
  CHECK(Refusal(V4(10, 0, 0, 9, 7002), kLan, kStrict) ==
        "REPORT advertises 10.0.0.9:7002 but comes from 10.0.0.5 (allow_advertised_addresses is off)");
  CHECK(Refusal(V4(127, 0, 0, 9, 7002), kLoopback, kStrict) ==
        "REPORT advertises 127.0.0.9:7002 but comes from 127.0.0.1 (allow_advertised_addresses is off)");
  CHECK(Refusal(V4(10, 0, 0, 5, 7002), kLan6, kStrict).find("but comes from fd00:0:") != std::string::npos);
  CHECK(*CheckAdvertised(V4(10, 0, 0, 9, 7002), kLan, kAllow) == V4(10, 0, 0, 9, 7002));
  CHECK(*CheckAdvertised(V6({0xfd00, 0, 0, 0, 0, 0, 0, 9}), kLan, kAllow) == V6({0xfd00, 0, 0, 0, 0, 0, 0, 9}));
}

}  // namespace lanswarm::coordinator
