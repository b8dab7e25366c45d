// The download state against holders that stall (issue 15, item 8), with a
// fake clock: a peer on probation is asked for one chunk at a time, its
// late chunk is asked of another peer too, and Tick names each staller
// once, whether its request ran past the timeout or it never answered OPEN.
#include <catch2/catch.hpp>

#include "common/clock.h"
#include "peer/download.h"
#include "tests/support/download_fixtures.h"

namespace lanswarm::peer {

namespace {

using namespace std::chrono_literals;
using Picks = std::vector<std::uint32_t>;
using Stalls = std::vector<Stall>;
using testing::All;
using testing::Options;
using testing::Warm;

// Peers 1..n connected at `now`, each with the whole file.
void Connect(Download& d, int n, Clock::TimePoint now) {
  for (int k = 1; k <= n; ++k) {
    d.AddPeer(static_cast<PeerKey>(k), now);
    d.OnBitfield(static_cast<PeerKey>(k), All(d.chunk_count()));
  }
}

}  // namespace

TEST_CASE("download: a probe that is late after 1 s is asked of another peer too; the first copy wins",
          "[download][stall]") {
  FakeClock clock;
  Download d(1, 4s, Options(4, /*endgame_duplicates=*/1));
  Connect(d, 2, clock.now());
  REQUIRE(d.Next(1, clock.now()) == Picks{0});
  CHECK(d.Next(2, clock.now()).empty());
  clock.Advance(1s);  // exactly the floor: not late yet
  CHECK(d.Tick(clock.now()).empty());
  CHECK(d.Next(2, clock.now()).empty());
  CHECK(d.stats().late_probes == 0);
  clock.Advance(1ms);
  CHECK(d.Tick(clock.now()).empty());
  CHECK(d.stats().late_probes == 1);
  REQUIRE(d.Next(2, clock.now()) == Picks{0});
  const Download::Verdict v = d.OnChunk(2, 0, true, clock.now());
  CHECK(v.verified);
  CHECK(v.cancel == std::vector<PeerKey>{1});  // the staller is told, and is no longer late for anything
  clock.Advance(1h);
  CHECK(d.Tick(clock.now()).empty());
  CHECK(d.stats().late_probes == 1);
}

TEST_CASE("download: among many stallers each holds one chunk, and a new peer gets each late one",
          "[download][stall]") {
  // 8 chunks, 32 peers that claim everything and never deliver, then the
  // honest one: the shape of the measured 2 MiB download.
  FakeClock clock;
  const Clock::TimePoint start = clock.now();
  Download d(8, 4s, Options(16));
  Connect(d, 32, clock.now());
  std::size_t asked = 0;
  for (PeerKey k = 1; k <= 32; ++k) asked += d.Next(k, clock.now()).size();
  CHECK(asked == 16);  // one each, every chunk at two peers (endgame)
  for (PeerKey k = 1; k <= 32; ++k) CHECK(d.in_flight(k) <= 1);
  d.AddPeer(33, clock.now());
  d.OnBitfield(33, All(8));
  CHECK(d.Next(33, clock.now()).empty());  // everything is asked twice
  clock.Advance(1001ms);
  d.Tick(clock.now());
  CHECK(d.stats().late_probes == 16);
  const Picks probe = d.Next(33, clock.now());
  REQUIRE(probe.size() == 1);  // on probation itself
  clock.Advance(2ms);
  REQUIRE(d.OnChunk(33, probe[0], true, clock.now()).verified);
  // Off probation, it gets the rest as fast as it delivers, long before any
  // staller's timeout.
  for (int round = 0; round < 8 && !d.complete(); ++round) {
    const Picks next = d.Next(33, clock.now());
    REQUIRE_FALSE(next.empty());
    clock.Advance(2ms);
    for (std::uint32_t i : next) REQUIRE(d.OnChunk(33, i, true, clock.now()).verified);
  }
  CHECK(d.complete());
  CHECK(clock.now() - start < 1100ms);
  CHECK(d.Tick(clock.now()).empty());
}

TEST_CASE("download: peers are offered chunks proven first, then on probation by fewest late probes",
          "[download][stall]") {
  FakeClock clock;
  Download d(8, 4s, Options(4));
  Connect(d, 4, clock.now());
  REQUIRE(d.Next(1, clock.now()).size() == 1);
  REQUIRE(d.Next(2, clock.now()).size() == 1);
  Warm(d, 3, clock);
  CHECK(d.PumpOrder() == std::vector<PeerKey>{3, 1, 2, 4});  // by key among those on probation
  clock.Advance(1001ms);
  d.Tick(clock.now());
  CHECK(d.stats().late_probes == 2);
  CHECK(d.PumpOrder() == std::vector<PeerKey>{3, 4, 1, 2});
  // The record outlives a reconnect; a new connection is on probation again.
  d.OnPeerGone(1);
  d.OnPeerGone(3);
  d.AddPeer(1, clock.now());
  d.AddPeer(3, clock.now());
  CHECK(d.PumpOrder() == std::vector<PeerKey>{3, 4, 1, 2});
  d.OnPeerGone(4);
  CHECK(d.PumpOrder() == std::vector<PeerKey>{3, 1, 2});
}

TEST_CASE("download: the late threshold is 4 times the others' median chunk time when that is more than 1 s",
          "[download][stall]") {
  FakeClock clock;
  Download d(6, 30s, Options(1, /*endgame_duplicates=*/1));
  Connect(d, 2, clock.now());
  // Peer 2 delivers a chunk every 500 ms: the median is 500 ms.
  for (int i = 0; i < 2; ++i) {
    const Picks p = d.Next(2, clock.now());
    REQUIRE(p.size() == 1);
    clock.Advance(500ms);
    REQUIRE(d.OnChunk(2, p[0], true, clock.now()).verified);
  }
  REQUIRE(d.Next(1, clock.now()).size() == 1);
  clock.Advance(2s);
  d.Tick(clock.now());
  CHECK(d.stats().late_probes == 0);
  clock.Advance(1ms);
  d.Tick(clock.now());
  CHECK(d.stats().late_probes == 1);
}

TEST_CASE("download: a peer that has delivered is never treated as a late probe", "[download][stall]") {
  FakeClock clock;
  Download d(4, 30s, Options(2, /*endgame_duplicates=*/1));
  Connect(d, 1, clock.now());
  Warm(d, 1, clock);
  const Picks p = d.Next(1, clock.now());
  REQUIRE(p.size() == 2);
  clock.Advance(10s);  // slow now, but Rebalance's business, not probation's
  CHECK(d.Tick(clock.now()).empty());
  CHECK(d.stats().late_probes == 0);
  d.AddPeer(2, clock.now());
  d.OnBitfield(2, All(4));
  CHECK(d.Next(2, clock.now()).size() == 1);  // the one chunk nobody asked for; none of peer 1's
}

TEST_CASE("download: a probe that never comes is a stall at the request timeout, named once", "[download][stall]") {
  FakeClock clock;
  Download d(2, 4s, Options(4));
  Connect(d, 1, clock.now());
  REQUIRE(d.Next(1, clock.now()).size() == 1);
  clock.Advance(4s - 1ns);
  CHECK(d.Tick(clock.now()).empty());
  clock.Advance(1ns);
  CHECK(d.Tick(clock.now()) == Stalls{{1, Stall::Kind::kRequest}});
  CHECK(d.Tick(clock.now() + 1s).empty());
  CHECK(d.stats().timeouts == 1);
  // It reconnects: a new connection, a new clock, and it may stall again.
  d.OnPeerGone(1);
  d.AddPeer(1, clock.now());
  d.OnBitfield(1, All(2));
  REQUIRE(d.Next(1, clock.now()).size() == 1);
  clock.Advance(4s);
  CHECK(d.Tick(clock.now()) == Stalls{{1, Stall::Kind::kRequest}});
  CHECK(d.stats().timeouts == 2);
}

TEST_CASE("download: a peer that never answers OPEN stalls at kOpenTimeout", "[download][stall]") {
  FakeClock clock;
  Download d(2, 16s, Options(4));
  d.AddPeer(1, clock.now());
  d.AddPeer(2, clock.now() + 1s);
  clock.Advance(kOpenTimeout - 1ns);
  CHECK(d.Tick(clock.now()).empty());
  clock.Advance(1ns);
  CHECK(d.Tick(clock.now()) == Stalls{{1, Stall::Kind::kOpen}});
  d.OnBitfield(2, All(2));  // just in time
  clock.Advance(1s);
  CHECK(d.Tick(clock.now()).empty());
  CHECK(d.stats().timeouts == 1);
  CHECK(d.active_peers() == 1);
}

}  // namespace lanswarm::peer

