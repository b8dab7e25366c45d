// The chunk picker as tables: which chunk is asked of which peer, and why.
#include <algorithm>
#include <set>

#include <catch2/catch.hpp>

#include "peer/chunk_picker.h"

namespace lanswarm::peer {

namespace {

// "1101" -> a bitfield with chunks 0, 1 and 3.
Bitfield Bits(const std::string& s) {
  Bitfield b(static_cast<std::uint32_t>(s.size()));
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '1') b.set(static_cast<std::uint32_t>(i));
  }
  return b;
}

using Picks = std::vector<std::uint32_t>;

}  // namespace

TEST_CASE("picker: prefers rarer chunks", "[picker]") {
  ChunkPicker p(5, 1);
  p.OnPeerBitfield(1, Bits("11111"));
  p.OnPeerBitfield(2, Bits("11010"));
  p.OnPeerBitfield(3, Bits("10010"));
  // Availability per chunk: 3 2 1 3 1 -> chunks 2 and 4 first, then 1, then 0 and 3.
  const Picks first = p.Next(1, 2);
  CHECK(std::set<std::uint32_t>(first.begin(), first.end()) == std::set<std::uint32_t>{2, 4});
  CHECK(p.Next(1, 1) == Picks{1});
  const Picks last = p.Next(1, 5);
  CHECK(std::set<std::uint32_t>(last.begin(), last.end()) == std::set<std::uint32_t>{0, 3});
}

TEST_CASE("picker: only asks a peer for chunks it has", "[picker]") {
  ChunkPicker p(4, 1);
  p.OnPeerBitfield(1, Bits("0101"));
  const Picks got = p.Next(1, 10);
  CHECK(std::set<std::uint32_t>(got.begin(), got.end()) == std::set<std::uint32_t>{1, 3});
  CHECK(p.Next(1, 10).empty());
  CHECK(p.Next(99, 10).empty());  // an unknown peer gets nothing
}

TEST_CASE("picker: ties are broken by the seed, the same way every time", "[picker]") {
  auto order = [](std::uint64_t seed) {
    ChunkPicker p(16, seed);
    p.OnPeerBitfield(1, Bitfield(16, true));
    return p.Next(1, 16);
  };
  CHECK(order(7) == order(7));
  CHECK(order(7) != order(8));
  Picks sorted = order(7);
  std::sort(sorted.begin(), sorted.end());
  CHECK(sorted.size() == 16);
  CHECK(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end());  // each chunk once
}

TEST_CASE("picker: two peers are never asked for the same chunk before the endgame", "[picker]") {
  ChunkPicker p(8, 3);
  p.OnPeerBitfield(1, Bitfield(8, true));
  p.OnPeerBitfield(2, Bitfield(8, true));
  const Picks a = p.Next(1, 3), b = p.Next(2, 3);
  std::set<std::uint32_t> all(a.begin(), a.end());
  all.insert(b.begin(), b.end());
  CHECK(all.size() == 6);
  CHECK(p.in_flight(1) == 3);
}

TEST_CASE("picker: HAVE raises availability and makes a chunk pickable", "[picker]") {
  ChunkPicker p(3, 1);
  p.OnPeerBitfield(1, Bits("000"));
  CHECK(p.Next(1, 3).empty());
  CHECK(p.OnPeerHave(1, 2));         // new, and needed here
  CHECK_FALSE(p.OnPeerHave(1, 2));   // twice counts once
  CHECK(p.availability(2) == 1);
  CHECK(p.Next(1, 3) == Picks{2});
  CHECK_FALSE(p.OnPeerHave(1, 77));  // out of range: ignored
}

TEST_CASE("picker: a failed chunk is retried, elsewhere when possible", "[picker]") {
  ChunkPicker p(2, 1);
  p.OnPeerBitfield(1, Bits("11"));
  p.OnPeerBitfield(2, Bits("10"));
  REQUIRE(p.Next(1, 1) == Picks{1});  // chunk 1 is rarer
  REQUIRE(p.Next(1, 1) == Picks{0});
  p.OnFailed(0, 1);  // bad checksum from peer 1
  CHECK_FALSE(p.verified(0));
  CHECK(p.Next(1, 1).empty());        // not peer 1 again while peer 2 has it
  CHECK(p.Next(2, 1) == Picks{0});
  p.OnFailed(0, 2);
  CHECK(p.Next(1, 1) == Picks{0});    // both failed it once: back to either
}

