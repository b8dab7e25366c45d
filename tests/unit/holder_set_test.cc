// The holder policy as tables: whom a download connects to and in what
// order, how long a failed holder waits, when the coordinator is asked
// again, and the words of the final give-up. Time is a fake clock.
#include <algorithm>
#include <set>

#include <catch2/catch.hpp>

#include "common/clock.h"
#include "peer/holder_set.h"

namespace lanswarm::peer {

namespace {

using namespace std::chrono_literals;
using proto::FileState;
using Keys = std::vector<PeerKey>;

PeerId Id(int n) {
  PeerId id{};
  id[0] = static_cast<std::uint8_t>(n);
  return id;
}

const PeerId kSelf = Id(200);

// Holder n listens on 10.0.0.n:7000.
proto::Holder At(int n, FileState state = FileState::kWhole) {
  proto::Holder h;
  h.peer = Id(n);
  h.endpoint.family = 4;
  h.endpoint.address = {10, 0, 0, static_cast<std::uint8_t>(n)};
  h.endpoint.port = 7000;
  h.state = state;
  return h;
}

bool NoBans(const PeerId&) { return false; }

// Holders 1..n, all whole: keys 1..n.
HolderSet WithHolders(int n, std::uint32_t max_peers = 32, std::uint64_t seed = 1) {
  HolderSet set(kSelf, max_peers, seed);
  std::vector<proto::Holder> list;
  for (int i = 1; i <= n; ++i) list.push_back(At(i));
  set.OnHolders(list);
  return set;
}

// One failed connection attempt to `key` at `now`.
void FailOnce(HolderSet& set, PeerKey key, Clock::TimePoint now, const std::string& why = "refused") {
  set.OnConnecting(key);
  set.OnClosed(key, Status::IOError(why), now);
}

bool Contains(const Keys& keys, PeerKey key) { return std::find(keys.begin(), keys.end(), key) != keys.end(); }

}  // namespace

TEST_CASE("holder set: self and gone holders are ignored", "[holder_set]") {
  HolderSet set(kSelf, 32, 1);
  proto::Holder self = At(9);
  self.peer = kSelf;
  set.OnHolders({self, At(1), At(2, FileState::kGone), At(3, FileState::kPartial)});
  CHECK(set.size() == 2);
  REQUIRE(set.Find(1) != nullptr);
  CHECK(set.Find(1)->id == Id(1));
  REQUIRE(set.Find(2) != nullptr);
  CHECK(set.Find(2)->id == Id(3));  // keys are handed out to holders kept, in order
  CHECK(set.Find(3) == nullptr);
}

TEST_CASE("holder set: a holder listed again keeps its key and takes the new address and state", "[holder_set]") {
  HolderSet set(kSelf, 32, 1);
  set.OnHolders({At(1, FileState::kPartial), At(2)});
  proto::Holder moved = At(1);
  moved.endpoint.port = 7001;
  set.OnHolders({At(2), moved, At(3)});
  CHECK(set.size() == 3);
  REQUIRE(set.Find(1) != nullptr);
  CHECK(set.Find(1)->id == Id(1));
  CHECK(set.Find(1)->endpoint.port == 7001);
  CHECK(set.Find(1)->state == FileState::kWhole);
  CHECK(set.Find(3)->id == Id(3));
  // Reported gone later: still known (it may come back), just not updated.
  set.OnHolders({At(1, FileState::kGone)});
  CHECK(set.size() == 3);
  CHECK(set.Find(1)->state == FileState::kWhole);
}

TEST_CASE("holder set: whole copies are connected first", "[holder_set]") {
  // Keys 1..6: partial, whole, partial, whole, partial, whole.
  for (std::uint64_t seed : {1, 2, 3, 4, 5}) {
    HolderSet set(kSelf, 32, seed);
    set.OnHolders({At(1, FileState::kPartial), At(2), At(3, FileState::kPartial), At(4),
                   At(5, FileState::kPartial), At(6)});
    FakeClock clock;
    const Keys next = set.NextToConnect(clock.now(), NoBans);
    REQUIRE(next.size() == 6);
    CHECK(std::set<PeerKey>(next.begin(), next.begin() + 3) == std::set<PeerKey>{2, 4, 6});
    CHECK(std::set<PeerKey>(next.begin() + 3, next.end()) == std::set<PeerKey>{1, 3, 5});
  }
}

TEST_CASE("holder set: holders that failed fewer times are connected first", "[holder_set]") {
  FakeClock clock;
  HolderSet set = WithHolders(4);
  FailOnce(set, 1, clock.now());
  FailOnce(set, 1, clock.now());
  FailOnce(set, 2, clock.now());
  clock.Advance(60s);  // every wait is over
  const Keys next = set.NextToConnect(clock.now(), NoBans);
  REQUIRE(next.size() == 4);
  CHECK(std::set<PeerKey>(next.begin(), next.begin() + 2) == std::set<PeerKey>{3, 4});
  CHECK(next[2] == 2);
  CHECK(next[3] == 1);
}

TEST_CASE("holder set: equal holders come in an order fixed by the seed", "[holder_set]") {
  FakeClock clock;
  const Keys first = WithHolders(8, 32, 7).NextToConnect(clock.now(), NoBans);
  CHECK(WithHolders(8, 32, 7).NextToConnect(clock.now(), NoBans) == first);
  CHECK(std::set<PeerKey>(first.begin(), first.end()).size() == 8);
  // Other seeds spread getters over other holders.
  std::set<PeerKey> leaders;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    leaders.insert(WithHolders(8, 32, seed).NextToConnect(clock.now(), NoBans).at(0));
  }
  CHECK(leaders.size() > 1);
}

