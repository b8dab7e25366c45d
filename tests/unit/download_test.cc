// The download state as tables: retries, backoff, timeouts, peer loss and
// bans, with a fake clock.
#include <set>

#include <catch2/catch.hpp>

#include "common/clock.h"
#include "peer/download.h"
#include "tests/support/download_fixtures.h"

namespace lanswarm::peer {

namespace {

using namespace std::chrono_literals;
using Picks = std::vector<std::uint32_t>;
using testing::All;
using testing::Options;
using testing::Warm;

Bitfield Bits(const std::string& s) {
  Bitfield b(static_cast<std::uint32_t>(s.size()));
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '1') b.set(static_cast<std::uint32_t>(i));
  }
  return b;
}

}  // namespace

TEST_CASE("download: request timeout is max(4 s, 4 s per MiB)", "[download]") {
  CHECK(RequestTimeout(256 << 10) == 4s);
  CHECK(RequestTimeout(1 << 20) == 4s);
  CHECK(RequestTimeout(4 << 20) == 16s);
  CHECK(RequestTimeout(16 << 20) == 64s);
}

TEST_CASE("download: pipeline keeps about 8 MiB in flight, 2 to 16 requests", "[download]") {
  CHECK(PipelineFor(256 << 10) == 16);
  CHECK(PipelineFor(1 << 20) == 8);
  CHECK(PipelineFor(4 << 20) == 2);
  CHECK(PipelineFor(16 << 20) == 2);
}

TEST_CASE("download: nothing is asked before the bitfield, one chunk until the first delivery, then the pipeline fills",
          "[download]") {
  // A bad chunk is a delivery too: it ends probation (and counts toward a ban).
  for (bool good : {true, false}) {
    CAPTURE(good);
    FakeClock clock;
    Download d(10, 4s, Options(3));
    d.AddPeer(1, clock.now());
    CHECK(d.Next(1, clock.now()).empty());
    d.OnBitfield(1, All(10));
    const Picks probe = d.Next(1, clock.now());
    REQUIRE(probe.size() == 1);  // on probation
    CHECK(d.Next(1, clock.now()).empty());
    clock.Advance(10ms);
    CHECK(d.OnChunk(1, probe[0], good, clock.now()).verified == good);
    CHECK(d.Next(1, clock.now()).size() == 3);
    CHECK(d.Next(1, clock.now()).empty());  // full
    CHECK(d.in_flight(1) == 3);
  }
}

TEST_CASE("download: a resumed download never asks for chunks it holds", "[download]") {
  FakeClock clock;
  Download d(4, 4s, Options(8));
  d.MarkVerified(0);
  d.MarkVerified(2);
  d.AddPeer(1, clock.now());
  d.OnBitfield(1, All(4));
  Picks p = d.Next(1, clock.now());
  REQUIRE(p.size() == 1);  // on probation
  d.OnChunk(1, p[0], true, clock.now() + 10ms);
  for (std::uint32_t i : d.Next(1, clock.now() + 10ms)) p.push_back(i);
  CHECK(std::set<std::uint32_t>(p.begin(), p.end()) == std::set<std::uint32_t>{1, 3});
  CHECK(p.size() == 2);
}

TEST_CASE("download: a verified chunk completes the file and frees the pipeline", "[download]") {
  FakeClock clock;
  Download d(2, 4s, Options(1));
  d.AddPeer(1, clock.now());
  d.OnBitfield(1, All(2));
  const Picks a = d.Next(1, clock.now());
  REQUIRE(a.size() == 1);
  Download::Verdict v = d.OnChunk(1, a[0], true, clock.now());
  CHECK(v.verified);
  CHECK_FALSE(d.Wanted(a[0]));
  const Picks b = d.Next(1, clock.now());
  REQUIRE(b.size() == 1);
  CHECK(d.OnChunk(1, b[0], true, clock.now()).verified);
  CHECK(d.complete());
}