namespace lanswarm::peer {

TEST_CASE("download: a holder slow but above the progress floor is no staller; one below it is",
          "[download][stall]") {
  // The seed of a large swarm: its upload shared by many getters, each
  // chunk taking longer than the timeout, bytes arriving all along.
  FakeClock clock;
  Download d(1, 4s, testing::Options(4, /*endgame_duplicates=*/1));
  d.AddPeer(1, clock.now());
  d.OnBitfield(1, testing::All(1));
  d.AddPeer(2, clock.now());
  d.OnBitfield(2, testing::All(1));
  REQUIRE(d.Next(1, clock.now()) == std::vector<std::uint32_t>{0});
  for (int second = 0; second < 12; ++second) {
    clock.Advance(1s);
    d.OnProgress(1, 2 * kProgressFloor);  // twice the floor
    CHECK(d.Tick(clock.now()).empty());
  }
  // A trickle: one byte a second is a stall at the end of the next window.
  std::vector<Stall> stalls;
  for (int second = 0; second < 8 && stalls.empty(); ++second) {
    clock.Advance(1s);
    d.OnProgress(1, 1);
    stalls = d.Tick(clock.now());
  }
  CHECK(stalls == std::vector<Stall>{{1, Stall::Kind::kRequest}});
  CHECK(d.stats().timeouts == 1);
}

}  // namespace lanswarm::peer
