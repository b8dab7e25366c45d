// bin/peer as a process on loopback: the daemon's lifecycle, serving to a
// scripted client, partial files, reports seen by a real coordinator,
// vanished and changed files, restarts, and the upload cap.
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <thread>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "common/bitfield.h"
#include "common/proto/codec.h"
#include "fileinfo/fileinfo.h"
#include "tests/support/child_process.h"
#include "tests/support/cluster.h"
#include "tests/support/scripted_client.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace lanswarm::testing {

using namespace std::chrono_literals;

namespace {

constexpr std::size_t kChunk = 256 * 1024;

FileId IdOf(const std::string& fileinfo_path) {
  auto info = LoadFileInfo(fileinfo_path);
  REQUIRE(info.ok());
  return info->id;
}

// OPENs `id` on slot 1 and returns the BITFIELD.
proto::Bitfield Open(ScriptedClient& c, const FileId& id) {
  c.Send(proto::Open{1, id});
  auto m = c.Receive();
  REQUIRE(m.ok());
  REQUIRE(std::holds_alternative<proto::Bitfield>(*m));
  return std::get<proto::Bitfield>(*m);
}

// Reads one CHUNK (header and data) or returns the REJECT reason.
std::variant<std::pair<std::uint32_t, std::string>, proto::RejectReason> Next(ScriptedClient& c) {
  auto m = c.Receive(10s);
  REQUIRE(m.ok());
  if (const auto* rej = std::get_if<proto::Reject>(&*m)) return rej->reason;
  const auto* h = std::get_if<proto::ChunkHeader>(&*m);
  REQUIRE(h != nullptr);
  auto data = c.ReceiveRaw(h->length);
  REQUIRE(data.ok());
  return std::make_pair(h->index, std::string(data->begin(), data->end()));
}

}  // namespace

TEST_CASE("peer: start, double start, status, kill, kill again, stale pid file", "[peer]") {
  MiniCoordinator co;
  Peer p(co.port);
  p.Start();
  auto again = p.Cmd({"start-server"});
  CHECK(again.exit_code == 1);
  CHECK(Has(again.err, "a peer daemon is already running (pid "));
  CHECK(p.Cmd({"status"}).exit_code == 0);
  auto kill = p.Cmd({"kill-server"});
  CHECK(kill.exit_code == 0);
  CHECK(Has(kill.out, "peer daemon stopped (pid "));
  auto none = p.Cmd({"kill-server"});
  CHECK(none.exit_code == 0);
  CHECK(Has(none.out, "no peer daemon is running"));
  auto status = p.Cmd({"status"});
  CHECK(status.exit_code == 1);
  CHECK(Has(status.err, "no peer daemon is running"));
  CHECK(Has(status.err, "start one with 'peer start-server'"));

  // A pid file left by a daemon that died (nobody holds its lock).
  WriteTestFile(p.dir.File("state/peer.pid"), "999999\n");
  auto stale = p.Cmd({"kill-server"});
  CHECK(stale.exit_code == 0);
  CHECK(Has(stale.out, "removed a stale pid file"));
  WriteTestFile(p.dir.File("state/peer.pid"), "999999\n");
  p.Start();  // a stale pid file does not block a new daemon
  CHECK(p.Cmd({"kill-server"}).exit_code == 0);
}

TEST_CASE("peer: --foreground runs until SIGTERM and exits 0", "[peer]") {
  MiniCoordinator co;
  Peer p(co.port);
  ChildProcess fg(p.Args({"start-server", "--foreground"}), p.dir.File("fg.log"));
  REQUIRE(WaitFor([&] { return ScriptedClient(p.port).connected(); }, 5s));
  CHECK(p.Cmd({"status"}).exit_code == 0);
  fg.Signal(SIGTERM);
  CHECK(fg.Wait(10s) == 0);
  CHECK(Has(ReadTestFile(p.dir.File("fg.log")), "stopped"));
}