TEST_CASE("download: a bad chunk is retried from another holder at once", "[download]") {
  FakeClock clock;
  Download d(1, 4s, Options(1));
  d.AddPeer(1, clock.now());
  d.AddPeer(2, clock.now());
  d.OnBitfield(1, All(1));
  d.OnBitfield(2, All(1));
  const PeerKey first = d.Next(1, clock.now()).empty() ? 2 : 1;
  if (first == 2) REQUIRE(d.Next(2, clock.now()) == Picks{0});
  CHECK_FALSE(d.OnChunk(first, 0, false, clock.now()).verified);
  CHECK(d.stats().checksum_failures == 1);
  CHECK(d.stats().retries == 1);
  const PeerKey other = first == 1 ? 2 : 1;
  CHECK(d.Next(first, clock.now()).empty());  // not the peer that failed it, while another has it
  CHECK(d.Next(other, clock.now()) == Picks{0});
}

TEST_CASE("download: repeated failures of one chunk back off before the retry", "[download]") {
  FakeClock clock;
  DownloadOptions o = Options(1);
  o.retry_base = 100ms;
  o.retry_cap = 400ms;
  Download d(1, 4s, o);
  d.AddPeer(1, clock.now());
  d.OnBitfield(1, All(1));
  // (failure number, wait before the chunk may be asked again)
  const std::vector<std::pair<int, std::chrono::milliseconds>> table = {{1, 0ms}, {2, 100ms}, {3, 200ms},
                                                                         {4, 400ms}, {5, 400ms}};
  for (const auto& [n, wait] : table) {
    INFO("failure " << n);
    REQUIRE(d.Next(1, clock.now()) == Picks{0});
    d.OnChunk(1, 0, false, clock.now());
    if (wait > 0ms) {
      clock.Advance(wait - 1ms);
      d.Tick(clock.now());
      CHECK(d.Next(1, clock.now()).empty());
      clock.Advance(1ms);
      d.Tick(clock.now());
    }
  }
  CHECK(d.Next(1, clock.now()) == Picks{0});
}

TEST_CASE("download: a REJECT puts the chunk back for another holder", "[download]") {
  FakeClock clock;
  Download d(1, 4s, Options(1));
  d.AddPeer(1, clock.now());
  d.OnBitfield(1, All(1));
  REQUIRE(d.Next(1, clock.now()) == Picks{0});
  d.OnReject(1, 0, clock.now());
  CHECK(d.stats().rejects == 1);
  CHECK(d.in_flight(1) == 0);
  d.AddPeer(2, clock.now());
  d.OnBitfield(2, All(1));
  CHECK(d.Next(2, clock.now()) == Picks{0});
}

TEST_CASE("download: a peer past its deadline is named by Tick; each delivery restarts the clock", "[download]") {
  FakeClock clock;
  Download d(6, 4s, Options(2));
  d.AddPeer(1, clock.now());
  d.OnBitfield(1, All(6));
  Warm(d, 1, clock);
  const Picks p = d.Next(1, clock.now());
  REQUIRE(p.size() == 2);
  clock.Advance(3s);
  CHECK(d.Tick(clock.now()).empty());
  d.OnChunk(1, p[0], true, clock.now());  // progress: 4 s more for the next one
  clock.Advance(3s);
  CHECK(d.Tick(clock.now()).empty());
  clock.Advance(1s);
  CHECK(d.Tick(clock.now()) == std::vector<Stall>{{1, Stall::Kind::kRequest}});
  CHECK(d.stats().timeouts == 1);
  // Named once: the caller is dropping it.
  clock.Advance(1s);
  CHECK(d.Tick(clock.now()).empty());
  CHECK(d.stats().timeouts == 1);
  // The caller drops it: its chunks go to the next peer.
  d.OnPeerGone(1);
  d.AddPeer(2, clock.now());
  d.OnBitfield(2, All(6));
  Warm(d, 2, clock);
  CHECK(d.Next(2, clock.now()).size() == 2);
}