TEST_CASE("holder set: banned holders are skipped", "[holder_set]") {
  FakeClock clock;
  HolderSet set = WithHolders(3);
  const auto banned = [](const PeerId& id) { return id == Id(2); };
  const Keys next = set.NextToConnect(clock.now(), banned);
  CHECK(std::set<PeerKey>(next.begin(), next.end()) == std::set<PeerKey>{1, 3});
}

TEST_CASE("holder set: a holder that failed waits 2 s, 4 s, ... up to 30 s", "[holder_set]") {
  struct Row {
    int failures;
    Clock::Duration wait;
  };
  const Row rows[] = {{1, 2s}, {2, 4s}, {3, 8s}, {4, 16s}, {5, 30s}, {6, 30s}, {20, 30s}};
  for (const Row& row : rows) {
    CAPTURE(row.failures);
    FakeClock clock;
    HolderSet set = WithHolders(1);
    for (int i = 0; i < row.failures; ++i) FailOnce(set, 1, clock.now());
    CHECK(set.Find(1)->failures == row.failures);
    CHECK(set.Find(1)->retry_at == clock.now() + row.wait);
    CHECK(set.NextToConnect(clock.now() + row.wait - 1ms, NoBans).empty());
    CHECK(set.NextToConnect(clock.now() + row.wait, NoBans) == Keys{1});
  }
}

TEST_CASE("holder set: a holder that sent a good chunk starts its backoff again", "[holder_set]") {
  FakeClock clock;
  HolderSet set = WithHolders(1);
  for (int i = 0; i < 4; ++i) FailOnce(set, 1, clock.now());
  set.OnConnecting(1);
  set.OnConnected(1);
  set.OnGoodChunk(1);
  CHECK(set.Find(1)->failures == 0);
  set.OnClosed(1, Status::IOError("reset by peer"), clock.now());
  CHECK(set.Find(1)->retry_at == clock.now() + 2s);
}

TEST_CASE("holder set: a holder that connects and then stalls waits longer at each reconnect", "[holder_set]") {
  // It connects, answers OPEN, claims every chunk, and is dropped when its
  // request times out (peer/download): connecting proves nothing.
  FakeClock clock;
  HolderSet set = WithHolders(1);
  const Clock::Duration waits[] = {2s, 4s, 8s, 16s, 30s, 30s};
  for (Clock::Duration wait : waits) {
    CAPTURE(wait.count());
    REQUIRE(set.NextToConnect(clock.now(), NoBans) == Keys{1});
    set.OnConnecting(1);
    set.OnConnected(1);
    clock.Advance(4s);
    set.OnClosed(1, Status::IOError("no chunk from it within 4 s"), clock.now());
    CHECK(set.NextToConnect(clock.now() + wait - 1ms, NoBans).empty());
    clock.Advance(wait);
  }
  CHECK(set.Find(1)->failures == 6);
}

