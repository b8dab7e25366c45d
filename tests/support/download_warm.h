// Takes a peer of a peer/download off probation for the unit tests whose
// subject is what comes after: its first request is delivered 10 ms later.
#pragma once

#include <catch2/catch.hpp>

#include "common/clock.h"
#include "peer/download.h"

namespace lanswarm::testing {

// REQUIRES: `peer` sent its bitfield and has nothing in flight.
inline void Warm(peer::Download& d, peer::PeerKey peer, FakeClock& clock) {
  const std::vector<std::uint32_t> first = d.Next(peer, clock.now());
  REQUIRE(first.size() == 1);
  clock.Advance(std::chrono::milliseconds(10));
  REQUIRE(d.OnChunk(peer, first[0], true, clock.now()).verified);
}

}  // namespace lanswarm::testing