TEST_CASE("download: an idle peer never times out", "[download]") {
  FakeClock clock;
  Download d(1, 4s, Options(1));
  d.AddPeer(1, clock.now());
  d.OnBitfield(1, Bits("0"));
  CHECK(d.Next(1, clock.now()).empty());
  clock.Advance(1h);
  CHECK(d.Tick(clock.now()).empty());
}

TEST_CASE("download: a lost peer's chunks go to the others", "[download]") {
  FakeClock clock;
  Download d(4, 4s, Options(3));
  d.AddPeer(1, clock.now());
  d.AddPeer(2, clock.now());
  d.OnBitfield(1, All(4));
  d.OnBitfield(2, Bits("0111"));
  Warm(d, 1, clock);  // chunk 0, the rarest
  CHECK(d.Next(1, clock.now()).size() == 3);
  CHECK(d.active_peers() == 2);
  d.OnPeerGone(1);
  CHECK(d.active_peers() == 1);
  Picks p = d.Next(2, clock.now());
  REQUIRE(p.size() == 1);  // on probation
  d.OnChunk(2, p[0], true, clock.now() + 10ms);
  for (std::uint32_t i : d.Next(2, clock.now() + 10ms)) p.push_back(i);
  CHECK(std::set<std::uint32_t>(p.begin(), p.end()) == std::set<std::uint32_t>{1, 2, 3});
}

TEST_CASE("download: endgame asks a second peer and names the loser to cancel", "[download]") {
  FakeClock clock;
  Download d(1, 4s, Options(2));
  d.AddPeer(1, clock.now());
  d.AddPeer(2, clock.now());
  d.OnBitfield(1, All(1));
  d.OnBitfield(2, All(1));
  REQUIRE(d.Next(1, clock.now()) == Picks{0});
  REQUIRE(d.Next(2, clock.now()) == Picks{0});  // the endgame duplicate
  const Download::Verdict v = d.OnChunk(2, 0, true, clock.now());
  CHECK(v.verified);
  CHECK(v.cancel == std::vector<PeerKey>{1});
  // The loser's copy arrives anyway: counted, not verified twice.
  const Download::Verdict late = d.OnChunk(1, 0, true, clock.now());
  CHECK_FALSE(late.verified);
  CHECK(d.stats().duplicates == 1);
  CHECK(d.complete());
}

TEST_CASE("download: a good chunk nobody asked this peer for still counts", "[download]") {
  FakeClock clock;
  Download d(2, 4s, Options(1));
  d.AddPeer(1, clock.now());
  d.OnBitfield(1, All(2));
  CHECK(d.OnChunk(1, 1, true, clock.now()).verified);
  CHECK(d.Next(1, clock.now()) == Picks{0});
}

}  // namespace lanswarm::peer

