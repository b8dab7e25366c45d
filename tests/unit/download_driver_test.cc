// The download driver as a script: events in, the actions it orders out,
// recorded as lines. The same driver runs in the daemon and the simulator,
// so these lines are what both do.
#include <algorithm>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "common/clock.h"
#include "peer/download_driver.h"

namespace lanswarm::peer {

namespace {

using namespace std::chrono_literals;

PeerId Id(int n) {
  PeerId id{};
  id[0] = static_cast<std::uint8_t>(n);
  return id;
}

proto::Holder At(int n) {
  proto::Holder h;
  h.peer = Id(n);
  h.endpoint.family = 4;
  h.endpoint.address = {10, 0, 0, static_cast<std::uint8_t>(n)};
  h.endpoint.port = 7000;
  return h;
}

bool Has(const std::vector<std::string>& lines, std::string_view line) {
  return std::find(lines.begin(), lines.end(), line) != lines.end();
}

class Recorder final : public DriverActions {
 public:
  void Query() override { lines.push_back("query"); }
  void Connect(PeerKey key, const HolderSet::Holder& h) override {
    lines.push_back(fmt::format("connect {} 10.0.0.{}", key, h.endpoint.address[3]));
  }
  void Request(PeerKey key, const std::vector<std::uint32_t>& chunks) override {
    lines.push_back(fmt::format("request {} {}", key, fmt::join(chunks, ",")));
  }
  void CancelRequest(PeerKey key, std::uint32_t index) override {
    lines.push_back(fmt::format("cancel {} {}", key, index));
  }
  void Interest(PeerKey key, std::uint8_t flags) override {
    lines.push_back(fmt::format("interest {} {}{}{}", key, flags & proto::kInterested ? "yes" : "no",
                                flags & proto::kPass ? " pass" : "", flags & proto::kParent ? " parent" : ""));
  }
  void Close(PeerKey key, const Status& why) override { lines.push_back(fmt::format("close {}: {}", key, why.message())); }
  void Verified(std::uint32_t index) override { lines.push_back(fmt::format("verified {}", index)); }
  void Finished(const Status& why) override { lines.push_back("finished: " + (why.ok() ? "ok" : why.message())); }

  std::vector<std::string> Take() { return std::exchange(lines, {}); }
  std::vector<std::string> lines;
};

struct Fixture {
  explicit Fixture(std::uint32_t chunks = 2)
      : driver(DriverOptions{.file = FileId{},
                             .file_name = "f",
                             .chunk_count = chunks,
                             .chunk_size = 256 * 1024,
                             .max_peers = 2,
                             .seed = 7,
                             .holder_timeout = 60s,
                             .log = false},
               Id(99), bans, actions) {}
  Clock::TimePoint t = Clock::TimePoint(1000h);
  BanList bans;
  Recorder actions;
  DownloadDriver driver;

  // Started, holder 1 listed and connected (no bitfield yet); the lines so
  // far dropped.
  void Open() {
    driver.Start(t);
    driver.OnHolders(std::vector<proto::Holder>{At(1)}, t);
    driver.OnConnected(1, t);
    actions.Take();
  }
  // Open, and holder 1 holding everything; its first request sent and the
  // lines so far dropped.
  void ConnectOne() {
    Open();
    driver.OnBitfield(1, All(driver.state().chunk_count()), t);
    actions.Take();
  }