TEST_CASE("peer: serves byte-exact chunks, pipelined, and rejects bad requests", "[peer]") {
  MiniCoordinator co;
  Peer p(co.port);
  p.Start();
  const std::string data = RandomBytes(9 * kChunk + 333, 21);
  WriteTestFile(p.dir.File("data.bin"), data);
  REQUIRE(p.Cmd({"share", "-q", p.dir.File("data.bin")}).exit_code == 0);
  const FileId id = IdOf(p.dir.File("data.bin.fileinfo"));

  auto c = ScriptedClient::Peer(p.port);
  REQUIRE(c);
  auto bf = Open(*c, id);
  CHECK(bf.slot == 1);
  CHECK(bf.chunk_count == 10);
  CHECK(Bitfield::FromBytes(bf.chunk_count, bf.bits).all());

  const std::vector<std::uint32_t> wanted = {0, 5, 9, 3};
  for (std::uint32_t i : wanted) c->Send(proto::Request{1, i});
  std::set<std::uint32_t> got;
  for (std::size_t k = 0; k < wanted.size(); ++k) {
    auto r = Next(*c);
    REQUIRE(std::holds_alternative<std::pair<std::uint32_t, std::string>>(r));
    const auto& [index, bytes] = std::get<std::pair<std::uint32_t, std::string>>(r);
    CHECK(bytes == data.substr(index * kChunk, std::min(kChunk, data.size() - index * kChunk)));
    got.insert(index);
  }
  CHECK(got == std::set<std::uint32_t>{0, 3, 5, 9});

  c->Send(proto::Request{1, 10});
  CHECK(std::get<proto::RejectReason>(Next(*c)) == proto::RejectReason::kOutOfRange);
  c->Send(proto::Request{2, 0});
  CHECK(std::get<proto::RejectReason>(Next(*c)) == proto::RejectReason::kNotOpen);
  FileId unknown;
  unknown.bytes.fill(0x33);
  c->Send(proto::Open{3, unknown});
  auto m = c->Receive();
  REQUIRE(m.ok());
  CHECK(std::get<proto::Reject>(*m) == proto::Reject{3, proto::kWholeFile, proto::RejectReason::kUnknownFile});

  // Garbage closes that connection only; the daemon and others carry on.
  ScriptedClient junk(p.port);
  junk.SendRaw(AsBytes("this is not the protocol at all"));
  CHECK(junk.WaitClosed());
  auto c2 = ScriptedClient::Peer(p.port, 78);
  REQUIRE(c2);
  Open(*c2, id);
  c2->Send(proto::Request{1, 1});
  CHECK(std::holds_alternative<std::pair<std::uint32_t, std::string>>(Next(*c2)));
  auto status = p.Status();
  CHECK(status["uploaded_bytes"] == 4 * kChunk + 333);  // chunks 0, 1, 3, 5 and the 333-byte tail
}

TEST_CASE("peer: a partial copy serves only its verified chunks and is reported as partial", "[peer]") {
  MiniCoordinator co;
  Peer p(co.port);
  p.Start();
  std::string data = RandomBytes(6 * kChunk, 22);
  WriteTestFile(p.dir.File("orig.bin"), data);
  REQUIRE(Run({BinPath("fileinfo"), "create", "-q", p.dir.File("orig.bin")}).exit_code == 0);
  data[4 * kChunk + 1] ^= 0x40;
  WriteTestFile(p.dir.File("copy.bin"), data);
  auto share = p.Cmd({"share", p.dir.File("copy.bin"), "--fileinfo", p.dir.File("orig.bin.fileinfo")});
  INFO(share.err);
  REQUIRE(share.exit_code == 0);
  CHECK(Has(share.out, "5 of 6 chunks (partial)"));
  const FileId id = IdOf(p.dir.File("orig.bin.fileinfo"));

  auto c = ScriptedClient::Peer(p.port);
  REQUIRE(c);
  auto bf = Bitfield::FromBytes(6, Open(*c, id).bits);
  CHECK(bf.count_set() == 5);
  CHECK_FALSE(bf.has(4));
  c->Send(proto::Request{1, 4});
  CHECK(std::get<proto::RejectReason>(Next(*c)) == proto::RejectReason::kMissing);
  c->Send(proto::Request{1, 3});
  auto r = Next(*c);
  REQUIRE(std::holds_alternative<std::pair<std::uint32_t, std::string>>(r));
  CHECK(std::get<std::pair<std::uint32_t, std::string>>(r).second == data.substr(3 * kChunk, kChunk));

  REQUIRE(WaitFor([&] { return co.Query(id).size() == 1; }, 5s));
  CHECK(co.Query(id)[0].state == proto::FileState::kPartial);
  CHECK(co.Query(id)[0].endpoint.port == p.port);
  CHECK(p.Status()["files"][0]["state"] == "partial");
}