TEST_CASE("holder set: a holder that stalled is connected after those that did not", "[holder_set]") {
  FakeClock clock;
  HolderSet set = WithHolders(3);
  for (PeerKey key : {PeerKey{1}, PeerKey{3}}) {
    set.OnConnecting(key);
    set.OnConnected(key);
    set.OnClosed(key, Status::IOError("no chunk from it within 4 s"), clock.now());
  }
  clock.Advance(60s);
  const Keys next = set.NextToConnect(clock.now(), NoBans);
  REQUIRE(next.size() == 3);
  CHECK(next[0] == 2);
}

TEST_CASE("holder set: never more than max_peers holders are busy", "[holder_set]") {
  FakeClock clock;
  HolderSet set = WithHolders(5, 3);
  const Keys first = set.NextToConnect(clock.now(), NoBans);
  REQUIRE(first.size() == 3);
  for (PeerKey key : first) set.OnConnecting(key);
  CHECK(set.NextToConnect(clock.now(), NoBans).empty());
  set.OnConnected(first[0]);  // connected counts as busy as connecting does
  CHECK(set.NextToConnect(clock.now(), NoBans).empty());
  // One drops: one place is free, and it goes to a holder not just lost.
  set.OnClosed(first[0], Status::IOError("lost"), clock.now());
  const Keys more = set.NextToConnect(clock.now(), NoBans);
  REQUIRE(more.size() == 1);
  CHECK_FALSE(Contains(first, more[0]));
  CHECK(set.Find(first[0])->connected == false);
}

TEST_CASE("holder set: a holder's last problem is kept until a new one", "[holder_set]") {
  FakeClock clock;
  HolderSet set = WithHolders(1);
  FailOnce(set, 1, clock.now(), "connection refused");
  CHECK(set.Find(1)->last_error == "connection refused");
  set.OnConnecting(1);
  set.OnClosed(1, Status::Ok(), clock.now());  // a clean close is no problem
  CHECK(set.Find(1)->last_error == "connection refused");
  set.NoteProblem(1, "its copy changed on disk");
  CHECK(set.Find(1)->last_error == "its copy changed on disk");
  set.NoteProblem(9, "unknown holders are ignored");
  CHECK(set.Find(9) == nullptr);
}

TEST_CASE("holder set: the coordinator is asked 100, 200, 400, 800 ms apart, then every second, while not full",
          "[holder_set]") {
  FakeClock clock;
  HolderSet set = WithHolders(0, 4);
  const Clock::Duration gaps[] = {100ms, 200ms, 400ms, 800ms, 1s, 1s, 1s};
  CHECK(set.QueryDue(clock.now()));  // the first at once
  for (Clock::Duration gap : gaps) {
    CAPTURE(gap.count());
    set.OnQuerySent(clock.now());
    CHECK_FALSE(set.QueryDue(clock.now()));  // one at a time
    clock.Advance(3ms);
    set.OnQueryAnswered(Status::Ok(), 3, clock.now());  // 3 active < max_peers 4
    CHECK_FALSE(set.QueryDue(clock.now() + gap - 1ns));
    clock.Advance(gap);
    CHECK(set.QueryDue(clock.now()));
  }
}

TEST_CASE("holder set: the coordinator is asked every 5 s once max_peers are active", "[holder_set]") {
  FakeClock clock;
  HolderSet set = WithHolders(0, 4);
  for (int i = 0; i < 3; ++i) {
    set.OnQuerySent(clock.now());
    set.OnQueryAnswered(Status::Ok(), 4, clock.now());
    CHECK_FALSE(set.QueryDue(clock.now() + 5s - 1ns));
    clock.Advance(5s);
    CHECK(set.QueryDue(clock.now()));
  }
  // Below max_peers again: the short cadence where it had got to (the 4th query).
  set.OnQuerySent(clock.now());
  set.OnQueryAnswered(Status::Ok(), 1, clock.now());
  CHECK_FALSE(set.QueryDue(clock.now() + 800ms - 1ns));
  CHECK(set.QueryDue(clock.now() + 800ms));
}