TEST_CASE("picker: a peer that goes away gives its chunks back", "[picker]") {
  ChunkPicker p(3, 1);
  p.OnPeerBitfield(1, Bitfield(3, true));
  p.OnPeerBitfield(2, Bits("100"));
  REQUIRE(p.Next(1, 3).size() == 3);
  CHECK(p.Next(2, 3) == Picks{0});  // endgame: peer 2 may duplicate the one it has
  p.OnPeerGone(1);
  CHECK(p.in_flight(1) == 0);
  CHECK(p.availability(0) == 1);
  CHECK(p.availability(1) == 0);
  // Chunks 1 and 2 are needed again; nobody left has them.
  CHECK(p.Next(2, 3).empty());
  p.OnPeerHave(2, 1);
  CHECK(p.Next(2, 3) == Picks{1});
}

TEST_CASE("picker: endgame duplicates the last chunks and names the losers to cancel", "[picker]") {
  ChunkPicker p(3, 5, /*endgame_duplicates=*/2);
  p.OnPeerBitfield(1, Bitfield(3, true));
  p.OnPeerBitfield(2, Bitfield(3, true));
  p.OnPeerBitfield(3, Bitfield(3, true));
  const Picks a = p.Next(1, 3);
  REQUIRE(a.size() == 3);
  const Picks b = p.Next(2, 3);  // everything is in flight: endgame
  CHECK(b.size() == 3);
  CHECK(p.Next(3, 3).empty());   // two requests per chunk already
  const std::vector<PeerKey> losers = p.OnVerified(a[0], 1);
  CHECK(losers == std::vector<PeerKey>{2});
  CHECK(p.in_flight(2) == 2);
  CHECK(p.OnVerified(a[1], 2) == std::vector<PeerKey>{1});
  CHECK(p.OnVerified(a[2], 1) == std::vector<PeerKey>{2});
  CHECK(p.complete());
  CHECK(p.in_flight(1) == 0);
  CHECK(p.in_flight(2) == 0);
}

TEST_CASE("picker: chunks verified before (a resume) are never requested", "[picker]") {
  ChunkPicker p(4, 1);
  p.MarkVerified(0);
  p.MarkVerified(2);
  p.OnPeerBitfield(1, Bitfield(4, true));
  const Picks got = p.Next(1, 4);
  CHECK(std::set<std::uint32_t>(got.begin(), got.end()) == std::set<std::uint32_t>{1, 3});
  p.OnVerified(1, 1);
  p.OnVerified(3, 1);
  CHECK(p.complete());
  CHECK(p.verified_count() == 4);
}

TEST_CASE("picker: a zero-chunk file is complete at once", "[picker]") {
  ChunkPicker p(0, 1);
  CHECK(p.complete());
  p.OnPeerBitfield(1, Bitfield(0));
  CHECK(p.Next(1, 4).empty());
}

TEST_CASE("picker: a chunk whose every request is late is picked again, after the needed ones", "[picker]") {
  ChunkPicker p(4, 1);
  p.OnPeerBitfield(1, Bits("1110"));
  p.OnPeerBitfield(2, Bits("1110"));
  p.OnPeerBitfield(3, Bits("0001"));  // chunk 3 stays needed: this is no endgame
  const Picks late = p.Next(1, 1);
  REQUIRE(late.size() == 1);
  p.MarkLate(late[0], 1);
  const Picks next = p.Next(2, 3);
  REQUIRE(next.size() == 3);
  CHECK(next.back() == late[0]);  // after the two needed ones
  CHECK(p.in_flight(1) == 1);     // still asked of peer 1 too
  CHECK(p.Next(2, 3).empty());
  // Without the mark, a chunk in flight is nobody else's before the endgame.
  ChunkPicker q(4, 1);
  q.OnPeerBitfield(1, Bits("1110"));
  q.OnPeerBitfield(2, Bits("1110"));
  q.OnPeerBitfield(3, Bits("0001"));
  const Picks first = q.Next(1, 1);
  const Picks rest = q.Next(2, 3);
  CHECK(rest.size() == 2);
  CHECK(std::find(rest.begin(), rest.end(), first.at(0)) == rest.end());
}

