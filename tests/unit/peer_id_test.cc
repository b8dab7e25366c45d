// Peer ids as text: what peer status, --json and logs show.
#include <catch2/catch.hpp>

#include "common/peer_id.h"

namespace lanswarm {

TEST_CASE("peer id: hex round trip, strict parse", "[peer_id]") {
  PeerId id{};
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<std::uint8_t>(i * 17);
  const std::string hex = PeerIdHex(id);
  CHECK(hex == "00112233445566778899aabbccddeeff");
  CHECK(ParsePeerId(hex) == id);
  CHECK(ParsePeerId("00112233445566778899AABBCCDDEEFF") == id);
  for (const char* bad : {"", "00", "00112233445566778899aabbccddeef", "00112233445566778899aabbccddeeff0",
                          "g0112233445566778899aabbccddeeff"}) {
    INFO(bad);
    CHECK_FALSE(ParsePeerId(bad).has_value());
  }
}

}  // namespace lanswarm