TEST_CASE("peer: chunks that become held are announced with HAVE", "[peer]") {
  MiniCoordinator co;
  Peer p(co.port);
  p.Start();
  const std::string good = RandomBytes(4 * kChunk, 27);
  WriteTestFile(p.dir.File("orig.bin"), good);
  REQUIRE(Run({BinPath("fileinfo"), "create", "-q", p.dir.File("orig.bin")}).exit_code == 0);
  std::string damaged = good;
  damaged[kChunk + 7] ^= 1;
  WriteTestFile(p.dir.File("copy.bin"), damaged);
  const std::string fi = p.dir.File("orig.bin.fileinfo");
  REQUIRE(p.Cmd({"share", "-q", p.dir.File("copy.bin"), "--fileinfo", fi}).exit_code == 0);
  auto c = ScriptedClient::Peer(p.port);
  REQUIRE(c);
  CHECK_FALSE(Bitfield::FromBytes(4, Open(*c, IdOf(fi)).bits).has(1));
  WriteTestFile(p.dir.File("copy.bin"), good);  // repaired
  REQUIRE(p.Cmd({"share", "-q", p.dir.File("copy.bin"), "--fileinfo", fi}).exit_code == 0);
  auto m = c->Receive();
  REQUIRE(m.ok());
  CHECK(std::get<proto::Have>(*m) == proto::Have{1, 1});
  c->Send(proto::Request{1, 1});
  auto r = Next(*c);
  REQUIRE(std::holds_alternative<std::pair<std::uint32_t, std::string>>(r));
  CHECK(std::get<std::pair<std::uint32_t, std::string>>(r).second == good.substr(kChunk, kChunk));
}

TEST_CASE("peer: reports every interval; a vanished file is reported gone and no longer served", "[peer]") {
  MiniCoordinator co;
  Peer p(co.port);
  p.Start();
  WriteTestFile(p.dir.File("v.bin"), RandomBytes(2 * kChunk, 23));
  REQUIRE(p.Cmd({"share", "-q", p.dir.File("v.bin")}).exit_code == 0);
  const FileId id = IdOf(p.dir.File("v.bin.fileinfo"));
  REQUIRE(WaitFor([&] { return co.Query(id).size() == 1; }, 5s));
  CHECK(co.Query(id)[0].state == proto::FileState::kWhole);

  // Timing: with a 1 s interval, 3 s bring about 3 more reports.
  const std::uint64_t before = co.Reports();
  std::this_thread::sleep_for(3s);
  const std::uint64_t after = co.Reports();
  CHECK(after - before >= 2);
  CHECK(after - before <= 5);

  ::unlink(p.dir.File("v.bin").c_str());
  REQUIRE(WaitFor([&] { return co.Query(id).empty(); }, 5s));
  CHECK(p.Status()["files"][0]["state"] == "gone");
  CHECK(Has(p.Log(), "vanished"));
  auto c = ScriptedClient::Peer(p.port);
  REQUIRE(c);
  c->Send(proto::Open{1, id});
  auto m = c->Receive();
  REQUIRE(m.ok());
  CHECK(std::get<proto::Reject>(*m).reason == proto::RejectReason::kUnknownFile);
}

