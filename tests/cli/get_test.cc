// `peer get` as processes on loopback: a coordinator, holder daemons and the
// getter, each its own process. Several holders at once, a get handed to a
// running daemon, a chain (a download served from another's partial), a
// holder killed mid-transfer, a holder sending bad chunks, the getter killed
// and resumed, and the failures a user sees.
//
// Timing: holders are slowed with upload_rate where a test must act in the
// middle of a transfer; every wait is bounded.
#include <signal.h>
#include <unistd.h>

#include <fstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/child_process.h"
#include "tests/support/cluster.h"
#include "tests/support/fake_holder.h"
#include "tests/support/get_fixtures.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace lanswarm::testing {

using namespace std::chrono_literals;

namespace {

constexpr std::size_t kChunk = 256 * 1024;
constexpr std::size_t kMiB = 1024 * 1024;

// A holder that runs in the foreground under the test, so it can be killed.
struct ForegroundHolder {
  Peer peer;
  std::unique_ptr<ChildProcess> proc;
  ForegroundHolder(int coord_port, const std::string& extra_config) : peer(coord_port, extra_config) {
    proc = std::make_unique<ChildProcess>(peer.Args({"start-server", "--foreground"}), peer.dir.File("fg.log"));
    REQUIRE(WaitFor([&] { return ScriptedClient(peer.port).connected(); }, 5s));
  }
};

}  // namespace

TEST_CASE("get: two holders, no daemon: byte-exact, both holders served, JSON ends done", "[get]") {
  MiniCoordinator co;
  // 64 MiB plus a short last chunk. The cap makes sure neither holder can
  // deliver it all before the other is connected.
  TestFile file(64 * kMiB + 12345, 31);
  REQUIRE(file.info.chunk_count() == 257);
  Peer h1(co.port, "upload_rate = \"48M\"\n"), h2(co.port, "upload_rate = \"48M\"\n");
  for (Peer* h : {&h1, &h2}) {
    h->Start();
    h->Share(file.path, file.fileinfo);
  }
  REQUIRE(WaitFor([&] { return co.Query(file.info.id).size() == 2; }, 5s));

  Peer getter(co.port);
  const auto [r, end] = GetExact(getter, file, getter.dir.File("out.bin"));
  CHECK(end["chunks_verified"] == 257);
  CHECK(end["chunk_count"] == 257);
  CHECK(end["bytes_verified"] == file.data.size());
  CHECK(end["resumed_chunks"] == 0);
  CHECK(end["checksum_failures"] == 0);
  CHECK(end.value("error", "") == "");
  for (const auto& e : Events(r.out)) CHECK(e.contains("state"));
  const std::uint64_t up1 = h1.Status()["uploaded_bytes"], up2 = h2.Status()["uploaded_bytes"];
  CHECK(up1 > 0);
  CHECK(up2 > 0);
  CHECK(up1 + up2 >= file.data.size());
}

TEST_CASE("get: through a running daemon: byte-exact, and the daemon then shares the file whole", "[get]") {
  MiniCoordinator co;
  TestFile file(24 * kMiB + 7, 32);
  Peer holder(co.port);
  holder.Start();
  holder.Share(file.path, file.fileinfo);
  REQUIRE(WaitFor([&] { return co.Query(file.info.id).size() == 1; }, 5s));

  Peer getter(co.port);
  getter.Start();
  const std::string out = getter.dir.File("out.bin");
  GetExact(getter, file, out);

  auto status = getter.Status();  // the daemon outlived the get
  INFO(status.dump());
  REQUIRE(status["files"].size() == 1);
  const auto& f = status["files"][0];
  CHECK(f["path"] == out);
  CHECK(f["state"] == "whole");
  CHECK(f["id"] == file.info.id.ToHex());
  CHECK(f["chunks_held"] == file.info.chunk_count());
  REQUIRE(status["downloads"].size() == 1);
  CHECK(status["downloads"][0]["state"] == "done");
  // ...and the coordinator hears of it as a whole copy.
  CHECK(WaitFor([&] { return co.Lists(file.info.id, getter.port, proto::FileState::kWhole); }, 5s));

  // A second copy of a file the daemon already seeds whole is refused, and
  // the .partial reserved for it is removed again.
  const std::string again = getter.dir.File("again.bin");
  auto refused = getter.Cmd({"get", file.fileinfo, again});
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find("already shares a whole copy") != std::string::npos);
  CHECK_FALSE(Exists(again + ".partial"));
}