namespace lanswarm::peer {

TEST_CASE("download: a peer that dropped out is asked for its lost chunks only when nobody else has them", "[download]") {
  FakeClock clock;
  Download d(1, 4s, Options(1));
  d.AddPeer(1, clock.now());
  d.OnBitfield(1, All(1));
  REQUIRE(d.Next(1, clock.now()) == Picks{0});
  d.OnPeerGone(1);  // e.g. dropped for a timeout
  CHECK(d.stats().retries == 1);
  d.AddPeer(1, clock.now());     // it comes back...
  d.OnBitfield(1, All(1));
  d.AddPeer(2, clock.now());     // ...and so does another holder
  d.OnBitfield(2, All(1));
  CHECK(d.Next(1, clock.now()).empty());
  CHECK(d.Next(2, clock.now()) == Picks{0});
}

TEST_CASE("download: a requeued chunk is fetched again without counting against the peer", "[download]") {
  FakeClock clock;
  Download d(1, 4s, Options(1));
  d.AddPeer(1, clock.now());
  d.OnBitfield(1, All(1));
  REQUIRE(d.Next(1, clock.now()) == Picks{0});
  d.Requeue(1, 0, clock.now());
  CHECK_FALSE(d.banned(1));
  CHECK(d.stats().checksum_failures == 0);
  CHECK(d.Next(1, clock.now()) == Picks{0});  // the only holder: asked again
}

TEST_CASE("download: REJECT elsewhere is no failure; the chunk goes to the peer that has it", "[download]") {
  FakeClock clock;
  Download d(2, 4s, Options(1));
  d.AddPeer(1, clock.now());  // the seed
  d.OnBitfield(1, All(2));
  const Picks first = d.Next(1, clock.now());
  REQUIRE(first.size() == 1);
  const std::uint32_t chunk = first[0];
  // The seed sent it to someone else; we do not know who yet: it waits
  // kDeferHold, and meanwhile the seed is asked for the other chunk.
  d.OnDeferred(1, chunk, clock.now());
  CHECK(d.stats().deferred == 1);
  CHECK(d.stats().retries == 0);
  CHECK(d.stats().rejects == 0);
  CHECK(d.Next(1, clock.now()) == Picks{1 - chunk});
  d.OnChunk(1, 1 - chunk, true, clock.now());
  CHECK(d.Next(1, clock.now()).empty());  // held
  // Peer 2 announces it: no need to wait for the hold, it goes there.
  d.AddPeer(2, clock.now());
  d.OnBitfield(2, Bitfield(2));
  d.OnHave(2, chunk);
  clock.Advance(Download::kDeferHold);
  d.Tick(clock.now());
  CHECK(d.Next(1, clock.now()).empty());  // not the seed, while peer 2 has it
  CHECK(d.Next(2, clock.now()) == Picks{chunk});
}

TEST_CASE("download: REJECT elsewhere with no other holder asks the seed again after the hold", "[download]") {
  FakeClock clock;
  Download d(1, 4s, Options(1));
  d.AddPeer(1, clock.now());
  d.OnBitfield(1, All(1));
  REQUIRE(d.Next(1, clock.now()) == Picks{0});
  d.OnDeferred(1, 0, clock.now());
  CHECK(d.Next(1, clock.now()).empty());
  clock.Advance(Download::kDeferHold - 1ms);
  d.Tick(clock.now());
  CHECK(d.Next(1, clock.now()).empty());
  clock.Advance(1ms);
  d.Tick(clock.now());
  CHECK(d.Next(1, clock.now()) == Picks{0});  // the seed has spread everything by now, or says so again
}

}  // namespace lanswarm::peer