  Bitfield All(std::uint32_t n) {
    Bitfield b(n);
    for (std::uint32_t i = 0; i < n; ++i) b.set(i);
    return b;
  }
};

}  // namespace

TEST_CASE("driver: query, connect, request, verify, finish") {
  Fixture f;
  f.driver.Start(f.t);
  CHECK(f.actions.Take() == std::vector<std::string>{"query"});
  f.driver.OnHolders(std::vector<proto::Holder>{At(1)}, f.t);
  CHECK(f.actions.Take() == std::vector<std::string>{"connect 1 10.0.0.1"});
  f.driver.OnConnected(1, f.t);
  CHECK(f.actions.Take().empty());  // nothing is asked before the bitfield
  // On probation, a new holder is asked for one chunk at a time.
  f.driver.OnBitfield(1, f.All(2), f.t);
  const std::vector<std::string> asked = f.actions.Take();
  REQUIRE(asked.size() == 1);
  const std::uint32_t first = asked[0] == "request 1 0" ? 0 : 1;
  CHECK(asked[0] == fmt::format("request 1 {}", first));
  f.driver.OnData(1, 256 * 1024, f.t);
  f.driver.OnChunk(1, first, true, f.t);
  CHECK(f.actions.Take() == std::vector<std::string>{fmt::format("verified {}", first),
                                                     fmt::format("request 1 {}", 1 - first)});
  f.driver.OnChunk(1, 1 - first, true, f.t);
  CHECK(f.actions.Take() == std::vector<std::string>{fmt::format("verified {}", 1 - first), "finished: ok"});
  CHECK(f.driver.finished());
  // Finished once: later events order nothing.
  f.driver.Tick(f.t + 1s);
  f.driver.OnClosed(1, Status::Ok(), true, f.t + 1s);
  CHECK(f.actions.Take().empty());
}

TEST_CASE("driver: nothing missing finishes at once, without a query") {
  Fixture f;
  f.driver.MarkVerified(0);
  f.driver.MarkVerified(1);
  f.driver.Start(f.t);
  CHECK(f.actions.Take() == std::vector<std::string>{"finished: ok"});
}

TEST_CASE("driver: a bad chunk is asked again and strikes its holder; three ban it") {
  Fixture f(1);
  f.ConnectOne();
  // The first failure is asked again at once (there is no other holder).
  f.driver.OnChunk(1, 0, false, f.t);
  CHECK(Has(f.actions.Take(), "request 1 0"));
  // The second is held back for its retry wait, then asked on a tick.
  f.driver.OnChunk(1, 0, false, f.t);
  CHECK(!Has(f.actions.Take(), "request 1 0"));
  f.t += 1s;
  f.driver.Tick(f.t);
  CHECK(Has(f.actions.Take(), "request 1 0"));
  f.driver.OnChunk(1, 0, false, f.t);
  const std::vector<std::string> third = f.actions.Take();
  REQUIRE(third.size() == 1);
  CHECK(third[0].starts_with("close 1: banned: "));
  CHECK(f.bans.Banned(FileId{}, Id(1), f.t));
  CHECK(f.driver.state().stats().checksum_failures == 3);
}

TEST_CASE("driver: a holder that sends nothing is dropped at its request timeout") {
  Fixture f(1);
  f.ConnectOne();
  f.t += RequestTimeout(256 * 1024) + 1s;
  f.driver.Tick(f.t);
  const std::vector<std::string> lines = f.actions.Take();
  REQUIRE(!lines.empty());
  CHECK(lines[0] == "close 1: no chunk from it within 4 s");
}

TEST_CASE("driver: gives up after holder_timeout without data, saying why") {
  Fixture f(1);
  f.driver.Start(f.t);
  f.driver.OnHolders(Status::IOError("coordinator refused"), f.t);
  f.actions.Take();
  f.t += 61s;
  f.driver.Tick(f.t);
  const std::vector<std::string> lines = f.actions.Take();
  REQUIRE(!lines.empty());
  CHECK(lines.back().starts_with("finished: gave up on f after 60 s without data: "));
  CHECK(lines.back().find("coordinator refused") != std::string::npos);
}

TEST_CASE("driver: REJECT of the whole file drops the holder; a lost holder's chunks go to another") {
  Fixture f(2);
  f.driver.Start(f.t);
  f.driver.OnHolders(std::vector<proto::Holder>{At(1), At(2)}, f.t);
  f.actions.Take();
  f.driver.OnConnected(1, f.t);
  f.driver.OnConnected(2, f.t);
  f.driver.OnReject(2, proto::kWholeFile, proto::RejectReason::kUnknownFile, f.t);
  CHECK(f.actions.Take() == std::vector<std::string>{"close 2: it does not serve this file"});
  f.driver.OnClosed(2, Status::IOError("it does not serve this file"), true, f.t);
  f.driver.OnBitfield(1, f.All(2), f.t);
  CHECK(f.actions.Take().size() == 1);
  f.driver.OnClosed(1, Status::IOError("reset"), true, f.t);
  CHECK(f.driver.state().active_peers() == 0);
  CHECK(f.driver.holders().Find(1)->last_error.empty() == false);
}

TEST_CASE("driver: a gated holder is asked one chunk per grant, told our interest, and given back what we cannot use") {
  Fixture f(3);
  f.Open();
  f.driver.OnBitfield(1, f.All(3), f.t, /*gated=*/true);
  CHECK(f.actions.Take() == std::vector<std::string>{"interest 1 yes"});  // nothing asked before a grant
  f.driver.OnGrant(1, f.t);
  std::vector<std::string> lines = f.actions.Take();
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].rfind("request 1 ", 0) == 0);
  const auto first = static_cast<std::uint32_t>(std::stoul(lines[0].substr(10)));
  // A refusal keeps the grant: another chunk is asked at once.
  f.driver.OnReject(1, first, proto::RejectReason::kMissing, f.t);
  lines = f.actions.Take();
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].rfind("request 1 ", 0) == 0);
  const auto second = static_cast<std::uint32_t>(std::stoul(lines[0].substr(10)));
  CHECK(second != first);
  f.driver.OnData(1, 256 * 1024, f.t);
  f.driver.OnChunk(1, second, true, f.t);
  CHECK(f.actions.Take() == std::vector<std::string>{fmt::format("verified {}", second)});
  // Two grants: the two chunks left (the refused one too: no other
  // holder has it).
  f.driver.OnGrant(1, f.t);
  f.driver.OnGrant(1, f.t);
  lines = f.actions.Take();
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].rfind("request 1 ", 0) == 0);
  CHECK(lines[1] == fmt::format("request 1 {}", first));
  // Both chunks left are on their way from it: a third grant finds nothing
  // to ask, is passed back, and we rest until a request of ours ends.
  f.driver.OnGrant(1, f.t);
  CHECK(f.actions.Take() == std::vector<std::string>{"interest 1 no pass"});
  f.driver.OnHave(1, 0, f.t);
  CHECK(f.actions.Take().empty());
  f.driver.OnData(1, 256 * 1024, f.t);
  f.driver.OnChunk(1, first, true, f.t);
  CHECK(f.actions.Take() == std::vector<std::string>{fmt::format("verified {}", first), "interest 1 yes"});
}

TEST_CASE("driver: a holder with nothing we lack is not told we are interested") {
  Fixture f(1);
  f.Open();
  f.driver.OnBitfield(1, Bitfield(1), f.t, true);
  CHECK(f.actions.Take().empty());
  f.driver.OnHave(1, 0, f.t);
  CHECK(f.actions.Take() == std::vector<std::string>{"interest 1 yes"});
}

}  // namespace lanswarm::peer