TEST_CASE("peer: a file changed in place never serves wrong bytes", "[peer]") {
  MiniCoordinator co;
  Peer p(co.port);
  p.Start();
  std::string data = RandomBytes(4 * kChunk, 24);
  WriteTestFile(p.dir.File("c.bin"), data);
  REQUIRE(p.Cmd({"share", "-q", p.dir.File("c.bin")}).exit_code == 0);
  const FileId id = IdOf(p.dir.File("c.bin.fileinfo"));
  auto c = ScriptedClient::Peer(p.port);
  REQUIRE(c);
  Open(*c, id);
  // Same size, new bytes in chunk 2, written in place (the inode stays).
  {
    std::fstream f(p.dir.File("c.bin"), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(2 * kChunk + 10);
    f.write("CHANGED", 7);
  }
  c->Send(proto::Request{1, 2});
  auto r = Next(*c);
  REQUIRE(std::holds_alternative<proto::RejectReason>(r));
  CHECK(std::get<proto::RejectReason>(r) == proto::RejectReason::kChanged);
  c->Send(proto::Request{1, 0});  // the whole file is no longer served
  CHECK(std::get<proto::RejectReason>(Next(*c)) == proto::RejectReason::kChanged);
  REQUIRE(WaitFor([&] { return co.Query(id).empty(); }, 5s));
}

TEST_CASE("peer: serves while the coordinator is down, and reports once it is up", "[peer]") {
  const int coordinator_port = FreeLoopbackPort();  // nothing listens there yet
  Peer p(coordinator_port);
  p.Start();
  WriteTestFile(p.dir.File("d.bin"), RandomBytes(kChunk, 28));
  REQUIRE(p.Cmd({"share", "-q", p.dir.File("d.bin")}).exit_code == 0);
  CHECK(p.Status()["coordinator_connected"] == false);
  auto c = ScriptedClient::Peer(p.port);
  REQUIRE(c);
  const FileId id = IdOf(p.dir.File("d.bin.fileinfo"));
  Open(*c, id);
  c->Send(proto::Request{1, 0});
  CHECK(std::holds_alternative<std::pair<std::uint32_t, std::string>>(Next(*c)));
  CHECK(Has(p.Log(), "cannot reach the coordinator"));

  MiniCoordinator co(coordinator_port);
  // Backoff: retries after at most 1, 2, 4, 8 s (jittered) - bounded wait.
  REQUIRE(WaitFor([&] { return co.Query(id).size() == 1; }, 30s));
  CHECK(p.Status()["coordinator_connected"] == true);
}

TEST_CASE("peer: the registry survives a restart; unshare forgets", "[peer]") {
  MiniCoordinator co;
  Peer p(co.port);
  p.Start();
  WriteTestFile(p.dir.File("r.bin"), RandomBytes(kChunk + 1, 25));
  REQUIRE(p.Cmd({"share", "-q", p.dir.File("r.bin")}).exit_code == 0);
  REQUIRE(p.Cmd({"kill-server"}).exit_code == 0);
  p.Start();
  auto files = p.Status()["files"];
  REQUIRE(files.size() == 1);
  CHECK(files[0]["state"] == "whole");
  const FileId id = IdOf(p.dir.File("r.bin.fileinfo"));
  REQUIRE(WaitFor([&] { return co.Query(id).size() == 1; }, 5s));
  auto un = p.Cmd({"unshare", id.ToHex()});
  CHECK(un.exit_code == 0);
  CHECK(p.Status()["files"].empty());
  auto again = p.Cmd({"unshare", p.dir.File("r.bin")});
  CHECK(again.exit_code == 1);
  CHECK(Has(again.err, "not shared"));
  REQUIRE(WaitFor([&] { return co.Query(id).empty(); }, 5s));
}

TEST_CASE("peer: the upload cap holds the transfer back", "[peer]") {
  MiniCoordinator co;
  Peer p(co.port, "upload_rate = \"2M\"\n");
  p.Start();
  WriteTestFile(p.dir.File("u.bin"), RandomBytes(12 * kChunk, 26));
  REQUIRE(p.Cmd({"share", "-q", p.dir.File("u.bin")}).exit_code == 0);
  auto c = ScriptedClient::Peer(p.port);
  REQUIRE(c);
  Open(*c, IdOf(p.dir.File("u.bin.fileinfo")));
  const auto t0 = std::chrono::steady_clock::now();
  for (std::uint32_t i = 0; i < 12; ++i) c->Send(proto::Request{1, i});
  for (int i = 0; i < 12; ++i) REQUIRE(std::holds_alternative<std::pair<std::uint32_t, std::string>>(Next(*c)));
  // 3 MiB at 2 MiB/s after a 1 MiB burst: at least about one second.
  CHECK(std::chrono::steady_clock::now() - t0 >= 700ms);
}

TEST_CASE("peer: bad usage exits 2, share of a missing file exits 1", "[peer]") {
  MiniCoordinator co;
  Peer p(co.port);
  CHECK(p.Cmd({"share"}).exit_code == 2);
  CHECK(Run({BinPath("peer")}).exit_code == 2);
  CHECK(Run({BinPath("peer"), "help"}).exit_code == 0);
  for (const char* sub : {"start-server", "kill-server", "share", "unshare", "status"}) {
    auto h = Run({BinPath("peer"), sub, "--help"});
    CHECK(h.exit_code == 0);
    CHECK(Has(h.out, "--state-dir"));
  }
  WriteTestFile(p.dir.File("bad.toml"), "listen = 5\n");
  auto bad = Run({BinPath("peer"), "status", "--config", p.dir.File("bad.toml")});
  CHECK(bad.exit_code == 2);
  CHECK(Has(bad.err, "key 'listen'"));
  p.Start();
  auto missing = p.Cmd({"share", p.dir.File("nope.bin")});
  CHECK(missing.exit_code == 1);
  CHECK(Has(missing.err, "nope.bin: No such file"));
}

}  // namespace lanswarm::testing

