// The daemon's ban list as tables, with a fake clock: K strikes ban a holder
// for one file, for the cool-down, and then it starts again from nothing.
#include <catch2/catch.hpp>

#include "common/clock.h"
#include "peer/ban_list.h"

namespace lanswarm::peer {

namespace {

using namespace std::chrono_literals;

FileId File(std::uint8_t n) {
  FileId f;
  f.bytes[0] = n;
  return f;
}

proto::PeerId Peer(std::uint8_t n) {
  proto::PeerId p{};
  p[0] = n;
  return p;
}

BanList List(std::uint32_t k = 3, Clock::Duration cooldown = 10min, std::uint32_t stalls = 3) {
  return BanList(BanPolicy{.after_bad_chunks = k, .after_stalls = stalls, .cooldown = cooldown});
}

// n strikes of `kind` against `peer` for `file`, `every` apart; whether each one banned.
std::vector<bool> Hits(BanList& bans, FakeClock& clock, BanReason kind, const FileId& file, const proto::PeerId& peer,
                       int n, Clock::Duration every) {
  std::vector<bool> out;
  for (int i = 0; i < n; ++i) {
    const auto ban = kind == BanReason::kStalls ? bans.OnStall(file, peer, "data.bin", "10.0.0.7:6882", clock.now())
                                                : bans.OnBadChunk(file, peer, "data.bin", "10.0.0.7:6882", clock.now());
    out.push_back(ban.has_value());
    clock.Advance(every);
  }
  return out;
}

// Bad chunks of `file` from `peer`, one a second; whether each one banned.
std::vector<bool> Strikes(BanList& bans, FakeClock& clock, const FileId& file, const proto::PeerId& peer, int n) {
  return Hits(bans, clock, BanReason::kBadChunks, file, peer, n, 1s);
}

// Stalled requests to `peer` for `file`, one every 10 s; whether each one banned.
std::vector<bool> Stalls(BanList& bans, FakeClock& clock, const FileId& file, const proto::PeerId& peer, int n) {
  return Hits(bans, clock, BanReason::kStalls, file, peer, n, 10s);
}

}  // namespace

TEST_CASE("ban list: the K-th bad chunk bans, not one before", "[bans][clock]") {
  FakeClock clock;
  BanList bans = List(3);
  CHECK(Strikes(bans, clock, File(1), Peer(1), 2) == std::vector<bool>{false, false});
  CHECK_FALSE(bans.Banned(File(1), Peer(1), clock.now()));
  CHECK(bans.Active(clock.now()).empty());
  const auto ban = bans.OnBadChunk(File(1), Peer(1), "data.bin", "10.0.0.7:6882", clock.now());
  REQUIRE(ban.has_value());
  CHECK(ban->bad_chunks == 3);
  CHECK(ban->until == clock.now() + 10min);
  CHECK(ban->address == "10.0.0.7:6882");
  CHECK(ban->file_name == "data.bin");
  CHECK(bans.Banned(File(1), Peer(1), clock.now()));
}

TEST_CASE("ban list: K = 1 bans at the first bad chunk", "[bans]") {
  FakeClock clock;
  BanList bans = List(1);
  CHECK(Strikes(bans, clock, File(1), Peer(1), 1) == std::vector<bool>{true});
}

TEST_CASE("ban list: a ban is reported once; failures while banned change nothing", "[bans][clock]") {
  FakeClock clock;
  BanList bans = List(2);
  CHECK(Strikes(bans, clock, File(1), Peer(1), 5) == std::vector<bool>{false, true, false, false, false});
  const auto active = bans.Active(clock.now());
  REQUIRE(active.size() == 1);
  CHECK(active[0].bad_chunks == 2);
}

TEST_CASE("ban list: a ban is per file and per holder", "[bans][clock]") {
  FakeClock clock;
  BanList bans = List(2);
  Strikes(bans, clock, File(1), Peer(1), 2);
  CHECK(bans.Banned(File(1), Peer(1), clock.now()));
  CHECK_FALSE(bans.Banned(File(2), Peer(1), clock.now()));  // same holder, another file
  CHECK_FALSE(bans.Banned(File(1), Peer(2), clock.now()));  // same file, another holder
  // Strikes for different files do not add up.
  CHECK(Strikes(bans, clock, File(2), Peer(2), 1) == std::vector<bool>{false});
  CHECK(Strikes(bans, clock, File(3), Peer(2), 1) == std::vector<bool>{false});
  CHECK(bans.Active(clock.now()).size() == 1);
}

TEST_CASE("ban list: a ban ends after the cool-down and vanishes", "[bans][clock]") {
  FakeClock clock;
  BanList bans = List(1, 10min);
  REQUIRE(bans.OnBadChunk(File(1), Peer(1), "f", "a", clock.now()));
  clock.Advance(10min - 1ns);
  CHECK(bans.Banned(File(1), Peer(1), clock.now()));
  CHECK(bans.Expire(clock.now()).empty());
  CHECK(bans.Active(clock.now()).size() == 1);
  clock.Advance(1ns);
  CHECK_FALSE(bans.Banned(File(1), Peer(1), clock.now()));
  CHECK(bans.Active(clock.now()).empty());  // ended, even before the sweep
  const auto ended = bans.Expire(clock.now());
  REQUIRE(ended.size() == 1);
  CHECK(ended[0].file == File(1));
  CHECK(bans.size() == 0);
}

TEST_CASE("ban list: after a ban ends, another takes K new bad chunks", "[bans][clock]") {
  FakeClock clock;
  BanList bans = List(3, 1min);
  REQUIRE(Strikes(bans, clock, File(1), Peer(1), 3).back());
  clock.Advance(1min);
  SECTION("swept first") { bans.Expire(clock.now()); }
  SECTION("not swept") {}
  CHECK(Strikes(bans, clock, File(1), Peer(1), 3) == std::vector<bool>{false, false, true});
}

TEST_CASE("ban list: strikes below K age out after the cool-down", "[bans][clock]") {
  FakeClock clock;
  BanList bans = List(3, 1min);
  Strikes(bans, clock, File(1), Peer(1), 2);
  clock.Advance(1min);  // a minute since the last strike
  CHECK(Strikes(bans, clock, File(1), Peer(1), 2) == std::vector<bool>{false, false});
  CHECK(Strikes(bans, clock, File(1), Peer(1), 1) == std::vector<bool>{true});
  // An idle strike is swept too.
  Strikes(bans, clock, File(2), Peer(1), 1);
  clock.Advance(2min);
  bans.Expire(clock.now());
  CHECK(bans.size() == 0);
}

TEST_CASE("ban list: active bans are listed soonest to end first", "[bans][clock]") {
  FakeClock clock;
  BanList bans = List(1, 10min);
  bans.OnBadChunk(File(2), Peer(9), "b", "x", clock.now());
  clock.Advance(1min);
  bans.OnBadChunk(File(1), Peer(1), "a", "y", clock.now());
  const auto active = bans.Active(clock.now());
  REQUIRE(active.size() == 2);
  CHECK(active[0].file_name == "b");
  CHECK(active[1].file_name == "a");
  CHECK(active[1].until - active[0].until == 1min);
}

TEST_CASE("ban list: stalls in a row ban at after_stalls, with their own count and cause", "[bans][clock]") {
  FakeClock clock;
  BanList bans = List(/*k=*/3, 10min, /*stalls=*/3);
  CHECK(Stalls(bans, clock, File(1), Peer(1), 2) == std::vector<bool>{false, false});
  CHECK_FALSE(bans.Banned(File(1), Peer(1), clock.now()));
  const auto ban = bans.OnStall(File(1), Peer(1), "data.bin", "10.0.0.7:6882", clock.now());
  REQUIRE(ban.has_value());
  CHECK(ban->reason == BanReason::kStalls);
  CHECK(ban->stalls == 3);
  CHECK(ban->bad_chunks == 0);
  CHECK(ban->until == clock.now() + 10min);
  CHECK(BanCause(*ban) == "3 requests stalled");
  CHECK(bans.Banned(File(1), Peer(1), clock.now()));
  // Stalls while banned change nothing, and are not reported again.
  CHECK(Stalls(bans, clock, File(1), Peer(1), 2) == std::vector<bool>{false, false});
  REQUIRE(bans.Active(clock.now()).size() == 1);
  CHECK(bans.Active(clock.now())[0].stalls == 3);
}

TEST_CASE("ban list: each cause in its words", "[bans]") {
  Ban ban;
  ban.bad_chunks = 2;
  CHECK(BanCause(ban) == "2 chunks failed their checksum");
  ban.bad_chunks = 1;
  CHECK(BanCause(ban) == "1 chunk failed its checksum");
  ban.reason = BanReason::kStalls;
  ban.stalls = 5;
  CHECK(BanCause(ban) == "5 requests stalled");
  ban.stalls = 1;
  CHECK(BanCause(ban) == "1 request stalled");
}

TEST_CASE("ban list: a good chunk forgives the stalls before it, not the bad chunks", "[bans][clock]") {
  FakeClock clock;
  BanList bans = List(/*k=*/2, 10min, /*stalls=*/2);
  // A holder that is sometimes slow but delivers is never banned for it.
  for (int i = 0; i < 10; ++i) {
    CHECK(Stalls(bans, clock, File(1), Peer(1), 1) == std::vector<bool>{false});
    bans.OnGoodChunk(File(1), Peer(1));
  }
  CHECK(bans.size() == 0);  // nothing left to remember
  // A bad chunk stays counted across good ones.
  CHECK(Strikes(bans, clock, File(1), Peer(1), 1) == std::vector<bool>{false});
  bans.OnGoodChunk(File(1), Peer(1));
  CHECK(Strikes(bans, clock, File(1), Peer(1), 1) == std::vector<bool>{true});
  CHECK(bans.Active(clock.now())[0].reason == BanReason::kBadChunks);
  // A good chunk for another file, or from another holder, forgives nothing.
  Stalls(bans, clock, File(2), Peer(2), 1);
  bans.OnGoodChunk(File(3), Peer(2));
  bans.OnGoodChunk(File(2), Peer(3));
  CHECK(Stalls(bans, clock, File(2), Peer(2), 1) == std::vector<bool>{true});
}

TEST_CASE("ban list: stalls and bad chunks count apart, each against its threshold", "[bans][clock]") {
  FakeClock clock;
  BanList bans = List(/*k=*/3, 10min, /*stalls=*/3);
  Strikes(bans, clock, File(1), Peer(1), 2);
  CHECK(Stalls(bans, clock, File(1), Peer(1), 2) == std::vector<bool>{false, false});
  CHECK_FALSE(bans.Banned(File(1), Peer(1), clock.now()));
  const auto ban = bans.OnBadChunk(File(1), Peer(1), "data.bin", "10.0.0.7:6882", clock.now());
  REQUIRE(ban.has_value());
  CHECK(ban->reason == BanReason::kBadChunks);
  CHECK(ban->bad_chunks == 3);
  CHECK(ban->stalls == 2);
}

TEST_CASE("ban list: stalls age out after the cool-down, and start again after a ban", "[bans][clock]") {
  FakeClock clock;
  BanList bans = List(/*k=*/3, 1min, /*stalls=*/2);
  Stalls(bans, clock, File(1), Peer(1), 1);
  clock.Advance(1min);
  CHECK(Stalls(bans, clock, File(1), Peer(1), 2) == std::vector<bool>{false, true});
  clock.Advance(1min);
  CHECK_FALSE(bans.Banned(File(1), Peer(1), clock.now()));
  CHECK(Stalls(bans, clock, File(1), Peer(1), 2) == std::vector<bool>{false, true});
}

}  // namespace lanswarm::peer
