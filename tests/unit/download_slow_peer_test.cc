// The download state with peers of different speeds and with the daemon's
// ban list: per-request timeouts in a deep pipeline, requests moved off a
// slow peer (Download::Rebalance), and bans for bad chunks and for stalls,
// all with a fake clock.
#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <set>

#include <catch2/catch.hpp>

#include "common/clock.h"
#include "peer/ban_list.h"
#include "peer/download.h"
#include "tests/support/download_fixtures.h"

namespace lanswarm::peer {

namespace {

using namespace std::chrono_literals;
using Picks = std::vector<std::uint32_t>;
using Set = std::set<std::uint32_t>;
using testing::All;
using testing::Options;
using testing::Warm;

Set AsSet(const Picks& p) { return Set(p.begin(), p.end()); }

// Peers that serve their requests in order, each chunk taking the peer's
// `per_chunk` from when it could start on it (its first one `first`, so a
// slow peer can be off probation, with a pipeline, before it is slow); the
// test steps time.
class Swarm {
 public:
  Swarm(Download& d, FakeClock& clock) : d_(d), clock_(clock) {}

  void Add(PeerKey key, Clock::Duration per_chunk, std::optional<Clock::Duration> first = std::nullopt) {
    peers_[key].per_chunk = per_chunk;
    peers_[key].first = first.value_or(per_chunk);
    d_.AddPeer(key, clock_.now());
    d_.OnBitfield(key, All(d_.chunk_count()));
  }

  // One step of `dt`: deliveries (each refills that peer's pipeline, as
  // peer/downloader pumps after every chunk), then Rebalance (its CANCELs
  // honoured) and every pipeline refilled, as the downloader's tick does.
  void Step(Clock::Duration dt) {
    clock_.Advance(dt);
    const Clock::TimePoint now = clock_.now();
    for (auto& [key, p] : peers_) {
      auto takes = [&p] { return p.delivered == 0 ? p.first : p.per_chunk; };
      while (!p.queue.empty() && now - std::max(p.queue.front().second, p.last_done) >= takes()) {
        const std::uint32_t index = p.queue.front().first;
        p.last_done = std::max(p.queue.front().second, p.last_done) + takes();
        p.queue.pop_front();
        ++p.delivered;
        for (PeerKey loser : d_.OnChunk(key, index, true, now).cancel) Cancel(loser, index);
        for (std::uint32_t i : d_.Next(key, now)) p.queue.emplace_back(i, now);
      }
    }
    for (const Download::Moved& m : d_.Rebalance(now)) {
      for (std::uint32_t index : m.chunks) Cancel(m.peer, index);
    }
    for (auto& [key, p] : peers_) {
      for (std::uint32_t index : d_.Next(key, now)) p.queue.emplace_back(index, now);
    }
  }

  // Chunks requested from more than one peer right now.
  Set Doubled() const {
    std::map<std::uint32_t, int> n;
    for (const auto& [key, p] : peers_) {
      for (const auto& [index, at] : p.queue) ++n[index];
    }
    Set out;
    for (const auto& [index, count] : n) {
      if (count > 1) out.insert(index);
    }
    return out;
  }
  int delivered(PeerKey key) const { return peers_.at(key).delivered; }
  // Download's requests in flight are exactly the ones the peers hold.
  bool InStep() const {
    for (const auto& [key, p] : peers_) {
      if (d_.in_flight(key) != p.queue.size()) return false;
    }
    return true;
  }

 private:
  struct SimPeer {
    Clock::Duration per_chunk{}, first{};
    std::deque<std::pair<std::uint32_t, Clock::TimePoint>> queue;
    Clock::TimePoint last_done{};
    int delivered = 0;
  };
  void Cancel(PeerKey key, std::uint32_t index) {
    std::erase_if(peers_[key].queue, [index](const auto& r) { return r.first == index; });
  }