namespace lanswarm::peer {

TEST_CASE("download: gated peers are asked one chunk per grant, max_incoming senders at once", "[download][grants]") {
  FakeClock clock;
  DownloadOptions o = testing::Options(4);
  o.max_incoming = 2;
  Download d(10, 4s, o);
  for (PeerKey k : {1, 2, 3}) {
    d.AddPeer(k, clock.now());
    d.OnBitfield(k, testing::All(10), /*gated=*/true);
    CHECK(d.gated(k));
    CHECK(d.Interesting(k));
  }
  CHECK(d.Next(1, clock.now()).empty());  // no grant yet
  d.OnGrant(1);
  d.OnGrant(1);
  CHECK(d.Next(1, clock.now()).size() == 2);  // one chunk per grant
  CHECK(d.grants(1) == 0);
  d.OnGrant(2);
  CHECK(d.Next(2, clock.now()).size() == 1);  // a second sender
  d.OnGrant(3);
  CHECK(d.Next(3, clock.now()).empty());  // a third would share our link
  CHECK(d.ReturnGrants(3) == 1);
  CHECK(d.ReturnGrants(1) == 0);
}

namespace {
// A download of 20 chunks from gated peers that hold them all, two senders
// at most (max_incoming); Deliver gives a peer the chunk time `took`.
struct GatedSenders {
  explicit GatedSenders(std::initializer_list<PeerKey> keys) : d(20, 4s, Opts()) {
    for (PeerKey k : keys) Add(k);
  }
  static DownloadOptions Opts() {
    DownloadOptions o = testing::Options(4);
    o.max_incoming = 2;
    return o;
  }
  void Add(PeerKey k) {
    d.AddPeer(k, clock.now());
    d.OnBitfield(k, testing::All(20), /*gated=*/true);
  }
  // One granted chunk from k, arriving `took` after it was asked.
  void Deliver(PeerKey k, Clock::Duration took) {
    d.OnGrant(k);
    const Picks p = d.Next(k, clock.now());
    REQUIRE(p.size() == 1);
    CHECK(d.OnChunk(k, p[0], true, clock.now() + took).verified);
  }
  // Whether a grant from k is used now (one chunk asked) or passed on.
  bool Granted(PeerKey k) {
    d.OnGrant(k);
    const std::size_t asked = d.Next(k, clock.now()).size();
    REQUIRE(asked <= 1);
    return asked == 1;
  }
  FakeClock clock;
  Download d;
};
}  // namespace

TEST_CASE("download: gated senders more than twice as slow as the fastest do not count against max_incoming",
          "[download][grants]") {
  GatedSenders g({1, 2, 3});
  // 1 and 2 (weak uplinks) take 400 ms a chunk, 3 takes 100 ms.
  g.Deliver(3, 100ms);
  g.Deliver(1, 400ms);
  g.Deliver(2, 400ms);
  // Both weak ones sending: a grant from the fast one is still used...
  REQUIRE(g.Granted(1));
  REQUIRE(g.Granted(2));
  CHECK(g.Granted(3));
  // ... and one from a new peer of unknown speed: of 1, 2 and 3 only 3 counts.
  g.Add(4);
  CHECK(g.Granted(4));
  // Now 3 and 4 (unknown) fill the link: a grant from weak 1 is passed on.
  CHECK_FALSE(g.Granted(1));
}

TEST_CASE("download: an idle peer's old, fast chunk time does not make the current senders look slow",
          "[download][grants]") {
  GatedSenders g({1, 2, 3, 4});
  g.Deliver(1, 50ms);   // alone on our link: fast; idle from now on
  g.Deliver(2, 200ms);  // 2 and 3 share the link now: four times as long
  g.Deliver(3, 200ms);
  REQUIRE(g.Granted(2));
  REQUIRE(g.Granted(3));
  // 4 (unknown) would be a third sender: 2 and 3 count, whatever 1 once did.
  CHECK_FALSE(g.Granted(4));
}

TEST_CASE("download: beside a proven gated peer, peers on probation hold four requests at most",
          "[download][grants]") {
  FakeClock clock;
  Download d(40, 4s, testing::Options(4));
  d.AddPeer(1, clock.now());
  d.OnBitfield(1, testing::All(40), true);
  d.OnGrant(1);
  const Picks first = d.Next(1, clock.now());
  REQUIRE(first.size() == 1);
  // Before the gated peer has delivered, every new peer is probed.
  for (PeerKey k = 10; k < 16; ++k) {
    d.AddPeer(k, clock.now());
    d.OnBitfield(k, testing::All(40));
    CHECK(d.Next(k, clock.now()).size() == 1);
  }
  d.OnChunk(1, first[0], true, clock.now() + 10ms);
  // Now six probes are out, past the four: a new peer is not asked...
  d.AddPeer(20, clock.now());
  d.OnBitfield(20, testing::All(40));
  CHECK(d.Next(20, clock.now()).empty());
  // ... until the probes are down to fewer than four.
  for (PeerKey k = 10; k < 13; ++k) d.OnPeerGone(k);
  CHECK(d.Next(20, clock.now()).size() == 1);
  CHECK(d.Next(21, clock.now()).empty());  // unknown
}

}  // namespace lanswarm::peer