TEST_CASE("picker: late requests do not count against the endgame duplicates; they still verify", "[picker]") {
  ChunkPicker p(1, 1, /*endgame_duplicates=*/2);
  for (PeerKey k : {1, 2, 3}) p.OnPeerBitfield(k, Bits("1"));
  REQUIRE(p.Next(1, 1) == Picks{0});
  REQUIRE(p.Next(2, 1) == Picks{0});
  CHECK(p.Next(3, 1).empty());  // two on time
  p.MarkLate(0, 1);
  p.MarkLate(0, 1);  // once per request
  REQUIRE(p.Next(3, 1) == Picks{0});
  // The late peer's copy is as good as any: it wins, the others are cancelled.
  CHECK(p.OnVerified(0, 1) == std::vector<PeerKey>{2, 3});
  CHECK(p.complete());
}

TEST_CASE("picker: a late mark ends with its request", "[picker]") {
  ChunkPicker p(1, 1, /*endgame_duplicates=*/1);
  p.OnPeerBitfield(1, Bits("1"));
  p.OnPeerBitfield(2, Bits("1"));
  p.MarkLate(0, 1);  // not requested from it: no-op
  REQUIRE(p.Next(1, 1) == Picks{0});
  CHECK(p.Next(2, 1).empty());
  p.MarkLate(0, 1);
  REQUIRE(p.Next(2, 1) == Picks{0});
  p.OnFailed(0, 2);  // the on-time request fails; the late one remains
  p.OnFailed(0, 1);  // now nobody asks: needed again, and on time for whoever takes it
  REQUIRE(p.Next(2, 1) == Picks{0});
  CHECK(p.Next(1, 1).empty());
}

TEST_CASE("picker: a peer is useful while it has a chunk not verified here", "[picker]") {
  ChunkPicker p(4, 1);
  p.MarkVerified(0);
  p.OnPeerBitfield(7, Bits("1100"));
  CHECK(p.useful(7) == 1);  // chunk 1
  CHECK(p.OnPeerHave(7, 2));
  CHECK_FALSE(p.OnPeerHave(7, 2));  // twice counts once
  CHECK(p.useful(7) == 2);
  CHECK_FALSE(p.OnPeerHave(7, 0));  // verified here: counted, but nothing to ask for
  CHECK(p.availability(0) == 1);
  CHECK(p.useful(7) == 2);
  p.OnPeerBitfield(8, Bits("0110"));
  CHECK(p.useful(8) == 2);
  REQUIRE(p.Next(8, 1).size() == 1);
  p.OnVerified(1, 8);
  p.OnVerified(2, 8);
  CHECK(p.useful(7) == 0);
  CHECK(p.useful(8) == 0);
  CHECK(p.useful(9) == 0);  // unknown
}

TEST_CASE("picker: a held chunk waits until released; a verified one stays out even then", "[picker]") {
  // 20 chunks: the scan goes eight at a time, so 9 and 17 sit in later bytes.
  ChunkPicker p(20, 1);
  p.OnPeerBitfield(1, Bitfield(20, true));
  for (std::uint32_t i = 0; i < 20; ++i) {
    if (i != 9 && i != 17) p.MarkVerified(i);
  }
  p.Hold(9);
  p.Hold(17);
  CHECK(p.Next(1, 5).empty());
  p.Unhold(17);
  CHECK(p.Next(1, 5) == Picks{17});
  p.OnVerified(17, 1);
  p.Unhold(17);  // released after it was verified: still nothing to ask for
  p.Unhold(9);
  CHECK(p.Next(1, 5) == Picks{9});
}

TEST_CASE("picker: a HAVE before the peer's bitfield is ignored", "[picker]") {
  ChunkPicker p(3, 1);
  CHECK_FALSE(p.OnPeerHave(4, 1));
  CHECK(p.availability(1) == 0);
  p.OnPeerBitfield(4, Bits("000"));
  CHECK(p.OnPeerHave(4, 1));
  CHECK(p.availability(1) == 1);
}

}  // namespace lanswarm::peer