  Download& d_;
  FakeClock& clock_;
  std::map<PeerKey, SimPeer> peers_;
};

// The file and the holder (key 9) of the tests with the daemon's ban list.
struct BanCase {
  FileId file;
  proto::PeerId holder{};
  BanCase() {
    file.bytes[0] = 1;
    holder[0] = 9;
  }
};

}  // namespace

TEST_CASE("download: every request of a deep pipeline gets its own timeout", "[download][slow]") {
  FakeClock clock;
  Download d(9, 4s, Options(4));
  d.AddPeer(1, clock.now());
  d.OnBitfield(1, All(9));
  Warm(d, 1, clock);
  const Picks p = d.Next(1, clock.now());
  REQUIRE(p.size() == 4);
  // Each chunk takes just under the timeout: 15.6 s for the four, and
  // nobody is late, because each one's clock starts at the previous delivery.
  for (std::size_t i = 0; i < 3; ++i) {
    clock.Advance(3900ms);
    CHECK(d.Tick(clock.now()).empty());
    CHECK(d.OnChunk(1, p[i], true, clock.now()).verified);
  }
  clock.Advance(3999ms);
  CHECK(d.Tick(clock.now()).empty());
  clock.Advance(1ms);  // the fourth took 4 s: late
  CHECK(d.Tick(clock.now()) == std::vector<Stall>{{1, Stall::Kind::kRequest}});
}

TEST_CASE("download: a request sent to an idle peer is timed from when it was sent", "[download][slow]") {
  FakeClock clock;
  Download d(4, 4s, Options(1));
  d.AddPeer(1, clock.now());
  d.OnBitfield(1, All(4));
  const Picks a = d.Next(1, clock.now());
  REQUIRE(a.size() == 1);
  clock.Advance(1s);
  d.OnChunk(1, a[0], true, clock.now());
  clock.Advance(10s);  // idle for long: that is no lateness
  REQUIRE(d.Next(1, clock.now()).size() == 1);
  clock.Advance(3999ms);
  CHECK(d.Tick(clock.now()).empty());
  clock.Advance(1ms);
  CHECK(d.Tick(clock.now()) == std::vector<Stall>{{1, Stall::Kind::kRequest}});
}

TEST_CASE("download: a slow peer's waiting requests go to a fast peer with room", "[download][slow]") {
  FakeClock clock;
  Download d(11, 4s, Options(4, /*endgame_duplicates=*/1));
  d.AddPeer(1, clock.now());  // slow: after its first chunk, never delivers in this test
  d.OnBitfield(1, All(11));
  Warm(d, 1, clock);
  const Picks slow = d.Next(1, clock.now());
  REQUIRE(slow.size() == 4);
  d.AddPeer(2, clock.now());  // fast: one chunk every 100 ms
  d.OnBitfield(2, All(11));
  std::deque<std::uint32_t> fast;
  for (std::uint32_t i : d.Next(2, clock.now())) fast.push_back(i);
  // The fast peer takes the other six chunks and runs out of work.
  while (!fast.empty()) {
    clock.Advance(100ms);
    REQUIRE(d.OnChunk(2, fast.front(), true, clock.now()).verified);
    fast.pop_front();
    CHECK(d.Rebalance(clock.now()).empty());  // the slow peer's head is not late yet (< 1 s)
    for (std::uint32_t i : d.Next(2, clock.now())) fast.push_back(i);
  }
  CHECK(d.verified_count() == 7);  // its first and the fast peer's six
  CHECK(d.Next(2, clock.now()).empty());  // the other four are the slow peer's (no endgame twins here)

  clock.Advance(1s - 600ms);
  CHECK(d.Rebalance(clock.now()).empty());  // exactly the floor: not yet
  clock.Advance(1ms);
  const std::vector<Download::Moved> moved = d.Rebalance(clock.now());
  REQUIRE(moved.size() == 1);
  CHECK(moved[0].peer == 1);
  CHECK(AsSet(moved[0].chunks) == Set{slow[1], slow[2], slow[3]});  // it keeps the one it is sending
  CHECK(d.stats().reassigned == 3);
  CHECK(d.in_flight(1) == 1);
  CHECK(d.Next(1, clock.now()).empty());  // squeezed: nothing more until it delivers
  CHECK(d.Rebalance(clock.now()).empty());

  // The fast peer gets them, each requested once.
  const Picks taken = d.Next(2, clock.now());
  CHECK(AsSet(taken) == Set{slow[1], slow[2], slow[3]});
  CHECK(d.in_flight(1) + d.in_flight(2) == 4);
  for (std::uint32_t i : taken) {
    clock.Advance(100ms);
    CHECK(d.OnChunk(2, i, true, clock.now()).verified);
  }
  // The slow peer's own chunk still counts when it comes, and it gets a
  // pipeline again (here: nothing is left to ask).
  clock.Advance(1s);
  CHECK(d.OnChunk(1, slow[0], true, clock.now()).verified);
  CHECK(d.complete());
}

TEST_CASE("download: nothing moves when all peers are equally slow", "[download][slow]") {
  FakeClock clock;
  Download d(40, 4s, Options(4));
  Swarm swarm(d, clock);
  for (PeerKey k : {1, 2, 3}) swarm.Add(k, 2s);
  for (int i = 0; i < 600 && !d.complete(); ++i) {
    swarm.Step(100ms);
    REQUIRE(swarm.InStep());
  }
  CHECK(d.complete());
  CHECK(d.stats().reassigned == 0);
  CHECK(d.stats().timeouts == 0);
}

TEST_CASE("download: nothing moves while the fast peers have no room", "[download][slow]") {
  FakeClock clock;
  Download d(400, 30s, Options(2));
  Swarm swarm(d, clock);
  swarm.Add(1, 10s, 10ms);  // slow, after a first chunk that ended its probation
  swarm.Add(2, 10ms);
  swarm.Add(3, 10ms);
  // Plenty of chunks are needed: the fast peers' pipelines stay full, so a
  // request moved off the slow peer would wait in the picker all the same.
  for (int i = 0; i < 50; ++i) swarm.Step(100ms);
  CHECK_FALSE(d.complete());
  CHECK(d.stats().reassigned == 0);
}

TEST_CASE("download: with a slow peer the file completes soon, nothing lost or asked twice", "[download][slow]") {
  FakeClock clock;
  // No endgame twins, so any chunk in two queues would be a bug.
  Download d(60, 30s, Options(4, /*endgame_duplicates=*/1));
  Swarm swarm(d, clock);
  swarm.Add(1, 50ms);
  swarm.Add(2, 3s, 50ms);  // slow after its first chunk
  swarm.Add(3, 50ms);
  int steps = 0;
  for (; steps < 1000 && !d.complete(); ++steps) {
    swarm.Step(10ms);
    INFO("step " << steps);
    REQUIRE(swarm.Doubled().empty());
    REQUIRE(swarm.InStep());
  }
  CHECK(d.complete());
  CHECK(d.verified_count() == 60);
  CHECK(d.stats().reassigned > 0);
  CHECK(d.stats().duplicates == 0);
  // 58-ish chunks at 20 per second per fast peer, plus the floor: about
  // 2.5 s. Without the move, the slow peer's four requests take 12 s.
  CHECK(steps * 10ms < 5s);
  CHECK(swarm.delivered(2) <= 2);  // its first, then at most one of its slow ones
}

TEST_CASE("download + ban list: K bad chunks ban the holder for this file; it returns after the cool-down",
          "[download][bans][clock]") {
  FakeClock clock;
  BanList bans(BanPolicy{.after_bad_chunks = 3, .cooldown = 10min});
  const BanCase c;
  Download d(3, 4s, Options(1));
  // As peer/downloader does: every bad chunk goes to the ban list; a ban
  // makes the download ignore the peer, and the glue drops it.
  auto bad = [&](PeerKey key, std::uint32_t index) {
    d.OnChunk(key, index, false, clock.now());
    if (bans.OnBadChunk(c.file, c.holder, "f", "10.0.0.9:6882", clock.now())) d.Ban(key);
  };
  for (int i = 0; i < 3; ++i) {
    d.AddPeer(9, clock.now());  // it reconnects every time
    d.OnBitfield(9, All(3));
    const Picks p = d.Next(9, clock.now());
    REQUIRE(p.size() == 1);
    bad(9, p[0]);
    CHECK(d.banned(9) == (i == 2));
    d.OnPeerGone(9);
    clock.Advance(1s);
    d.Tick(clock.now());
  }
  CHECK(bans.Banned(c.file, c.holder, clock.now()));
  CHECK(d.stats().banned_peers == 1);
  CHECK(d.stats().checksum_failures == 3);
  // An honest holder gets everything.
  d.AddPeer(2, clock.now());
  d.OnBitfield(2, All(3));
  CHECK(d.active_peers() == 1);
  CHECK(d.Next(2, clock.now()).size() == 1);

  // After the cool-down the glue may connect it again: it is asked again.
  clock.Advance(10min);
  CHECK_FALSE(bans.Banned(c.file, c.holder, clock.now()));
  d.AddPeer(9, clock.now());
  d.OnBitfield(9, All(3));
  CHECK_FALSE(d.banned(9));
  CHECK(d.active_peers() == 2);
}

TEST_CASE("download + ban list: a staller that reconnects is banned at its third stall; good chunks forgive",
          "[download][bans][clock]") {
  FakeClock clock;
  BanList bans(BanPolicy{.after_stalls = 3, .cooldown = 10min});
  const BanCase c;
  Download d(4, 4s, Options(4));
  // As peer/downloader does: each stall from Tick goes to the ban list, the
  // peer is dropped, and it comes back later.
  auto stall_once = [&] {
    d.AddPeer(9, clock.now());
    d.OnBitfield(9, All(4));
    REQUIRE(d.Next(9, clock.now()).size() == 1);
    clock.Advance(4s);
    REQUIRE(d.Tick(clock.now()) == std::vector<Stall>{{9, Stall::Kind::kRequest}});
    const bool banned = bans.OnStall(c.file, c.holder, "f", "10.0.0.9:6882", clock.now()).has_value();
    if (banned) d.Ban(9);
    d.OnPeerGone(9);
    clock.Advance(2s);
    return banned;
  };
  CHECK_FALSE(stall_once());
  CHECK_FALSE(stall_once());
  // It delivers once: its stalls are forgiven.
  d.AddPeer(9, clock.now());
  d.OnBitfield(9, All(4));
  const Picks p = d.Next(9, clock.now());
  REQUIRE(p.size() == 1);
  if (d.OnChunk(9, p[0], true, clock.now()).verified) bans.OnGoodChunk(c.file, c.holder);
  d.OnPeerGone(9);
  CHECK_FALSE(stall_once());
  CHECK_FALSE(stall_once());
  CHECK(stall_once());
  CHECK(bans.Banned(c.file, c.holder, clock.now()));
  CHECK(d.stats().banned_peers == 1);
  CHECK(d.stats().timeouts == 5);
}

}  // namespace lanswarm::peer
