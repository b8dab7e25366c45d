// The coordinator's table, as tables: fake clock, named behaviours, and a
// randomized comparison with a plain model.
#include <map>
#include <random>
#include <set>

#include <catch2/catch.hpp>

#include "coordinator/availability_table.h"

namespace lanswarm::coordinator {

using namespace std::chrono_literals;
using proto::FileState;

namespace {

constexpr auto kExpiry = 30s;  // k x N with the defaults (3 x 10 s)
constexpr std::array<std::uint8_t, 16> kKey{1, 2, 3};

proto::PeerId Peer(std::uint8_t n) {
  proto::PeerId id{};
  id[0] = n;
  id[15] = 0xEE;
  return id;
}

FileId File(std::uint8_t n) {
  FileId id;
  id.bytes[0] = n;
  id.bytes[15] = 0xAA;
  return id;
}

proto::Endpoint Addr(std::uint8_t last) {
  proto::Endpoint e;
  e.family = 4;
  e.address[0] = 10;
  e.address[3] = last;
  e.port = 6882;
  return e;
}

struct Fixture {
  FakeClock clock;
  TableLimits limits;
  std::unique_ptr<AvailabilityTable> table;
  explicit Fixture(TableLimits l = {}) : limits(l) {
    table = std::make_unique<AvailabilityTable>(clock, kExpiry, limits, kKey);
  }
  Status Report(std::uint8_t peer, std::vector<proto::ReportEntry> files) {
    return table->Report(Peer(peer), Addr(peer), files);
  }
  // A report by `peer` from (and advertising) `at`: many ids, one machine.
  Status ReportFrom(const proto::Endpoint& at, std::uint8_t peer, std::vector<proto::ReportEntry> files) {
    return table->Report(Peer(peer), at, files, at);
  }
  // "peer:state" for each holder, in answer order.
  std::vector<std::string> Holders(std::uint8_t file, std::uint8_t asker = 200) {
    std::vector<std::string> out;
    for (const auto& h : table->Query(File(file), Peer(asker))) {
      out.push_back(std::to_string(h.peer[0]) + ":" + std::to_string(static_cast<int>(h.state)));
    }
    return out;
  }
};

proto::ReportEntry Whole(std::uint8_t f) { return {File(f), FileState::kWhole}; }
proto::ReportEntry Partial(std::uint8_t f) { return {File(f), FileState::kPartial}; }
proto::ReportEntry Gone(std::uint8_t f) { return {File(f), FileState::kGone}; }

}  // namespace

TEST_CASE("table: a reported file lists its holder with address and state", "[table]") {
  Fixture t;
  REQUIRE(t.Report(1, {Whole(7)}).ok());
  auto holders = t.table->Query(File(7), Peer(99));
  REQUIRE(holders.size() == 1);
  CHECK(holders[0].peer == Peer(1));
  CHECK(holders[0].endpoint == Addr(1));
  CHECK(holders[0].state == FileState::kWhole);
  CHECK(t.Holders(8).empty());
  CHECK(t.table->stats().entries == 1);
}

TEST_CASE("table: a getter's two tree parents come first, flagged; roots get a whole copy", "[table]") {
  Fixture t;
  // Holder slots in report order: the seed 1, then getters 2, 3, 4.
  REQUIRE(t.Report(1, {Whole(7)}).ok());
  for (std::uint8_t g : {2, 3, 4}) REQUIRE(t.Report(g, {Partial(7)}).ok());
  auto parents = [&](std::uint8_t asker) {
    std::vector<int> out;
    for (const auto& h : t.table->Query(File(7), Peer(asker))) {
      if (h.flags & proto::kHolderParent) out.push_back(h.peer[0]);
    }
    return out;
  };
  // Members are the partial holders 2, 3, 4; tree 0 in order, tree 1
  // reversed (common/swarm_tree); the roots' parent is the whole copy.
  CHECK(parents(2) == std::vector<int>{1, 4});  // root of tree 0; in tree 1 under 4
  CHECK(parents(3) == std::vector<int>{2, 4});  // under 2 in tree 0, under 4 in tree 1
  CHECK(parents(4) == std::vector<int>{2, 1});  // under 2 in tree 0; root of tree 1
  // Parents are listed once, first; the rest follow without the flag.
  const auto answer = t.table->Query(File(7), Peer(3));
  REQUIRE(answer.size() == 3);
  CHECK(answer[0].peer == Peer(2));
  CHECK(answer[1].peer == Peer(4));
  CHECK(answer[2].peer == Peer(1));
  CHECK(answer[2].flags == 0);
  // A whole copy asking (or a stranger) gets no parents.
  CHECK(parents(1).empty());
  CHECK(parents(99).empty());
}

TEST_CASE("table: a weak uplink is a leaf of both trees; a huge claim makes nobody weak", "[table]") {
  Fixture t;
  auto report = [&](std::uint8_t peer, proto::ReportEntry e, std::uint64_t upload) {
    return t.table->Report(Peer(peer), Addr(peer), std::span(&e, 1), Addr(peer), upload);
  };
  auto parents_of = [&](std::uint8_t asker) {
    std::vector<int> out;
    for (const auto& h : t.table->Query(File(7), Peer(asker))) {
      if (h.flags & proto::kHolderParent) out.push_back(h.peer[0]);
    }
    return out;
  };
  auto anyone_under = [&](int parent) {
    for (std::uint8_t g = 2; g <= 9; ++g) {
      for (int p : parents_of(g)) {
        if (p == parent) return true;
      }
    }
    return false;
  };
  REQUIRE(report(1, Whole(7), 0).ok());
  // Members 2..9 in slot order; 2 (first: a root by slot order) and 5 are
  // weak, 4 has not measured yet (counts as strong).
  for (std::uint8_t g = 2; g <= 9; ++g) {
    const std::uint64_t up = g == 2 || g == 5 ? 1'000'000 : g == 4 ? 0 : 12'000'000;
    REQUIRE(report(g, Partial(7), up).ok());
  }
  CHECK_FALSE(anyone_under(2));
  CHECK_FALSE(anyone_under(5));
  CHECK(anyone_under(4));
  CHECK(parents_of(2).size() == 2);  // a leaf still has its parents
  // One member claiming far more than the rest: the median decides, so
  // nobody else turns weak and the placement is the even one (by slot).
  for (std::uint8_t g = 2; g <= 9; ++g) REQUIRE(report(g, Partial(7), g == 3 ? 1'000'000'000'000 : 12'000'000).ok());
  CHECK(parents_of(2) == std::vector<int>{1, 6});  // root of tree 0; under 6 in tree 1
  CHECK(parents_of(3) == std::vector<int>{2, 7});
  CHECK(anyone_under(2));
}

TEST_CASE("table: a report replaces the previous one whole", "[table]") {
  Fixture t;
  REQUIRE(t.Report(1, {Whole(1), Whole(2), Partial(3)}).ok());
  REQUIRE(t.Report(1, {Whole(2), Whole(3), Whole(4)}).ok());
  CHECK(t.Holders(1).empty());  // missing from the new report: dropped
  CHECK(t.Holders(2) == std::vector<std::string>{"1:2"});
  CHECK(t.Holders(3) == std::vector<std::string>{"1:2"});  // partial became whole
  CHECK(t.Holders(4) == std::vector<std::string>{"1:2"});
  CHECK(t.table->stats().entries == 3);
  CHECK(t.table->stats().files == 3);  // file 1 has no holder left: forgotten
  REQUIRE(t.Report(1, {}).ok());
  CHECK(t.table->stats().entries == 0);
  CHECK(t.table->stats().files == 0);
  CHECK(t.table->stats().peers == 1);  // still alive, holding nothing
}

TEST_CASE("table: state 0 removes a file", "[table]") {
  Fixture t;
  REQUIRE(t.Report(1, {Whole(1), Whole(2)}).ok());
  REQUIRE(t.Report(1, {Gone(1), Whole(2)}).ok());
  CHECK(t.Holders(1).empty());
  CHECK(t.Holders(2).size() == 1);
}

TEST_CASE("table: a file listed twice keeps its highest state", "[table]") {
  Fixture t;
  REQUIRE(t.Report(1, {Partial(1), Whole(1), Gone(1)}).ok());
  CHECK(t.Holders(1) == std::vector<std::string>{"1:2"});
  CHECK(t.table->stats().entries == 1);
}

TEST_CASE("table: whole copies come before partial ones, never the asker", "[table]") {
  Fixture t;
  REQUIRE(t.Report(1, {Partial(5)}).ok());
  REQUIRE(t.Report(2, {Whole(5)}).ok());
  REQUIRE(t.Report(3, {Partial(5)}).ok());
  REQUIRE(t.Report(4, {Whole(5)}).ok());
  auto h = t.Holders(5, /*asker=*/4);
  REQUIRE(h.size() == 3);
  CHECK(h[0] == "2:2");
  CHECK((h[1] == "1:1" || h[1] == "3:1"));
  CHECK((h[2] == "1:1" || h[2] == "3:1"));
}

TEST_CASE("table: answers hold at most the configured number, rotating over holders", "[table]") {
  TableLimits limits;
  limits.max_holders_per_answer = 2;
  Fixture t(limits);
  for (std::uint8_t p = 1; p <= 5; ++p) REQUIRE(t.Report(p, {Whole(9)}).ok());
  std::set<std::string> seen;
  for (int q = 0; q < 5; ++q) {
    auto h = t.Holders(9);
    CHECK(h.size() == 2);
    seen.insert(h.begin(), h.end());
  }
  CHECK(seen.size() == 5);  // the load spreads over every holder
}

TEST_CASE("table: a peer expires exactly k x N after its last report", "[table][expiry]") {
  Fixture t;
  REQUIRE(t.Report(1, {Whole(1)}).ok());
  t.clock.Advance(kExpiry - 1ns);
  CHECK(t.Holders(1).size() == 1);
  CHECK(t.table->IsAlive(Peer(1)));
  CHECK(t.table->Sweep(100) == 0);
  t.clock.Advance(1ns);
  CHECK(t.Holders(1).empty());  // dead even before the sweep reaches it
  CHECK_FALSE(t.table->IsAlive(Peer(1)));
  CHECK(t.table->stats().entries == 1);
  CHECK(t.table->Sweep(100) == 1);
  CHECK(t.table->stats().entries == 0);
  CHECK(t.table->stats().peers == 0);
  CHECK(t.table->stats().files == 0);
  CHECK(t.table->stats().expired_peers == 1);
}

TEST_CASE("table: reporting again keeps a peer alive", "[table][expiry]") {
  Fixture t;
  REQUIRE(t.Report(1, {Whole(1)}).ok());
  REQUIRE(t.Report(2, {Whole(1)}).ok());
  t.clock.Advance(20s);
  REQUIRE(t.Report(1, {Whole(1)}).ok());  // peer 1 reports on time, peer 2 does not
  t.clock.Advance(10s);
  CHECK(t.table->Sweep(100) == 1);
  CHECK(t.Holders(1) == std::vector<std::string>{"1:2"});
  t.clock.Advance(20s);
  CHECK(t.table->Sweep(100) == 1);
  CHECK(t.table->stats().peers == 0);
}

TEST_CASE("table: the sweep does at most its budget per call", "[table][expiry]") {
  Fixture t;
  for (std::uint8_t p = 1; p <= 10; ++p) REQUIRE(t.Report(p, {Whole(p), Whole(100)}).ok());
  t.clock.Advance(kExpiry);
  CHECK(t.table->Sweep(3) == 3);
  CHECK(t.table->Sweep(3) == 3);
  CHECK(t.table->Sweep(3) == 3);
  CHECK(t.table->Sweep(3) == 1);
  CHECK(t.table->Sweep(3) == 0);
  CHECK(t.table->stats().entries == 0);
}

TEST_CASE("table: a peer that comes back after expiry starts afresh", "[table][expiry]") {
  Fixture t;
  REQUIRE(t.Report(1, {Whole(1)}).ok());
  t.clock.Advance(kExpiry);
  REQUIRE(t.table->Sweep(10) == 1);
  REQUIRE(t.Report(1, {Partial(2)}).ok());
  CHECK(t.Holders(1).empty());
  CHECK(t.Holders(2) == std::vector<std::string>{"1:1"});
}

TEST_CASE("table: too many files in one report is refused, table unchanged", "[table][limits]") {
  TableLimits limits;
  limits.max_files_per_report = 3;
  Fixture t(limits);
  REQUIRE(t.Report(1, {Whole(1)}).ok());
  Status s = t.Report(1, {Whole(1), Whole(2), Whole(3), Whole(4)});
  CHECK(s.code() == Status::Code::kResourceExhausted);
  CHECK(s.message() == "report lists 4 files, the limit is 3");
  CHECK(t.Holders(1).size() == 1);
  CHECK(t.Holders(2).empty());
}

TEST_CASE("table: new peers beyond the limit are refused, known ones still report", "[table][limits]") {
  TableLimits limits;
  limits.max_peers = 2;
  Fixture t(limits);
  REQUIRE(t.Report(1, {Whole(1)}).ok());
  REQUIRE(t.Report(2, {Whole(1)}).ok());
  CHECK(t.Report(3, {Whole(1)}).code() == Status::Code::kResourceExhausted);
  CHECK(t.Report(1, {Whole(2)}).ok());
  CHECK(t.table->stats().peers == 2);
  t.clock.Advance(kExpiry);
  t.table->Sweep(10);
  CHECK(t.Report(3, {Whole(1)}).ok());  // room again after expiry
}

TEST_CASE("table: entries beyond the limit are refused", "[table][limits]") {
  TableLimits limits;
  limits.max_entries = 4;
  Fixture t(limits);
  REQUIRE(t.Report(1, {Whole(1), Whole(2), Whole(3)}).ok());
  CHECK(t.Report(2, {Whole(1), Whole(2)}).code() == Status::Code::kResourceExhausted);
  CHECK(t.Report(2, {Whole(1)}).ok());
  CHECK(t.Report(1, {Whole(1), Whole(2), Whole(3), Whole(4)}).code() == Status::Code::kResourceExhausted);
  CHECK(t.Report(1, {Whole(1), Whole(2), Whole(3)}).ok());  // replacing its own entries fits
  CHECK(t.table->stats().entries == 4);
}

TEST_CASE("table: one address gets at most its quota of peers, others still report", "[table][limits]") {
  TableLimits limits;
  limits.max_peers = 4;
  limits.max_peers_per_address = 2;
  Fixture t(limits);
  const proto::Endpoint attacker = Addr(66);
  REQUIRE(t.ReportFrom(attacker, 1, {Whole(1)}).ok());
  REQUIRE(t.ReportFrom(attacker, 2, {Whole(1)}).ok());
  Status third = t.ReportFrom(attacker, 3, {Whole(1)});
  CHECK(third.code() == Status::Code::kResourceExhausted);
  CHECK(third.message().find("limit per address") != std::string::npos);
  CHECK(t.ReportFrom(attacker, 1, {Whole(2)}).ok());  // a known id reports again
  CHECK(t.Report(7, {Whole(1)}).ok());                                       // a real peer elsewhere
  CHECK(t.Holders(1) == std::vector<std::string>{"2:2", "7:2"});
  // An id that moves to another address frees its place at the old one.
  REQUIRE(t.table->Report(Peer(2), Addr(67), {{Whole(1)}}, Addr(67)).ok());
  CHECK(t.ReportFrom(attacker, 3, {Whole(1)}).ok());
  // Expiry frees the address too.
  t.clock.Advance(kExpiry);
  t.table->Sweep(10);
  CHECK(t.ReportFrom(attacker, 4, {Whole(1)}).ok());
  CHECK(t.ReportFrom(attacker, 5, {Whole(1)}).ok());
  CHECK(t.table->CheckConsistency().ok());
}

TEST_CASE("table: one address gets at most its quota of entries, whatever its ids", "[table][limits]") {
  TableLimits limits;
  limits.max_entries = 6;
  limits.max_entries_per_address = 4;
  Fixture t(limits);
  const proto::Endpoint attacker = Addr(66);
  REQUIRE(t.ReportFrom(attacker, 1, {Whole(1), Whole(2), Whole(3)}).ok());
  CHECK(t.ReportFrom(attacker, 2, {Whole(4), Whole(5)}).code() ==
        Status::Code::kResourceExhausted);
  CHECK(t.ReportFrom(attacker, 2, {Whole(4)}).ok());
  // Replacing its own entries is counted once.
  CHECK(t.ReportFrom(attacker, 1, {Whole(1), Whole(2), Whole(3)}).ok());
  CHECK(t.ReportFrom(attacker, 1, {Whole(1), Whole(2), Whole(3), Whole(6)}).code() ==
        Status::Code::kResourceExhausted);
  // The rest of the table is left for everyone else.
  CHECK(t.Report(7, {Whole(9), Whole(8)}).ok());
  CHECK(t.Holders(9) == std::vector<std::string>{"7:2"});
  CHECK(t.table->stats().entries == 6);
}

TEST_CASE("table: random reports agree with a plain model", "[table]") {
  Fixture t;
  std::mt19937 rng(1234);
  std::map<int, std::map<int, FileState>> model;  // peer -> file -> state
  for (int round = 0; round < 3000; ++round) {
    const int peer = static_cast<int>(rng() % 40) + 1;
    std::vector<proto::ReportEntry> files;
    std::map<int, FileState> mine;
    const int n = static_cast<int>(rng() % 12);
    for (int i = 0; i < n; ++i) {
      const int f = static_cast<int>(rng() % 30) + 1;
      const auto s = static_cast<FileState>(rng() % 3);
      files.push_back({File(static_cast<std::uint8_t>(f)), s});
      if (s != FileState::kGone && (!mine.count(f) || mine[f] < s)) mine[f] = s;
    }
    REQUIRE(t.Report(static_cast<std::uint8_t>(peer), files).ok());
    model[peer] = mine;
    if (round % 50 == 0) REQUIRE(t.table->CheckConsistency().ok());
  }
  std::uint64_t entries = 0;
  for (const auto& [p, fs] : model) entries += fs.size();
  CHECK(t.table->stats().entries == entries);
  TableLimits big;
  for (int f = 1; f <= 30; ++f) {
    std::multiset<std::string> want;
    for (const auto& [p, fs] : model) {
      auto it = fs.find(f);
      if (it != fs.end()) want.insert(std::to_string(p) + ":" + std::to_string(static_cast<int>(it->second)));
    }
    auto got = t.Holders(static_cast<std::uint8_t>(f));
    REQUIRE(got.size() <= 50);
    CHECK(std::multiset<std::string>(got.begin(), got.end()) == want);
  }
}

TEST_CASE("table: reports, expiry and sweeps keep every cross-reference intact", "[table][expiry]") {
  Fixture t;
  std::mt19937 rng(99);
  for (int round = 0; round < 5000; ++round) {
    switch (rng() % 10) {
      case 0:
        t.clock.Advance(std::chrono::seconds(rng() % 12));
        break;
      case 1:
        t.table->Sweep(rng() % 5);
        break;
      default: {
        std::vector<proto::ReportEntry> files;
        for (int i = static_cast<int>(rng() % 8); i > 0; --i) {
          files.push_back({File(static_cast<std::uint8_t>(rng() % 6)), static_cast<FileState>(rng() % 3)});
        }
        REQUIRE(t.Report(static_cast<std::uint8_t>(rng() % 25), files).ok());
      }
    }
    Status s = t.table->CheckConsistency();
    INFO(round << ": " << s.message());
    REQUIRE(s.ok());
  }
  t.clock.Advance(kExpiry);
  t.table->Sweep(1000);
  CHECK(t.table->stats().entries == 0);
  CHECK(t.table->CheckConsistency().ok());
}

}  // namespace lanswarm::coordinator

namespace lanswarm::coordinator {

TEST_CASE("HolderList: inline up to two, heap beyond, inline again when small", "[table]") {
  HolderList l;
  CHECK(l.empty());
  for (std::uint32_t i = 1; i <= 100; ++i) {
    l.push_back(i);
    REQUIRE(l.size() == i);
    REQUIRE(l.back() == i);
  }
  std::uint64_t sum = 0;
  for (std::uint32_t v : l) sum += v;
  CHECK(sum == 5050);
  l[0] = 7;
  CHECK(l[0] == 7);
  while (l.size() > 2) l.pop_back();
  CHECK(l[0] == 7);
  CHECK(l[1] == 2);
  HolderList moved = std::move(l);
  CHECK(moved.size() == 2);
  CHECK(l.empty());
  moved.pop_back();
  moved.pop_back();
  CHECK(moved.empty());
  for (std::uint32_t i = 0; i < 5; ++i) moved.push_back(i);  // heap again after going empty
  HolderList assigned;
  assigned.push_back(99);
  assigned = std::move(moved);
  CHECK(assigned.size() == 5);
  CHECK(assigned[4] == 4);
}

}  // namespace lanswarm::coordinator
