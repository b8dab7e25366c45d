// Fixtures of the unit tests of peer/download: a whole-file bitfield, the
// options the tables use, and a peer taken off probation.
#pragma once

#include <catch2/catch.hpp>

#include "common/bitfield.h"
#include "common/clock.h"
#include "peer/download.h"

namespace lanswarm::testing {

inline Bitfield All(std::uint32_t n) { return Bitfield(n, true); }

// A fixed seed, so that the picks are the same every run.
inline peer::DownloadOptions Options(std::uint32_t pipeline, int endgame_duplicates = 2) {
  peer::DownloadOptions o;
  o.seed = 7;
  o.pipeline = pipeline;
  o.endgame_duplicates = endgame_duplicates;
  return o;
}

// Takes `peer` off probation, for the tests whose subject is what comes
// after: its first request is delivered 10 ms later.
// REQUIRES: `peer` sent its bitfield and has nothing in flight.
inline void Warm(peer::Download& d, peer::PeerKey peer, FakeClock& clock) {
  const std::vector<std::uint32_t> first = d.Next(peer, clock.now());
  REQUIRE(first.size() == 1);
  clock.Advance(std::chrono::milliseconds(10));
  REQUIRE(d.OnChunk(peer, first[0], true, clock.now()).verified);
}

}  // namespace lanswarm::testing