TEST_CASE("get: chain: a downloader fetches from another downloader's partial copy", "[get]") {
  MiniCoordinator co;
  TestFile file(16 * kMiB, 33);
  // A is slow, so B is still downloading when C starts.
  Peer a(co.port, "upload_rate = \"3M\"\n");
  a.Start();
  a.Share(file.path, file.fileinfo);
  REQUIRE(WaitFor([&] { return co.Query(file.info.id).size() == 1; }, 5s));

  Peer b(co.port);
  b.Start();
  const std::string b_out = b.dir.File("b.bin");
  ChildProcess b_get(b.Args({"get", "--json", file.fileinfo, b_out}), b.dir.File("get.log"));
  // B serves its partial and the coordinator lists it as state 1.
  REQUIRE(WaitFor([&] { return VerifiedSoFar(b.dir.File("get.log")) >= 8 * kChunk; }, 20s));
  REQUIRE(WaitFor([&] { return co.Lists(file.info.id, b.port, proto::FileState::kPartial); }, 5s));
  REQUIRE(b_get.running());

  Peer c(co.port);
  const std::string c_out = c.dir.File("c.bin");
  auto r = c.Cmd({"get", "--json", file.fileinfo, c_out});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(ReadTestFile(c_out) == file.data);
  CHECK(EndEvent(r.out)["state"] == "done");
  CHECK(b.Status()["uploaded_bytes"].get<std::uint64_t>() > 0);  // C got chunks from B

  REQUIRE(b_get.Wait(60s) == 0);
  INFO(ReadTestFile(b.dir.File("get.log")));
  CHECK(ReadTestFile(b_out) == file.data);
  CHECK(EndEvent(ReadTestFile(b.dir.File("get.log")))["state"] == "done");
}

TEST_CASE("get: a holder killed mid-download: the rest comes from the other", "[get]") {
  MiniCoordinator co;
  TestFile file(12 * kMiB, 34);
  ForegroundHolder h1(co.port, "upload_rate = \"2M\"\n"), h2(co.port, "upload_rate = \"2M\"\n");
  for (ForegroundHolder* h : {&h1, &h2}) h->peer.Share(file.path, file.fileinfo);
  REQUIRE(WaitFor([&] { return co.Query(file.info.id).size() == 2; }, 5s));

  Peer getter(co.port);
  const std::string out = getter.dir.File("out.bin"), log = getter.dir.File("get.log");
  ChildProcess get(getter.Args({"get", "--json", file.fileinfo, out}), log);
  REQUIRE(WaitFor([&] { return VerifiedSoFar(log) >= 3 * kMiB; }, 30s));
  CHECK(h1.peer.Status()["uploaded_bytes"].get<std::uint64_t>() > 0);  // it was a source
  REQUIRE(get.running());
  h1.proc->Signal(SIGKILL);
  REQUIRE(h1.proc->Wait(5s) == 128 + SIGKILL);
  REQUIRE(VerifiedSoFar(log) < file.data.size());  // killed before the end

  REQUIRE(get.Wait(60s) == 0);
  INFO(ReadTestFile(log));
  CHECK(ReadTestFile(out) == file.data);
  CHECK_FALSE(Exists(out + ".partial"));
  CHECK(EndEvent(ReadTestFile(log))["state"] == "done");
}

TEST_CASE("get: a holder sending corrupt chunks is banned after 3; the file is still exact", "[get]") {
  HonestAndLiar swarm(8 * kMiB, 35);
  MiniCoordinator& co = swarm.co;
  TestFile& file = swarm.file;
  FakeHolder& fake = *swarm.fake;

  Peer getter(co.port);
  const auto [r, end] = GetExact(getter, file, getter.dir.File("out.bin"));
  CHECK(fake.requests() >= 3);
  INFO(end.dump());
  CHECK(end["checksum_failures"].get<std::uint64_t>() >= 3);
  CHECK(end["banned_peers"] == 1);
  CHECK(end["retries"].get<std::uint64_t>() >= 3);
  CHECK(Has(r.err, "failed their checksum"));
  CHECK(Has(r.err, "banned peer " + fake.address() + " for data.bin: 3 chunks failed their checksum"));
}

