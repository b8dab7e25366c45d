// `peer get` against holders that stall (issue 15, item 8): holders that
// claim every chunk and send nothing, send one byte a second, or never
// answer OPEN, next to an honest holder of the same file. The download must
// finish byte-exact in a bounded time, and the stallers must be dropped and
// banned for stalling.
//
// Timing: the honest holder is slowed with upload_rate so that the download
// outlasts a stalled request's timeout (4 s for 256 KiB chunks); every wait
// is bounded.
#include <chrono>
#include <cstdlib>
#include <memory>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/cluster.h"
#include "tests/support/fake_holder.h"
#include "tests/support/get_fixtures.h"

namespace lanswarm::testing {

using namespace std::chrono_literals;

namespace {

constexpr std::size_t kMiB = 1024 * 1024;

// A coordinator, an honest holder sharing `file` daemonised with
// `honest_config`, and `n` fake holders of one behaviour, all listed.
struct StallSwarm {
  MiniCoordinator co;
  TestFile file;
  Peer honest;
  std::vector<std::unique_ptr<FakeHolder>> fakes;
  std::vector<const FakeHolder*> all() const {
    std::vector<const FakeHolder*> out;
    for (const auto& f : fakes) out.push_back(f.get());
    return out;
  }
  StallSwarm(std::size_t size, std::uint64_t seed, const std::string& honest_config, FakeHolder::Behaviour how, int n)
      : file(size, seed), honest(co.port, honest_config) {
    honest.Start();
    honest.Share(file.path, file.fileinfo);
    for (int i = 0; i < n; ++i) {
      fakes.push_back(std::make_unique<FakeHolder>(file.info, co.port, how, static_cast<std::uint8_t>(100 + i)));
    }
    REQUIRE(WaitFor([&] { return co.Query(file.info.id).size() == static_cast<std::size_t>(n) + 1; }, 10s));
  }
};

double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The ban of `fake` in a `peer status --json`, or null.
nlohmann::json BanOf(const nlohmann::json& status, const FakeHolder& fake) {
  for (const auto& b : status["bans"]) {
    if (b["address"] == fake.address()) return b;
  }
  return nullptr;
}

// A get that must succeed (GetExact); its end event, and how long it took.
nlohmann::json TimedGet(const Peer& getter, const TestFile& file, double* took) {
  const auto t0 = std::chrono::steady_clock::now();
  const ExactGet g = GetExact(getter, file, getter.dir.File("out.bin"));
  *took = SecondsSince(t0);
  return g.end;
}

// Each of `fakes` connected once, stalled, and is banned for it in
// `getter`'s daemon (ban_after_stalls = 1), with the ban logged once.
void CheckBannedForStalling(Peer& getter, const std::vector<const FakeHolder*>& fakes) {
  const auto status = getter.Status();
  INFO(status.dump());
  const std::string log = getter.Log();
  const std::string text = getter.Cmd({"status"}).out;
  INFO(text);
  for (const FakeHolder* fake : fakes) {
    INFO(fake->address());
    CHECK(fake->connections() == 1);  // banned: not retried
    const auto ban = BanOf(status, *fake);
    REQUIRE_FALSE(ban.is_null());
    CHECK(ban["reason"] == "stalls");
    CHECK(ban["stalls"] == 1);
    CHECK(ban["bad_chunks"] == 0);
    CHECK(ban["remaining_seconds"].get<double>() > 500);
    const std::string line = "banned peer " + fake->address() + " for data.bin: 1 request stalled";
    CHECK(Has(log, line));
    CHECK(log.find(line) == log.rfind(line));
    CHECK(Has(text, line + "; "));  // then 10m00s or 9m…s left
  }
}

}  // namespace

TEST_CASE("get: holders that claim every chunk, then send nothing or a byte a second, are banned for stalling",
          "[get][stall]") {
  // The honest holder takes about 7 s, so each staller's one request (it is
  // on probation) reaches its 4 s timeout while chunks nobody asked for
  // remain: it is not fetched from the honest holder before. A trickle
  // restarts no timeout: only a whole chunk counts.
  struct Row {
    FakeHolder::Behaviour how;
    int stallers;
    std::uint64_t seed;
  };
  const Row row = GENERATE(Row{FakeHolder::Behaviour::kSilent, 3, 81}, Row{FakeHolder::Behaviour::kTrickle, 1, 82});
  CAPTURE(row.stallers);
  StallSwarm swarm(8 * kMiB, row.seed, "upload_rate = \"1M\"\n", row.how, row.stallers);
  Peer getter(swarm.co.port, "ban_after_stalls = 1\n");
  getter.Start();
  double took = 0;
  const auto end = TimedGet(getter, swarm.file, &took);
  INFO(end.dump());
  CHECK(took < 60);
  CHECK(end["timeouts"] == row.stallers);
  CHECK(end["banned_peers"] == row.stallers);
  CHECK(end["late_probes"].get<int>() >= row.stallers);
  CHECK(end["checksum_failures"] == 0);
  for (const auto& fake : swarm.fakes) CHECK(fake->requests() == 1);
  CheckBannedForStalling(getter, swarm.all());
}

TEST_CASE("get: holders that never answer OPEN do not keep the download's places; each is banned", "[get][stall]") {
  // One place (download_peers = 1): a holder that answers HELLO and then
  // nothing would hold it for good. Each is dropped after 4 s and banned,
  // so the honest holder gets the place within 3 × 4 s, whatever the order;
  // sooner when the coordinator names it as a tree parent (parents get a
  // place beyond download_peers), and then a staller connected meanwhile may
  // not reach its 4 s before the download is over: it is not banned, nor
  // asked for anything.
  StallSwarm swarm(2 * kMiB, 83, "", FakeHolder::Behaviour::kMute, 3);
  Peer getter(swarm.co.port, "download_peers = 1\nban_after_stalls = 1\n");
  getter.Start();
  double took = 0;
  const auto end = TimedGet(getter, swarm.file, &took);
  INFO(end.dump());
  CHECK(took < 30);
  std::vector<const FakeHolder*> tried;
  for (const FakeHolder* fake : swarm.all()) {
    CHECK(fake->connections() <= 1);
    CHECK(fake->requests() == 0);
    if (fake->connections() == 1) tried.push_back(fake);
  }
  CHECK(end["timeouts"] == end["banned_peers"]);
  CHECK(end["banned_peers"].get<std::size_t>() <= tried.size());
  if (took >= 5) CHECK(end["banned_peers"] == tried.size());  // every one it tried timed out
  std::vector<const FakeHolder*> banned;
  const auto status = getter.Status();
  for (const FakeHolder* fake : tried) {
    if (!BanOf(status, *fake).is_null()) banned.push_back(fake);
  }
  CHECK(banned.size() == end["banned_peers"].get<std::size_t>());
  CheckBannedForStalling(getter, banned);
}

TEST_CASE("get: a holder sending one byte a second does not keep a download alive", "[get][stall]") {
  // The only holder trickles: the download gives up after --wait, saying why.
  MiniCoordinator co;
  TestFile file(kMiB, 84);
  FakeHolder fake(file.info, co.port, FakeHolder::Behaviour::kTrickle);
  REQUIRE(WaitFor([&] { return co.Query(file.info.id).size() == 1; }, 5s));
  Peer getter(co.port);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = getter.Cmd({"get", "--wait", "7", file.fileinfo, getter.dir.File("out.bin")});
  const double took = SecondsSince(t0);
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(took < 20);
  CHECK(Has(r.err, "gave up on data.bin after 7 s without data: none of its 1 known holders sent any of the "
                   "missing chunks (last problem: no chunk from it within 4 s)"));
  CHECK(fake.requests() >= 1);
  CHECK(Exists(getter.dir.File("out.bin.partial")));
}

// Not a test: the measurement of issue 15 item 8, run by hand with
//   LANSWARM_BIN_DIR=bin build/release/tests/cli_tests '[measure]'
// LANSWARM_STALLERS (default 40) silent holders, or trickling ones with
// LANSWARM_STALL_KIND=trickle, and one honest holder of a 2 MiB file, all on
// loopback; prints how long `peer get` took. LANSWARM_MEASURE_LOG=FILE
// keeps the getter's debug log there. Holds no timing assertion: figures
// vary with the machine (doc/security.md has the measured ones).
TEST_CASE("measure: a 2 MiB get from one honest holder among stalling ones", "[.][measure]") {
  const char* n_text = std::getenv("LANSWARM_STALLERS");
  const char* kind = std::getenv("LANSWARM_STALL_KIND");
  const int n = n_text != nullptr ? std::atoi(n_text) : 40;
  const bool trickle = kind != nullptr && std::string(kind) == "trickle";
  StallSwarm swarm(2 * kMiB, 80, "", trickle ? FakeHolder::Behaviour::kTrickle : FakeHolder::Behaviour::kSilent, n);
  Peer getter(swarm.co.port);
  const std::string out = getter.dir.File("out.bin");
  const auto t0 = std::chrono::steady_clock::now();
  const char* log = std::getenv("LANSWARM_MEASURE_LOG");
  auto r = getter.Cmd(log ? std::vector<std::string>{"get", "--json", "--log-level", "debug", swarm.file.fileinfo, out}
                          : std::vector<std::string>{"get", "--json", swarm.file.fileinfo, out});
  const double took = SecondsSince(t0);
  if (log) WriteTestFile(log, r.err);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(ReadTestFile(out) == swarm.file.data);
  const auto end = EndEvent(r.out);
  std::printf("stallers=%d kind=%s: %.2f s (elapsed_seconds %.2f, timeouts %llu, banned_peers %llu)\n", n,
              trickle ? "trickle" : "silent", took, end["elapsed_seconds"].get<double>(),
              static_cast<unsigned long long>(end["timeouts"].get<std::uint64_t>()),
              static_cast<unsigned long long>(end["banned_peers"].get<std::uint64_t>()));
}

}  // namespace lanswarm::testing