TEST_CASE("holder set: a query unanswered for 10 s counts as lost", "[holder_set]") {
  FakeClock clock;
  HolderSet set = WithHolders(0);
  set.OnQuerySent(clock.now());
  clock.Advance(10s);
  CHECK_FALSE(set.QueryDue(clock.now()));
  CHECK(set.query_error().empty());
  clock.Advance(1ns);
  CHECK(set.QueryDue(clock.now()));  // the next may go at once
  CHECK(set.query_error() == "the coordinator did not answer within 10 s");
  // A late answer still counts.
  set.OnQueryAnswered(Status::Ok(), 0, clock.now());
  CHECK(set.query_error().empty());
}

TEST_CASE("holder set: a failed answer is the coordinator's problem until one succeeds", "[holder_set]") {
  FakeClock clock;
  HolderSet set = WithHolders(0);
  set.OnQuerySent(clock.now());
  set.OnQueryAnswered(Status::IOError("not connected to the coordinator"), 0, clock.now());
  CHECK(set.query_error() == "not connected to the coordinator");
  CHECK(set.QueryDue(clock.now() + 100ms));  // retried on the same cadence
  set.OnQuerySent(clock.now() + 100ms);
  set.OnQueryAnswered(Status::Ok(), 0, clock.now() + 100ms);
  CHECK(set.query_error().empty());
}

TEST_CASE("holder set: each give-up reason in its words", "[holder_set]") {
  FakeClock clock;
  SECTION("the coordinator did not answer") {
    HolderSet set = WithHolders(2);
    set.OnQuerySent(clock.now());
    set.OnQueryAnswered(Status::IOError("connection refused"), 0, clock.now());
    CHECK(set.GiveUpReason() == "no answer from the coordinator (connection refused)");
  }
  SECTION("nobody holds the file") {
    HolderSet set = WithHolders(0);
    for (int i = 0; i < 3; ++i) {
      set.OnQuerySent(clock.now());
      set.OnQueryAnswered(Status::Ok(), 0, clock.now());
    }
    CHECK(set.GiveUpReason() == "no peer holds it (asked the coordinator 3 times)");
  }
  SECTION("holders known, none of them useful, no problem seen") {
    HolderSet set = WithHolders(2);
    CHECK(set.GiveUpReason() == "none of its 2 known holders sent any of the missing chunks");
  }
  SECTION("holders known: the problem of the last holder that had one") {
    HolderSet set = WithHolders(3);
    FailOnce(set, 2, clock.now(), "connection refused");
    set.NoteProblem(1, "peer 10.0.0.1:7000 does not serve the file");
    CHECK(set.GiveUpReason() ==
          "none of its 3 known holders sent any of the missing chunks (last problem: connection refused)");
  }
}

TEST_CASE("holder set: preferred holders (tree parents) are connected before whole copies", "[holder_set]") {
  HolderSet set(kSelf, 2, 1);
  proto::Holder p3 = At(3, FileState::kPartial), p4 = At(4, FileState::kPartial);
  p3.flags = p4.flags = proto::kHolderParent;
  set.OnHolders({At(1), At(2), p3, p4});
  FakeClock clock;
  const Keys next = set.NextToConnect(clock.now(), NoBans);
  CHECK(std::set<PeerKey>(next.begin(), next.end()) == std::set<PeerKey>{3, 4});
  CHECK(set.Find(3)->preferred);
  // Listed again without the flag: no longer a parent; nor is 4, which
  // this answer does not name.
  set.OnHolders({At(3, FileState::kPartial)});
  CHECK(!set.Find(3)->preferred);
  CHECK(!set.Find(4)->preferred);
}

}  // namespace lanswarm::peer
