// Authentication as processes on loopback: a keyed coordinator and keyed
// peers answer only clients that prove the cluster key. A client without
// it, with another key, or replaying a recorded handshake gets no holders,
// no bitfield and no byte; the key never appears in a log.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "common/auth/handshake.h"
#include "fileinfo/fileinfo.h"
#include "tests/support/cluster.h"

namespace lanswarm::testing {

using namespace std::chrono_literals;

namespace {

struct Keys {
  TempDir dir;
  std::string path = dir.File("cluster.key"), other_path = dir.File("other.key");
  auth::KeyRing ring, other;
  Keys() {
    auto r = Run({BinPath("peer"), "gen-key", path});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    REQUIRE(Has(r.out, "wrote a new cluster key to"));
    REQUIRE(Run({BinPath("peer"), "gen-key", other_path}).exit_code == 0);
    ring = *auth::KeyRing::LoadFile(path);
    other = *auth::KeyRing::LoadFile(other_path);
  }
  std::string Config() const { return "[auth]\nkey_file = \"" + path + "\"\n"; }
  std::string OtherConfig() const { return "[auth]\nkey_file = \"" + other_path + "\"\n"; }
  std::string Hex() const { return ring.primary().ToHex(); }
};

// Expects the next message to be an ERROR with code auth, then the close.
void ExpectAuthError(ScriptedClient& c, const std::string& reason) {
  auto m = c.Receive();
  REQUIRE(m.ok());
  const auto* e = std::get_if<proto::Error>(&*m);
  REQUIRE(e != nullptr);
  CHECK(e->code == proto::ErrorCode::kAuth);
  CHECK(Has(e->reason, reason));
  CHECK(c.WaitClosed());
}

std::uint64_t Stat(MiniCoordinator& co, const std::string& name) {
  ScriptedClient c(co.port);
  REQUIRE(c.Handshake(9, proto::Role::kTool, co.keys).ok());
  c.Send(proto::StatsRequest{1});
  auto r = c.Receive();
  REQUIRE(r.ok());
  for (const auto& e : std::get<proto::Stats>(*r).entries) {
    if (e.name == name) return e.value;
  }
  FAIL("no stat " << name);
  return 0;
}

}  // namespace

TEST_CASE("auth: gen-key writes a private key file and never overwrites one", "[auth]") {
  Keys keys;
  struct stat st;
  REQUIRE(::stat(keys.path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto again = Run({BinPath("peer"), "gen-key", keys.path});
  CHECK(again.exit_code == 1);
  CHECK(Has(again.err, "File exists"));
  CHECK(keys.ring.primary() == auth::KeyRing::LoadFile(keys.path)->primary());
}

TEST_CASE("auth: a keyed coordinator answers only clients that prove the key", "[auth]") {
  Keys keys;
  MiniCoordinator co(0, "log_level = \"debug\"\n" + keys.Config());
  co.keys = &keys.ring;
  const std::string where = "127.0.0.1:" + std::to_string(co.port);

  SECTION("no key: HELLO is answered, a QUERY is refused and the connection closed") {
    ScriptedClient c(co.port);
    REQUIRE(c.Handshake(1, proto::Role::kTool).ok());
    c.Send(proto::Query{1, FileId{}});
    ExpectAuthError(c, "QUERY before authenticating");
    CHECK(Stat(co, "auth_failures_total") == 1);
  }
  SECTION("another key: refused with \"wrong cluster key\"") {
    ScriptedClient c(co.port);
    proto::Hello h;
    h.role = proto::Role::kTool;
    const auth::Identity me = ScriptedClient::IdentityOf(1);
    auth::ConnectorHandshake hs(keys.other, me, h);
    c.Send(hs.hello());
    auto reply = c.Receive();
    REQUIRE(reply.ok());
    // Our side sees the coordinator fail our key's check first ...
    CHECK(Has(hs.OnHello(std::get<proto::Hello>(*reply)).status().message(), "failed to prove"));
    // ... and a client that answers anyway with a proof from its key is refused.
    proto::Auth forged;
    forged.proof = Bytes(32, 0x5A);
    c.Send(forged);
    ExpectAuthError(c, "wrong cluster key");
  }
  SECTION("a recorded handshake replayed on a new connection is refused") {
    proto::Hello recorded_hello;
    proto::Auth recorded_auth;
    {
      ScriptedClient c(co.port);
      proto::Hello h;
      h.role = proto::Role::kTool;
      const auth::Identity me = ScriptedClient::IdentityOf(1);
      auth::ConnectorHandshake hs(keys.ring, me, h);
      recorded_hello = hs.hello();
      c.Send(recorded_hello);
      auto reply = c.Receive();
      REQUIRE(reply.ok());
      auto proof = hs.OnHello(std::get<proto::Hello>(*reply));
      REQUIRE(proof.ok());
      recorded_auth = *proof;
      c.Send(recorded_auth);
      c.Send(proto::StatsRequest{1});
      auto stats = c.Receive();
      REQUIRE(stats.ok());
      CHECK(std::holds_alternative<proto::Stats>(*stats));  // the original was accepted
    }
    ScriptedClient replay(co.port);
    replay.Send(recorded_hello);
    REQUIRE(replay.Receive().ok());
    replay.Send(recorded_auth);
    replay.Send(proto::StatsRequest{1});
    ExpectAuthError(replay, "wrong cluster key");
  }
  SECTION("coordinator status: needs --key-file (or the config's [auth]); the right one works") {
    auto no_key = Run({BinPath("coordinator"), "status", where}, 10);
    CHECK(no_key.exit_code == 1);
    CHECK(Has(no_key.err, "requires a cluster key"));
    auto wrong = Run({BinPath("coordinator"), "status", where, "--key-file", keys.other_path}, 10);
    CHECK(wrong.exit_code == 1);
    CHECK(Has(wrong.err, "failed to prove the cluster key"));
    auto ok = Run({BinPath("coordinator"), "status", where, "--key-file", keys.path, "--json"}, 10);
    INFO(ok.err);
    CHECK(ok.exit_code == 0);
    CHECK(Has(ok.out, "\"auth_failures_total\""));
    auto via_config = Run({BinPath("coordinator"), "-c", co.dir.File("c.toml"), "status", where}, 10);
    CHECK(via_config.exit_code == 0);
  }
  CHECK_FALSE(Has(ReadTestFile(co.dir.File("log")), keys.Hex()));
}

TEST_CASE("auth: keyed peers swarm; peers without the key or with another get nothing", "[auth]") {
  Keys keys;
  MiniCoordinator co(0, keys.Config());
  co.keys = &keys.ring;
  TempDir data;
  const std::string path = data.File("data.bin"), fileinfo = data.File("data.bin.fileinfo");
  const std::string bytes = RandomBytes(3 * 1024 * 1024 + 17, 81);
  WriteTestFile(path, bytes);
  REQUIRE(Run({BinPath("fileinfo"), "create", "-q", "--chunk-size", "256K", path}).exit_code == 0);
  auto info = LoadFileInfo(fileinfo);
  REQUIRE(info.ok());

  Peer seed(co.port, "log_level = \"debug\"\n" + keys.Config());
  seed.Start();
  seed.Share(path, fileinfo);
  REQUIRE(WaitFor([&] { return co.Query(info->id).size() == 1; }, 5s));

  Peer getter(co.port, "log_level = \"debug\"\n" + keys.Config());
  const std::string out = getter.dir.File("out.bin");
  auto r = getter.Cmd({"get", "-q", fileinfo, out});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(ReadTestFile(out) == bytes);
  const std::uint64_t served = seed.Status()["uploaded_bytes"];
  CHECK(served == bytes.size());

  const std::pair<std::string, std::string> outsiders[] = {
      {"", "requires a cluster key, and none is configured here"},
      {keys.OtherConfig(), "failed to prove the cluster key"}};
  for (const auto& [config, reason] : outsiders) {
    Peer outsider(co.port, config);
    auto denied = outsider.Cmd({"get", "-q", "--wait", "2", fileinfo, outsider.dir.File("out.bin")});
    INFO(denied.out + denied.err);
    CHECK(denied.exit_code == 1);
    CHECK(Has(denied.err, "peer: gave up on data.bin after 2 s without data: no answer from the coordinator"));
    CHECK(Has(denied.err, reason));
  }
  // Straight at the seed, without the coordinator: no bitfield, no chunk.
  {
    ScriptedClient c(seed.port);
    REQUIRE(c.Handshake(2, proto::Role::kPeer).ok());
    c.Send(proto::Open{1, info->id});
    c.Send(proto::Request{1, 0});
    ExpectAuthError(c, "OPEN before authenticating");
  }
  {
    ScriptedClient c(seed.port);
    REQUIRE(c.Handshake(3, proto::Role::kPeer, &keys.ring).ok());
    c.Send(proto::Open{1, info->id});
    auto bitfield = c.Receive();
    REQUIRE(bitfield.ok());
    CHECK(std::holds_alternative<proto::Bitfield>(*bitfield));  // the same client with the key is served
  }
  CHECK(seed.Status()["uploaded_bytes"] == served);
  for (const std::string& log : {seed.Log(), r.err, ReadTestFile(co.dir.File("log"))}) {
    CHECK_FALSE(Has(log, keys.Hex()));
  }
}

}  // namespace lanswarm::testing