TEST_CASE("get: a ban outlives the download in the daemon: status shows it, the next get skips the holder",
          "[get][bans]") {
  HonestAndLiar swarm(4 * kMiB, 36);
  MiniCoordinator& co = swarm.co;
  TestFile& file = swarm.file;
  FakeHolder& fake = *swarm.fake;

  Peer getter(co.port, "ban_after_bad_chunks = 2\n");
  getter.Start();
  const std::string out = getter.dir.File("out.bin");
  auto r = getter.Cmd({"get", "--json", file.fileinfo, out});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(ReadTestFile(out) == file.data);
  CHECK(EndEvent(r.out)["banned_peers"] == 1);

  const std::string fake_address = "127.0.0.1:" + std::to_string(fake.port());
  auto status = getter.Status();
  INFO(status.dump());
  REQUIRE(status["bans"].size() == 1);
  const auto& ban = status["bans"][0];
  CHECK(ban["address"] == fake_address);
  // On the id the liar proved, never the honest holder's (issue 15, item 7).
  CHECK(ban["peer_id"] == PeerIdHex(ScriptedClient::IdOf(99)));
  CHECK(ban["peer_id"] != swarm.honest.Status()["peer_id"]);
  CHECK(ban["name"] == "data.bin");
  CHECK(ban["file"] == file.info.id.ToHex());
  CHECK(ban["bad_chunks"] == 2);
  CHECK(ban["remaining_seconds"].get<double>() > 500);
  CHECK(ban["remaining_seconds"].get<double>() <= 600);
  auto text = getter.Cmd({"status"});
  CHECK(Has(text.out, "banned peer " + fake_address + " for data.bin: 2 chunks failed their checksum; 9m"));
  // Logged once, at warn, with the address, the file, the count and the end.
  const std::string log = getter.Log();
  const std::string line = "banned peer " + fake_address + " for data.bin: 2 chunks failed their checksum";
  CHECK(Has(log, line));
  CHECK(log.find(line) == log.rfind(line));
  CHECK(Has(log, "not used for this file until "));

  // The same file again, through the same daemon: the liar is not asked.
  REQUIRE(getter.Cmd({"unshare", out}).exit_code == 0);
  const int asked = fake.requests();
  const std::string again = getter.dir.File("again.bin");
  auto r2 = getter.Cmd({"get", "--json", file.fileinfo, again});
  INFO(r2.err);
  REQUIRE(r2.exit_code == 0);
  CHECK(ReadTestFile(again) == file.data);
  CHECK(fake.requests() == asked);
  CHECK(EndEvent(r2.out)["checksum_failures"] == 0);
  CHECK(getter.Status()["bans"].size() == 1);
}

TEST_CASE("get: a ban ends after ban_cooldown and vanishes from status", "[get][bans]") {
  HonestAndLiar swarm(2 * kMiB, 37);
  MiniCoordinator& co = swarm.co;
  TestFile& file = swarm.file;

  Peer getter(co.port, "ban_after_bad_chunks = 1\nban_cooldown = 2\n");
  getter.Start();
  auto r = getter.Cmd({"get", "--json", file.fileinfo, getter.dir.File("out.bin")});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(EndEvent(r.out)["banned_peers"].get<std::uint64_t>() >= 1);
  CHECK(WaitFor([&] { return getter.Status()["bans"].empty(); }, 10s));
  CHECK(WaitFor([&] { return Has(getter.Log(), "has ended"); }, 5s));
}

TEST_CASE("get: the getter killed with SIGKILL resumes from its .partial, trusting only what verifies", "[get]") {
  MiniCoordinator co;
  TestFile file(16 * kMiB, 36);
  const std::uint32_t chunks = file.info.chunk_count();
  Peer holder(co.port, "upload_rate = \"2M\"\n");
  holder.Start();
  holder.Share(file.path, file.fileinfo);
  REQUIRE(WaitFor([&] { return co.Query(file.info.id).size() == 1; }, 5s));

  Peer getter(co.port);
  const std::string out = getter.dir.File("out.bin"), partial = out + ".partial";
  {
    ChildProcess get(getter.Args({"get", "--json", file.fileinfo, out}), getter.dir.File("get1.log"));
    REQUIRE(WaitFor([&] { return VerifiedSoFar(getter.dir.File("get1.log")) >= 5 * kMiB; }, 30s));
    REQUIRE(get.running());
    get.Signal(SIGKILL);
    REQUIRE(get.Wait(5s) == 128 + SIGKILL);
  }
  REQUIRE_FALSE(Exists(out));
  std::string held = ReadTestFile(partial);
  REQUIRE(held.size() == file.data.size());
  std::vector<std::uint32_t> good;
  for (std::uint32_t i = 0; i < chunks; ++i) {
    if (held.compare(i * kChunk, kChunk, file.data, i * kChunk, kChunk) == 0) good.push_back(i);
  }
  INFO("chunks intact in the .partial: " << good.size());
  REQUIRE(good.size() >= 2);
  REQUIRE(good.size() < chunks);
  // One byte flipped inside a chunk that was verified: it must be fetched again.
  const std::uint32_t damaged = good[good.size() / 2];
  {
    std::fstream f(partial, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(damaged * kChunk + 1000));
    f.put(static_cast<char>(file.data[damaged * kChunk + 1000] ^ 0x20));
  }

  const ExactGet again = GetExact(getter, file, out);  // no .partial left
  const auto& end = again.end;
  INFO(end.dump());
  const std::uint64_t resumed = end["resumed_chunks"];
  CHECK(resumed == good.size() - 1);
  const std::uint64_t received = end["bytes_received"];
  CHECK(received < file.data.size());
  // No verified chunk fetched again: only the missing ones and the damaged one.
  CHECK(received == file.data.size() - resumed * kChunk);
}