namespace lanswarm::testing {

TEST_CASE("peer: [limits] close only the offending connection; others are served", "[peer][bad-input]") {
  MiniCoordinator co;
  Peer p(co.port, "[limits]\nmax_connections = 12\nmax_connections_per_address = 4\nhello_timeout = 1\n"
                  "idle_timeout = 10\nmax_message_bytes = 1024\n");
  p.Start();
  const std::string data = RandomBytes(2 * kChunk, 22);
  WriteTestFile(p.dir.File("data.bin"), data);
  REQUIRE(p.Cmd({"share", "-q", p.dir.File("data.bin")}).exit_code == 0);
  const FileId id = IdOf(p.dir.File("data.bin.fileinfo"));

  SECTION("per address, then in all") {
    std::vector<std::unique_ptr<ScriptedClient>> flood;
    for (int i = 0; i < 10; ++i) flood.push_back(std::make_unique<ScriptedClient>(p.port, "127.0.0.2"));
    int closed = 0;
    for (auto& c : flood) closed += c->WaitClosed(300ms) ? 1 : 0;
    CHECK(closed == 6);  // four accepted from 127.0.0.2
    for (int i = 0; i < 12; ++i) {
      flood.push_back(std::make_unique<ScriptedClient>(p.port, "127.0.0." + std::to_string(3 + i % 3)));
    }
    // All 12 slots are taken by connections that never said HELLO: the
    // last 4 of the flood and one from another address each close the
    // oldest of them instead of being refused, so outsiders cannot keep a
    // member out. The member is then served.
    ScriptedClient member(p.port, "127.0.0.9");
    CHECK_FALSE(member.WaitClosed(300ms));
    CHECK(p.Status()["evicted_connections"].get<std::uint64_t>() >= 5);
    CHECK(p.Status()["refused_connections"].get<std::uint64_t>() == 6);
    flood.clear();
    REQUIRE(WaitFor([&] { return p.Status()["connections"] <= 1; }, 5s));
    auto c = ScriptedClient::Peer(p.port);
    REQUIRE(c);
    CHECK(Open(*c, id).chunk_count == 2);
  }
  SECTION("half-open: no HELLO, or a frame left unfinished, is closed after hello_timeout") {
    ScriptedClient silent(p.port);
    auto m = silent.Receive(3s);
    REQUIRE(m.ok());
    CHECK(Has(std::get<proto::Error>(*m).reason, "no HELLO within 1 s"));
    CHECK(silent.WaitClosed());
    ScriptedClient slow(p.port);
    slow.SendRaw(Bytes{40, 0, 0});  // a header never finished
    CHECK(slow.WaitClosed(3s));
  }
  SECTION("a frame over max_message_bytes closes that connection only") {
    auto good = ScriptedClient::Peer(p.port);
    REQUIRE(good);
    auto big = ScriptedClient::Peer(p.port, 78);
    REQUIRE(big);
    Bytes header;
    PutU32(&header, 4096);
    PutU8(&header, static_cast<std::uint8_t>(proto::MessageType::kOpen));
    big->SendRaw(header);
    auto m = big->Receive();
    REQUIRE(m.ok());
    CHECK(Has(std::get<proto::Error>(*m).reason, "exceeds the maximum 1024"));
    CHECK(big->WaitClosed());
    CHECK(Open(*good, id).chunk_count == 2);
  }
}

}  // namespace lanswarm::testing