TEST_CASE("get: the daemon killed with SIGKILL mid-download: the same command resumes without it", "[get]") {
  MiniCoordinator co;
  TestFile file(12 * kMiB, 37);
  Peer holder(co.port, "upload_rate = \"2M\"\n");
  holder.Start();
  holder.Share(file.path, file.fileinfo);
  REQUIRE(WaitFor([&] { return co.Query(file.info.id).size() == 1; }, 5s));

  Peer getter(co.port);
  const std::string out = getter.dir.File("out.bin");
  {
    // The getter's daemon in the foreground, so the test can kill it.
    ChildProcess daemon(getter.Args({"start-server", "--foreground"}), getter.dir.File("daemon.log"));
    REQUIRE(WaitFor([&] { return getter.Cmd({"status"}).exit_code == 0; }, 10s));
    ChildProcess get(getter.Args({"get", "--json", file.fileinfo, out}), getter.dir.File("get1.log"));
    REQUIRE(WaitFor([&] { return VerifiedSoFar(getter.dir.File("get1.log")) >= 3 * kMiB; }, 30s));
    daemon.Signal(SIGKILL);
    REQUIRE(daemon.Wait(5s) == 128 + SIGKILL);
    // The CLI that followed it says so and keeps the .partial.
    REQUIRE(get.Wait(15s) == 1);
    CHECK(Has(ReadTestFile(getter.dir.File("get1.log")), "lost the daemon"));
  }
  REQUIRE(Exists(out + ".partial"));

  // No daemon now (its pid file is stale): the command runs the download itself.
  const nlohmann::json end = GetExact(getter, file, out).end;
  INFO(end.dump());
  CHECK(end["resumed_chunks"].get<std::uint64_t>() > 0);
  CHECK(end["bytes_received"].get<std::uint64_t>() < file.data.size());
}

TEST_CASE("get: failures a user sees: no holder, existing output, bad .fileinfo, bad flags", "[get]") {
  MiniCoordinator co;
  TestFile file(3 * kChunk + 5, 37);  // shared by nobody
  Peer getter(co.port);
  const std::string out = getter.dir.File("out.bin");

  SECTION("no holder: exits 1 after --wait with one line naming the file") {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = getter.Cmd({"get", "--wait", "2", file.fileinfo, out});
    const auto took = std::chrono::steady_clock::now() - t0;
    INFO(r.err);
    CHECK(r.exit_code == 1);
    CHECK(took >= 2s);
    CHECK(took <= 6s);
    CHECK(r.err.rfind("peer: ", 0) == 0);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(Has(r.err, "data.bin"));
    CHECK_FALSE(Exists(out));
  }
  SECTION("an existing output is kept without --force") {
    WriteTestFile(out, "precious");
    auto r = getter.Cmd({"get", file.fileinfo, out});
    INFO(r.err);
    CHECK(r.exit_code == 1);
    CHECK(Has(r.err, "exists"));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(ReadTestFile(out) == "precious");
    CHECK_FALSE(Exists(out + ".partial"));
  }
  SECTION("a missing or garbage .fileinfo") {
    auto missing = getter.Cmd({"get", getter.dir.File("nope.fileinfo"), out});
    CHECK(missing.exit_code == 1);
    CHECK(Has(missing.err, "nope.fileinfo: No such file"));
    WriteTestFile(getter.dir.File("junk.fileinfo"), "this is not a fileinfo\n");
    auto junk = getter.Cmd({"get", getter.dir.File("junk.fileinfo"), out});
    INFO(junk.err);
    CHECK(junk.exit_code == 1);
    CHECK(Has(junk.err, "junk.fileinfo"));
    CHECK(std::count(junk.err.begin(), junk.err.end(), '\n') == 1);
    CHECK_FALSE(Exists(out + ".partial"));
  }
  SECTION("bad flags exit 2") {
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"get", file.fileinfo}, {"get", "--wait", "0", file.fileinfo, out},
          {"get", "--wait", "soon", file.fileinfo, out}, {"get", "--bogus", file.fileinfo, out}}) {
      auto r = getter.Cmd(args);
      INFO(args[1] << ": " << r.err);
      CHECK(r.exit_code == 2);
      CHECK(Has(r.err, "peer: "));
    }
    CHECK_FALSE(Exists(out + ".partial"));
  }
}

}  // namespace lanswarm::testing
